//! Swagger UI at `/swagger-ui`: the files vendored by utoipa-swagger-ui, served from the binary,
//! and tokenmint's own initializer (`swagger_ui.js`), which configures it and adds a plugin for
//! what the document cannot say: no per-operation "Servers" selector the document does not
//! declare, and an Authorize dialog that opens at its first scheme.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where Swagger UI is served.
pub const PATH: &str = "/swagger-ui";
/// Where the document it shows is served.
pub const DOCUMENT_PATH: &str = "/openapi.json";
/// The initializer's path, which every Swagger UI page loads (vendored `index.html`).
const INITIALIZER_PATH: &str = "/swagger-ui/swagger-initializer.js";
/// The initializer, with an empty `CONFIG` object for the configuration.
const INITIALIZER: &str = include_str!("swagger_ui.js");
/// The placeholder in [`INITIALIZER`] the configuration replaces.
const CONFIG_SLOT: &str = "const CONFIG = {};";

/// Swagger UI's routes, showing `document` (also served, at [`DOCUMENT_PATH`]).
pub fn router<S: Clone + Send + Sync + 'static>(document: OpenApi) -> Router<S> {
    // No validator: the default one is a request to the internet (STYLE.md).
    let config = Config::new([DOCUMENT_PATH]).validator_url("none");
    let initializer = initializer(&config);
    let swagger = SwaggerUi::new(PATH)
        .url(DOCUMENT_PATH, document)
        .config(config);
    Router::new()
        .route(
            INITIALIZER_PATH,
            get(move || {
                let script = initializer.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                        script,
                    )
                        .into_response()
                }
            }),
        )
        .merge(swagger)
}

/// The initializer with `config` in it.
fn initializer(config: &Config) -> Bytes {
    // A documented startup invariant: the configuration is plain data, and the file has the slot.
    let json = serde_json::to_string(config).expect("Swagger UI's configuration serializes");
    assert!(
        INITIALIZER.contains(CONFIG_SLOT),
        "swagger_ui.js has {CONFIG_SLOT}"
    );
    Bytes::from(INITIALIZER.replace(CONFIG_SLOT, &format!("const CONFIG = {json};")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initializer_carries_the_configuration_and_the_plugin() {
        let config = Config::new([DOCUMENT_PATH]).validator_url("none");

        let script = String::from_utf8(initializer(&config).to_vec()).unwrap();

        assert!(!script.contains(CONFIG_SLOT));
        assert!(script.contains(r#""url":"/openapi.json""#), "{script}");
        assert!(script.contains(r#""validatorUrl":"none""#), "{script}");
        assert!(script.contains("plugins: [SwaggerUIBundle.plugins.DownloadUrl, tokenmintPlugin]"));
    }
}
