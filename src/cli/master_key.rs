//! `tokenmint master-key`: a fresh master key, and the master-key rotation that re-seals every
//! stored private key and secret under `TOKENMINT_MASTER_KEY`, reading the old ones with
//! `TOKENMINT_MASTER_KEY_PREVIOUS`, while instances run. These commands open the database
//! without loading the key set, so `rotate` can say clearly what it lacks; they print JSON.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use super::{print_json, say};
use crate::audit::{self, Actor, Event};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::db::Database;
use crate::signing::{reseal, sealed_secrets, MasterKey, MasterKeys, SigningError};

/// Master-key subcommands.
#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64 of 32 bytes), once.
    Generate,
    /// Show the fingerprints of the configured master keys and how many stored values each
    /// master key sealed.
    Status,
    /// Re-seal every stored private key and secret under TOKENMINT_MASTER_KEY, opening those
    /// sealed under TOKENMINT_MASTER_KEY_PREVIOUS; safe while instances run, and to re-run.
    Rotate,
}

/// `master-key status`: what each fingerprint sealed (`null`: before fingerprints were recorded).
#[derive(Debug, Serialize)]
struct StatusView {
    master_key: String,
    master_key_previous: Option<String>,
    sealed_by: BTreeMap<String, i64>,
}

/// `master-key rotate`: what it did.
#[derive(Debug, Serialize)]
struct RotatedView {
    master_key: String,
    resealed: u64,
    already_current: u64,
}

/// Runs a master-key command.
pub async fn run(command: MasterKeyCommand, mut settings: Settings) -> anyhow::Result<()> {
    if let MasterKeyCommand::Generate = command {
        return say(MasterKey::generate_base64()?.as_str());
    }
    crate::sandbox::prepare_secrets(&mut settings)?;
    let keys = MasterKeys::from_settings(&settings.signing)?;
    let db = Database::connect(&settings.database).await?;
    db.migrate_for_tokens_up_to(settings.signing.max_ttl_cap_minutes)
        .await?;
    let pool = db.pool();
    let view = |keys: &MasterKeys| {
        (
            keys.current().fingerprint().to_owned(),
            keys.previous().map(|key| key.fingerprint().to_owned()),
        )
    };
    match command {
        MasterKeyCommand::Generate => Ok(()),
        MasterKeyCommand::Status => {
            let (master_key, master_key_previous) = view(&keys);
            let census = reseal::census(pool).await?;
            let sealed_by = census
                .into_iter()
                .map(|(fingerprint, n)| (fingerprint.unwrap_or_else(|| "null".to_owned()), n))
                .collect();
            print_json(&StatusView {
                master_key,
                master_key_previous,
                sealed_by,
            })
        }
        MasterKeyCommand::Rotate => {
            // A deployment older than stored peppers stores its pepper first (derived from the
            // key that sealed its signing keys), so the rotation re-seals it with the rest.
            sealed_secrets::credential_pepper(pool, &keys, SystemClock.now())
                .await
                .map_err(SigningError::into_anyhow)
                .context("loading the credential pepper")?;
            let done = reseal::reseal_all(pool, &keys)
                .await
                .map_err(SigningError::into_anyhow)
                .context("master-key rotation refused")?;
            // Recorded once the values are re-sealed: the rotation is many short statements
            // (so instances keep serving), and this event says that all of them were done.
            let (master_key, previous) = view(&keys);
            let event = Event::new("master_key.rotate", &master_key).with(serde_json::json!({
                "previous": previous,
                "resealed": done.resealed,
                "already_current": done.already_current,
            }));
            let mut conn = pool.acquire().await?;
            let actor = Actor::command_line(crate::config::os_user());
            audit::record(&mut conn, &actor, event, SystemClock.now()).await?;
            print_json(&RotatedView {
                master_key,
                resealed: done.resealed,
                already_current: done.already_current,
            })
        }
    }
}
