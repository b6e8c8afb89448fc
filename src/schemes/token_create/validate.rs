//! The rules of each field of `POST /auth/token/create`'s body: type, presence and bounds. The
//! limits (lifetime, scopes and state the client may have) are policy, in the signing core.

use serde_json::{Map, Value};

use crate::http::error::ApiError;

/// Longest accepted `ipaddress`.
const MAX_IPADDRESS_CHARS: usize = 64;
/// Most `user` members, and the longest member name and text value.
const MAX_USER_MEMBERS: usize = 16;
const MAX_USER_KEY_CHARS: usize = 64;
const MAX_USER_VALUE_CHARS: usize = 256;
/// Most scopes in one request.
const MAX_SCOPES: usize = 64;

/// A string member that must be present and not empty.
pub(super) fn required_string(
    fields: &mut Map<String, Value>,
    name: &'static str,
) -> Result<String, ApiError> {
    match optional_string(fields, name)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ApiError::invalid(name, format!("{name} is required"))),
    }
}

/// A string member that may be absent or null.
pub(super) fn optional_string(
    fields: &mut Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, ApiError> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(name, format!("{name} must be a string"))),
    }
}

/// `stateAbbr`: two letters (which states the client may name is policy).
pub(super) fn state_abbr(fields: &mut Map<String, Value>) -> Result<Option<String>, ApiError> {
    let Some(state) = optional_string(fields, "stateAbbr")? else {
        return Ok(None);
    };
    if state.len() == 2 && state.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(Some(state))
    } else {
        Err(ApiError::invalid(
            "stateAbbr",
            "stateAbbr must be a two-letter state code",
        ))
    }
}

/// `ipaddress`: free text, recorded as declared, bounded in length.
pub(super) fn ipaddress(fields: &mut Map<String, Value>) -> Result<Option<String>, ApiError> {
    let Some(ip) = optional_string(fields, "ipaddress")? else {
        return Ok(None);
    };
    if ip.chars().count() <= MAX_IPADDRESS_CHARS {
        Ok(Some(ip))
    } else {
        Err(ApiError::invalid(
            "ipaddress",
            format!("ipaddress must be at most {MAX_IPADDRESS_CHARS} characters"),
        ))
    }
}

/// `tokenTime`: a whole number of minutes, at least 1 (the upper limit is the client's).
pub(super) fn token_time(value: Option<Value>) -> Result<Option<i64>, ApiError> {
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
pub(super) fn scopes(value: Option<Value>) -> Result<Option<Vec<String>>, ApiError> {
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
pub(super) fn user(value: Option<Value>) -> Result<Option<Map<String, Value>>, ApiError> {
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
