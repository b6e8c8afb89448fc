-- Emergency revocation of a signing key (POST /admin/keys/{kid}/revoke): the key is retired with
-- publish_until at the revocation time, so it leaves the JWKS and every instance stops
-- verifying its tokens at its next key reload; revoked_at says it was revoked, not rotated out.
alter table signing_keys add column revoked_at bigint;
