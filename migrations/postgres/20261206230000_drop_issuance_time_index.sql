-- no-transaction
-- The report reads an unfiltered page as the newest rows of each scheme, merged, each from
-- (scheme, issued_at, jti) (see signing::report::list), so (issued_at, jti) is one index more on
-- every token's insert than it needs: measured, the token routes lost some 5-10% of their rate
-- to it and its siblings. Dropped without blocking the inserts.
drop index concurrently if exists issuances_issued_jti_idx;
