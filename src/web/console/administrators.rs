//! **Administrators** and **Audit trail**: the administrators beside the bootstrap one (create
//! with the token shown once, delete) and the latest recorded changes, through the same registry
//! functions as `/admin/admins` and `/admin/audit-events`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;
use tower_sessions::Session;

use super::Administrator;
use crate::admin::audit::{audit_page, AuditEventView, AuditParams};
use crate::registry::administrators::Role;
use crate::registry::RegistryError;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{CheckedForm, FieldErrors};
use crate::web::page::{render_with_status, Frame};
use crate::web::portal::when;

/// The administrators page.
pub const ADMINISTRATORS_PATH: &str = "/console/administrators";
/// The audit trail page.
pub const AUDIT_PATH: &str = "/console/audit";
/// Events the audit page shows.
const AUDIT_PAGE_EVENTS: &str = "100";

/// The administrators page, with a token shown once after a creation.
#[derive(Template)]
#[template(path = "console/administrators.html")]
struct AdministratorsPage {
    frame: Frame,
    admin: Administrator,
    administrators: Vec<Row>,
    created: Option<Created>,
    name: String,
    role: String,
    errors: FieldErrors,
}

/// One administrator, as listed.
struct Row {
    id: String,
    name: String,
    role: &'static str,
    created: String,
}

/// A new administrator's token, shown this once.
struct Created {
    name: String,
    token: String,
}

async fn page(
    state: &AppState,
    admin: Administrator,
    created: Option<Created>,
    name: String,
    role: String,
    errors: FieldErrors,
) -> Result<AdministratorsPage, WebError> {
    let administrators = state
        .registry
        .administrators()
        .await?
        .into_iter()
        .map(|a| Row {
            created: when(a.created_at),
            role: a.role.as_str(),
            id: a.id,
            name: a.name,
        })
        .collect();
    Ok(AdministratorsPage {
        frame: Frame::new(state.settings.mode),
        admin,
        administrators,
        created,
        name,
        role,
        errors,
    })
}

/// Shows the administrators.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let page = page(
        &state,
        admin,
        None,
        String::new(),
        "viewer".into(),
        FieldErrors::default(),
    )
    .await?;
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Registers an administrator and shows its token once, or the form again with messages.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let (name, role) = (posted.text("name"), posted.text("role"));
    let mut errors = FieldErrors::default();
    match Role::parse(&role) {
        None => errors.add("role", "Choose admin or viewer."),
        Some(parsed) => {
            let created = state
                .registry
                .create_administrator(&name, parsed, admin.changer()?, state.clock.now())
                .await;
            match created {
                Ok((administrator, token)) => {
                    let created = Created {
                        name: administrator.name,
                        token: token.expose_secret().to_owned(),
                    };
                    let page = page(&state, admin, Some(created), String::new(), role, errors);
                    return Ok(render_with_status(StatusCode::CREATED, &page.await?));
                }
                Err(err) => errors = FieldErrors::from_refusal(err)?,
            }
        }
    }
    let page = page(&state, admin, None, name, role, errors).await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}

/// Deletes an administrator: its token and console sessions stop at once.
#[tracing::instrument(skip_all, fields(administrator_id = %id))]
pub async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(_): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    match state
        .registry
        .delete_administrator(&id, admin.changer()?, state.clock.now())
        .await
    {
        Ok(()) => Ok(Redirect::to(ADMINISTRATORS_PATH).into_response()),
        Err(RegistryError::NotFound(_)) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}

/// The audit trail page: the latest changes, newest first.
#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    frame: Frame,
    admin: Administrator,
    events: Vec<EventRow>,
}

/// One event, as listed.
struct EventRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    details: String,
}

impl From<AuditEventView> for EventRow {
    fn from(e: AuditEventView) -> Self {
        Self {
            at: when(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details.to_string(),
        }
    }
}

/// Shows the latest changes.
pub async fn audit(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let params = AuditParams {
        limit: Some(AUDIT_PAGE_EVENTS.into()),
        ..AuditParams::default()
    };
    let events = audit_page(&state, params)
        .await
        .map_err(|err| WebError::Internal(err.to_string()))?
        .events
        .into_iter()
        .map(EventRow::from)
        .collect();
    let page = AuditPage {
        frame: Frame::new(state.settings.mode),
        admin,
        events,
    };
    Ok(render_with_status(StatusCode::OK, &page))
}
