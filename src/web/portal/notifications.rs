//! **Notifications**: the administrator's decisions on the client's access requests, newest
//! first, each marked read with "Mark as read" (the unread count is on every portal page).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::credentials::when;
use super::{SignedIn, NOTIFICATIONS_PATH};
use crate::registry::RegistryError;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::CheckedForm;
use crate::web::page::{render, Frame};

/// The page.
#[derive(Template)]
#[template(path = "portal/notifications.html")]
struct NotificationsPage {
    frame: Frame,
    signed_in: SignedIn,
    notifications: Vec<NotificationRow>,
}

/// One notification, as listed.
struct NotificationRow {
    id: String,
    message: String,
    created: String,
    unread: bool,
}

/// Shows the client's notifications.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let notifications = state
        .registry
        .notifications_of(&signed_in.client.id)
        .await?
        .into_iter()
        .map(|n| NotificationRow {
            id: n.id,
            message: n.message,
            created: when(n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    Ok(render(&NotificationsPage {
        frame: Frame::new(state.settings.mode),
        signed_in,
        notifications,
    }))
}

/// Marks one of the client's notifications read.
pub async fn mark_read(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(_posted): CheckedForm,
) -> Result<Response, WebError> {
    let signed_in = SignedIn::require(&state, &session).await?;
    let marked = state
        .registry
        .mark_notification_read(&signed_in.client.id, &id, state.clock.now())
        .await;
    match marked {
        // Another client's id, or none: nothing to mark; the list shows what there is.
        Ok(_) | Err(RegistryError::NotFound(_)) => {
            Ok(Redirect::to(NOTIFICATIONS_PATH).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
