-- Revocation of issued tokens (refresh-token reuse, RFC 7009 revocation): a token whose record
-- has revoked_at set is refused by every protected endpoint.
alter table issuances add column revoked_at bigint;
