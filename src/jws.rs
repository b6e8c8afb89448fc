//! The header rules every compact JWS from outside passes before anything else reads it: the
//! sign-in assertions, `private_key_jwt` client assertions, DPoP proofs, outside subject tokens
//! and the access tokens presented back to this service.
//!
//! RFC 7515 §4.1.11: a recipient that does not understand every extension a `crit` header
//! parameter lists must reject the JWS. tokenmint understands no extension, so a header that
//! carries `crit` at all (any value, even an empty list, which §4.1.11 forbids) is refused.
//! Each caller turns the refusal into its own words; this module decides nothing else and
//! imports nothing above the ground floor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// Why a JWS header is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderRefusal {
    /// Not a compact JWS whose first part is a base64url JSON object.
    #[error("the header is not a base64url JSON object")]
    Malformed,
    /// The header names critical extensions, none of which tokenmint understands.
    #[error("the header lists critical extensions (crit), which are not supported")]
    Critical,
}

/// Whether a decoded header may be processed: it must not carry `crit` (RFC 7515 §4.1.11).
pub fn check_members(header: &Map<String, Value>) -> Result<(), HeaderRefusal> {
    if header.contains_key("crit") {
        return Err(HeaderRefusal::Critical);
    }
    Ok(())
}

/// Checks the protected header of a compact JWS (its first dot-separated part) with
/// [`check_members`]. Padding is tolerated, as JWT libraries in the wild produce it.
pub fn check_header(token: &str) -> Result<(), HeaderRefusal> {
    let encoded = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| HeaderRefusal::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(members)) => check_members(&members),
        _ => Err(HeaderRefusal::Malformed),
    }
}

/// `jsonwebtoken::decode_header` after [`check_header`]: the one way to read the header of a
/// JWS from outside (a test below finds any other call in `src/`).
pub fn decode_header(token: &str) -> Result<jsonwebtoken::Header, HeaderRefusal> {
    check_header(token)?;
    jsonwebtoken::decode_header(token).map_err(|_| HeaderRefusal::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn a_header_without_crit_passes() {
        let header = decode_header(&token(r#"{"alg":"RS256","kid":"k"}"#)).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k"));
    }

    #[test]
    fn any_crit_is_refused() {
        for crit in [r#"["exp"]"#, "[]", "null", r#""b64""#, "1"] {
            let header = format!(r#"{{"alg":"RS256","crit":{crit},"exp":1}}"#);
            assert_eq!(
                check_header(&token(&header)),
                Err(HeaderRefusal::Critical),
                "{crit}"
            );
        }
    }

    /// Every `.rs` file under `dir`, with its text.
    fn sources(dir: &std::path::Path, found: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn every_header_from_outside_is_read_through_this_module() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        for (path, text) in files.iter().filter(|(path, _)| !path.ends_with("jws.rs")) {
            for line in text.lines().filter(|line| line.contains("decode_header")) {
                assert!(
                    line.contains("jws::decode_header"),
                    "{}: read the header with crate::jws::decode_header: {line}",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn a_header_that_is_not_a_json_object_is_malformed() {
        for header in ["[]", "not json", ""] {
            assert_eq!(check_header(&token(header)), Err(HeaderRefusal::Malformed));
        }
        assert_eq!(check_header("!!.e30.x"), Err(HeaderRefusal::Malformed));
    }
}
