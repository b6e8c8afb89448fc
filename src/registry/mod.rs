//! The client registry: clients, their policy and their credentials, and all of their SQL.
//!
//! It authenticates credentials and answers "who is this client and what may it get"; it never
//! signs, never speaks HTTP and never imports `signing`. Each credential kind is its own module
//! over the same `clients` table (client secrets now; API keys, JWT credentials and service
//! accounts join as further kinds). JWT credentials come with their portal: API groups, access
//! requests and their decisions, notifications, and the lineage of issued AuthTokens.

mod access_requests;
mod admin_credential;
pub mod administrators;
mod api_groups;
pub mod api_keys;
mod authtokens;
mod cache;
mod client;
mod decisions;
mod error;
mod hashing;
mod jwt_credentials;
mod last_use;
mod notifications;
pub mod secret;
mod secrets;
pub mod service_accounts;
pub mod trust_policies;
pub mod views;
mod web_sessions;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use access_requests::{AccessRequest, AccessStatus, Decision};
pub use admin_credential::AdminCredential;
pub use api_groups::ApiGroup;
pub use authtokens::{ClaimedRefresh, RefreshClaim};
pub use client::{Client, ClientKeys, ClientStatus, ClientUpdate, NewClient};
pub use error::RegistryError;
pub use jwt_credentials::{
    AuthenticatedCredential, IssuedJwtCredential, JwtCredential, NewJwtCredential,
};
pub use last_use::CredentialKind;
pub use notifications::{decision_text, Notification};
pub use secrets::{AuthenticatedSecret, IssuedSecret, SecretInfo};
pub use web_sessions::StoredWebSession;

use crate::audit::{self, Actor, Event};
use crate::changes::{announce, Change};
use crate::config::CacheSettings;
use crate::db::Database;
use crate::domain::{is_scope_token, ClientId};
use crate::remote_keys::{self, Policy};

/// The registry: a handle on the database plus what authentication needs in memory.
#[derive(Clone)]
pub struct ClientRegistry {
    db: Database,
    decoy_hash: Arc<str>,
    max_ttl_cap_minutes: i64,
    pepper: Arc<[u8; 32]>,
    generations: Arc<cache::Generations>,
    verified_secrets: Arc<cache::VerifiedCache<AuthenticatedSecret>>,
    verified_api_keys: Arc<cache::VerifiedCache<api_keys::AuthenticatedKey>>,
    verified_jwt_credentials: Arc<cache::VerifiedCache<AuthenticatedCredential>>,
    service_account_lookups: Arc<cache::VerifiedCache<(service_accounts::ServiceAccount, Client)>>,
    hasher: Arc<hashing::Hasher>,
    assertion_uses: service_accounts::AssertionUses,
    url_policy: Policy,
    exchange_cache: Arc<trust_policies::ExchangeCache>,
    uses: Arc<last_use::Uses>,
}

impl std::fmt::Debug for ClientRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistry").finish_non_exhaustive()
    }
}

impl ClientRegistry {
    /// A registry over `db`; hashes a decoy secret once (about one argon2 run). `pepper` keys the
    /// digests of high-entropy credentials (API keys), so a stolen table alone cannot confirm one.
    /// `postgres_writers` group-commit the used-assertion record (`[signing] issuance_writers`).
    /// `url_policy` says which URLs of outsiders' keys may be registered (the mode's).
    pub fn new(
        db: Database,
        max_ttl_cap_minutes: i64,
        pepper: [u8; 32],
        caches: &CacheSettings,
        postgres_writers: usize,
        url_policy: Policy,
    ) -> anyhow::Result<Self> {
        let generations = Arc::new(cache::Generations::default());
        let ttl = std::time::Duration::from_secs(caches.verified_credentials_ttl_seconds);
        let capacity = caches.verified_credentials_capacity;
        Ok(Self {
            assertion_uses: service_accounts::start_assertion_uses(&db, postgres_writers),
            db,
            decoy_hash: secret::decoy_hash()?.into(),
            max_ttl_cap_minutes,
            pepper: Arc::new(pepper),
            verified_secrets: Arc::new(cache::VerifiedCache::new(
                generations.clone(),
                capacity,
                ttl,
            )),
            verified_api_keys: Arc::new(cache::VerifiedCache::new(
                generations.clone(),
                capacity,
                ttl,
            )),
            verified_jwt_credentials: Arc::new(cache::VerifiedCache::new(
                generations.clone(),
                capacity,
                ttl,
            )),
            service_account_lookups: Arc::new(cache::VerifiedCache::new(
                generations.clone(),
                capacity,
                ttl,
            )),
            generations,
            hasher: Arc::new(hashing::Hasher::new(argon2_parallelism())),
            url_policy,
            exchange_cache: Arc::new(trust_policies::ExchangeCache::new(capacity, ttl)),
            uses: Arc::default(),
        })
    }

    /// Verifies a presented secret against an argon2id hash on the blocking pool, at most
    /// [`argon2_parallelism`] at a time in reused memory (see [`hashing`]), so a flood of wrong
    /// secrets queues here instead of exhausting memory.
    async fn verify_secret(&self, presented: &str, hash: String) -> Result<bool, RegistryError> {
        self.hasher.verify(presented, hash).await
    }

    /// Generates a new secret and its locator and argon2id hash, within the same budget.
    async fn new_secret(&self) -> Result<(secrecy::SecretString, String, String), RegistryError> {
        let secret = secret::generate_secret();
        let locator = secret::locator(secrecy::ExposeSecret::expose_secret(&secret));
        let hash = self.hasher.hash(secret.clone()).await?;
        Ok((secret, locator, hash))
    }

    /// Invalidates this instance's cached authentications of a client; call after any committed
    /// change to the client or its credentials.
    pub fn forget_client(&self, client_id: &str) {
        self.generations.forget_client(client_id);
    }

    /// Invalidates every cached authentication on this instance.
    pub fn forget_all(&self) {
        self.generations.forget_all();
    }

    /// Stops (`false`) or resumes (`true`) using the verified-credential caches: while changes
    /// made by other instances may go unseen, every authentication takes the full path. Call
    /// [`ClientRegistry::forget_all`] before resuming.
    pub fn set_caches_trusted(&self, trusted: bool) {
        self.generations.set_trusted(trusted);
    }

    /// The keyed digest (HMAC-SHA256 under the pepper, hex) of a 256-bit random credential:
    /// deterministic, so it serves as the lookup key, and useless without the pepper.
    pub fn keyed_digest(&self, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.pepper.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Entries of each verified-credential cache, by credential kind (metrics).
    pub fn cached_credentials(&self) -> [(&'static str, u64); 4] {
        [
            ("client_secret", self.verified_secrets.entry_count()),
            ("api_key", self.verified_api_keys.entry_count()),
            (
                "jwt_credential",
                self.verified_jwt_credentials.entry_count(),
            ),
            (
                "service_account",
                self.service_account_lookups.entry_count(),
            ),
        ]
    }

    /// Registers a client with a first secret, returned once in clear.
    #[tracing::instrument(skip_all, fields(name = %new.name))]
    pub async fn create_client(
        &self,
        new: NewClient,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Client, IssuedSecret), RegistryError> {
        let client = Client {
            id: new.id.unwrap_or_else(ClientId::generate),
            name: new.name,
            policy: new.policy,
            status: ClientStatus::Active,
            phones: new.phones,
            email: new.email,
            keys: new.keys,
            created_at: now,
            updated_at: now,
        };
        let client = self.normalized(client)?;
        let prepared = secrets::prepare(self, None, now).await?;
        let mut tx = self.db.pool().begin().await?;
        client::insert(&mut tx, &client).await?;
        let issued = secrets::insert(&mut tx, &client.id, prepared).await?;
        let event = Event::new("client.create", client.id.as_str())
            .with(serde_json::json!({"name": client.name, "secret_id": issued.secret_id}));
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        tracing::info!(client_id = %client.id, "client created");
        Ok((client, issued))
    }

    /// One client by id.
    pub async fn client(&self, id: &str) -> Result<Client, RegistryError> {
        let id = ClientId::parse(id).ok_or(RegistryError::NotFound("client"))?;
        let sql = format!(
            "select {} from clients c where c.id = $1",
            client::CLIENT_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(RegistryError::NotFound("client"))?;
        client::from_row(&row)
    }

    /// Whether a client is suspended, read from the database (not a cache), so a suspension
    /// made on any instance applies to the next check everywhere. An unknown client counts as
    /// suspended: its tokens are nobody's.
    pub async fn client_suspended(&self, id: &str) -> Result<bool, RegistryError> {
        let status: Option<(String,)> = sqlx::query_as("select status from clients where id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(status.is_none_or(|(status,)| status != ClientStatus::Active.as_str()))
    }

    /// Every client, oldest first.
    pub async fn clients(&self) -> Result<Vec<Client>, RegistryError> {
        let sql = format!(
            "select {} from clients c order by c.created_at, c.id",
            client::CLIENT_COLUMNS
        );
        let rows = sqlx::query(&sql).fetch_all(self.db.pool()).await?;
        rows.iter().map(client::from_row).collect()
    }

    /// The client a phone number is registered to.
    pub async fn client_by_phone(&self, phone: &str) -> Result<Client, RegistryError> {
        let sql = format!(
            "select {} from clients c join client_phones p on p.client_id = c.id \
             where p.phone = $1",
            client::CLIENT_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(phone)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(RegistryError::NotFound("phone"))?;
        client::from_row(&row)
    }

    /// Changes a client's policy, contact data or status; suspension takes effect at once.
    #[tracing::instrument(skip_all, fields(client_id = %id))]
    pub async fn update_client(
        &self,
        id: &str,
        change: ClientUpdate,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Client, RegistryError> {
        let current = self.client(id).await?;
        let details = serde_json::to_value(&change).map_err(anyhow::Error::from)?;
        let updated = self.normalized(change.apply(current, now))?;
        let mut tx = self.db.pool().begin().await?;
        client::update(&mut tx, &updated).await?;
        announce(&mut tx, Change::Client(updated.id.as_str())).await?;
        let event = Event::new("client.update", updated.id.as_str()).with(details);
        audit::record(&mut tx, actor, event, now).await?;
        tx.commit().await?;
        self.forget_client(updated.id.as_str());
        tracing::info!(client_id = %updated.id, status = updated.status.as_str(), "client updated");
        Ok(updated)
    }

    /// Upper-cases states, drops duplicate scopes and checks the policy and contact fields.
    fn normalized(&self, mut client: Client) -> Result<Client, RegistryError> {
        let p = &mut client.policy;
        for state in &mut p.allowed_states {
            *state = state.trim().to_ascii_uppercase();
        }
        dedupe(&mut p.allowed_states);
        p.default_state = p
            .default_state
            .take()
            .map(|s| s.trim().to_ascii_uppercase());
        dedupe(&mut p.allowed_scopes);
        dedupe(&mut p.default_scopes);
        dedupe(&mut client.phones);
        if client.name.trim().is_empty() || client.name.len() > 200 {
            return Err(RegistryError::invalid(
                "name",
                "must be 1 to 200 characters",
            ));
        }
        if let Some(bad) = p.default_scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(RegistryError::invalid(
                "default_scopes",
                format!("{bad:?} is not a valid scope"),
            ));
        }
        p.validate(self.max_ttl_cap_minutes)
            .map_err(|(field, message)| RegistryError::invalid(field, message))?;
        if let Some(email) = &client.email {
            let ok = email.len() <= 254
                && email
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
            if !ok {
                return Err(RegistryError::invalid("email", "is not an e-mail address"));
            }
        }
        client
            .keys
            .check(self.url_policy)
            .map_err(|(field, message)| RegistryError::invalid(field, message))?;
        Ok(client)
    }
}

impl ClientRegistry {
    /// Checks a URL of an outsider's keys an administrator registers (an `issuer`, else a
    /// `jwks_uri`) against the mode's rules: https, no private address in production.
    fn check_remote_url(&self, field: &'static str, url: &str) -> Result<(), RegistryError> {
        let checked = if field == "issuer" {
            remote_keys::check_issuer(url, self.url_policy).map(|_| ())
        } else {
            remote_keys::check_url(url, self.url_policy).map(|_| ())
        };
        checked.map_err(|e| RegistryError::invalid(field, e.to_string()))
    }
}

/// How many argon2 verifications may run at once: one per core.
fn argon2_parallelism() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

fn dedupe(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|s| seen.insert(s.clone()));
}
