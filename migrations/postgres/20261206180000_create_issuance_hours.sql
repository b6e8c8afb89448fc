-- Tokens issued per hour, scheme and client: the issuance record rolled up, so that the console's
-- chart reads a few rows per hour instead of counting every issued token.
--
-- `hour` is hours since the Unix epoch (issued_at / 3,600,000). `writer` is the PostgreSQL
-- backend that wrote the row: each batch of issuances adds to its own backend's row, and no two
-- transactions run on one backend at once, so concurrent writers (on one instance or several)
-- never wait on each other's row lock. Readers sum over `writer`.
create table issuance_hours (
    hour bigint not null,
    scheme text not null,
    client_id text not null,
    writer bigint not null,
    tokens bigint not null,
    constraint issuance_hours_pkey primary key (hour, scheme, client_id, writer)
);

-- Counted by the database in the statement that inserts the records (one trigger call per
-- statement, whatever its row count), so the rollup commits or rolls back with them, whoever
-- inserts: the service's batches, an import, a restore.
create function issuance_hours_count() returns trigger
language plpgsql as $$
begin
    insert into issuance_hours (hour, scheme, client_id, writer, tokens)
    select issued_at / 3600000, scheme, client_id, pg_backend_pid(), count(*)
    from written
    group by issued_at / 3600000, scheme, client_id
    on conflict (hour, scheme, client_id, writer)
        do update set tokens = issuance_hours.tokens + excluded.tokens;
    return null;
end;
$$;

create trigger issuances_count_hours
    after insert on issuances
    referencing new table as written
    for each statement
    execute function issuance_hours_count();

-- The records already kept.
insert into issuance_hours (hour, scheme, client_id, writer, tokens)
select issued_at / 3600000, scheme, client_id, 0, count(*)
from issuances
group by issued_at / 3600000, scheme, client_id;
