-- Expand, step 4 of 4: the issuance record becomes a table partitioned by expiry (`expires_at`,
-- epoch milliseconds), one partition per UTC day, so that retention removes a whole day by
-- detaching and dropping its partition instead of deleting rows and leaving them to vacuum
-- (db::partitions, which also creates the days ahead).
--
-- Without downtime and without copying a row: the table as it is becomes the partition of every
-- expiry before step 2's bound (`issuances_legacy`), under a new partitioned `issuances` with the
-- same columns. Its indexes and step 2's checked bound match the new table's, so attaching it
-- reads nothing and builds nothing, and the whole swap holds its locks for milliseconds. Instances
-- of the previous release keep working through it: they name `issuances`, which now routes their
-- rows, and none of their statements needs the old primary key (no ON CONFLICT on this table).
-- The legacy partition keeps its old indexes and is pruned by deletes, as before, until its bound
-- has passed; then retention drops it whole. A table still empty under the swap's lock (a new
-- deployment) is simply replaced.
--
-- Rows whose expiry has no partition land in the default partition rather than failing; retention
-- moves them out when it creates their day.
do $$
declare
    bound text;
    legacy boolean;
begin
    select substring(pg_get_constraintdef(oid) from '(\d+)') into bound
        from pg_constraint where conname = 'issuances_expire_before_partitions';
    lock table issuances in access exclusive mode;
    legacy := exists (select 1 from issuances);
    if legacy then
        alter table issuances rename to issuances_legacy;
        alter table issuances_legacy rename constraint issuances_pkey to issuances_legacy_pkey;
        alter table issuances_legacy
            rename constraint issuances_jti_expires_key to issuances_legacy_jti_expires_key;
        alter index issuances_client_issued_jti_idx
            rename to issuances_legacy_client_issued_jti_idx;
        alter index issuances_scheme_issued_jti_idx
            rename to issuances_legacy_scheme_issued_jti_idx;
        alter index issuances_revocable_subject_idx
            rename to issuances_legacy_revocable_subject_idx;
        alter index issuances_expires_idx rename to issuances_legacy_expires_idx;
        create table issuances (like issuances_legacy including defaults)
            partition by range (expires_at);
    else
        create table issuances_partitioned (like issuances including defaults)
            partition by range (expires_at);
        drop table issuances;
        alter table issuances_partitioned rename to issuances;
    end if;
    alter table issuances add constraint issuances_jti_expires_key unique (jti, expires_at);
    create index issuances_client_issued_jti_idx on issuances (client_id, issued_at, jti);
    create index issuances_scheme_issued_jti_idx on issuances (scheme, issued_at, jti);
    create index issuances_revocable_subject_idx on issuances (scheme, subject, expires_at)
        where revocable_by_subject;
    if legacy then
        execute format('alter table issuances attach partition issuances_legacy '
                       'for values from (minvalue) to (%s)', bound);
    end if;
    create table issuances_default partition of issuances default;
end $$;
