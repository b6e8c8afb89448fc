//! **Request API access**: the API groups as checkboxes and a reason, sent with "Send request"
//! through the same registry function as `POST /v1/access-requests`; below, the client's
//! requests with their status and the administrator's note.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::credentials::when;
use super::{SignedIn, ACCESS_PATH};
use crate::registry::AccessRequest;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{CheckedForm, FieldErrors};
use crate::web::page::{render_with_status, Frame};

/// The page: the form (as sent, with its errors) and the client's requests.
#[derive(Template)]
#[template(path = "portal/access.html")]
struct AccessPage {
    frame: Frame,
    signed_in: SignedIn,
    groups: Vec<GroupChoice>,
    reason: String,
    errors: FieldErrors,
    requests: Vec<RequestRow>,
}

/// One API group, as a checkbox.
struct GroupChoice {
    name: String,
    scopes: String,
    checked: bool,
}

/// One access request, as listed.
struct RequestRow {
    groups: String,
    reason: String,
    status: &'static str,
    note: String,
    created: String,
}

impl From<&AccessRequest> for RequestRow {
    fn from(request: &AccessRequest) -> Self {
        Self {
            groups: request.api_groups.join(", "),
            reason: request.reason.clone(),
            status: request.status.as_str(),
            note: request.decision_note.clone().unwrap_or_default(),
            created: when(request.created_at),
        }
    }
}

/// Renders the page with the form as given.
async fn page(
    state: &AppState,
    signed_in: SignedIn,
    checked: &[String],
    reason: String,
    errors: FieldErrors,
) -> Result<AccessPage, WebError> {
    let groups = state
        .registry
        .api_groups()
        .await?
        .into_iter()
        .map(|group| GroupChoice {
            checked: checked.contains(&group.name),
            scopes: group.scopes.join(" "),
            name: group.name,
        })
        .collect();
    let requests = state
        .registry
        .access_requests_of(&signed_in.client.id)
        .await?
        .iter()
        .map(RequestRow::from)
        .collect();
    Ok(AccessPage {
        frame: Frame::new(state.settings.mode),
        signed_in,
        groups,
        reason,
        errors,
        requests,
    })
}

/// Shows the form and the client's requests.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let page = page(
        &state,
        signed_in,
        &[],
        String::new(),
        FieldErrors::default(),
    )
    .await?;
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Sends a request, or shows the form again with a message beside each refused field.
#[tracing::instrument(skip_all)]
pub async fn send(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let groups = posted.all("api_groups");
    let reason = posted.text("reason");
    let mut errors = FieldErrors::default();
    if groups.is_empty() {
        errors.add("api_groups", "Choose at least one API group.");
    }
    if reason.is_empty() {
        errors.add("reason", "Say why the client needs this access.");
    }
    if errors.is_empty() {
        let sent = state
            .registry
            .request_access(
                &signed_in.client.id,
                groups.clone(),
                &reason,
                state.clock.now(),
            )
            .await;
        match sent {
            Ok(_) => return Ok(Redirect::to(ACCESS_PATH).into_response()),
            Err(err) => errors = FieldErrors::from_refusal(err)?,
        }
    }
    let page = page(&state, signed_in, &groups, reason, errors).await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}
