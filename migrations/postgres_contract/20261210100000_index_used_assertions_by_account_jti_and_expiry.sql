-- no-transaction
-- Contract, step 1 of 4 of partitioning the single-use store by expiry (see 20261210100003).
-- These run only once no instance of a release before the partitioned issuance record is left
-- (`tokenmint migrate --contract`, or at once on a new database): such an instance claims a jti
-- with `ON CONFLICT (service_account_id, jti_digest)`, which needs a unique key no time-partitioned
-- table can have. This release claims under an advisory lock per jti instead
-- (registry::service_accounts::used_assertions), on either shape of the table.
--
-- The partitioned table's index, built on the table that becomes its first partition before it
-- is attached, without blocking the claims (CONCURRENTLY, so alone in its file).
create index concurrently if not exists used_assertions_account_jti_expires_idx
    on used_assertions (service_account_id, jti_digest, expires_at);
