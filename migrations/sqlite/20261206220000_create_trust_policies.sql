-- Trust policies (CONTRACT F, token exchange): a JWT from an outside OpenID Connect issuer
-- (GitHub Actions, a Kubernetes service account, a SPIFFE JWT-SVID, any IdP) is exchanged for an
-- access token of `client_id` when it verifies with the issuer's keys and its `aud`, `sub`
-- and claims match. `subject` and the values of `claims` (a JSON object of strings) are exact,
-- or patterns where `*` matches any run of characters; `scopes` is a JSON array within the
-- client's allowed scopes.
create table trust_policies (
    id text not null constraint trust_policies_pkey primary key,
    client_id text not null references clients (id),
    issuer text not null,
    jwks_uri text,
    audience text not null,
    subject text not null,
    claims text not null,
    scopes text not null,
    max_ttl_minutes integer not null,
    created_at integer not null,
    updated_at integer not null
);
create index trust_policies_issuer_idx on trust_policies (issuer);
create index trust_policies_client_idx on trust_policies (client_id);

-- The issuance record keeps, for an exchanged token, the policy that allowed it and the outside
-- token's issuer and subject.
alter table issuances add column trust_policy_id text;
alter table issuances add column external_issuer text;
alter table issuances add column external_subject text;
