-- Only tokens whose scheme revokes them by subject (AuthTokens, revoked with their credential)
-- are ever looked up by (scheme, subject): index those alone, so that every other issuance skips
-- one index on the hot insert path. The column defaults to true, so rows recorded before this
-- migration (and any insert that does not say) stay indexed; the signing core sets it per grant.
alter table issuances add column revocable_by_subject boolean not null default true;
drop index issuances_scheme_subject_idx;
create index issuances_revocable_subject_idx on issuances (scheme, subject, expires_at)
    where revocable_by_subject;
