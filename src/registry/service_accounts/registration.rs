//! The rules of registration for service-account configs: certificates parsed and valid now
//! (repeats dropped), and every field within the owning client's policy and the scheme's limits.
//! Pure; the registry calls these before any transaction opens.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::certificate::{self, Certificate};
use super::storage::NewCertificate;
use super::{ServiceAccount, ACCESS_TOKEN_DURATIONS_SECONDS, MAX_CERTIFICATES, USER_ATTRIBUTES};
use crate::registry::{dedupe, Client, RegistryError};

/// Parses PEMs into certificates valid at `now`, dropping repeats of the same certificate.
pub(super) fn prepare_certificates(
    pems: &[String],
    field: &'static str,
    now: DateTime<Utc>,
) -> Result<Vec<NewCertificate>, RegistryError> {
    if pems.len() > MAX_CERTIFICATES {
        return Err(RegistryError::invalid(
            field,
            format!("at most {MAX_CERTIFICATES} certificates"),
        ));
    }
    let mut seen = HashSet::new();
    let mut prepared = Vec::with_capacity(pems.len());
    for (index, pem) in pems.iter().enumerate() {
        let parsed = certificate::parse_current(pem, now).map_err(|why| {
            let which = if field == "pem" {
                "the certificate".to_owned()
            } else {
                format!("certificate {}", index + 1)
            };
            RegistryError::invalid(field, format!("{which} {why}"))
        })?;
        if !seen.insert(parsed.fingerprint.clone()) {
            continue;
        }
        prepared.push(NewCertificate {
            certificate: Certificate {
                id: format!("crt_{}", uuid::Uuid::now_v7().simple()),
                fingerprint: parsed.fingerprint,
                subject: parsed.subject,
                not_before: parsed.not_before,
                not_after: parsed.not_after,
                created_at: now,
                public_key: parsed.public_key,
            },
            pem: pem.trim().to_owned(),
        });
    }
    Ok(prepared)
}

/// Checks a config against the rules of registration and its client's policy; drops repeats.
pub(super) fn check(account: &mut ServiceAccount, client: &Client) -> Result<(), RegistryError> {
    dedupe(&mut account.scopes);
    dedupe(&mut account.access_token_user_attributes);
    account.access_token_audience = account.access_token_audience.trim().to_owned();
    if account.description.chars().count() > 1000 {
        return Err(RegistryError::invalid(
            "description",
            "must be at most 1000 characters",
        ));
    }
    if let Some(bad) = account
        .scopes
        .iter()
        .find(|s| !client.policy.allowed_scopes.contains(s))
    {
        return Err(RegistryError::invalid(
            "scopes",
            format!("{bad:?} is not in the client's allowed_scopes"),
        ));
    }
    let audience = &account.access_token_audience;
    if audience.is_empty() || audience.len() > 2048 || audience.chars().any(char::is_control) {
        return Err(RegistryError::invalid(
            "access_token_audience",
            "must be 1 to 2048 printable characters",
        ));
    }
    let duration = account.access_token_duration_seconds;
    if !ACCESS_TOKEN_DURATIONS_SECONDS.contains(&duration) {
        return Err(RegistryError::invalid(
            "access_token_duration",
            "must be 300 or 1800 (seconds)",
        ));
    }
    if duration > client.policy.max_ttl_minutes.saturating_mul(60) {
        return Err(RegistryError::invalid(
            "access_token_duration",
            format!(
                "exceeds the client's max_ttl_minutes ({})",
                client.policy.max_ttl_minutes
            ),
        ));
    }
    if let Some(bad) = account
        .access_token_user_attributes
        .iter()
        .find(|a| !USER_ATTRIBUTES.contains(&a.as_str()))
    {
        return Err(RegistryError::invalid(
            "access_token_user_attributes",
            format!("{bad:?} is not one of {}", USER_ATTRIBUTES.join(", ")),
        ));
    }
    Ok(())
}
