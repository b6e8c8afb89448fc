-- no-transaction
-- The issuance report pages newest first by (issued_at, jti): indexes on exactly that order, so a
-- page (and the page after a cursor) reads its rows from the index however many share an issue
-- time or lie newer than the cursor. Built without blocking the token routes' inserts
-- (CONCURRENTLY, which runs outside a transaction and so alone in its file); the older indexes
-- they replace are dropped in 20261206200003.
create index concurrently if not exists issuances_issued_jti_idx on issuances (issued_at, jti);
