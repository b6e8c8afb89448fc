-- JWT credentials and the AuthToken generator (CONTRACT.md section D): API groups (named scope
-- bundles), access requests and their decisions, notifications, JWT credentials, and the lineage
-- of issued AuthTokens that makes each refreshable once and lets a reuse revoke its descendants.
-- Portable types: ids TEXT, timestamps BIGINT epoch milliseconds, JSON as TEXT.

create table api_groups (
    name text not null constraint api_groups_pkey primary key,
    -- JSON array of scope strings
    scopes text not null,
    created_at bigint not null
);

create table access_requests (
    id text not null constraint access_requests_pkey primary key,
    client_id text not null constraint access_requests_client_fkey references clients (id) on delete cascade,
    -- JSON array of api_groups names
    api_groups text not null,
    reason text not null,
    status text not null constraint access_requests_status_check check (status in ('pending', 'approved', 'rejected')),
    decision_note text,
    created_at bigint not null,
    decided_at bigint
);
create index access_requests_client_idx on access_requests (client_id, created_at);
create index access_requests_status_idx on access_requests (status, created_at);

create table notifications (
    id text not null constraint notifications_pkey primary key,
    client_id text not null constraint notifications_client_fkey references clients (id) on delete cascade,
    kind text not null constraint notifications_kind_check check (kind in ('access_request_approved', 'access_request_rejected')),
    access_request_id text constraint notifications_access_request_fkey references access_requests (id) on delete cascade,
    message text not null,
    created_at bigint not null,
    read_at bigint
);
create index notifications_client_idx on notifications (client_id, created_at);

create table jwt_credentials (
    key text not null constraint jwt_credentials_pkey primary key,
    client_id text not null constraint jwt_credentials_client_fkey references clients (id) on delete cascade,
    username text not null,
    notes text not null,
    -- JSON array of api_groups names, each approved for the client
    api_groups text not null,
    locator text not null,
    hash text not null,
    created_at bigint not null,
    revoked_at bigint
);
create index jwt_credentials_client_idx on jwt_credentials (client_id, created_at);

-- One row per issued AuthToken (its jti is also in issuances). refreshed_at is set once, by the
-- refresh that consumed it; parent_jti links a refreshed token to the one it replaced.
create table authtokens (
    jti text not null constraint authtokens_pkey primary key,
    credential_key text not null constraint authtokens_credential_fkey references jwt_credentials (key) on delete cascade,
    parent_jti text,
    issued_at bigint not null,
    expires_at bigint not null,
    refreshed_at bigint
);
create index authtokens_parent_idx on authtokens (parent_jti);
create index authtokens_credential_idx on authtokens (credential_key, expires_at);
