//! API keys: a credential kind of a client (scheme C). Owned by the API-key work.
