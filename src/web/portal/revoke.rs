//! "Revoke" beside each active JWT credential on the API credentials page: the same revocation as
//! `DELETE /v1/credentials/{key}` (the credential stops at once, its live AuthTokens are revoked
//! too). The authtoken scheme owns that procedure, and both its route and this page call it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{SignedIn, CREDENTIALS_PATH};
use crate::registry::RegistryError;
use crate::schemes::authtoken::revoke_credential;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;

/// Revokes one of the signed-in client's credentials.
#[tracing::instrument(skip_all, fields(key = %key))]
pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Path(key): Path<String>,
    CheckedForm(_posted): CheckedForm,
) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    match revoke_credential(&state, &signed_in.client.id, &key).await {
        // Already revoked, or not this client's: nothing to do; the list shows what there is.
        Ok(()) | Err(RegistryError::NotFound(_)) => {
            Ok(Redirect::to(CREDENTIALS_PATH).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
