//! The URIs of OAuth 2.0 grant types and client assertion types, each defined once here, for
//! the schemes that accept them and the metadata that advertises them.

/// The JWT bearer authorization grant (RFC 7523 §2.1).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
