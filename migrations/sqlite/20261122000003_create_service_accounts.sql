-- Service-account configs (scheme E): a credential kind of a client, with the X.509 certificates
-- whose keys sign its assertions (several at once, for rotation), and the used-assertion record
-- that refuses a replayed `jti` until the assertion that first used it has expired.
-- Portable types: ids TEXT, timestamps INTEGER epoch milliseconds, JSON as TEXT.

create table service_accounts (
    id text not null constraint service_accounts_pkey primary key,
    client_id text not null constraint service_accounts_client_fkey references clients (id) on delete cascade,
    description text not null,
    scopes text not null,
    access_token_audience text not null,
    access_token_duration_seconds integer not null
        constraint service_accounts_duration_check check (access_token_duration_seconds in (300, 1800)),
    access_token_user_attributes text not null,
    created_at integer not null,
    updated_at integer not null
);
create index service_accounts_client_idx on service_accounts (client_id);

create table service_account_certificates (
    id text not null constraint service_account_certificates_pkey primary key,
    service_account_id text not null
        constraint service_account_certificates_account_fkey references service_accounts (id) on delete cascade,
    pem text not null,
    -- lowercase hex SHA-256 of the DER encoding: one registration per certificate and account
    fingerprint text not null,
    subject text not null,
    not_before integer not null,
    not_after integer not null,
    created_at integer not null,
    constraint service_account_certificates_fingerprint_key unique (service_account_id, fingerprint)
);

-- One row per accepted assertion `jti` (stored as its SHA-256, so any length fits the index),
-- kept until that assertion's `exp`. The primary key lets the database decide a race between
-- instances: see registry::service_accounts::used_assertions.
create table used_assertions (
    service_account_id text not null,
    jti_digest text not null,
    expires_at integer not null,
    constraint used_assertions_pkey primary key (service_account_id, jti_digest)
);
create index used_assertions_expires_idx on used_assertions (expires_at);
