//! `POST /v0/sign_in/token`: the RFC 7523 jwt-bearer grant for service accounts (CONTRACT.md section E).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// This scheme's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
