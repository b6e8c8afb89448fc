//! **Clients**: the list (with a search by name or id), creating one (its secret shown once),
//! and each client's page: edit its policy, suspend or reactivate it, add a secret, add an API
//! key (each shown once). Forms are read into the admin API's own request bodies and go through
//! the same conversions (`into_new_client`, `into_update`) and registry functions, so the rules
//! and the messages beside the fields are the admin API's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tower_sessions::Session;

use super::Administrator;
use crate::admin::views::{CreateClientRequest, UpdateClientRequest};
use crate::domain::Algorithm;
use crate::registry::api_keys::Environment;
use crate::registry::{Client, ClientStatus, RegistryError};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{FieldErrors, Posted};
use crate::web::page::{render, render_with_status, Frame};
use crate::web::portal::when;
use crate::web::session;

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

/// A client's policy as the form shows it (lists as space-separated text).
#[derive(Default)]
struct PolicyFields {
    name: String,
    allowed_scopes: String,
    default_scopes: String,
    allowed_states: String,
    default_state: String,
    max_ttl_minutes: String,
    algorithm: String,
    phones: String,
    email: String,
}

impl PolicyFields {
    fn of(client: &Client) -> Self {
        let policy = &client.policy;
        Self {
            name: client.name.clone(),
            allowed_scopes: policy.allowed_scopes.join(" "),
            default_scopes: policy.default_scopes.join(" "),
            allowed_states: policy.allowed_states.join(" "),
            default_state: policy.default_state.clone().unwrap_or_default(),
            max_ttl_minutes: policy.max_ttl_minutes.to_string(),
            algorithm: policy.algorithm.as_str().to_owned(),
            phones: client.phones.join(" "),
            email: client.email.clone().unwrap_or_default(),
        }
    }

    fn posted(posted: &Posted) -> Self {
        Self {
            name: posted.text("name"),
            allowed_scopes: posted.text("allowed_scopes"),
            default_scopes: posted.text("default_scopes"),
            allowed_states: posted.text("allowed_states"),
            default_state: posted.text("default_state"),
            max_ttl_minutes: posted.text("max_ttl_minutes"),
            algorithm: posted.text("algorithm"),
            phones: posted.text("phones"),
            email: posted.text("email"),
        }
    }

    /// The typed values the admin API's bodies take, or messages beside the fields.
    fn parsed(&self) -> Result<Parsed, FieldErrors> {
        let mut errors = FieldErrors::default();
        let max_ttl_minutes = match self.max_ttl_minutes.as_str() {
            "" => None,
            raw => raw.parse::<i64>().map(Some).unwrap_or_else(|_| {
                errors.add("max_ttl_minutes", "Enter a whole number of minutes.");
                None
            }),
        };
        let algorithm = match self.algorithm.as_str() {
            "" => None,
            raw => raw.parse::<Algorithm>().map(Some).unwrap_or_else(|_| {
                errors.add("algorithm", "Choose ES256, RS256 or EdDSA.");
                None
            }),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let words = |text: &str| {
            text.split([' ', ','])
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        };
        let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Ok(Parsed {
            allowed_scopes: words(&self.allowed_scopes),
            default_scopes: words(&self.default_scopes),
            allowed_states: words(&self.allowed_states),
            default_state: optional(&self.default_state),
            max_ttl_minutes,
            algorithm,
            phones: words(&self.phones),
            email: optional(&self.email),
        })
    }
}

/// A form's values, typed.
struct Parsed {
    allowed_scopes: Vec<String>,
    default_scopes: Vec<String>,
    allowed_states: Vec<String>,
    default_state: Option<String>,
    max_ttl_minutes: Option<i64>,
    algorithm: Option<Algorithm>,
    phones: Vec<String>,
    email: Option<String>,
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
}

/// A secret or key just created, shown this once.
#[derive(Template)]
#[template(path = "console/shown_once.html")]
struct ShownOncePage {
    frame: Frame,
    admin: Administrator,
    title: &'static str,
    client_id: String,
    label: &'static str,
    value: String,
    confirm: &'static str,
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
    let admin = Administrator::require(&session).await?;
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
    let admin = Administrator::require(&session).await?;
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
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&session).await?;
    let posted = Posted(posted);
    session::check_csrf(&session, &posted.text("csrf")).await?;
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
            };
            let created = match request.into_new_client() {
                Ok(new) => state.registry.create_client(new, state.clock.now()).await,
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

async fn client_or_not_found(state: &AppState, id: &str) -> Result<Client, WebError> {
    match state.registry.client(id).await {
        Ok(client) => Ok(client),
        Err(RegistryError::NotFound(_)) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}

/// Shows a client's page.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&session).await?;
    let client = client_or_not_found(&state, &id).await?;
    let fields = PolicyFields::of(&client);
    Ok(render(&client_page(
        &state,
        admin,
        Some(&client),
        fields,
        FieldErrors::default(),
    )))
}

/// Saves a client's policy, or shows the form again with messages.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&session).await?;
    let posted = Posted(posted);
    session::check_csrf(&session, &posted.text("csrf")).await?;
    let client = client_or_not_found(&state, &id).await?;
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
            };
            let updated = match request.into_update() {
                Ok(change) => {
                    state
                        .registry
                        .update_client(&id, change, state.clock.now())
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
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    Administrator::require(&session).await?;
    let posted = Posted(posted);
    session::check_csrf(&session, &posted.text("csrf")).await?;
    let request = UpdateClientRequest {
        status: Some(posted.text("status")),
        ..UpdateClientRequest::default()
    };
    let changed = match request.into_update() {
        Ok(change) => {
            state
                .registry
                .update_client(&id, change, state.clock.now())
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

/// Adds a secret to a client and shows it once.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn add_secret(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&session).await?;
    session::check_csrf(&session, &Posted(posted).text("csrf")).await?;
    let secret = match state
        .registry
        .add_secret(&id, None, state.clock.now())
        .await
    {
        Ok(secret) => secret,
        Err(RegistryError::NotFound(_)) => return Err(WebError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let page = ShownOncePage {
        frame: Frame::new(state.settings.mode),
        admin,
        title: "Secret added",
        client_id: id,
        label: "Client secret",
        value: secret.secret.expose_secret().to_owned(),
        confirm: "I have copied the secret",
    };
    Ok(render_with_status(StatusCode::CREATED, &page))
}

/// Adds an API key (`environment` = `sandbox` | `production`) and shows it once.
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn add_api_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&session).await?;
    let posted = Posted(posted);
    session::check_csrf(&session, &posted.text("csrf")).await?;
    let environment = Environment::parse(&posted.text("environment")).ok_or(WebError::Forbidden)?;
    let key = match state
        .registry
        .create_api_key(&id, environment, None, state.clock.now())
        .await
    {
        Ok(key) => key,
        Err(RegistryError::NotFound(_)) => return Err(WebError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let page = ShownOncePage {
        frame: Frame::new(state.settings.mode),
        admin,
        title: "API key added",
        client_id: id,
        label: "API key",
        value: key.key.expose_secret().to_owned(),
        confirm: "I have copied the key",
    };
    Ok(render_with_status(StatusCode::CREATED, &page))
}
