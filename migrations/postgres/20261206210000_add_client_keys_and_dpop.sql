-- How a client may authenticate without a secret, and whether its tokens must be bound to a key
-- (CONTRACT F): `jwks` is its registered public key set (JSON text, public parts only),
-- `jwks_uri` where it publishes one, never both (RFC 7591 §2); `require_dpop` refuses it a
-- token without a DPoP proof (RFC 9449 §5).
alter table clients add column jwks text;
alter table clients add column jwks_uri text;
-- 0 or 1: an integer, which both databases' drivers read alike.
alter table clients add column require_dpop bigint not null default 0 check (require_dpop in (0, 1));
