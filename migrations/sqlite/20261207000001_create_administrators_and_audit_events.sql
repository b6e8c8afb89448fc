-- Administrators beside the bootstrap one (TOKENMINT_ADMIN_TOKEN): each has a name, a role
-- (`admin` may change anything, `viewer` only reads) and a token, shown once and stored only
-- as its keyed digest (like API keys). Deleting the row stops the token at once: every admin
-- request looks its token up here.
create table administrators (
    id text primary key,
    name text not null unique,
    role text not null check (role in ('admin', 'viewer')),
    token_digest text not null unique,
    created_at integer not null
);

-- The audit trail: one row per state-changing administrative action (admin API, console or
-- command line), written in the transaction making the change. `actor` is the administrator's
-- name, `bootstrap`, `cli:<os user>` or `service:<what>`; `details` is JSON text holding no
-- secret. Read newest first by (at, id).
create table audit_events (
    id text primary key,
    at integer not null,
    actor text not null,
    action text not null,
    target text not null,
    details text not null
);
create index audit_events_at_id_idx on audit_events (at, id);
