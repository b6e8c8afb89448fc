-- Clients and their secrets (the registry), signing keys and the issuance record (the signing
-- core). Portable types: ids TEXT, timestamps BIGINT epoch milliseconds, JSON as TEXT.

create table clients (
    id text not null constraint clients_pkey primary key,
    name text not null,
    allowed_scopes text not null,
    default_scopes text not null,
    allowed_states text not null,
    default_state text,
    max_ttl_minutes integer not null,
    algorithm text not null,
    status text not null constraint clients_status_check check (status in ('active', 'suspended')),
    phones text not null,
    email text,
    created_at integer not null,
    updated_at integer not null
);

-- One phone belongs to one client; the lookup index for sandbox test keys by phone.
create table client_phones (
    phone text not null constraint client_phones_pkey primary key,
    client_id text not null constraint client_phones_client_fkey references clients (id) on delete cascade
);
create index client_phones_client_idx on client_phones (client_id);

create table client_secrets (
    id text not null constraint client_secrets_pkey primary key,
    client_id text not null constraint client_secrets_client_fkey references clients (id) on delete cascade,
    locator text not null,
    hash text not null,
    created_at integer not null,
    expires_at integer,
    revoked_at integer
);
create index client_secrets_client_idx on client_secrets (client_id);

create table signing_keys (
    kid text not null constraint signing_keys_pkey primary key,
    algorithm text not null,
    status text not null constraint signing_keys_status_check check (status in ('next', 'active', 'retired')),
    -- set to the algorithm while the key is active (resp. next): at most one of each per algorithm
    active_for text constraint signing_keys_active_for_key unique,
    next_for text constraint signing_keys_next_for_key unique,
    public_jwk text not null,
    private_key_sealed text not null,
    created_at integer not null,
    activated_at integer,
    retired_at integer,
    publish_until integer
);

create table issuances (
    jti text not null constraint issuances_pkey primary key,
    client_id text not null,
    scheme text not null,
    subject text not null,
    scopes text not null,
    state text,
    caller_ip text,
    declared_ip text,
    kid text not null,
    issued_at integer not null,
    expires_at integer not null
);
create index issuances_client_issued_idx on issuances (client_id, issued_at);
create index issuances_issued_idx on issuances (issued_at);
