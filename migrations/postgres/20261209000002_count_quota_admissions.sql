-- What the last batch of a quota window asked for (`requested`), under which limit (`ceiling`),
-- and how many of those fitted (`added`): on PostgreSQL one statement counts a batch and writes
-- the records that fit, reading `added` back (signing::quota::write_postgres).
alter table quota_windows add column added bigint not null default 0;
alter table quota_windows add column requested bigint not null default 0;
alter table quota_windows add column ceiling bigint not null default 0;
