-- The hourly figures are counted by the service now (in memory after each committed batch, added
-- every few seconds: signing::record), not by a trigger in the statement that inserts the
-- records, which cost about 12% of /auth/jwt's rate (BENCHMARKS.md, session 12).
drop trigger if exists issuances_count_hours on issuances;
drop function if exists issuance_hours_count();
