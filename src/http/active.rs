//! Whether a presented access token is active, as every protected endpoint and introspection
//! decide it: verified by the signing core (signature under a published key, `typ`, `iss`,
//! times, and not revoked) and its client not suspended. A suspension, like a revocation, is
//! read from the database at each check, so it applies to live tokens on every instance at once.

use serde_json::{Map, Value};

use crate::signing::TokenError;
use crate::state::AppState;

/// The claims of an active token, or why it is not.
pub async fn active_claims(
    state: &AppState,
    token: &str,
) -> Result<Map<String, Value>, TokenError> {
    let claims = state.signer.verify_active(token, state.clock.now()).await?;
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or_else(|| TokenError::Invalid("client_id is missing".into()))?;
    match state.registry.client_suspended(client_id).await {
        Ok(false) => Ok(claims),
        Ok(true) => Err(TokenError::ClientSuspended),
        Err(err) => {
            tracing::warn!(error = %err, "cannot check the token's client");
            Err(TokenError::Unavailable)
        }
    }
}
