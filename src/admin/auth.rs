//! The admin guard: every admin route needs `Authorization: Bearer <token>` of the bootstrap
//! administrator (`TOKENMINT_ADMIN_TOKEN`, checked by the registry's [`AdminCredential`]) or of
//! a registered administrator (looked up on every request, so a deleted one stops at once on
//! every instance). Wrong tokens go through the one guarded path and spend the caller address's
//! failure budget (429 with `Retry-After` once it is spent). A viewer may only read: any other
//! method is 403 `forbidden`. The caller's [`AdminCaller`] rides in the request's extensions for
//! the handlers, whose changes are recorded in the audit trail under its actor.
//!
//! The console signs in through [`authenticate`] too.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::AdminError;
use crate::audit::Actor;
use crate::http::error::ApiError;
use crate::http::guard::{self, Authenticated, Refusal, Refused};
use crate::limits::Identifier;
use crate::registry::administrators::Role;
use crate::registry::{CredentialKind, RegistryError};
use crate::state::AppState;

/// An authenticated administrator: the actor its changes are recorded under, and its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminCaller {
    /// Who it is, as the audit trail names it.
    pub actor: Actor,
    /// What it may do.
    pub role: Role,
    /// Its administrator id; `None` for the bootstrap administrator.
    pub id: Option<String>,
}

impl AdminCaller {
    /// The bootstrap administrator.
    pub fn bootstrap() -> Self {
        Self {
            actor: Actor::Bootstrap,
            role: Role::Admin,
            id: None,
        }
    }

    /// Whether it may change state.
    pub fn may_change(&self) -> bool {
        self.role == Role::Admin
    }
}

impl Authenticated for AdminCaller {
    fn client_id(&self) -> Option<&str> {
        None
    }

    /// Administrators' tokens are not credentials of a client: no `last_used_at`.
    fn credential(&self) -> Option<(CredentialKind, &str)> {
        None
    }
}

/// Why a presented admin token was refused.
#[derive(Debug)]
pub enum AdminRefusal {
    /// No administrator has this token: always a guess.
    WrongToken,
    /// The registry could not say (the database is down).
    Registry(RegistryError),
}

impl Refusal for AdminRefusal {
    fn is_guess(&self) -> bool {
        matches!(self, Self::WrongToken)
    }
}

impl From<AdminRefusal> for ApiError {
    fn from(refusal: AdminRefusal) -> Self {
        match refusal {
            AdminRefusal::WrongToken => ApiError::AdminUnauthorized,
            AdminRefusal::Registry(err) => err.into(),
        }
    }
}

/// Authenticates a presented admin token through the guarded path.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    caller_ip: Option<IpAddr>,
) -> Result<AdminCaller, Refused<AdminRefusal>> {
    let attempt = async {
        if state.admin.accepts(token) {
            return Ok(AdminCaller::bootstrap());
        }
        match state.registry.administrator_by_token(token).await {
            Ok(administrator) => Ok(AdminCaller {
                actor: administrator.actor(),
                role: administrator.role,
                id: Some(administrator.id),
            }),
            Err(RegistryError::NotFound(_)) => Err(AdminRefusal::WrongToken),
            Err(err) => Err(AdminRefusal::Registry(err)),
        }
    };
    guard::authenticate(state, Identifier::AdminToken(token), caller_ip, attempt).await
}

/// Refuses any request without an administrator's token, and a viewer's state-changing request.
pub async fn require_admin(
    Extension(state): Extension<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    let Some(token) = presented else {
        return AdminError(ApiError::AdminUnauthorized).into_response();
    };
    let caller_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let caller = match authenticate(&state, token, caller_ip).await {
        Ok(caller) => caller,
        Err(refused) => return AdminError(refused.into()).into_response(),
    };
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads && !caller.may_change() {
        return AdminError(ApiError::Forbidden {
            code: "forbidden",
            message: "a viewer may only read".into(),
        })
        .into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}
