//! What a web page's session holds: who signed in (a portal client, a console administrator),
//! and the session's CSRF
//! token, which every state-changing form carries back (a synchronizer token, compared in
//! constant time). The session itself (cookie, id, rotation at sign-in, idle expiry, storage in
//! the shared database) is `tower-sessions`' with the store in [`super::store`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::error::WebError;

/// The portal client signed in to this session.
const PORTAL_CLIENT: &str = "portal.client_id";
/// Whether an administrator signed in to the console in this session.
const CONSOLE_ADMIN: &str = "console.administrator";
/// The session's CSRF token.
const CSRF: &str = "csrf";

/// A fresh random token: 256 bits, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let token = random_token();
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// Whether this session holds a CSRF token (it does from sign-in on).
pub async fn has_csrf_token(session: &Session) -> Result<bool, WebError> {
    Ok(session.get::<String>(CSRF).await?.is_some())
}

/// Refuses a form whose CSRF token is not this session's.
pub async fn check_csrf(session: &Session, presented: &str) -> Result<(), WebError> {
    let expected = session.get::<String>(CSRF).await?.unwrap_or_default();
    let matches =
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()));
    if matches {
        Ok(())
    } else {
        tracing::info!("web form refused: CSRF token missing or not this session's");
        Err(WebError::Forbidden)
    }
}

/// The client signed in to the portal in this session, if any.
pub async fn portal_client(session: &Session) -> Result<Option<String>, WebError> {
    Ok(session.get::<String>(PORTAL_CLIENT).await?)
}

/// Signs a client in: a new session id (no fixation of one chosen before sign-in) and a new
/// CSRF token.
pub async fn sign_in_portal(session: &Session, client_id: &str) -> Result<(), WebError> {
    session.cycle_id().await?;
    session.insert(PORTAL_CLIENT, client_id).await?;
    session.insert(CSRF, random_token()).await?;
    Ok(())
}

/// Whether an administrator signed in to the console in this session.
/// Who signed in to the console in this session: `None` when nobody did, `Some(None)` for the
/// bootstrap administrator, `Some(Some(id))` for a registered administrator.
pub async fn console_admin(session: &Session) -> Result<Option<Option<String>>, WebError> {
    Ok(session.get::<Option<String>>(CONSOLE_ADMIN).await?)
}

/// Signs an administrator in to the console: a new session id and a new CSRF token.
pub async fn sign_in_console(
    session: &Session,
    administrator_id: Option<&str>,
) -> Result<(), WebError> {
    session.cycle_id().await?;
    session.insert(CONSOLE_ADMIN, administrator_id).await?;
    session.insert(CSRF, random_token()).await?;
    Ok(())
}

/// Signs out: the session is deleted from the store, so no instance honours it any more.
pub async fn sign_out(session: &Session) -> Result<(), WebError> {
    session.flush().await?;
    Ok(())
}
