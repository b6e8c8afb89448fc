//! `sign_in`: see the scheme module of the same name.
