-- Tokens issued per hour, scheme and client: the issuance record rolled up, so that the console's
-- chart reads a few rows per hour instead of counting every issued token. `hour` is hours since
-- the Unix epoch (issued_at / 3,600,000). `writer` distinguishes concurrent PostgreSQL writers;
-- SQLite has one writer at a time, so it is always 0 here. Readers sum over it.
create table issuance_hours (
    hour integer not null,
    scheme text not null,
    client_id text not null,
    writer integer not null,
    tokens integer not null,
    constraint issuance_hours_pkey primary key (hour, scheme, client_id, writer)
);

-- Counted in the statement that inserts the record, so the rollup commits or rolls back with it.
create trigger issuances_count_hours
after insert on issuances
begin
    insert into issuance_hours (hour, scheme, client_id, writer, tokens)
    values (new.issued_at / 3600000, new.scheme, new.client_id, 0, 1)
    on conflict (hour, scheme, client_id, writer) do update set tokens = tokens + 1;
end;

-- The records already kept.
insert into issuance_hours (hour, scheme, client_id, writer, tokens)
select issued_at / 3600000, scheme, client_id, 0, count(*)
from issuances
where true
group by issued_at / 3600000, scheme, client_id;
