//! The OpenAPI groups every floor tags its routes with. A scheme's routes share one tag, the
//! scheme's own name (`Scheme::name`, each `#[utoipa::path]` saying `tag = NAME`); the routes
//! that belong to no scheme fall into the service groups here, named in the same style and
//! shown after the schemes' tags. `app::openapi` lists both in the document.
//!
//! Descriptions are Markdown in Swagger UI: anything in angle brackets goes in a code span, or it
//! is read as an HTML tag and disappears.

/// An OpenAPI tag: a group of operations in Swagger UI.
pub struct Tag {
    /// The tag's name, as each operation's `tag = ...` names it.
    pub name: &'static str,
    /// What the group is for.
    pub description: &'static str,
}

/// Using and checking tokens: `/v1/me` and the JWKS.
pub const TOKENS: Tag = Tag {
    name: "tokens",
    description: "Using and checking an access token: `GET /v1/me` shows a token's verified \
        claims, `GET /.well-known/jwks.json` publishes the keys that sign them",
};

/// The standard OAuth routes over every scheme's tokens.
pub const OAUTH: Tag = Tag {
    name: "oauth",
    description: "Standard OAuth routes over every scheme's tokens: introspection (RFC 7662) \
        and revocation (RFC 7009) for authenticated clients (HTTP Basic \
        `client_id:client_secret`, or `client_id` and `client_secret` in the form), and \
        authorization server metadata (RFC 8414). A client introspects its own tokens; one with \
        the `tokenmint:introspect` scope among its allowed scopes introspects every client's",
};

/// The admin API.
pub const ADMIN: Tag = Tag {
    name: "admin",
    description: "Administration: clients, secrets, API keys, service accounts, signing keys, \
        API groups, access requests, trust policies, administrators, the audit trail and the \
        issuance record, with an administrator's token (`Authorization: Bearer <admin token>`: \
        the bootstrap `TOKENMINT_ADMIN_TOKEN` or a registered administrator's). A `viewer` may \
        only read: any other request is 403 `forbidden`. Every change is recorded in the audit \
        trail under the caller's name.",
};

/// Probes and metrics.
pub const OPERATIONS: Tag = Tag {
    name: "operations",
    description: "Probes for orchestrators and load balancers, and Prometheus metrics",
};

/// The groups of routes that belong to no scheme, in the order Swagger UI shows them (after the
/// schemes').
pub const SERVICE_GROUPS: &[Tag] = &[TOKENS, OAUTH, ADMIN, OPERATIONS];
