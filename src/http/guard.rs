//! The one guarded authentication path every credential kind goes through: check the failure
//! budgets of the presented identifier and of the caller's address, run the registry's
//! authentication, spend budget when the credential was a guess, name the authenticated client in
//! the request's span (`client_id`, where the handler declares it) and log line, and note the
//! credential's use for its `last_used_at` (in memory; the registry writes them in batches). A
//! new credential kind gets every step by calling [`authenticate`]; none can be forgotten.

use std::future::Future;
use std::net::IpAddr;

use crate::http::error::ApiError;
use crate::limits::{self, Identifier, Limited};
use crate::registry::api_keys::AuthenticatedKey;
use crate::registry::{
    AuthenticatedCredential, AuthenticatedSecret, CredentialKind, RegistryError,
};
use crate::state::AppState;
use crate::telemetry::facts;

/// What an authentication found: something that belongs to one client, or to none (an
/// administrator).
pub trait Authenticated {
    /// The client the credential belongs to, if any.
    fn client_id(&self) -> Option<&str>;

    /// The stored credential that was used and its id, if its uses are noted (`last_used_at`).
    fn credential(&self) -> Option<(CredentialKind, &str)>;
}

impl Authenticated for AuthenticatedSecret {
    fn client_id(&self) -> Option<&str> {
        Some(self.client.id.as_str())
    }

    fn credential(&self) -> Option<(CredentialKind, &str)> {
        Some((CredentialKind::ClientSecret, &self.secret_id))
    }
}

impl Authenticated for AuthenticatedKey {
    fn client_id(&self) -> Option<&str> {
        Some(self.client.id.as_str())
    }

    fn credential(&self) -> Option<(CredentialKind, &str)> {
        Some((CredentialKind::ApiKey, &self.api_key_id))
    }
}

impl Authenticated for AuthenticatedCredential {
    fn client_id(&self) -> Option<&str> {
        Some(self.client.id.as_str())
    }

    fn credential(&self) -> Option<(CredentialKind, &str)> {
        Some((CredentialKind::JwtCredential, &self.credential.key))
    }
}

/// A refused authentication's cause, as far as the failure budgets care.
pub trait Refusal {
    /// Whether the presented credential was wrong (a guess, which spends budget), as opposed to
    /// a right credential that cannot be used, or a failure of the service.
    fn is_guess(&self) -> bool;

    /// Whether the refusal proves the client named by the identifier exists (its secret was
    /// wrong, or it is suspended): the refusal then counts in that client's usage report.
    fn names_existing_client(&self) -> bool {
        false
    }
}

impl Refusal for RegistryError {
    fn is_guess(&self) -> bool {
        limits::is_guess(self)
    }

    fn names_existing_client(&self) -> bool {
        matches!(self, RegistryError::WrongSecret | RegistryError::Suspended)
    }
}

/// Why [`authenticate`] refused: over budget before anything was checked, or the credential.
#[derive(Debug)]
pub enum Refused<E> {
    /// The identifier or the address spent its failure budget.
    Limited(Limited),
    /// The authentication itself refused (the scheme decides what its caller learns).
    Credential(E),
}

impl<E: Into<ApiError>> From<Refused<E>> for ApiError {
    fn from(refused: Refused<E>) -> Self {
        match refused {
            Refused::Limited(limited) => limited.into(),
            Refused::Credential(err) => err.into(),
        }
    }
}

/// Authenticates `identifier` from `caller_ip` by running `attempt` within the failure
/// budgets: refused at once when over budget (no argon2, no database work), budget spent when
/// the attempt says the credential was a guess, and on success the client named in the span
/// and the request's log line and the credential's use noted (no I/O: see `registry::last_use`).
pub async fn authenticate<T, E>(
    state: &AppState,
    identifier: Identifier<'_>,
    caller_ip: Option<IpAddr>,
    attempt: impl Future<Output = Result<T, E>>,
) -> Result<T, Refused<E>>
where
    T: Authenticated,
    E: Refusal,
{
    state
        .limits
        .check(identifier, caller_ip)
        .map_err(Refused::Limited)?;
    match attempt.await {
        Ok(found) => {
            if let Some(client_id) = found.client_id() {
                tracing::Span::current().record("client_id", client_id);
                facts::note_client(client_id);
            }
            if let Some((kind, id)) = found.credential() {
                state
                    .registry
                    .note_credential_use(kind, id, state.clock.now());
            }
            Ok(found)
        }
        Err(err) => {
            if err.is_guess() {
                state.limits.failed(identifier, caller_ip);
            }
            if let Identifier::Client(client_id) = identifier {
                if err.names_existing_client() {
                    facts::note_named_client(client_id);
                }
            }
            Err(Refused::Credential(err))
        }
    }
}
