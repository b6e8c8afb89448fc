//! The client policy form of the console's Clients pages: the fields as typed (lists as text
//! separated by spaces) and their typed values for the admin API's request bodies, or the
//! messages beside the fields that are not even of the right type.

use crate::domain::{Algorithm, Quota};
use crate::registry::Client;
use crate::web::form::{FieldErrors, Posted};

/// A client's policy as the form shows it (lists as space-separated text).
#[derive(Default)]
pub struct PolicyFields {
    /// As typed.
    pub name: String,
    /// As typed.
    pub allowed_scopes: String,
    /// As typed.
    pub default_scopes: String,
    /// As typed.
    pub allowed_states: String,
    /// As typed.
    pub default_state: String,
    /// As typed.
    pub max_ttl_minutes: String,
    /// As typed.
    pub algorithm: String,
    /// As typed.
    pub phones: String,
    /// As typed.
    pub email: String,
    /// As typed (JSON).
    pub jwks: String,
    /// As typed.
    pub jwks_uri: String,
    /// Ticked.
    pub require_dpop: bool,
    /// As typed (empty: no limit).
    pub quota_per_minute: String,
    /// As typed (empty: no limit).
    pub quota_per_day: String,
}

impl PolicyFields {
    /// The form of a stored client.
    pub fn of(client: &Client) -> Self {
        let policy = &client.policy;
        Self {
            name: client.name.clone(),
            allowed_scopes: policy.allowed_scopes.join(" "),
            default_scopes: policy.default_scopes.join(" "),
            allowed_states: policy.allowed_states.join(" "),
            default_state: policy.default_state.clone().unwrap_or_default(),
            max_ttl_minutes: policy.max_ttl_minutes.to_string(),
            algorithm: policy.algorithm.as_str().to_owned(),
            phones: client.phones.join(" "),
            email: client.email.clone().unwrap_or_default(),
            jwks: client
                .keys
                .jwks
                .as_ref()
                .map(|jwks| serde_json::to_string_pretty(jwks).unwrap_or_default())
                .unwrap_or_default(),
            jwks_uri: client.keys.jwks_uri.clone().unwrap_or_default(),
            require_dpop: client.keys.require_dpop,
            quota_per_minute: policy
                .quota
                .per_minute
                .map(|n| n.to_string())
                .unwrap_or_default(),
            quota_per_day: policy
                .quota
                .per_day
                .map(|n| n.to_string())
                .unwrap_or_default(),
        }
    }

    /// The form as posted.
    pub fn posted(posted: &Posted) -> Self {
        Self {
            name: posted.text("name"),
            allowed_scopes: posted.text("allowed_scopes"),
            default_scopes: posted.text("default_scopes"),
            allowed_states: posted.text("allowed_states"),
            default_state: posted.text("default_state"),
            max_ttl_minutes: posted.text("max_ttl_minutes"),
            algorithm: posted.text("algorithm"),
            phones: posted.text("phones"),
            email: posted.text("email"),
            jwks: posted.text("jwks"),
            jwks_uri: posted.text("jwks_uri"),
            require_dpop: posted.text("require_dpop") == "on",
            quota_per_minute: posted.text("quota_per_minute"),
            quota_per_day: posted.text("quota_per_day"),
        }
    }

    /// The typed values the admin API's bodies take, or messages beside the fields.
    pub fn parsed(&self) -> Result<Parsed, FieldErrors> {
        let mut errors = FieldErrors::default();
        let max_ttl_minutes = match self.max_ttl_minutes.as_str() {
            "" => None,
            raw => raw.parse::<i64>().map(Some).unwrap_or_else(|_| {
                errors.add("max_ttl_minutes", "Enter a whole number of minutes.");
                None
            }),
        };
        let algorithm = match self.algorithm.as_str() {
            "" => None,
            raw => raw.parse::<Algorithm>().map(Some).unwrap_or_else(|_| {
                errors.add("algorithm", "Choose ES256, RS256 or EdDSA.");
                None
            }),
        };
        let mut limit = |field: &'static str, raw: &str| match raw.trim() {
            "" => None,
            raw => raw.parse::<i64>().map(Some).unwrap_or_else(|_| {
                errors.add(
                    field,
                    "Enter a whole number of tokens, or leave it empty for no limit.",
                );
                None
            }),
        };
        let quota = Quota {
            per_minute: limit("quota_per_minute", &self.quota_per_minute),
            per_day: limit("quota_per_day", &self.quota_per_day),
        };
        let jwks = match self.jwks.trim() {
            "" => None,
            raw => serde_json::from_str::<serde_json::Value>(raw)
                .map(Some)
                .unwrap_or_else(|_| {
                    errors.add("jwks", r#"Enter a JWK Set as JSON: {"keys": [...]}."#);
                    None
                }),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let words = |text: &str| {
            text.split([' ', ','])
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        };
        let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Ok(Parsed {
            allowed_scopes: words(&self.allowed_scopes),
            default_scopes: words(&self.default_scopes),
            allowed_states: words(&self.allowed_states),
            default_state: optional(&self.default_state),
            max_ttl_minutes,
            algorithm,
            phones: words(&self.phones),
            email: optional(&self.email),
            jwks,
            jwks_uri: optional(self.jwks_uri.trim()),
            require_dpop: self.require_dpop,
            quota,
        })
    }
}

/// A form's values, typed.
pub struct Parsed {
    /// Typed.
    pub allowed_scopes: Vec<String>,
    /// Typed.
    pub default_scopes: Vec<String>,
    /// Typed.
    pub allowed_states: Vec<String>,
    /// Typed.
    pub default_state: Option<String>,
    /// Typed.
    pub max_ttl_minutes: Option<i64>,
    /// Typed.
    pub algorithm: Option<Algorithm>,
    /// Typed.
    pub phones: Vec<String>,
    /// Typed.
    pub email: Option<String>,
    /// Typed.
    pub jwks: Option<serde_json::Value>,
    /// Typed.
    pub jwks_uri: Option<String>,
    /// Typed.
    pub require_dpop: bool,
    /// Typed; both limits absent when both fields were empty.
    pub quota: Quota,
}
