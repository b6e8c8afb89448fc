-- The retention job deletes rows by expiry in bounded batches (src/retention.rs): without these
-- indexes each batch would scan its whole table. used_assertions has had its index since it was
-- created. The admin report (GET /admin/issuances) is served by the existing indexes on
-- issuances (issued_at) and (client_id, issued_at); no more are added to the hot insert path.
create index issuances_expires_idx on issuances (expires_at);
create index authtokens_expires_idx on authtokens (expires_at);
