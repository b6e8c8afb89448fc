-- Expand, step 3 of 4 (see 20261210000003): checks the old rows against step 2's bound. This
-- reads the whole table, under a lock that lets the running instances insert and update
-- meanwhile (SHARE UPDATE EXCLUSIVE).
alter table issuances validate constraint issuances_expire_before_partitions;
