//! `auth_jwt`: see the scheme module of the same name.
