//! `api_key`: see the scheme module of the same name.
