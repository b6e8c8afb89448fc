-- See the PostgreSQL migration of the same name: the report no longer needs (issued_at, jti).
drop index if exists issuances_issued_jti_idx;
