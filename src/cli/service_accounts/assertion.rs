//! `tokenmint service-account assertion`: builds and signs the RS256 assertion a service account
//! sends to `POST /v0/sign_in/token`, the way a third-party backend would (iat now, exp now + 5
//! minutes, a random `jti`). For demos, integration tests and the benchmark (`--count`, since
//! each assertion is accepted once); the key never leaves the process.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{json, Map, Value};
use x509_parser::pem::Pem;
use zeroize::Zeroizing;

/// Lifetime of a built assertion, seconds.
pub const ASSERTION_LIFETIME_SECONDS: i64 = 300;

/// Options of `service-account assertion`.
#[derive(Debug, Args)]
pub struct AssertionArgs {
    /// The service account (claims `service_account_id` and, by default, `iss`).
    #[arg(long)]
    service_account_id: String,
    /// The RSA private key, PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    #[arg(long)]
    key_file: PathBuf,
    /// The subject the token is for (`sub`).
    #[arg(long)]
    sub: String,
    /// A scope to ask for (repeat).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// A user attribute as name=value, e.g. icn=1012667122V019349 (repeat).
    #[arg(long = "user-attribute", value_parser = parse_attribute)]
    user_attributes: Vec<(String, String)>,
    /// The `aud`; default: this service's `<public URL>/v0/sign_in/token`.
    #[arg(long)]
    audience: Option<String>,
    /// The `iss`; default: the service-account id.
    #[arg(long)]
    issuer: Option<String>,
    /// How many assertions to print, one a line, each with its own `jti`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,
}

fn parse_attribute(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{raw:?} is not name=value"))
}

/// Writes `--count` assertions to `out`, one a line; `default_audience` is the service's token
/// URL. The key is read once; the signing is spread over the available cores, since a benchmark
/// asks for tens of thousands of single-use assertions.
pub fn write_all(
    args: &AssertionArgs,
    default_audience: &str,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let key = read_key(&args.key_file)?;
    let workers = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let per_worker = args.count.div_ceil(workers);
    let batches = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let first = worker * per_worker;
                let size = per_worker.min(args.count.saturating_sub(first));
                let key = &key;
                scope.spawn(move || {
                    (0..size)
                        .map(|_| build(key, args, default_audience, now))
                        .collect::<anyhow::Result<Vec<String>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("an assertion worker panicked"))?
            })
            .collect::<anyhow::Result<Vec<Vec<String>>>>()
    })?;
    for assertion in batches.iter().flatten() {
        writeln!(out, "{assertion}")?;
    }
    out.flush()?;
    Ok(())
}

/// Builds and signs one assertion with `key`; `default_audience` is the service's token URL.
pub fn build(
    key: &RsaKeyPair,
    args: &AssertionArgs,
    default_audience: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let iat = now.timestamp();
    let attributes: Map<String, Value> = args
        .user_attributes
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();
    let claims = json!({
        "iss": args.issuer.as_deref().unwrap_or(&args.service_account_id),
        "sub": args.sub,
        "aud": args.audience.as_deref().unwrap_or(default_audience),
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME_SECONDS,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "scopes": args.scopes,
        "service_account_id": args.service_account_id,
        "user_attributes": attributes,
    });
    sign(key, &claims)
}

/// Signs claims as a compact JWS with header `{"alg": "RS256", "typ": "JWT"}`.
pub fn sign(key: &RsaKeyPair, claims: &Value) -> anyhow::Result<String> {
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        jws.as_bytes(),
        &mut signature,
    )
    .map_err(|_| anyhow::anyhow!("signing the assertion failed"))?;
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(jws)
}

/// Reads an RSA private key from a PEM file.
pub fn read_key(path: &std::path::Path) -> anyhow::Result<RsaKeyPair> {
    let text =
        Zeroizing::new(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    let mut block = Pem::iter_from_buffer(&text)
        .next()
        .and_then(Result::ok)
        .with_context(|| format!("{} holds no PEM block", path.display()))?;
    let der = Zeroizing::new(std::mem::take(&mut block.contents));
    let parsed = match block.label.as_str() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        other => anyhow::bail!(
            "{} holds a {other:?}, not an RSA private key",
            path.display()
        ),
    };
    parsed.map_err(|_| anyhow::anyhow!("{} is not a usable RSA private key", path.display()))
}
