//! The app's edge (issue 24, points 6 and 7): what is refused before or outside a handler comes
//! in the format of the route asked for. A NUL character in any text input of any documented
//! operation ([`nul`]), framework rejections (413, 404, 405, 415) on every scheme's routes
//! ([`formats`]), and CORS only where browsers on other sites may call ([`cors`]).

mod cors;
mod formats;
mod nul;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// The error formats of the route families, as CONTRACT.md documents them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"error", "message"}` (sections A, B, D, `/v1/me`, anything unknown).
    Tokenmint,
    /// The admin API: `{"error", "message", "field"?}`, invalid input 422.
    Admin,
    /// Section C: `{"errors": {"<field>": "<message>"}}`, invalid input 422.
    ApiKey,
    /// Section E: `{"errors": "<message>"}`, every failure 400.
    SignIn,
    /// Section F and RFC 6749 §5.2: `{"error", "error_description"}`.
    OAuth,
}

impl Format {
    /// The format of a path, by the folder CONTRACT.md puts it in.
    pub fn of(path: &str) -> Self {
        if path.starts_with("/admin") {
            Self::Admin
        } else if path.starts_with("/v0/sign_in/") {
            Self::SignIn
        } else if path.starts_with("/oauth/") {
            Self::OAuth
        } else if path.starts_with("/clients/authorization") || path.starts_with("/test-api-keys") {
            Self::ApiKey
        } else {
            Self::Tokenmint
        }
    }

    /// The text of a refusal in this format, or a panic naming what is wrong with `body`.
    pub fn message<'a>(self, body: &'a Value, label: &str) -> &'a str {
        let text = |value: &'a Value| {
            value
                .as_str()
                .unwrap_or_else(|| panic!("{label}: {self:?} format expected, got {body}"))
        };
        let object = body
            .as_object()
            .unwrap_or_else(|| panic!("{label}: a JSON object expected, got {body}"));
        match self {
            Self::Tokenmint | Self::Admin => {
                text(&body["error"]);
                text(&body["message"])
            }
            Self::OAuth => {
                text(&body["error"]);
                text(&body["error_description"])
            }
            Self::SignIn => {
                assert_eq!(object.len(), 1, "{label}: {body}");
                text(&body["errors"])
            }
            Self::ApiKey => {
                let errors = body["errors"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{label}: {{\"errors\": {{..}}}} expected: {body}"));
                assert_eq!(errors.len(), 1, "{label}: {body}");
                text(errors.values().next().unwrap())
            }
        }
    }

    /// The status of invalid input in this format.
    pub fn invalid_input_status(self) -> u16 {
        match self {
            Self::Admin | Self::ApiKey => 422,
            Self::Tokenmint | Self::SignIn | Self::OAuth => 400,
        }
    }
}

/// Counts the events logged at ERROR while it is the thread's subscriber (the test runtime runs
/// the service's tasks on the test's thread).
#[derive(Clone, Default)]
pub struct ErrorLog(Arc<AtomicUsize>);

impl ErrorLog {
    /// Installs a counter for the rest of the test's thread's scope (until the guard drops).
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let log = Self::default();
        let subscriber = tracing_subscriber::registry().with(log.clone());
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// How many ERROR events were logged.
    pub fn errors(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl<S: Subscriber> Layer<S> for ErrorLog {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}
