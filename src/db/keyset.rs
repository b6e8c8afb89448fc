//! The opaque cursor of a keyset-paginated report (the issuance record, the audit trail): the
//! time and id of the last row of a page. The next page holds the rows strictly after it in
//! (time desc, id desc) order, so rows added while a caller pages (always at the newest end)
//! neither shift nor repeat what follows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Longest id a cursor may carry (ours are UUIDs; anything longer is forged).
const MAX_ID_LEN: usize = 128;
/// Version tag inside every cursor, so the format can change without misreading old ones.
const VERSION: &str = "v1";

/// A position in a report: the last row's time (epoch milliseconds) and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The row's time, epoch milliseconds.
    pub at_millis: i64,
    /// The row's id (letters, digits and `-`).
    pub id: String,
}

impl Cursor {
    /// The opaque text form handed to callers (base64url, no padding).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{VERSION}:{}:{}", self.at_millis, self.id))
    }

    /// Reads a cursor made by [`Cursor::encode`]; `None` for anything else.
    pub fn decode(opaque: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(opaque.trim()).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        let mut parts = plain.splitn(3, ':');
        if parts.next()? != VERSION {
            return None;
        }
        let at_millis = parts.next()?.parse().ok()?;
        let id = parts.next()?;
        let well_formed = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        well_formed.then(|| Self {
            at_millis,
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_round_trip() {
        let cursor = Cursor {
            at_millis: 1_795_000_000_000,
            id: "0b6f7c3e-8a51-4e0a-9d1e-2f3c4b5a6d7e".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn garbled_or_forged_cursors_are_refused() {
        let forged = |plain: &str| URL_SAFE_NO_PAD.encode(plain);
        for opaque in [
            String::new(),
            "not base64 at all!".into(),
            forged("v2:1:abc"),
            forged("v1:soon:abc"),
            forged("v1:1:"),
            forged("v1:1:a'; drop table issuances; --"),
            forged(&format!("v1:1:{}", "a".repeat(MAX_ID_LEN + 1))),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]),
        ] {
            assert_eq!(Cursor::decode(&opaque), None, "{opaque}");
        }
    }
}
