-- The hourly figures are counted by the service now (see the PostgreSQL migration of the same
-- name), not by a trigger.
drop trigger if exists issuances_count_hours;
