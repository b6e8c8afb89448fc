//! What the pages' forms share: the posted pairs (repeated names, such as checkboxes, kept), and
//! the messages shown beside the fields a registry function refused, in its own words.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::Form;
use tower_sessions::Session;

use super::error::WebError;
use super::session;
use crate::registry::RegistryError;
use crate::state::AppState;

/// A posted `application/x-www-form-urlencoded` form, every pair in order.
pub struct Posted(pub Vec<(String, String)>);

impl Posted {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// Every value of `name` (checked checkboxes), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Messages to show beside fields, by field name.
#[derive(Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether `field` has a message.
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// Adds a message for `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// Whether no field has a message.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts a registry refusal: one about a field becomes that field's message (the registry's
    /// own words, as the API returns them); any other failure is the page's.
    pub fn from_refusal(err: RegistryError) -> Result<Self, WebError> {
        let mut errors = Self::default();
        match err {
            // A nested API field (`quota.per_minute`) is one form field (`quota_per_minute`).
            RegistryError::Invalid { field, message } => {
                let field = match field {
                    "quota.per_minute" => "quota_per_minute",
                    "quota.per_day" => "quota_per_day",
                    other => other,
                };
                errors.add(field, message);
            }
            RegistryError::NotApproved(groups) => errors.add(
                "api_groups",
                format!("Not approved for this client: {}", groups.join(", ")),
            ),
            other => return Err(other.into()),
        }
        Ok(errors)
    }
}

/// A state-changing form of a signed-in page, taken only once it carries this session's CSRF
/// token: every such handler takes one, so none can forget the check. A request whose session
/// holds no token at all (never signed in, or expired) is sent to its sign-in page instead.
pub struct CheckedForm(pub Posted);

impl FromRequest<AppState> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sign_in = if parts.uri.path().starts_with("/console") {
            "/console"
        } else {
            "/portal"
        };
        let Form(pairs) =
            Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        let posted = Posted(pairs);
        if !session::has_csrf_token(&session)
            .await
            .map_err(IntoResponse::into_response)?
        {
            return Err(WebError::SignInRequired(sign_in).into_response());
        }
        session::check_csrf(&session, &posted.text("csrf"))
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(posted))
    }
}
