//! The OpenAPI document: metadata and security schemes here, paths and schemas from each route's
//! `#[utoipa::path]`. Served at `/openapi.json` and committed as `openapi/openapi.json`.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Document metadata, tags and security schemes.
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
    tags(
        (name = "auth", description = "POST /auth/token/create: a token for client credentials \
            in a JSON body, with scopes, state, lifetime and user"),
        (name = "auth-jwt", description = "GET/POST /auth/jwt: a token for client-id and \
            client-secret headers, returned in the Authorization response header"),
        (name = "Authorization", description = "GET /clients/authorization: a temporary JWT for \
            an API key; POST /test-api-keys: a sandbox API key for a registered phone"),
        (name = "sign_in", description = "POST /v0/sign_in/token: a service-account access token \
            for a signed JWT assertion (RFC 7523 jwt-bearer grant)"),
        (name = "authtoken", description = "JWT credentials to AuthTokens: POST /auth/authtoken \
            (generate), POST /auth/authtoken/refresh (refresh, once per token, also after expiry \
            within a window) and the JavaScript generator module"),
        (name = "portal", description = "The client portal for JWT credentials: access requests \
            to API groups, notifications of decisions, credentials (HTTP Basic client_id:client_secret)"),
        (name = "tokens", description = "Verifying tokens and publishing keys"),
        (name = "oauth", description = "Standard OAuth routes: token introspection (RFC 7662) \
            and revocation (RFC 7009) for authenticated clients (HTTP Basic or client_id and \
            client_secret in the form), and authorization server metadata (RFC 8414). A client \
            introspects its own tokens; one with the `tokenmint:introspect` scope among its \
            allowed scopes introspects every client's"),
        (name = "admin", description = "Administration: clients, secrets, signing keys, API \
            groups, access requests and the issuance record (Authorization: Bearer <admin token>)"),
        (name = "operations", description = "Probes for orchestrators and load balancers, and \
            Prometheus metrics"),
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
