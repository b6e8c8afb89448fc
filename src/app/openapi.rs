//! The OpenAPI document: metadata, tags and security schemes here, paths and schemas from each
//! route's `#[utoipa::path]`. Served at `/openapi.json` and committed as `openapi/openapi.json`.
//!
//! The tags come first from the scheme list (each scheme's own, in list order), then the
//! service's other groups; the issuance record's `SchemeName` enumerates the list's names.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, ToSchema};

use crate::admin::issuances::SchemeName;
use crate::http::scheme::Tag;
use crate::schemes;

/// The groups of routes that belong to no scheme, shown after the schemes' own.
const SERVICE_TAGS: &[Tag] = &[
    Tag {
        name: "tokens",
        description: "Verifying tokens and publishing keys",
    },
    Tag {
        name: "oauth",
        description: "Standard OAuth routes: token introspection (RFC 7662) \
            and revocation (RFC 7009) for authenticated clients (HTTP Basic or client_id and \
            client_secret in the form), and authorization server metadata (RFC 8414). A client \
            introspects its own tokens; one with the `tokenmint:introspect` scope among its \
            allowed scopes introspects every client's",
    },
    Tag {
        name: "admin",
        description: "Administration: clients, secrets, signing keys, API \
            groups, access requests and the issuance record (Authorization: Bearer <admin token>)",
    },
    Tag {
        name: "operations",
        description: "Probes for orchestrators and load balancers, and \
            Prometheus metrics",
    },
];

/// The document's metadata and security schemes, before any route is added.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Adds what the scheme list decides: the tags, in order, and the values of `SchemeName`.
pub fn describe_schemes(openapi: &mut utoipa::openapi::OpenApi) {
    let tags = schemes::ALL
        .iter()
        .flat_map(|scheme| scheme.tags)
        .chain(SERVICE_TAGS)
        .map(|tag| {
            TagBuilder::new()
                .name(tag.name)
                .description(Some(tag.description))
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
mod tests {
    use serde_json::{json, Value};

    use crate::config::Mode;

    fn document() -> Value {
        serde_json::to_value(super::super::openapi_document(Mode::Sandbox)).unwrap()
    }

    #[test]
    fn scheme_names_are_the_recorded_ones() {
        let names = crate::schemes::names();
        assert_eq!(
            document()["components"]["schemas"]["SchemeName"]["enum"],
            json!(names)
        );
    }

    #[test]
    fn each_scheme_tags_its_routes_before_the_service_groups() {
        let document = document();
        let tags: Vec<&str> = document["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tag| tag["name"].as_str().unwrap())
            .collect();
        let declared: Vec<&str> = crate::schemes::ALL
            .iter()
            .flat_map(|scheme| scheme.tags.iter().map(|tag| tag.name))
            .chain(super::SERVICE_TAGS.iter().map(|tag| tag.name))
            .collect();
        assert_eq!(tags, declared);
        for scheme in crate::schemes::ALL {
            for route in scheme.routes {
                let operations = &document["paths"][route.path];
                let tagged = operations.as_object().unwrap().values().all(|operation| {
                    let tag = operation["tags"][0].as_str().unwrap();
                    scheme.tags.iter().any(|declared| declared.name == tag)
                });
                assert!(tagged, "{} is not tagged by {}", route.path, scheme.name);
            }
        }
    }
}
