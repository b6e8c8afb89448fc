-- Contract, step 3 of 4 (see 20261210100003): checks the old rows against step 2's bound, under a
-- lock that lets claims go on (SHARE UPDATE EXCLUSIVE).
alter table used_assertions validate constraint used_assertions_expire_before_partitions;
