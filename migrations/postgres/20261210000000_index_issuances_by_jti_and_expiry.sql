-- no-transaction
-- Expand, step 1 of 4 of partitioning the issuance record by expiry (see 20261210000003): the
-- partitioned table's unique key must hold its partition key, so it is (jti, expires_at), and the
-- table that becomes its first partition needs that index before it is attached. Built without
-- blocking the running instances' inserts (CONCURRENTLY, so alone in its file).
create unique index concurrently if not exists issuances_jti_expires_key
    on issuances (jti, expires_at);
