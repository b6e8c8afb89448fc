-- When each credential was last used to authenticate (epoch milliseconds; null: never since this
-- column exists). Written in batches by the service (registry::last_use), a few seconds behind
-- the requests, and only ever moved forward, so instances flushing at once cannot move it back.
alter table client_secrets add column last_used_at bigint;
alter table api_keys add column last_used_at bigint;
alter table jwt_credentials add column last_used_at bigint;
alter table service_accounts add column last_used_at bigint;
