//! The OpenAPI document: metadata, tags and security schemes here, paths and schemas from each
//! route's `#[utoipa::path]`. Served at `/openapi.json` and committed as `openapi/openapi.json`.
//!
//! The tags come first from the scheme list (one a scheme, named by the scheme's name, in list
//! order), then the service groups of `http::openapi`; the issuance record's `SchemeName`
//! enumerates the list's names. [`refusals`] documents the edge layer's NUL refusal on every
//! operation that takes text.

pub mod refusals;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, ToSchema};

use crate::admin::issuances::SchemeName;
use crate::http::openapi::SERVICE_GROUPS;
use crate::schemes;

/// The document's metadata and security schemes, before any route is added.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Adds what the scheme list decides: the tags, in order, and the values of `SchemeName`.
pub fn describe_schemes(openapi: &mut utoipa::openapi::OpenApi) {
    let tags = schemes::ALL
        .iter()
        .map(|scheme| (scheme.name, scheme.description))
        .chain(SERVICE_GROUPS.iter().map(|tag| (tag.name, tag.description)))
        .map(|(name, description)| {
            TagBuilder::new()
                .name(name)
                .description(Some(description))
                .build()
        })
        .collect();
    openapi.tags = Some(tags);
    let names = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(SchemeName::DESCRIPTION))
        .enum_values(Some(schemes::names()))
        .build();
    openapi
        .components
        .get_or_insert_with(Default::default)
        .schemas
        .insert(
            SchemeName::name().into_owned(),
            RefOr::T(Schema::Object(names)),
        );
}

/// Document metadata and security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokenmint",
        description = "Issues signed JWT access tokens to third-party backends through several \
            documented token schemes, over one client registry and one signing core.\n\n\
            To call a protected endpoint from this page, get a token from one of the token \
            routes, click **Authorize** and paste it under `access_token` (sent as \
            `Authorization: Bearer <token>`), `access_token_bare` (sent as \
            `Authorization: <token>`) or `access_token_query` (sent as `?jwt=<token>`). The \
            admin routes take the admin token (`admin_token`); the portal routes and the \
            standard OAuth routes a client's `client_id:client_secret` (`client_secret_basic`).",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The security schemes, in the order the Authorize dialog offers them: the access token a
/// newcomer gets from a token route first, in the three forms every protected endpoint accepts
/// (CONTRACT "Using a token"), then the admin token, then a client's own credentials.
///
/// Swagger UI lists them in the document's order and utoipa writes them sorted by name, so the
/// names are chosen to sort in this order (a test checks it). Each route's `security(...)` names
/// exactly the ones it accepts.
pub const SECURITY_SCHEMES: [(&str, Declare); 5] = [
    ("access_token", access_token),
    ("access_token_bare", access_token_bare),
    ("access_token_query", access_token_query),
    ("admin_token", admin_token),
    ("client_secret_basic", client_secret_basic),
];

/// Builds a security scheme's definition.
pub type Declare = fn() -> SecurityScheme;

fn access_token() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "An access token from any token route, sent as `Authorization: Bearer <token>` \
                (paste the token alone): the usual form.",
            ))
            .build(),
    )
}

fn access_token_bare() -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
        "Authorization",
        "The same access token sent bare, as `Authorization: <token>` (the form \
        `GET /clients/authorization` documents for its JWT).",
    )))
}

fn access_token_query() -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
        "jwt",
        "The same access token in the URL, as `?jwt=<token>`: how a standalone application is \
        loaded.",
    )))
}

fn admin_token() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "The admin token (the value of `TOKENMINT_ADMIN_TOKEN`), sent as \
                `Authorization: Bearer <admin token>`: the admin routes.",
            ))
            .build(),
    )
}

fn client_secret_basic() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(Some(
                "A client's own credentials, `client_id:client_secret` over HTTP Basic: \
                `client_id` as the username, `client_secret` as the password. The portal routes \
                need them; `/oauth/token`, `/oauth/introspect` and `/oauth/revoke` also take \
                them in the form instead.",
            ))
            .build(),
    )
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, scheme) in SECURITY_SCHEMES {
            components.add_security_scheme(name, scheme());
        }
    }
}

#[cfg(test)]
mod tests;
