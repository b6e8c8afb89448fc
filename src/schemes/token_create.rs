//! `POST /auth/token/create` (CONTRACT.md section A; reference/000): client credentials in a JSON
//! body, with the state, lifetime in minutes, scopes and user the token should carry.
//!
//! Input is read field by field from a JSON value so every refusal names the field and its rule;
//! the body is parsed as JSON whatever its declared content type (curl scripts often omit it).
//! Policy (scopes, `assessment:all`, state, lifetime) is the signing core's.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ErrorBody, TOO_MANY_FAILURES};
use crate::http::extract::CallerIp;
use crate::http::no_store;
use crate::http::ratelimit::Identifier;
use crate::signing::{Grant, PolicyError, ScopeRequest, SigningError, StateRequest, TtlRequest};
use crate::state::AppState;

/// The scheme's name in the issuance record.
pub const SCHEME: &str = "token_create";
/// `tokenTime` when the request names none, minutes (capped by the client's maximum).
pub const DEFAULT_TOKEN_TIME_MINUTES: i64 = 60;
/// Longest accepted `ipaddress`.
const MAX_IPADDRESS_CHARS: usize = 64;
/// Most `user` members, and the longest member name and text value.
const MAX_USER_MEMBERS: usize = 16;
const MAX_USER_KEY_CHARS: usize = 64;
const MAX_USER_VALUE_CHARS: usize = 256;
/// Most scopes in one request.
const MAX_SCOPES: usize = 64;

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
#[allow(non_snake_case, dead_code)] // documents the wire format; parsing is field by field below
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

/// The issued token (no `Debug`: it holds the token).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreateResponse {
    /// The signed JWT.
    #[schema(example = "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...")]
    jwt: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until expiry.
    #[schema(example = 1800)]
    expires_in: i64,
    /// Expiry, RFC 3339.
    #[schema(example = "2026-11-22T12:30:00Z")]
    expires_at: String,
    /// The scopes the token carries (`assessment:all` expanded).
    #[schema(example = json!(["programs:read", "schools:read"]))]
    scope: Vec<String>,
    /// The state the token carries.
    #[schema(example = "IC")]
    state_abbr: Option<String>,
}

/// Issues a JWT for client credentials.
#[utoipa::path(post, path = "/auth/token/create", tag = "auth",
    request_body = TokenCreateRequest,
    responses(
        (status = 200, description = "The token", body = TokenCreateResponse),
        (status = 400, description = "Malformed request; the message names the field and the rule",
            body = ErrorBody, example = json!({"error": "invalid_request",
                "message": "tokenTime must be an integer between 1 and 60"})),
        (status = 401, description = "Unknown client or wrong secret", body = ErrorBody,
            example = json!({"error": "invalid_client", "message": "client authentication failed"})),
        (status = 403, description = "A scope or the state is not allowed for the client",
            body = ErrorBody, example = json!({"error": "invalid_scope",
                "message": "scopes not allowed for this client: industry:write"})),
        (status = 429, description = "Too many failed authentications for this client_id or from \
            this address; retry after Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            example = json!({"error": "too_many_requests", "message": TOO_MANY_FAILURES})),
        (status = 503, description = "Temporarily unavailable; retry after Retry-After seconds",
            body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(client_id = tracing::field::Empty))]
pub async fn create_token(
    State(state): State<AppState>,
    CallerIp(caller_ip): CallerIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = ParsedRequest::parse(&body)?;
    let now = state.clock.now();
    let identifier = Identifier::Client(&request.client_id);
    state.limits.check(identifier, caller_ip)?;
    let client = state
        .registry
        .authenticate(&request.client_id, &request.client_secret, now)
        .await
        .inspect_err(|e| state.limits.record(e, identifier, caller_ip))?;
    tracing::Span::current().record("client_id", client.id.as_str());
    crate::http::observe::note_client(client.id.as_str());
    let mut grant = Grant::for_client(
        SCHEME,
        &client.id,
        &client.policy,
        60 * DEFAULT_TOKEN_TIME_MINUTES,
    );
    if let Some(minutes) = request.token_time {
        grant.ttl = TtlRequest::Exactly(minutes.saturating_mul(60));
    }
    if let Some(scopes) = request.scope {
        grant.scopes = ScopeRequest::Requested(scopes);
    }
    if let Some(state_abbr) = request.state_abbr {
        grant.state = StateRequest::Requested(state_abbr);
    }
    if let Some(user) = request.user {
        grant
            .extra_claims
            .insert("user".into(), Value::Object(user));
    }
    grant.caller_ip = caller_ip;
    grant.declared_ip = request.ipaddress;
    let issued = state
        .signer
        .issue(&grant, now)
        .await
        .map_err(token_time_message)?;
    let response = TokenCreateResponse {
        jwt: issued.token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issued.expires_in(),
        expires_at: rfc3339(issued.expires_at),
        scope: issued.scopes,
        state_abbr: issued.state,
    };
    Ok(no_store(Json(response)))
}

/// Names `tokenTime` and the client's limit when the lifetime is refused.
fn token_time_message(err: SigningError) -> ApiError {
    match err {
        SigningError::Policy(PolicyError::TtlOutOfRange { max_minutes }) => ApiError::invalid(
            "tokenTime",
            format!("tokenTime must be an integer between 1 and {max_minutes}"),
        ),
        other => other.into(),
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The request after type checks; policy checks come later, in the signing core.
pub(crate) struct ParsedRequest {
    client_id: String,
    client_secret: String,
    state_abbr: Option<String>,
    token_time: Option<i64>,
    ipaddress: Option<String>,
    scope: Option<Vec<String>>,
    user: Option<Map<String, Value>>,
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
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ApiError> {
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
            client_id: required_string(&mut fields, "client_id")?,
            client_secret: required_string(&mut fields, "client_secret")?,
            state_abbr: optional_string(&mut fields, "stateAbbr")?
                .map(|s| {
                    let ok = s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic());
                    ok.then_some(s).ok_or_else(|| {
                        ApiError::invalid("stateAbbr", "stateAbbr must be a two-letter state code")
                    })
                })
                .transpose()?,
            token_time: token_time(fields.remove("tokenTime"))?,
            ipaddress: optional_string(&mut fields, "ipaddress")?
                .map(|ip| {
                    (ip.chars().count() <= MAX_IPADDRESS_CHARS)
                        .then_some(ip)
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "ipaddress",
                                format!(
                                    "ipaddress must be at most {MAX_IPADDRESS_CHARS} characters"
                                ),
                            )
                        })
                })
                .transpose()?,
            scope: scopes(fields.remove("scope"))?,
            user: user(fields.remove("user"))?,
        })
    }
}

fn required_string(
    fields: &mut Map<String, Value>,
    name: &'static str,
) -> Result<String, ApiError> {
    match optional_string(fields, name)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ApiError::invalid(name, format!("{name} is required"))),
    }
}

fn optional_string(
    fields: &mut Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, ApiError> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(name, format!("{name} must be a string"))),
    }
}

/// `tokenTime`: a whole number of minutes, at least 1 (the upper limit is the client's).
fn token_time(value: Option<Value>) -> Result<Option<i64>, ApiError> {
    let refused = || {
        ApiError::invalid(
            "tokenTime",
            "tokenTime must be a whole number of minutes, at least 1",
        )
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let minutes = n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 1e12)
                        .map(|f| f as i64)
                })
                .ok_or_else(refused)?;
            if minutes < 1 {
                return Err(refused());
            }
            Ok(Some(minutes))
        }
        Some(_) => Err(refused()),
    }
}

/// `scope`: an array of strings; absent, null or empty means the client's defaults.
fn scopes(value: Option<Value>) -> Result<Option<Vec<String>>, ApiError> {
    let refused = || ApiError::invalid("scope", "scope must be an array of scope strings");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) if items.len() <= MAX_SCOPES => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) if !s.is_empty() => Ok(s),
                _ => Err(refused()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(refused()),
    }
}

/// `user`: an object of scalar members, bounded in count and size.
fn user(value: Option<Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    let refused = |why: &str| ApiError::invalid("user", format!("user {why}"));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(members)) => {
            if members.len() > MAX_USER_MEMBERS {
                return Err(refused(&format!(
                    "may have at most {MAX_USER_MEMBERS} members"
                )));
            }
            for (key, value) in &members {
                if key.chars().count() > MAX_USER_KEY_CHARS {
                    return Err(refused(&format!(
                        "member names are at most {MAX_USER_KEY_CHARS} characters"
                    )));
                }
                match value {
                    Value::String(s) if s.chars().count() > MAX_USER_VALUE_CHARS => {
                        return Err(refused(&format!(
                            "values are at most {MAX_USER_VALUE_CHARS} characters"
                        )))
                    }
                    Value::Array(_) | Value::Object(_) => {
                        return Err(refused("values must be strings, numbers, booleans or null"))
                    }
                    _ => {}
                }
            }
            Ok(Some(members))
        }
        Some(_) => Err(refused(
            "must be an object such as {\"orgId\", \"orgName\", \"id\"}",
        )),
    }
}

/// This scheme's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token))
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
