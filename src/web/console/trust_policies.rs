//! **Trust policies** (token exchange, CONTRACT F): the policies with their issuer, subject,
//! audience, claim conditions, client, scopes and lifetime; "Create trust policy" and "Delete",
//! read into the admin API's own request bodies and through the same registry functions, so the
//! rules and the messages beside the fields are the admin API's.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{Administrator, TRUST_POLICIES_PATH};
use crate::admin::trust_policies::CreateTrustPolicyRequest;
use crate::registry::trust_policies::TrustPolicy;
use crate::registry::RegistryError;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{CheckedForm, FieldErrors};
use crate::web::page::{render_with_status, Frame};

/// The page: the policies and the new-policy form (as given, with its errors).
#[derive(Template)]
#[template(path = "console/trust_policies.html")]
struct TrustPoliciesPage {
    frame: Frame,
    admin: Administrator,
    policies: Vec<PolicyRow>,
    form: NewPolicyFields,
    errors: FieldErrors,
}

/// One policy, as listed.
struct PolicyRow {
    id: String,
    client_id: String,
    issuer: String,
    keys: String,
    audience: String,
    subject: String,
    claims: String,
    scopes: String,
    max_ttl_minutes: i64,
}

impl From<&TrustPolicy> for PolicyRow {
    fn from(p: &TrustPolicy) -> Self {
        Self {
            id: p.id.clone(),
            client_id: p.client_id.to_string(),
            issuer: p.issuer.clone(),
            keys: p
                .jwks_uri
                .clone()
                .unwrap_or_else(|| "from discovery".to_owned()),
            audience: p.audience.clone(),
            subject: p.subject.clone(),
            claims: p
                .claims
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(", "),
            scopes: p.scopes.join(" "),
            max_ttl_minutes: p.max_ttl_minutes,
        }
    }
}

/// The new-policy form's fields, as typed.
#[derive(Default)]
struct NewPolicyFields {
    client_id: String,
    issuer: String,
    jwks_uri: String,
    audience: String,
    subject: String,
    claims: String,
    scopes: String,
    max_ttl_minutes: String,
}

async fn page(
    state: &AppState,
    admin: Administrator,
    form: NewPolicyFields,
    errors: FieldErrors,
) -> Result<TrustPoliciesPage, WebError> {
    let policies = state
        .registry
        .trust_policies()
        .await?
        .iter()
        .map(PolicyRow::from)
        .collect();
    Ok(TrustPoliciesPage {
        frame: Frame::new(state.settings.mode),
        admin,
        policies,
        form,
        errors,
    })
}

/// Shows the policies.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let form = NewPolicyFields {
        max_ttl_minutes: "15".into(),
        ..NewPolicyFields::default()
    };
    let page = page(&state, admin, form, FieldErrors::default()).await?;
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Creates a trust policy, or shows the form again with messages.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let form = NewPolicyFields {
        client_id: posted.text("client_id"),
        issuer: posted.text("issuer"),
        jwks_uri: posted.text("jwks_uri"),
        audience: posted.text("audience"),
        subject: posted.text("subject"),
        claims: posted.text("claims"),
        scopes: posted.text("scopes"),
        max_ttl_minutes: posted.text("max_ttl_minutes"),
    };
    let mut errors = FieldErrors::default();
    let max_ttl_minutes = form
        .max_ttl_minutes
        .trim()
        .parse::<i64>()
        .unwrap_or_else(|_| {
            errors.add("max_ttl_minutes", "Enter a whole number of minutes.");
            0
        });
    let mut claims = BTreeMap::new();
    for line in form.claims.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once('=') {
            Some((name, value)) => {
                claims.insert(name.trim().to_owned(), value.trim().to_owned());
            }
            None => errors.add("claims", "Write one condition per line, as name=value."),
        }
    }
    if errors.is_empty() {
        let request = CreateTrustPolicyRequest {
            client_id: form.client_id.trim().to_owned(),
            issuer: form.issuer.trim().to_owned(),
            jwks_uri: Some(form.jwks_uri.trim().to_owned()).filter(|u| !u.is_empty()),
            audience: form.audience.clone(),
            subject: form.subject.clone(),
            claims,
            scopes: super::service_accounts::words(&form.scopes),
            max_ttl_minutes,
        };
        let created = state
            .registry
            .create_trust_policy(request.into(), admin.changer()?, state.clock.now())
            .await;
        match created {
            Ok(_) => return Ok(Redirect::to(TRUST_POLICIES_PATH).into_response()),
            Err(err) => errors = FieldErrors::from_refusal(err)?,
        }
    }
    let page = page(&state, admin, form, errors).await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}

/// Deletes a trust policy.
#[tracing::instrument(skip_all, fields(trust_policy_id = %id))]
pub async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(_): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    match state
        .registry
        .delete_trust_policy(&id, admin.changer()?, state.clock.now())
        .await
    {
        Ok(()) => Ok(Redirect::to(TRUST_POLICIES_PATH).into_response()),
        Err(RegistryError::NotFound(_)) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}
