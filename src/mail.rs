//! Outgoing e-mail: the SMTP relay configured under `[smtp]`, used to tell a client of a decision.
//!
//! Sending is best effort and never part of a transaction: callers send after their commit, and a
//! failure is logged (recipient and reason, never the body) without failing the caller. With no
//! `[smtp].host` the mailer is disabled and sends nothing. It knows nothing of HTTP; of the
//! registry it reads only what a decision's e-mail says ([`decision_email`]), which the admin API,
//! the CLI and the console all send.

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{SmtpSettings, SmtpTls};
use crate::registry::{decision_text, AccessRequest, Client};

/// How long one delivery attempt may take (connect, TLS, the SMTP dialogue).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One message to send: plain text to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Sends e-mail through the configured relay, or nothing when none is configured.
#[derive(Clone)]
pub struct Mailer {
    relay: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Mailer {
    /// A mailer that sends nothing.
    pub fn disabled() -> Self {
        Self { relay: None }
    }

    /// The mailer for `[smtp]`: disabled when `host` is empty. Fails on a malformed `from`.
    pub fn from_settings(settings: &SmtpSettings) -> anyhow::Result<Self> {
        let host = settings.host.trim();
        if host.is_empty() {
            return Ok(Self::disabled());
        }
        let from: Mailbox = settings
            .from
            .parse()
            .with_context(|| format!("smtp.from {:?} is not a mailbox", settings.from))?;
        let builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .context("configuring the SMTP relay (starttls)")?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .context("configuring the SMTP relay (tls)")?,
        };
        let mut builder = builder.port(settings.port).timeout(Some(SEND_TIMEOUT));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            relay: Some((builder.build(), from)),
        })
    }

    /// Whether a relay is configured.
    pub fn is_enabled(&self) -> bool {
        self.relay.is_some()
    }

    /// Sends one message; logs and swallows any failure. Returns whether it was accepted.
    #[tracing::instrument(skip_all, fields(to = %email.to))]
    pub async fn send(&self, email: &Email) -> bool {
        let Some((transport, from)) = &self.relay else {
            return false;
        };
        let delivered = async {
            let to: Mailbox = email.to.parse().context("recipient is not a mailbox")?;
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(email.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.clone())
                .context("building the message")?;
            transport
                .send(message)
                .await
                .context("the SMTP relay refused or failed")?;
            anyhow::Ok(())
        }
        .await;
        match delivered {
            Ok(()) => {
                tracing::info!("e-mail sent");
                true
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "e-mail not sent");
                false
            }
        }
    }
}

/// The e-mail telling a client of a decision, if the client has an address.
pub fn decision_email(request: &AccessRequest, client: &Client) -> Option<Email> {
    let to = client.email.clone()?;
    Some(Email {
        to,
        subject: format!(
            "tokenmint: your access request was {}",
            request.status.as_str()
        ),
        body: format!("Hello {},\n\n{}\n", client.name, decision_text(request)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, from: &str) -> SmtpSettings {
        SmtpSettings {
            host: host.into(),
            port: 2525,
            from: from.into(),
            username: String::new(),
            password: String::new().into(),
            tls: SmtpTls::None,
        }
    }

    #[test]
    fn an_empty_host_disables_e_mail() {
        let mailer = Mailer::from_settings(&settings("", "x")).unwrap();
        assert!(!mailer.is_enabled());
    }

    #[test]
    fn a_malformed_from_is_refused_at_start_up() {
        assert!(Mailer::from_settings(&settings("127.0.0.1", "not a mailbox")).is_err());
        let ok = Mailer::from_settings(&settings("127.0.0.1", "tm <no-reply@example.com>"));
        assert!(ok.unwrap().is_enabled());
    }

    #[tokio::test]
    async fn a_disabled_mailer_sends_nothing() {
        let email = Email {
            to: "dev@example.com".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        assert!(!Mailer::disabled().send(&email).await);
    }
}
