//! The admin token guard: every admin route needs `Authorization: Bearer <admin token>`, checked
//! by the registry's [`AdminCredential`].

use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::AdminError;
use crate::http::error::ApiError;
use crate::registry::AdminCredential;

/// Refuses any request without `Authorization: Bearer <admin token>`.
pub async fn require_admin(
    Extension(credential): Extension<Arc<AdminCredential>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if credential.accepts(token) => next.run(request).await,
        _ => AdminError(ApiError::AdminUnauthorized).into_response(),
    }
}
