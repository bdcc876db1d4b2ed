//! The `Rampart-Signature` header: HMAC-SHA256 over `t + "." + body`, keyed with the
//! webhook secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// What `Rampart-Signature` prefixes its signed timestamp with, and the scheme name of the
/// signature itself (the only scheme there is; others are ignored when verifying).
const TIMESTAMP_KEY: &str = "t";
const SCHEME_V1: &str = "v1";

/// Why [`verify`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header does not parse: an element without `=`, no `t=` or more than one, or a
    /// `t=` that is not a whole number of seconds.
    #[error("malformed Rampart-Signature header: {0}")]
    Malformed(&'static str),
    /// The header has a timestamp but no `v1=` signature.
    #[error("Rampart-Signature header carries no v1 signature")]
    NoSignature,
    /// No `v1=` signature matches the body, timestamp and secret: the wrong secret, or a body
    /// or timestamp changed on the way.
    #[error("no v1 signature matches")]
    Mismatch,
    /// The signature is genuine but its timestamp is further from now than the tolerance: a
    /// replayed request, or a clock that is off.
    #[error("signature timestamp {timestamp} is more than {tolerance_s} s from now ({now})")]
    OutsideTolerance {
        /// The signed `t=`.
        timestamp: i64,
        /// The receiver's clock, as given to [`verify`].
        now: i64,
        /// The tolerance given to [`verify`], in seconds.
        tolerance_s: i64,
    },
}

/// The `Rampart-Signature` header value for `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<64 lowercase hex digits>`.
///
/// The key is `secret` as bytes: for a secret from [`new_secret`], the whole `whsec_…`
/// string, exactly as the receiver was shown it.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = mac(secret, &timestamp, body);
    format!(
        "{TIMESTAMP_KEY}={timestamp},{SCHEME_V1}={}",
        hex::encode(mac)
    )
}

/// Checks a `Rampart-Signature` header against the raw request `body`, as a receiver must
/// before trusting a callback.
///
/// Accepts the header when one of its `v1=` signatures (there may be several while a secret
/// is being rotated) is the HMAC of `t + "." + body` under `secret`, compared in constant
/// time, and `t` is within `tolerance_s` seconds of `now` either way (a replayed old request
/// fails even with a genuine signature). Elements other than `t` and `v1` are ignored, so a
/// future signature scheme can be added alongside.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_s: i64,
) -> Result<(), VerifyError> {
    let parsed = parse(header)?;
    let expected = mac(secret, parsed.timestamp_text, body);
    let mut matched = Choice::from(0);
    for candidate in parsed.signatures {
        let mut bytes = [0u8; 32];
        // A candidate that is not 64 hex digits cannot match; it is skipped, not an error, so
        // one garbled entry does not hide a valid one.
        if hex::decode_to_slice(candidate, &mut bytes).is_ok() {
            matched |= bytes.ct_eq(&expected);
        }
    }
    if !bool::from(matched) {
        return Err(VerifyError::Mismatch);
    }
    if parsed.timestamp.abs_diff(now) > tolerance_s.max(0).unsigned_abs() {
        return Err(VerifyError::OutsideTolerance {
            timestamp: parsed.timestamp,
            now,
            tolerance_s,
        });
    }
    Ok(())
}

/// A new webhook secret: `whsec_` and 32 random bytes in hex (64 digits), from the operating
/// system's entropy via the thread-local CSPRNG. Shown to the tenant once, stored for signing.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", hex::encode(bytes))
}

struct Parsed<'h> {
    timestamp: i64,
    /// `t=` exactly as sent: the signed text, so a receiver never re-formats it.
    timestamp_text: &'h str,
    signatures: Vec<&'h str>,
}

fn parse(header: &str) -> Result<Parsed<'_>, VerifyError> {
    let mut timestamp_text = None;
    let mut signatures = Vec::new();
    for element in header.split(',') {
        let (key, value) = element
            .trim()
            .split_once('=')
            .ok_or(VerifyError::Malformed("an element without '='"))?;
        match key {
            TIMESTAMP_KEY if timestamp_text.is_some() => {
                return Err(VerifyError::Malformed("more than one t="))
            }
            TIMESTAMP_KEY => timestamp_text = Some(value),
            SCHEME_V1 => signatures.push(value),
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or(VerifyError::Malformed("no t="))?;
    let timestamp = parse_seconds(timestamp_text)
        .ok_or(VerifyError::Malformed("t= is not a number of seconds"))?;
    if signatures.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    Ok(Parsed {
        timestamp,
        timestamp_text,
        signatures,
    })
}

/// Digits only: `i64::from_str` would also take `+5` and `-5`, which [`sign`] never writes.
fn parse_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC-SHA256 accepts a key of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the construction against an independent computation:
    /// `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`.
    #[test]
    fn signature_matches_a_reference_hmac() {
        assert_eq!(
            sign(b"whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn parse_reads_every_element() {
        let parsed = parse(" t=12 , v1=ab,v0=zz, v1=cd").unwrap();
        assert_eq!(parsed.timestamp, 12);
        assert_eq!(parsed.timestamp_text, "12");
        assert_eq!(parsed.signatures, ["ab", "cd"]);
    }

    #[test]
    fn timestamps_are_plain_digits() {
        for text in ["", "+5", "-5", "1e3", "0x10", " 5", "99999999999999999999"] {
            assert_eq!(parse_seconds(text), None, "{text:?}");
        }
        assert_eq!(parse_seconds("0"), Some(0));
        assert_eq!(parse_seconds("1700000000"), Some(1_700_000_000));
    }

    #[test]
    fn secrets_are_prefixed_hex_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let digits = a.strip_prefix("whsec_").unwrap();
        assert_eq!(digits.len(), 64);
        assert!(digits
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
