//! The request of `POST /auth/token/create`: the documented body (for the OpenAPI document) and
//! its reading into a [`ParsedRequest`], field by field, each by its rule in [`super::validate`],
//! so that a refusal names the field. Policy checks come later, in the signing core.

use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::validate;
use crate::http::error::ApiError;

/// The request body.
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "client_id": "demo",
    "client_secret": "paste the demo client_secret printed by `cargo run`",
    "stateAbbr": "IC",
    "tokenTime": 30,
    "ipaddress": "string",
    "scope": ["programs:read", "schools:read"],
    "user": {"orgId": "org-1", "orgName": "Acme High School", "id": "user-42"}
}))]
#[allow(non_snake_case, dead_code)] // documents the wire format; `ParsedRequest` reads it
pub struct TokenCreateRequest {
    /// The client id provided to your organization.
    client_id: String,
    /// The client secret; never expose it in a front end.
    client_secret: String,
    /// Two-letter state the responses are scoped to (case insensitive); default: the client's.
    stateAbbr: Option<String>,
    /// Token lifetime in minutes, 1 to the client's maximum; default 60.
    tokenTime: Option<i64>,
    /// Free text recorded for tracking (up to 64 characters), not validated.
    ipaddress: Option<String>,
    /// Requested scopes; `assessment:all` means every assessment scope the client is allowed.
    scope: Option<Vec<String>>,
    /// Your system's user, copied into the token's `user` claim (scalar values only).
    #[schema(value_type = Option<Object>)]
    user: Option<Map<String, Value>>,
}

/// The request after type checks; policy checks come later, in the signing core.
pub struct ParsedRequest {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) state_abbr: Option<String>,
    pub(super) token_time: Option<i64>,
    pub(super) ipaddress: Option<String>,
    pub(super) scope: Option<Vec<String>>,
    pub(super) user: Option<Map<String, Value>>,
}

/// Redacted: the secret never reaches a log or a panic message.
impl std::fmt::Debug for ParsedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedRequest")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ParsedRequest {
    /// Reads a body; the first field that breaks its rule is refused, by name.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::InvalidRequest {
            message: format!("the body must be a JSON object: {e}"),
            field: None,
        })?;
        let Value::Object(mut fields) = value else {
            return Err(ApiError::InvalidRequest {
                message: "the body must be a JSON object".into(),
                field: None,
            });
        };
        Ok(Self {
            client_id: validate::required_string(&mut fields, "client_id")?,
            client_secret: validate::required_string(&mut fields, "client_secret")?,
            state_abbr: validate::state_abbr(&mut fields)?,
            token_time: validate::token_time(fields.remove("tokenTime"))?,
            ipaddress: validate::ipaddress(&mut fields)?,
            scope: validate::scopes(fields.remove("scope"))?,
            user: validate::user(fields.remove("user"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ParsedRequest, String> {
        ParsedRequest::parse(body.as_bytes()).map_err(|e| match e {
            ApiError::InvalidRequest { field, .. } => field.unwrap_or_default(),
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn each_malformed_field_is_named() {
        let base = r#""client_id": "c", "client_secret": "s""#;
        for (extra, field) in [
            (r#""tokenTime": "30""#, "tokenTime"),
            (r#""tokenTime": 0"#, "tokenTime"),
            (r#""tokenTime": 2.5"#, "tokenTime"),
            (r#""stateAbbr": "Ohio""#, "stateAbbr"),
            (r#""stateAbbr": 12"#, "stateAbbr"),
            (r#""scope": "programs:read""#, "scope"),
            (r#""scope": [1]"#, "scope"),
            (r#""user": {"org": {"nested": 1}}"#, "user"),
            (r#""user": "x""#, "user"),
        ] {
            assert_eq!(
                parse(&format!("{{{base}, {extra}}}")).unwrap_err(),
                field,
                "{extra}"
            );
        }
        assert_eq!(parse(r#"{"client_secret": "s"}"#).unwrap_err(), "client_id");
        assert_eq!(
            parse(r#"{"client_id": "c", "client_secret": 5}"#).unwrap_err(),
            "client_secret"
        );
        assert_eq!(parse("[]").unwrap_err(), "");
        assert_eq!(parse("not json").unwrap_err(), "");
    }

    #[test]
    fn the_documented_example_parses() {
        let parsed = parse(
            r#"{"client_id": "YOUR_ID", "client_secret": "YOUR_SECRET", "stateAbbr": "IC",
                "tokenTime": 30, "ipaddress": "string",
                "scope": ["programs:read", "assessment:all"],
                "user": {"orgId": 1, "orgName": "Org", "id": "u1"}}"#,
        )
        .unwrap();
        assert_eq!(parsed.token_time, Some(30));
        assert_eq!(parsed.state_abbr.as_deref(), Some("IC"));
        assert_eq!(parsed.scope.unwrap().len(), 2);
        assert_eq!(parsed.ipaddress.as_deref(), Some("string"));
        assert!(parse(r#"{"client_id": "c", "client_secret": "s", "tokenTime": 30.0}"#).is_ok());
    }
}
