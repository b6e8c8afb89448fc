//! `GET` and `POST /auth/jwt` (CONTRACT.md section B).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// This scheme's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
