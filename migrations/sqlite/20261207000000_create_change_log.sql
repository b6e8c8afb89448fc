-- Changes announced to every process sharing this SQLite file: the running service follows what
-- a management command (another process) changed, as PostgreSQL's NOTIFY does between instances.
-- Written inside the transaction making the change, so a change and its announcement commit
-- together; read by the service a few times a second (`sync`). `change` is the payload
-- `client:<id>`, `all` or `keys`, never a secret. AUTOINCREMENT: a sequence number is never
-- reused, so a reader that saw `seq` knows exactly which entries are new, and a gap (entries
-- pruned before it read them) tells it to forget everything instead.
create table change_log (
    seq integer primary key autoincrement,
    change text not null
);
