//! **Access requests**: every client's requests, pending first, each pending one with a "Note"
//! and the buttons "Approve" and "Reject". A decision goes through the same registry function as
//! `POST /admin/access-requests/{id}/approve|reject` (the client's notification is written in
//! its transaction) and the same e-mail follows, so the client is told exactly as through the API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{Administrator, ACCESS_REQUESTS_PATH};
use crate::mail::decision_email;
use crate::registry::{AccessRequest, AccessStatus, Decision, RegistryError};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render_with_status, Frame};
use crate::web::portal::when;

/// The page.
#[derive(Template)]
#[template(path = "console/access.html")]
struct AccessRequestsPage {
    frame: Frame,
    admin: Administrator,
    pending: Vec<RequestRow>,
    decided: Vec<RequestRow>,
}

/// One request, as listed; `error` is what refused the last decision on it.
struct RequestRow {
    id: String,
    client_id: String,
    groups: String,
    reason: String,
    status: &'static str,
    note: String,
    created: String,
    error: Option<String>,
}

impl From<&AccessRequest> for RequestRow {
    fn from(request: &AccessRequest) -> Self {
        Self {
            id: request.id.clone(),
            client_id: request.client_id.to_string(),
            groups: request.api_groups.join(", "),
            reason: request.reason.clone(),
            status: request.status.as_str(),
            note: request.decision_note.clone().unwrap_or_default(),
            created: when(request.created_at),
            error: None,
        }
    }
}

async fn page(
    state: &AppState,
    admin: Administrator,
    refused: Option<(&str, String, String)>,
) -> Result<AccessRequestsPage, WebError> {
    let (mut pending, mut decided) = (Vec::new(), Vec::new());
    for request in state.registry.access_requests(None).await? {
        let mut row = RequestRow::from(&request);
        if let Some((id, note, error)) = &refused {
            if *id == row.id {
                row.note.clone_from(note);
                row.error = Some(error.clone());
            }
        }
        match request.status {
            AccessStatus::Pending => pending.push(row),
            _ => decided.push(row),
        }
    }
    decided.reverse();
    Ok(AccessRequestsPage {
        frame: Frame::new(state.settings.mode),
        admin,
        pending,
        decided,
    })
}

/// Shows the requests.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    Ok(render_with_status(
        StatusCode::OK,
        &page(&state, admin, None).await?,
    ))
}

/// Approves or rejects one request, or shows the page again with the refusal beside it.
#[tracing::instrument(skip_all, fields(access_request = %id))]
pub async fn decide(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let decision = match posted.text("decision").as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(WebError::Forbidden),
    };
    let note = posted.text("note");
    let decided = state
        .registry
        .decide_access_request(
            &id,
            decision,
            Some(&note),
            admin.changer()?,
            state.clock.now(),
        )
        .await;
    let message = match decided {
        Ok((request, client)) => {
            if let Some(email) = decision_email(&request, &client) {
                let mailer = state.mailer.clone();
                tokio::spawn(async move { mailer.send(&email).await });
            }
            return Ok(Redirect::to(ACCESS_REQUESTS_PATH).into_response());
        }
        Err(RegistryError::Invalid { message, .. }) => message,
        Err(RegistryError::NotFound(_)) => return Err(WebError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let page = page(&state, admin, Some((&id, note, message))).await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}
