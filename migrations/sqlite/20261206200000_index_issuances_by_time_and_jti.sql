-- The issuance report pages newest first by (issued_at, jti), optionally filtered by client or
-- scheme: one index per access path in exactly that order, replacing the (issued_at) and
-- (client_id, issued_at) ones. PostgreSQL builds them concurrently in four files; SQLite has one
-- writer, so one file does it.
create index issuances_issued_jti_idx on issuances (issued_at, jti);
create index issuances_client_issued_jti_idx on issuances (client_id, issued_at, jti);
create index issuances_scheme_issued_jti_idx on issuances (scheme, issued_at, jti);
drop index issuances_issued_idx;
drop index issuances_client_issued_idx;
