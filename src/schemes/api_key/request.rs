//! The requests of scheme C as they arrive: the `apiKey` query parameter of
//! `GET /clients/authorization` and the JSON body of `POST /test-api-keys`.
//!
//! Parsing here never fails on odd input: a garbage query yields no `apiKey`, a bad body yields
//! a field error. What counts as valid is decided in `validate`.

use secrecy::SecretString;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::error::ApiError;

/// The documented name of the query parameter carrying the key.
pub const API_KEY_PARAM: &str = "apiKey";

/// The query of `GET /clients/authorization`: every `apiKey` value present, kept secret (a
/// repeated parameter is refused by `validate`, never guessed at).
#[derive(Debug, Default)]
pub struct AuthorizationQuery {
    /// The `apiKey` values, in order.
    pub api_keys: Vec<SecretString>,
}

impl AuthorizationQuery {
    /// Reads the raw query string leniently (bad percent-escapes and UTF-8 are kept lossily).
    pub fn parse(raw: Option<&str>) -> Self {
        let api_keys = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .filter(|(name, _)| name == API_KEY_PARAM)
            .map(|(_, value)| SecretString::from(value.into_owned()))
            .collect();
        Self { api_keys }
    }
}

/// The body of `POST /test-api-keys`.
#[derive(Debug, ToSchema)]
pub struct TestApiKeyRequest {
    /// A phone number registered to an active client, in international (E.164) format; spaces,
    /// dashes and brackets are ignored.
    #[schema(example = "+380501234567")]
    pub phone: String,
}

impl TestApiKeyRequest {
    /// Reads the body: a JSON object whose `phone` is a string. Anything else is a 422 naming
    /// `phone` (the route's only field), whatever the content type says.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            ApiError::invalid(
                "phone",
                r#"The body must be a JSON object like {"phone": "+380501234567"}."#,
            )
        })?;
        let Value::Object(object) = value else {
            return Err(ApiError::invalid(
                "phone",
                r#"The body must be a JSON object like {"phone": "+380501234567"}."#,
            ));
        };
        match object.get("phone") {
            None | Some(Value::Null) => Err(ApiError::invalid("phone", "The phone is required.")),
            Some(Value::String(phone)) => Ok(Self {
                phone: phone.clone(),
            }),
            Some(_) => Err(ApiError::invalid("phone", "The phone must be a string.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn keys(raw: Option<&str>) -> Vec<String> {
        AuthorizationQuery::parse(raw)
            .api_keys
            .iter()
            .map(|k| k.expose_secret().to_owned())
            .collect()
    }

    #[test]
    fn the_query_yields_every_api_key_value_and_survives_garbage() {
        assert_eq!(keys(Some("apiKey=a%2Bb&x=1")), ["a+b"]);
        assert_eq!(keys(Some("apiKey=a&apiKey=b")), ["a", "b"]);
        assert_eq!(keys(Some("apikey=a")), Vec::<String>::new());
        assert_eq!(keys(None), Vec::<String>::new());
        assert_eq!(keys(Some("%%%&&==apiKey=%ZZ")), Vec::<String>::new());
        assert_eq!(keys(Some("apiKey=%ff")), ["\u{fffd}"]);
    }

    #[test]
    fn the_body_must_be_an_object_with_a_string_phone() {
        let phone = |body: &str| TestApiKeyRequest::parse(body.as_bytes()).map(|r| r.phone);
        assert_eq!(phone(r#"{"phone": "+380 50"}"#).unwrap(), "+380 50");
        for bad in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"phone": null}"#,
            r#"{"phone": 380}"#,
        ] {
            let err = phone(bad).unwrap_err();
            assert!(
                matches!(&err, ApiError::InvalidRequest { field: Some(f), .. } if f == "phone"),
                "{bad}: {err:?}"
            );
        }
    }
}
