//! `GET /clients/authorization?apiKey=` and the sandbox-only `POST /test-api-keys`
//! (CONTRACT.md section C).

use utoipa_axum::router::OpenApiRouter;

use crate::config::Mode;
use crate::state::AppState;

/// This scheme's routes; `/test-api-keys` only in sandbox mode.
pub fn router(_mode: Mode) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
