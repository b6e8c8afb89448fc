-- A client's token quota (CONTRACT.md, Admin API, "Quotas"): at most `quota_per_minute` tokens
-- per UTC minute and `quota_per_day` per UTC day, over every scheme and instance; null is no limit.
alter table clients add column quota_per_minute bigint check (quota_per_minute > 0);
alter table clients add column quota_per_day bigint check (quota_per_day > 0);

-- Tokens issued to clients with a quota, per window: `period` 'minute' or 'day', starting at
-- `window_start` (epoch milliseconds). Counted in the transaction that writes the tokens'
-- issuance records, so the count is exact over every instance (signing::quota); the retention
-- job removes windows that have ended.
create table quota_windows (
    client_id text not null,
    period text not null check (period in ('minute', 'day')),
    window_start bigint not null,
    tokens bigint not null,
    constraint quota_windows_pkey primary key (client_id, period, window_start)
);

-- Refused token requests per UTC day (days since the Unix epoch), client, scheme and reason: the
-- usage report's refusals. Each instance counts them in memory and adds them every few seconds
-- under its own `writer`, as with issuance_hours; readers sum over it.
create table refusal_days (
    day bigint not null,
    client_id text not null,
    scheme text not null,
    reason text not null,
    writer bigint not null,
    refusals bigint not null,
    constraint refusal_days_pkey primary key (day, client_id, scheme, reason, writer)
);
