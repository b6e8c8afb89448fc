//! Request bodies read field by field from a JSON object, so every refusal is a 400
//! `invalid_request` naming the field and its rule. The body is parsed as JSON whatever its
//! declared content type (curl scripts often omit it).

use serde_json::{Map, Value};

use crate::http::error::ApiError;

/// The members of a JSON object body, taken out one by one. They may hold a secret or a token,
/// so `Debug` shows member names only.
pub struct Fields(Map<String, Value>);

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Fields {
    /// Parses a body that must be a JSON object.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let not_object = |detail: String| ApiError::InvalidRequest {
            message: format!("the body must be a JSON object{detail}"),
            field: None,
        };
        match serde_json::from_slice(body) {
            Ok(Value::Object(members)) => Ok(Self(members)),
            Ok(_) => Err(not_object(String::new())),
            Err(e) => Err(not_object(format!(": {e}"))),
        }
    }

    /// A string member that must be present and not blank.
    pub fn required_string(&mut self, name: &'static str) -> Result<String, ApiError> {
        match self.optional_string(name)? {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(ApiError::invalid(name, format!("{name} is required"))),
        }
    }

    /// A string member that may be absent or null.
    pub fn optional_string(&mut self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(name, format!("{name} must be a string"))),
        }
    }

    /// A member that must be a non-empty array of strings.
    pub fn string_list(&mut self, name: &'static str) -> Result<Vec<String>, ApiError> {
        let refused =
            || ApiError::invalid(name, format!("{name} must be a non-empty array of strings"));
        match self.0.remove(name) {
            Some(Value::Array(items)) if !items.is_empty() => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    _ => Err(refused()),
                })
                .collect(),
            _ => Err(refused()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::InvalidRequest { field, .. } => field.unwrap_or_default(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn each_refusal_names_the_field() {
        let mut fields = Fields::parse(br#"{"a": 1, "b": "  ", "c": [], "d": ["x", 2]}"#).unwrap();
        assert_eq!(field_of(fields.required_string("a").unwrap_err()), "a");
        assert_eq!(field_of(fields.required_string("b").unwrap_err()), "b");
        assert_eq!(field_of(fields.string_list("c").unwrap_err()), "c");
        assert_eq!(field_of(fields.string_list("d").unwrap_err()), "d");
        assert_eq!(
            field_of(fields.string_list("missing").unwrap_err()),
            "missing"
        );
        assert_eq!(fields.optional_string("missing").unwrap(), None);
    }

    #[test]
    fn debug_output_shows_member_names_and_never_values() {
        let fields = Fields::parse(br#"{"key": "k", "secret": "hunter2"}"#).unwrap();
        let printed = format!("{fields:?}");
        assert!(
            printed.contains("secret") && !printed.contains("hunter2"),
            "{printed}"
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused_without_a_field() {
        for body in [&b"[]"[..], b"not json", b""] {
            assert_eq!(field_of(Fields::parse(body).unwrap_err()), "");
        }
    }
}
