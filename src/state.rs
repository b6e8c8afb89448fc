//! `AppState`: what every handler gets, built once at start-up (or by a test with its own
//! database, clock and keys). Nothing here is a global.
//!
//! It holds handles, not types of the floors above it: it imports nothing from `http`, `admin`,
//! `schemes`, `web` or `app`, so every adapter can take it without a circle.

use std::sync::Arc;

use anyhow::Context;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Database;
use crate::limits::FailureLimits;
use crate::mail::Mailer;
use crate::registry::{AdminCredential, ClientRegistry};
use crate::remote_keys::{Policy, RemoteKeySettings, RemoteKeys};
use crate::signing::{report, sealed_secrets, MasterKeys, Signer, SigningError};
use crate::telemetry::metrics::Metrics;
use crate::usage::Refusals;

/// Shared application state: one pointer, so the clone every extractor and middleware layer
/// makes costs one reference count, whatever the state holds.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    /// The database (pool and backend) the registry and the signing core share.
    pub db: Database,
    /// Clients and credentials.
    pub registry: ClientRegistry,
    /// Issues and verifies tokens.
    pub signer: Arc<Signer>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// The loaded configuration.
    pub settings: Arc<Settings>,
    /// The admin API credential.
    pub admin: Arc<AdminCredential>,
    /// Outgoing e-mail (disabled when `[smtp].host` is empty).
    pub mailer: Arc<Mailer>,
    /// This instance's Prometheus metrics (its own registry, not a process global).
    pub metrics: Arc<Metrics>,
    /// This instance's budgets of failed authentications (brute-force limits).
    pub limits: Arc<FailureLimits>,
    /// Outsiders' public keys (clients' `jwks_uri`s, trust policies' issuers), fetched and cached.
    pub remote_keys: RemoteKeys,
    /// This instance's counts of refused token requests per client (the usage report's).
    pub refusals: Arc<Refusals>,
}

impl AppState {
    /// Connects to the database, applies migrations, and loads registry and keys.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = Database::connect(&settings.database).await?;
        db.migrate_for_tokens_up_to(settings.signing.max_ttl_cap_minutes)
            .await?;
        Self::with_database(db, settings, clock).await
    }

    /// Builds the state over an already migrated database.
    pub async fn with_database(
        db: Database,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let master = MasterKeys::from_settings(&settings.signing)?;
        // Stored sealed, not derived from the master key: a master-key rotation keeps every
        // digest made with it (`signing::sealed_secrets`).
        let pepper = sealed_secrets::credential_pepper(db.pool(), &master, clock.now())
            .await
            .map_err(SigningError::into_anyhow)
            .context("loading the credential pepper")?;
        let registry = ClientRegistry::new(
            db.clone(),
            settings.signing.max_ttl_cap_minutes,
            *pepper,
            &settings.cache,
            settings.signing.issuance_writers,
            Policy::for_mode(settings.mode),
        )?;
        // The days a token issued now can expire in; a failure (a lock held too long) only
        // leaves new records in the default partition until the retention job's next pass.
        let cap_minutes = settings.signing.max_ttl_cap_minutes;
        if let Err(err) = report::prepare_partitions(&db, clock.now(), cap_minutes).await {
            tracing::warn!(error = %err, "creating the issuance record's partitions failed");
        }
        if let Err(err) = registry.prepare_single_use_partitions(clock.now()).await {
            tracing::warn!(error = %err, "creating the single-use store's partitions failed");
        }
        let remote_keys = RemoteKeys::new(RemoteKeySettings::for_mode(settings.mode));
        let metrics = Arc::new(Metrics::new());
        let signer = Signer::start(&db, master, &settings.signing, clock.now())
            .await
            .map_err(SigningError::into_anyhow)
            .context("loading signing keys")?
            .observed_by(metrics.clone());
        let admin = AdminCredential::from_settings(&settings.admin)?;
        let mailer = Mailer::from_settings(&settings.smtp).context("[smtp] settings")?;
        let limits = FailureLimits::new(&settings.rate_limit, clock.clone());
        let refusals = Arc::new(Refusals::new(db.pool().clone(), clock.clone()));
        Ok(Self(Arc::new(Shared {
            db,
            registry,
            signer: Arc::new(signer),
            clock,
            settings: Arc::new(settings),
            admin: Arc::new(admin),
            mailer: Arc::new(mailer),
            metrics,
            limits: Arc::new(limits),
            remote_keys,
            refusals,
        })))
    }
}
