//! `POST /auth/token/create` (CONTRACT.md section A).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// This scheme's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
