//! The rules of scheme C that need no database: `apiKey` given exactly once and not blank, the
//! phone in E.164, which key environment a service mode accepts, and a test key's expiry.

use secrecy::{ExposeSecret, SecretString};

use super::request::{AuthorizationQuery, API_KEY_PARAM};
use crate::config::Mode;
use crate::domain::normalize_phone;
use crate::http::error::ApiError;
use crate::registry::api_keys::Environment;

/// Longest phone input considered; longer is malformed without further parsing.
const MAX_PHONE_LEN: usize = 64;

/// The one, non-blank `apiKey` of a request.
pub fn api_key(query: AuthorizationQuery) -> Result<SecretString, ApiError> {
    let mut keys = query.api_keys.into_iter();
    match (keys.next(), keys.next()) {
        (None, _) => Err(ApiError::invalid(
            API_KEY_PARAM,
            "The apiKey query parameter is required.",
        )),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            API_KEY_PARAM,
            "The apiKey query parameter must be given once.",
        )),
        (Some(key), None) if key.expose_secret().trim().is_empty() => Err(ApiError::invalid(
            API_KEY_PARAM,
            "The apiKey query parameter must not be empty.",
        )),
        (Some(key), None) => Ok(key),
    }
}

/// The phone in E.164 (`+` and 8 to 15 digits), as registered phones are stored.
pub fn phone(raw: &str) -> Result<String, ApiError> {
    (raw.len() <= MAX_PHONE_LEN)
        .then(|| normalize_phone(raw))
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid(
                "phone",
                "The phone must be an international number in E.164 format, e.g. +380501234567.",
            )
        })
}

/// The only key environment a service in `mode` accepts.
pub fn environment(mode: Mode) -> Environment {
    match mode {
        Mode::Sandbox => Environment::Sandbox,
        Mode::Production => Environment::Production,
    }
}

/// When a test key created at `now` expires (the registry's rule, shared with the portal page).
pub use crate::registry::api_keys::test_key_expiry;

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn query(values: &[&str]) -> AuthorizationQuery {
        AuthorizationQuery {
            api_keys: values.iter().map(|v| SecretString::from(*v)).collect(),
        }
    }

    fn message(result: Result<SecretString, ApiError>) -> String {
        result.map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn api_key_must_be_present_once_and_not_blank() {
        assert_eq!(api_key(query(&["tmk_x"])).unwrap().expose_secret(), "tmk_x");
        assert!(message(api_key(query(&[]))).contains("required"));
        assert!(message(api_key(query(&[" "]))).contains("empty"));
        assert!(message(api_key(query(&["a", "a"]))).contains("once"));
    }

    #[test]
    fn phones_are_normalized_to_e164_or_refused() {
        assert_eq!(phone("+380 50 123-45-67").unwrap(), "+380501234567");
        for bad in ["380501234567", "+12", "+380abc", "", &"+1".repeat(40)] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_mode_accepts_its_own_environment() {
        assert_eq!(environment(Mode::Sandbox), Environment::Sandbox);
        assert_eq!(environment(Mode::Production), Environment::Production);
    }

    #[test]
    fn a_test_key_expires_after_the_configured_minutes_on_a_whole_second() {
        let now = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let expiry = test_key_expiry(now, 1440);
        assert_eq!(expiry.timestamp(), now.timestamp() + 86_400);
        assert_eq!(expiry.timestamp_subsec_millis(), 0);
        assert!(test_key_expiry(now, 0) > now);
    }
}
