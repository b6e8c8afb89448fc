//! **Service accounts** (scheme E): the configs with their certificates (fingerprint, subject,
//! validity; nothing secret), "Create service account" and "Add certificate", read into the
//! admin API's own request bodies and through the same registry functions, so the rules and the
//! messages beside the fields are the admin API's. Trust policies have their own page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{Administrator, SERVICE_ACCOUNTS_PATH};
use crate::admin::service_accounts::views::CreateServiceAccountRequest;
use crate::registry::service_accounts::ServiceAccount;
use crate::registry::RegistryError;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{CheckedForm, FieldErrors};
use crate::web::page::{render_with_status, Frame};
use crate::web::portal::{last_used, when};

/// The page: the accounts, the new-account form (as given, with its errors), and the
/// certificate form's error, by account.
#[derive(Template)]
#[template(path = "console/service_accounts.html")]
struct ServiceAccountsPage {
    frame: Frame,
    admin: Administrator,
    accounts: Vec<AccountRow>,
    form: NewAccountFields,
    errors: FieldErrors,
    certificate_error: Option<(String, String)>,
}

/// One account, as listed.
struct AccountRow {
    id: String,
    client_id: String,
    description: String,
    scopes: String,
    audience: String,
    duration: i64,
    last_used: String,
    certificates: Vec<CertificateRow>,
}

/// One certificate, as listed.
struct CertificateRow {
    fingerprint: String,
    subject: String,
    valid: String,
}

/// The new-account form's fields.
#[derive(Default)]
struct NewAccountFields {
    client_id: String,
    description: String,
    scopes: String,
    audience: String,
    duration: String,
    attributes: String,
    certificate: String,
}

impl From<&ServiceAccount> for AccountRow {
    fn from(a: &ServiceAccount) -> Self {
        Self {
            id: a.id.clone(),
            client_id: a.client_id.to_string(),
            description: a.description.clone(),
            scopes: a.scopes.join(" "),
            audience: a.access_token_audience.clone(),
            duration: a.access_token_duration_seconds,
            last_used: last_used(a.last_used_at),
            certificates: a
                .certificates
                .iter()
                .map(|c| CertificateRow {
                    fingerprint: c.fingerprint.clone(),
                    subject: c.subject.clone(),
                    valid: format!("{} to {}", when(c.not_before), when(c.not_after)),
                })
                .collect(),
        }
    }
}

async fn page(
    state: &AppState,
    admin: Administrator,
    form: NewAccountFields,
    errors: FieldErrors,
    certificate_error: Option<(String, String)>,
) -> Result<ServiceAccountsPage, WebError> {
    let accounts = state
        .registry
        .service_accounts()
        .await?
        .iter()
        .map(AccountRow::from)
        .collect();
    Ok(ServiceAccountsPage {
        frame: Frame::new(state.settings.mode),
        admin,
        accounts,
        form,
        errors,
        certificate_error,
    })
}

/// Shows the accounts.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let form = NewAccountFields {
        duration: "300".into(),
        ..NewAccountFields::default()
    };
    let page = page(&state, admin, form, FieldErrors::default(), None).await?;
    Ok(render_with_status(StatusCode::OK, &page))
}

/// Space- or comma-separated words of a form field.
pub(super) fn words(text: &str) -> Vec<String> {
    text.split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Creates a service account, or shows the form again with messages.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let form = NewAccountFields {
        client_id: posted.text("client_id"),
        description: posted.text("description"),
        scopes: posted.text("scopes"),
        audience: posted.text("access_token_audience"),
        duration: posted.text("access_token_duration"),
        attributes: posted.text("access_token_user_attributes"),
        certificate: posted.text("certificate"),
    };
    let mut errors = FieldErrors::default();
    let duration = match form.duration.as_str() {
        "" => None,
        raw => raw.parse::<i64>().map(Some).unwrap_or_else(|_| {
            errors.add("access_token_duration", "Enter 300 or 1800 seconds.");
            None
        }),
    };
    if errors.is_empty() {
        let request = CreateServiceAccountRequest {
            client_id: form.client_id.clone(),
            service_account_id: None,
            description: form.description.clone(),
            scopes: words(&form.scopes),
            access_token_audience: form.audience.clone(),
            access_token_duration: duration,
            access_token_user_attributes: words(&form.attributes),
            certificates: if form.certificate.is_empty() {
                Vec::new()
            } else {
                vec![form.certificate.clone()]
            },
        };
        let created = state
            .registry
            .create_service_account(request.into(), admin.changer()?, state.clock.now())
            .await;
        match created {
            Ok(_) => return Ok(Redirect::to(SERVICE_ACCOUNTS_PATH).into_response()),
            Err(err) => errors = FieldErrors::from_refusal(err)?,
        }
    }
    let page = page(&state, admin, form, errors, None).await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}

/// Adds a certificate to a service account, or shows why not beside its form.
#[tracing::instrument(skip_all, fields(service_account_id = %id))]
pub async fn add_certificate(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    CheckedForm(posted): CheckedForm,
) -> Result<Response, WebError> {
    let admin = Administrator::require(&state, &session).await?;
    let added = state
        .registry
        .add_service_account_certificate(
            &id,
            &posted.text("pem"),
            admin.changer()?,
            state.clock.now(),
        )
        .await;
    let message = match added {
        Ok(_) => return Ok(Redirect::to(SERVICE_ACCOUNTS_PATH).into_response()),
        Err(RegistryError::Invalid { message, .. }) => message,
        Err(RegistryError::NotFound(_)) => return Err(WebError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let form = NewAccountFields::default();
    let page = page(
        &state,
        admin,
        form,
        FieldErrors::default(),
        Some((id, message)),
    )
    .await?;
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}
