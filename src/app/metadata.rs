//! `GET /.well-known/oauth-authorization-server` (RFC 8414): what a client can discover about
//! this service, with absolute URLs under the configured public URL.
//!
//! Choices where the RFC leaves room, each deliberate:
//! - `token_endpoint` is the standard endpoint, `/oauth/token` (`schemes::oauth::token`), with
//!   its client authentication methods (`client_secret_basic`, `client_secret_post`,
//!   `private_key_jwt`) and the algorithms a client assertion may use.
//!   `grant_types_supported` is every scheme's RFC 6749 grant types, from the scheme list
//!   (`schemes::ALL`): `client_credentials` at the standard endpoint, and jwt-bearer (RFC 7523
//!   §2.1) at `/v0/sign_in/token`, whose assertion is the grant itself. Each scheme's routes make
//!   `tokenmint_token_routes`, where every grant is found with its own endpoint.
//! - `response_types_supported` is REQUIRED (§2) but there is no authorization endpoint, so no
//!   response type is supported: `[]`.
//! - `scopes_supported` is omitted: scopes are each client's policy, set by administrators; no
//!   fixed list would be true for every client (§2 allows not advertising).
//! - Extension members (§2 allows them), prefixed to avoid collisions: every token route of the
//!   running mode (`tokenmint_token_routes`) and the algorithms tokens are signed with
//!   (`tokenmint_signing_alg_values_supported`; there is no registered member for that).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Settings;
use crate::domain::Algorithm;
use crate::http::dpop;
use crate::http::grant_types::JWT_BEARER;
use crate::http::openapi;
use crate::schemes::oauth::client_assertion::SIGNING_ALGORITHMS;
use crate::schemes::oauth::{token, AUTH_METHODS, INTROSPECT_PATH, REVOKE_PATH};
use crate::schemes::ALL;
use crate::state::AppState;

/// The metadata document's path (RFC 8414 §3).
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The published keys' path.
const JWKS_PATH: &str = "/.well-known/jwks.json";

/// A token route (extension member `tokenmint_token_routes`).
#[derive(Serialize, ToSchema)]
pub struct TokenRoute {
    /// The scheme's name, as in issuance records.
    #[schema(example = "token_create")]
    scheme: &'static str,
    /// HTTP methods.
    #[schema(example = json!(["POST"]))]
    methods: &'static [&'static str],
    /// Absolute URL.
    #[schema(example = "http://127.0.0.1:8080/auth/token/create")]
    endpoint: String,
    /// What the caller presents: a grant type URI or a tokenmint name.
    #[schema(example = "client_secret_json")]
    grant: &'static str,
    /// `access_token`, or `api_key` for `/test-api-keys`.
    #[schema(example = "access_token")]
    issues: &'static str,
    /// Algorithms accepted for the grant's signed assertion (jwt-bearer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    assertion_signing_alg_values_supported: Option<Vec<&'static str>>,
}

/// Authorization server metadata (RFC 8414 §2).
#[derive(Serialize, ToSchema)]
pub struct AuthorizationServerMetadata {
    /// The `iss` of every token.
    #[schema(example = "http://127.0.0.1:8080")]
    issuer: String,
    /// The JWK Set verifying every token.
    jwks_uri: String,
    /// The standard token endpoint, `/oauth/token`.
    #[schema(example = "http://127.0.0.1:8080/oauth/token")]
    token_endpoint: String,
    /// How a client authenticates there.
    #[schema(example = json!(["client_secret_basic", "client_secret_post", "private_key_jwt"]))]
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// What a `private_key_jwt` client assertion may be signed with.
    #[schema(example = json!(["RS256", "ES256", "EdDSA"]))]
    token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// What a DPoP proof may be signed with (RFC 9449 §5.1).
    #[schema(example = json!(["ES256", "RS256", "EdDSA"]))]
    dpop_signing_alg_values_supported: Vec<&'static str>,
    /// Every RFC 6749 grant type taken here (each at its route: see `tokenmint_token_routes`).
    grant_types_supported: Vec<&'static str>,
    /// Empty: there is no authorization endpoint.
    response_types_supported: Vec<&'static str>,
    /// RFC 7662 introspection.
    introspection_endpoint: String,
    /// `client_secret_basic`, `client_secret_post`.
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 7009 revocation.
    revocation_endpoint: String,
    /// `client_secret_basic`, `client_secret_post`.
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Swagger UI.
    service_documentation: String,
    /// Algorithms access tokens are signed with (extension).
    tokenmint_signing_alg_values_supported: Vec<&'static str>,
    /// Every token route of the service in this mode (extension).
    tokenmint_token_routes: Vec<TokenRoute>,
}

impl AuthorizationServerMetadata {
    /// The document for a configuration and the issuer the signer uses.
    pub fn new(settings: &Settings, issuer: &str) -> Self {
        let url = |path: &str| settings.public_url_for(path);
        let schemes = || {
            ALL.iter()
                .filter(|scheme| scheme.available_in(settings.mode))
        };
        let routes = schemes()
            .flat_map(|scheme| {
                scheme
                    .routes
                    .iter()
                    .filter(|route| route.available_in(settings.mode))
                    .map(|route| TokenRoute {
                        scheme: scheme.name,
                        methods: route.methods,
                        endpoint: url(route.path),
                        grant: route.grant,
                        issues: route.issues.as_str(),
                        assertion_signing_alg_values_supported: (route.grant == JWT_BEARER)
                            .then(|| vec![Algorithm::RS256.as_str()]),
                    })
            })
            .collect();
        Self {
            issuer: issuer.to_owned(),
            jwks_uri: url(JWKS_PATH),
            token_endpoint: url(token::PATH),
            token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: SIGNING_ALGORITHMS.to_vec(),
            dpop_signing_alg_values_supported: dpop::ALGORITHMS.to_vec(),
            grant_types_supported: schemes()
                .flat_map(|scheme| scheme.grant_types.iter().copied())
                .collect(),
            response_types_supported: Vec::new(),
            introspection_endpoint: url(INTROSPECT_PATH),
            introspection_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            revocation_endpoint: url(REVOKE_PATH),
            revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            service_documentation: url("/swagger-ui"),
            tokenmint_signing_alg_values_supported: Algorithm::ALL
                .iter()
                .map(|a| a.as_str())
                .collect(),
            tokenmint_token_routes: routes,
        }
    }
}

/// The authorization server metadata (RFC 8414): issuer, JWKS, token, introspection and
/// revocation endpoints with their authentication methods, and every token route.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = openapi::OAUTH.name,
    responses((status = 200, description = "RFC 8414 metadata", body = AuthorizationServerMetadata)))]
pub async fn metadata(State(state): State<AppState>) -> Json<AuthorizationServerMetadata> {
    Json(AuthorizationServerMetadata::new(
        &state.settings,
        state.signer.issuer(),
    ))
}

/// The metadata route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metadata))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::*;

    fn document(env: &[(&str, &str)]) -> Value {
        let env: Vec<_> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut settings = Settings::from_sources(Path::new("config"), &env).unwrap();
        settings.http.public_url = "https://auth.example.com".into();
        serde_json::to_value(AuthorizationServerMetadata::new(&settings, "https://iss")).unwrap()
    }

    fn endpoints(document: &Value) -> Vec<String> {
        document["tokenmint_token_routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["endpoint"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn names_absolute_urls_and_the_routes_of_each_mode() {
        let sandbox = document(&[]);
        assert_eq!(sandbox["issuer"], "https://iss");
        assert_eq!(
            sandbox["revocation_endpoint"],
            "https://auth.example.com/oauth/revoke"
        );
        assert_eq!(sandbox["response_types_supported"], serde_json::json!([]));
        let test_keys = "https://auth.example.com/test-api-keys".to_owned();
        assert_eq!(endpoints(&sandbox).len(), 8);
        assert!(endpoints(&sandbox).contains(&test_keys));
        let production = document(&[
            ("TOKENMINT_MODE", "production"),
            ("TOKENMINT_MASTER_KEY", "a2V5"),
            ("TOKENMINT_ADMIN_TOKEN", "t"),
            ("DATABASE_URL", "postgres://db/tm"),
        ]);
        assert_eq!(endpoints(&production).len(), 7);
        assert!(!endpoints(&production).contains(&test_keys));
    }
}
