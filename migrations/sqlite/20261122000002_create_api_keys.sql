-- API keys (scheme C): a credential kind of a client, for one environment. Only a keyed digest
-- (HMAC-SHA256 under a pepper derived from the master key) of each key is stored, never the key.

create table api_keys (
    id text not null constraint api_keys_pkey primary key,
    client_id text not null constraint api_keys_client_fkey references clients (id) on delete cascade,
    environment text not null constraint api_keys_environment_check check (environment in ('sandbox', 'production')),
    digest text not null constraint api_keys_digest_key unique,
    created_at integer not null,
    expires_at integer,
    revoked_at integer
);
create index api_keys_client_idx on api_keys (client_id, created_at);
