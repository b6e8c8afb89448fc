//! **Clients**: the list (with a search by name or id), creating one (its secret shown once),
//! and each client's page: edit its policy, suspend or reactivate it, add a secret, add an API
//! key (each shown once), and see its usage over the last week. Forms are read into the admin API's own request bodies and go through
//! the same conversions (`into_new_client`, `into_update`) and registry functions, so the rules
//! and the messages beside the fields are the admin API's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tower_sessions::Session;

use super::client_form::PolicyFields;
use super::credentials::ShownOncePage;
use super::Administrator;
use crate::admin::usage::{self, UsageReport};
use crate::admin::views::{CreateClientRequest, UpdateClientRequest};
use crate::domain::Algorithm;
use crate::registry::{Client, ClientStatus, RegistryError};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{CheckedForm, FieldErrors};
use crate::web::page::{render, render_with_status, Frame};
use crate::web::portal::when;

/// The list, filtered by `q`.
#[derive(Template)]
#[template(path = "console/clients.html")]
struct ClientsPage {
    frame: Frame,
    admin: Administrator,
    query: String,
    clients: Vec<ClientRow>,
}

/// One client, as listed.
struct ClientRow {
    id: String,
    name: String,
    status: &'static str,
    scopes: String,
    algorithm: &'static str,
}

/// The new-client form, or a client's page: its policy form, status and credentials' buttons.
#[derive(Template)]
#[template(path = "console/client.html")]
struct ClientPage {
    frame: Frame,
    admin: Administrator,
    /// `None` for the new-client form.
    client: Option<ClientSummary>,
    fields: PolicyFields,
    errors: FieldErrors,
    algorithms: Vec<&'static str>,
}

/// What a client's page shows besides the form.
struct ClientSummary {
    id: String,
    active: bool,
    created: String,
    /// Its usage over the last [`USAGE_DAYS`] days (on the page as shown, not after a refused
    /// form).
    usage: Option<UsageView>,
}

/// Days of usage a client's page shows.
const USAGE_DAYS: i64 = 7;

/// A client's usage report, as its page shows it.
struct UsageView {
    /// One sentence: totals, and the quota's current use.
    summary: String,
    rows: Vec<UsageRow>,
}

/// One day and scheme.
struct UsageRow {
    date: String,
    scheme: String,
    tokens: i64,
    /// `reason: count` pairs, or empty.
    refusals: String,
}

impl From<UsageReport> for UsageView {
    fn from(report: UsageReport) -> Self {
        let mut summary = format!(
            "Tokens issued: {}; requests refused: {}.",
            report.totals.tokens, report.totals.refusals
        );
        if let (Some(quota), Some(used)) = (report.quota, report.quota_used) {
            let mut parts = Vec::new();
            if let (Some(limit), Some(n)) = (quota.per_minute, used.minute) {
                parts.push(format!("{n} of {limit} this minute"));
            }
            if let (Some(limit), Some(n)) = (quota.per_day, used.day) {
                parts.push(format!("{n} of {limit} today"));
            }
            summary.push_str(&format!(" Quota: {}.", parts.join(", ")));
        }
        Self {
            summary,
            rows: report
                .per_day
                .into_iter()
                .rev()
                .map(|day| UsageRow {
                    date: day.date.to_string(),
                    scheme: day.scheme,
                    tokens: day.tokens,
                    refusals: day
                        .refusals
                        .iter()
                        .map(|(reason, n)| format!("{reason}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
        }
    }
}

fn client_page(
    state: &AppState,
    admin: Administrator,
    client: Option<&Client>,
    fields: PolicyFields,
    errors: FieldErrors,
) -> ClientPage {
    ClientPage {
        frame: Frame::new(state.settings.mode),
        admin,
        client: client.map(|c| ClientSummary {
            id: c.id.to_string(),
            active: c.status == ClientStatus::Active,
            created: when(c.created_at),
            usage: None,
        }),
        fields,
        errors,
        algorithms: Algorithm::ALL.iter().map(|a| a.as_str()).collect(),
    }
}

/// The list's search.
#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// Lists the clients whose name or id contains the search text.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(search): Query<Search>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let query = search.q.trim().to_owned();
    let needle = query.to_lowercase();
    let clients = state
        .registry
        .clients()
        .await?
        .into_iter()
        .filter(|c| {
            needle.is_empty()
                || c.name.to_lowercase().contains(&needle)
                || c.id.as_str().to_lowercase().contains(&needle)
        })
        .map(|c| ClientRow {
            id: c.id.to_string(),
            name: c.name,
            status: c.status.as_str(),
            scopes: c.policy.allowed_scopes.join(" "),
            algorithm: c.policy.algorithm.as_str(),
        })
        .collect();
    Ok(render(&ClientsPage {
        frame: Frame::new(state.settings.mode),
        admin,
        query,
        clients,
    }))
}

/// Shows the new-client form.
pub async fn new(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let fields = PolicyFields {
        max_ttl_minutes: crate::admin::views::DEFAULT_MAX_TTL_MINUTES.to_string(),
        algorithm: Algorithm::default().as_str().to_owned(),
        ..PolicyFields::default()
    };
    Ok(render(&client_page(
        &state,
        admin,
        None,
        fields,
        FieldErrors::default(),
    )))
}

/// Creates a client and shows its first secret once, or the form again with messages.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let fields = PolicyFields::posted(&posted);
    let errors = match fields.parsed() {
        Ok(p) => {
            let request = CreateClientRequest {
                name: fields.name.clone(),
                allowed_scopes: p.allowed_scopes,
                default_scopes: p.default_scopes,
                allowed_states: p.allowed_states,
                default_state: p.default_state,
                max_ttl_minutes: p.max_ttl_minutes,
                algorithm: p.algorithm,
                phones: p.phones,
                email: p.email,
                jwks: p.jwks,
                jwks_uri: p.jwks_uri,
                require_dpop: p.require_dpop,
                quota: Some(p.quota),
            };
            let created = match request.into_new_client() {
                Ok(new) => {
                    state
                        .registry
                        .create_client(new, admin.changer()?, state.clock.now())
                        .await
                }
                Err(err) => Err(err),
            };
            match created {
                Ok((client, secret)) => {
                    let page = ShownOncePage {
                        frame: Frame::new(state.settings.mode),
                        admin,
                        title: "Client created",
                        client_id: client.id.to_string(),
                        label: "Client secret",
                        value: secret.secret.expose_secret().to_owned(),
                        confirm: "I have copied the secret",
                    };
                    return Ok(render_with_status(StatusCode::CREATED, &page));
                }
                Err(err) => FieldErrors::from_refusal(err)?,
            }
        }
        Err(errors) => errors,
    };
    let page = client_page(&state, admin, None, fields, errors);
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}

/// Shows a client's page.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let client = state.registry.client(&id).await?;
    let fields = PolicyFields::of(&client);
    let usage = usage::report(&state, &client, USAGE_DAYS).await?;
    let mut page = client_page(&state, admin, Some(&client), fields, FieldErrors::default());
    if let Some(summary) = page.client.as_mut() {
        summary.usage = Some(usage.into());
    }
    Ok(render(&page))
}

/// Saves a client's policy, or shows the form again with messages.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let client = state.registry.client(&id).await?;
    let fields = PolicyFields::posted(&posted);
    let errors = match fields.parsed() {
        Ok(p) => {
            let request = UpdateClientRequest {
                name: Some(fields.name.clone()),
                allowed_scopes: Some(p.allowed_scopes),
                default_scopes: Some(p.default_scopes),
                allowed_states: Some(p.allowed_states),
                default_state: Some(p.default_state),
                max_ttl_minutes: p.max_ttl_minutes,
                algorithm: p.algorithm,
                status: None,
                phones: Some(p.phones),
                email: Some(p.email),
                jwks: Some(p.jwks),
                jwks_uri: Some(p.jwks_uri),
                require_dpop: Some(p.require_dpop),
                quota: Some(Some(p.quota)),
            };
            let updated = match request.into_update() {
                Ok(change) => {
                    state
                        .registry
                        .update_client(&id, change, admin.changer()?, state.clock.now())
                        .await
                }
                Err(err) => Err(err),
            };
            match updated {
                Ok(_) => return Ok(Redirect::to(&format!("/console/clients/{id}")).into_response()),
                Err(err) => FieldErrors::from_refusal(err)?,
            }
        }
        Err(errors) => errors,
    };
    let page = client_page(&state, admin, Some(&client), fields, errors);
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}

/// Suspends or reactivates a client (`status` = `suspended` | `active`), as the admin API's PATCH.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn set_status(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let request = UpdateClientRequest {
        status: Some(posted.text("status")),
        ..UpdateClientRequest::default()
    };
    let changed = match request.into_update() {
        Ok(change) => {
            state
                .registry
                .update_client(&id, change, admin.changer()?, state.clock.now())
                .await
        }
        Err(err) => Err(err),
    };
    match changed {
        Ok(_) => Ok(Redirect::to(&format!("/console/clients/{id}")).into_response()),
        Err(RegistryError::NotFound(_)) => Err(WebError::NotFound),
        Err(RegistryError::Invalid { .. }) => Err(WebError::Forbidden),
        Err(other) => Err(other.into()),
    }
}
