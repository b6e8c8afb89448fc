-- no-transaction
-- The issuance report filtered by client (see 20261206200000).
create index concurrently if not exists issuances_client_issued_jti_idx
    on issuances (client_id, issued_at, jti);
