-- Contract, step 4 of 4: the single-use store (`used_assertions`: service-account assertion and
-- DPoP proof jtis) becomes a table partitioned by expiry, one partition per UTC day, as the
-- issuance record did in 20261210000003 and in the same way: the table as it is becomes the
-- partition `used_assertions_legacy` of every expiry before step 2's bound, attached without
-- reading or copying a row, in a transaction that holds its locks for milliseconds; an empty
-- table is simply replaced. Its primary key stays on the legacy partition only; the partitioned
-- table has no unique key (a jti is claimed under an advisory lock, see step 1).
do $$
declare
    bound text;
    legacy boolean;
begin
    select substring(pg_get_constraintdef(oid) from '(\d+)') into bound
        from pg_constraint where conname = 'used_assertions_expire_before_partitions';
    lock table used_assertions in access exclusive mode;
    legacy := exists (select 1 from used_assertions);
    if legacy then
        alter table used_assertions rename to used_assertions_legacy;
        alter table used_assertions_legacy
            rename constraint used_assertions_pkey to used_assertions_legacy_pkey;
        alter index used_assertions_expires_idx rename to used_assertions_legacy_expires_idx;
        alter index used_assertions_account_jti_expires_idx
            rename to used_assertions_legacy_account_jti_expires_idx;
        create table used_assertions (like used_assertions_legacy including defaults)
            partition by range (expires_at);
    else
        create table used_assertions_partitioned (like used_assertions including defaults)
            partition by range (expires_at);
        drop table used_assertions;
        alter table used_assertions_partitioned rename to used_assertions;
    end if;
    create index used_assertions_account_jti_expires_idx
        on used_assertions (service_account_id, jti_digest, expires_at);
    if legacy then
        execute format('alter table used_assertions attach partition used_assertions_legacy '
                       'for values from (minvalue) to (%s)', bound);
    end if;
    create table used_assertions_default partition of used_assertions default;
end $$;
