-- no-transaction
-- The issuance report filtered by scheme (see 20261206200000): without it, a scheme that issued
-- little was found by walking every newer record of the other schemes.
create index concurrently if not exists issuances_scheme_issued_jti_idx
    on issuances (scheme, issued_at, jti);
