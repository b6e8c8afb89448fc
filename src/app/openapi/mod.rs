//! The OpenAPI document: metadata, tags and security schemes here, paths and schemas from each
//! route's `#[utoipa::path]`. Served at `/openapi.json` and committed as `openapi/openapi.json`.
//!
//! The tags come first from the scheme list (one a scheme, named by the scheme's name, in list
//! order), then the service groups of `http::openapi`; the issuance record's `SchemeName`
//! enumerates the list's names.

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
            routes, click **Authorize** and paste it: as `bearer` (sent as \
            `Authorization: Bearer <token>`) or as `jwt` (sent as `Authorization: <token>`).",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearer",
            bearer("An access token, sent as `Authorization: Bearer <token>`."),
        );
        components.add_security_scheme(
            "jwt",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "An access token sent bare, as `Authorization: <token>`.",
            ))),
        );
        components.add_security_scheme(
            "jwt_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "jwt",
                "An access token in the URL, as a standalone application is loaded.",
            ))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The client's credentials: `client_id` as user name, `client_secret` as password.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            bearer("The admin token (TOKENMINT_ADMIN_TOKEN), as `Authorization: Bearer <token>`."),
        );
    }
}

#[cfg(test)]
mod tests;
