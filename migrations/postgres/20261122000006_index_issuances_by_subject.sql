-- Finding the live tokens of one subject of one scheme (e.g. every AuthToken of a revoked JWT
-- credential, whose key is the token's subject) without scanning the issuance record.
create index issuances_scheme_subject_idx on issuances (scheme, subject, expires_at);
