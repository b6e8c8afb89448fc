-- Which master key sealed each private signing key: the key's fingerprint (the first 8 bytes of
-- an HMAC-SHA256 under it, hex), never the key, so that an instance holding two master keys
-- during a master-key rotation opens each value with the right one. Null: sealed before
-- fingerprints were recorded (opened by trying the configured keys; `tokenmint master-key
-- rotate` records it).
alter table signing_keys add column sealed_by text;

-- The service's own secrets, sealed under the master key like the signing keys: the credential
-- pepper (the key of API key digests), stored by the first instance that starts after this
-- migration, so that a master-key rotation re-seals it instead of changing every digest.
create table sealed_secrets (
    name text not null constraint sealed_secrets_pkey primary key,
    sealed text not null,
    sealed_by text not null,
    created_at bigint not null
);
