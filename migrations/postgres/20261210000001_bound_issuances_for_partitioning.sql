-- Expand, step 2 of 4 (see 20261210000003). The index of step 1 becomes a constraint (a
-- partitioned table's unique constraint is matched by its partitions' constraints), and the
-- table is bounded by its expiries: it becomes the partition of every expiry before `bound`, and
-- attaching it skips the scan of its rows only if a valid constraint already says so.
--
-- `bound` is the UTC midnight after both the latest expiry in the table and the longest token
-- life from now (`tokenmint.max_ttl_cap_minutes`, which `tokenmint migrate` and `serve` set from
-- `[signing] max_ttl_cap_minutes`; a week when unset), plus an hour for the migration to finish,
-- so that the running instances keep inserting below it until step 4 has swapped the tables.
-- NOT VALID: only new rows are checked here, so this takes its lock for an instant; step 3
-- checks the old rows.
do $$
declare
    day constant bigint := 86400000;
    longest_ms bigint := coalesce(nullif(current_setting('tokenmint.max_ttl_cap_minutes', true), ''),
                                  '10080')::bigint * 60000 + 3600000;
    bound bigint;
begin
    if not exists (select 1 from pg_constraint where conname = 'issuances_jti_expires_key') then
        alter table issuances add constraint issuances_jti_expires_key
            unique using index issuances_jti_expires_key;
    end if;
    select greatest((extract(epoch from now()) * 1000)::bigint + longest_ms,
                    coalesce(max(expires_at), 0) + 1)
        into bound from issuances;
    bound := (bound / day + 1) * day;
    execute format('alter table issuances add constraint issuances_expire_before_partitions '
                   'check (expires_at < %s) not valid', bound);
end $$;
