//! `token_create`: see the scheme module of the same name.
