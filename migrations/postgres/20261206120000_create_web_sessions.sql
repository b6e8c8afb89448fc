-- Sessions of the web pages (portal and console), shared by every instance: a session signed in
-- on one instance continues on another, and signing out deletes the row for all of them. The
-- session id is a bearer secret, so only its SHA-256 is stored; `data` is the session's JSON and
-- `expires_at` (epoch milliseconds) moves forward with each request (idle expiry).
create table web_sessions (
    id_digest text not null constraint web_sessions_pkey primary key,
    data text not null,
    expires_at bigint not null
);
create index web_sessions_expires_at_idx on web_sessions (expires_at);
