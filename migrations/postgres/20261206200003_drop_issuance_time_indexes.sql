-- The indexes 20261206200000 and 20261206200001 replace (each is a prefix of its replacement).
drop index if exists issuances_issued_idx;
drop index if exists issuances_client_issued_idx;
