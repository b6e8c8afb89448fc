-- Contract, step 2 of 4 (see 20261210100003): the table is bounded by its expiries, NOT VALID (an
-- instant's lock; step 3 checks the old rows). `bound` is the UTC midnight after both the latest
-- expiry in the table and a day from now: assertions live at most an hour and DPoP proofs a
-- minute, so the claims made until step 4 stay below it.
do $$
declare
    day constant bigint := 86400000;
    bound bigint;
begin
    select greatest((extract(epoch from now()) * 1000)::bigint + day,
                    coalesce(max(expires_at), 0) + 1)
        into bound from used_assertions;
    bound := (bound / day + 1) * day;
    execute format('alter table used_assertions add constraint '
                   'used_assertions_expire_before_partitions check (expires_at < %s) not valid',
                   bound);
end $$;
