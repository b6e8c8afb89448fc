//! Admin routes for Service-account configs and their certificates.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// These admin routes (the admin guard is applied by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
