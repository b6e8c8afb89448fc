//! The session store of the web pages: `tower-sessions` manages the cookie, the session id and
//! its rotation at sign-in; the records live in the shared database through the registry
//! (`registry::web_sessions`), so every instance serves every session and signing out ends it
//! everywhere.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::DateTime;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

use crate::clock::Clock;
use crate::registry::ClientRegistry;

/// Most expired sessions one sign-in deletes.
const PRUNE_BATCH: u32 = 100;

/// Sessions in the registry's `web_sessions` table.
#[derive(Clone)]
pub struct DatabaseStore {
    registry: ClientRegistry,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DatabaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseStore")
    }
}

impl DatabaseStore {
    /// A store over the registry's database, judging expiry by `clock`.
    pub fn new(registry: ClientRegistry, clock: Arc<dyn Clock>) -> Self {
        Self { registry, clock }
    }
}

fn backend(err: impl std::fmt::Display) -> Error {
    Error::Backend(err.to_string())
}

fn encode(record: &Record) -> Result<(String, chrono::DateTime<chrono::Utc>)> {
    let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    let millis = record.expiry_date.unix_timestamp_nanos() / 1_000_000;
    let expires_at = i64::try_from(millis)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| Error::Encode("expiry out of range".into()))?;
    Ok((data, expires_at))
}

#[async_trait]
impl SessionStore for DatabaseStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let (data, expires_at) = encode(record)?;
        // A 128-bit random id collides with a live one practically never; draw again if it does.
        while !self
            .registry
            .insert_web_session(&record.id.to_string(), &data, expires_at)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        // Housekeeping: a new session (a sign-in: rare) clears some expired ones, so the table
        // stays as large as the sessions alive. Best effort: the sign-in has succeeded.
        let pruned = self
            .registry
            .prune_web_sessions(self.clock.now(), PRUNE_BATCH)
            .await;
        if let Err(err) = pruned {
            tracing::warn!(error = %err, "could not prune expired web sessions");
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (data, expires_at) = encode(record)?;
        self.registry
            .save_web_session(&record.id.to_string(), &data, expires_at)
            .await
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> Result<Option<Record>> {
        let now = self.clock.now();
        let Some(stored) = self
            .registry
            .web_session(&session_id.to_string(), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&stored.data).map_err(|e| Error::Decode(e.to_string()))?;
        let nanos = i128::from(stored.expires_at.timestamp_millis()) * 1_000_000;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> Result<()> {
        self.registry
            .delete_web_session(&session_id.to_string())
            .await
            .map_err(backend)
    }
}
