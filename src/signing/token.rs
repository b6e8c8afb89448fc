//! Access-token claims (RFC 9068 shape) and their compact JWS serialization. Pure.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

use super::keys::KeyMaterial;

/// The standard claims of every access token; a scheme's own claims are flattened beside them.
#[derive(Debug, Serialize)]
pub struct AccessClaims<'a> {
    /// Issuer.
    pub iss: &'a str,
    /// Subject.
    pub sub: &'a str,
    /// Audience: a string when there is one, an array otherwise (RFC 7519 §4.1.3).
    pub aud: Value,
    /// The client the token was issued to (RFC 9068 §2.2).
    pub client_id: &'a str,
    /// Issued at, seconds.
    pub iat: i64,
    /// Not before, seconds.
    pub nbf: i64,
    /// Expiry, seconds.
    pub exp: i64,
    /// Unique id.
    pub jti: &'a str,
    /// Scopes, space separated (RFC 8693 §4.2); absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// State code, where one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a str>,
    /// The scheme's own claims.
    #[serde(flatten)]
    pub extra: &'a Map<String, Value>,
}

/// Serializes and signs claims as a compact JWS with header `{alg, kid, typ}` (the key's own,
/// serialized once: [`KeyMaterial::token_header`]).
pub fn encode(key: &KeyMaterial, claims: &AccessClaims<'_>) -> anyhow::Result<String> {
    let payload = serde_json::to_vec(claims)?;
    let header = key.token_header();
    // header . payload . signature (256 bytes at most: RS256 with 2048-bit keys), base64url.
    let mut token = String::with_capacity(header.len() + (payload.len() + 256) * 4 / 3 + 4);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}
