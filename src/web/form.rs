//! What the pages' forms share: the posted pairs (repeated names, such as checkboxes, kept), and
//! the messages shown beside the fields a registry function refused, in its own words.

use crate::registry::RegistryError;

use super::error::WebError;

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
            RegistryError::Invalid { field, message } => errors.add(field, message),
            RegistryError::NotApproved(groups) => errors.add(
                "api_groups",
                format!("Not approved for this client: {}", groups.join(", ")),
            ),
            other => return Err(other.into()),
        }
        Ok(errors)
    }
}
