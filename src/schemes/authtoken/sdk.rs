//! `GET /sdk/authtokengenerator.js`: the AuthToken generator as a dependency-free ES module
//! (source: `sdk/authtokengenerator.js`), with the service's public URL filled in so that its
//! `generate` and `refresh` call this service.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The module's source, with [`PLACEHOLDER`] where the base URL goes.
const SOURCE: &str = include_str!("../../../sdk/authtokengenerator.js");
/// The string literal replaced by the public URL (quoted, so the result stays one JS string).
const PLACEHOLDER: &str = "\"__TOKENMINT_PUBLIC_URL__\"";

/// The module calling `public_url`: the URL goes in as a JSON string literal, which is a valid
/// JavaScript string literal whatever characters it contains.
pub fn module_source(public_url: &str) -> String {
    SOURCE.replace(
        PLACEHOLDER,
        &serde_json::Value::from(public_url).to_string(),
    )
}

/// The AuthToken generator: an ES module exporting `generate(key, secret)` and
/// `refresh(oldAuthToken)`, both returning promises of `{authToken, expiresIn, expiresAt}`.
#[utoipa::path(get, path = "/sdk/authtokengenerator.js", tag = super::NAME,
    responses((status = 200, description = "The ES module", content_type = "text/javascript",
        body = String,
        example = "export async function generate(key, secret) { … }\nexport async function refresh(oldAuthToken) { … }")))]
pub async fn generator(State(state): State<AppState>) -> Response {
    serve(&state)
}

fn serve(state: &AppState) -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        module_source(&state.settings.http.public_url),
    )
        .into_response()
}

/// The module's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(generator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_replaces_the_placeholder_as_a_string_literal() {
        let source = module_source("https://auth.example.com");
        assert!(source.contains(r#"const BASE_URL = "https://auth.example.com";"#));
        assert!(!source.contains("__TOKENMINT_PUBLIC_URL__"));
        let hostile = module_source("https://x\";alert(1);//");
        assert!(hostile.contains(r#"const BASE_URL = "https://x\";alert(1);//";"#));
    }

    #[test]
    fn the_module_exports_exactly_generate_and_refresh() {
        let exports: Vec<&str> = SOURCE
            .lines()
            .filter(|l| l.starts_with("export "))
            .collect();
        assert_eq!(
            exports,
            [
                "export async function generate(key, secret) {",
                "export async function refresh(oldAuthToken) {"
            ]
        );
    }
}
