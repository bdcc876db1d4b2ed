//! Checks done before anything is written, so a bad value never half-lands.

use rampart_types::{Evidence, Verdict};

use crate::model::{MAX_VPDQ_FRAMES, VPDQ_FRAME_HEX};
use crate::{HashKind, NewBankEntry, NewDelivery, NewJob, StoreError};

/// Longest evidence snippet a verdict may carry.
const MAX_SNIPPET_CHARS: usize = 64;
/// Longest policy source accepted.
pub(crate) const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Longest term line accepted (a `re:` rule is at most 1 KiB, plus label and severity).
const MAX_TERM_BYTES: usize = 2048;

/// 1–64 characters of `[A-Za-z0-9_.:-]`: names of tenants, policies, libraries, banks, ids.
pub(crate) fn name(field: &'static str, s: &str) -> Result<(), StoreError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        return Ok(());
    }
    Err(StoreError::invalid(
        field,
        format!("'{}' must be 1-64 characters of [A-Za-z0-9_.:-]", cut(s)),
    ))
}

/// Free text of at most `max` bytes without control characters.
pub(crate) fn text(field: &'static str, s: &str, max: usize) -> Result<(), StoreError> {
    if s.len() > max {
        return Err(StoreError::invalid(
            field,
            format!("longer than {max} bytes"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return Err(StoreError::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Lowercase hex of exactly `len` digits (any case accepted, lowercase returned).
pub(crate) fn hex_digest(field: &'static str, s: &str, len: usize) -> Result<String, StoreError> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(s.to_ascii_lowercase());
    }
    Err(StoreError::invalid(
        field,
        format!("'{}' is not {len} hex digits", cut(s)),
    ))
}

/// A vPDQ signature: 1 to [`MAX_VPDQ_FRAMES`] frames of [`VPDQ_FRAME_HEX`] hex digits
/// (lowercase returned).
pub(crate) fn vpdq_signature(s: &str) -> Result<String, StoreError> {
    let frames = s.len() / VPDQ_FRAME_HEX;
    let shape_ok =
        !s.is_empty() && s.len().is_multiple_of(VPDQ_FRAME_HEX) && frames <= MAX_VPDQ_FRAMES;
    if !shape_ok {
        return Err(StoreError::invalid(
            "hash",
            format!(
                "a vpdq signature is 1-{MAX_VPDQ_FRAMES} frames of {VPDQ_FRAME_HEX} hex digits \
                 (2 of quality, 64 of PDQ); got {} digits",
                s.len()
            ),
        ));
    }
    if let Some(at) = s.bytes().position(|b| !b.is_ascii_hexdigit()) {
        return Err(StoreError::invalid(
            "hash",
            format!(
                "vpdq signature: frame {} holds a non-hex character",
                at / VPDQ_FRAME_HEX
            ),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// Library term lines: non-blank, single-line, bounded.
pub(crate) fn terms(terms: &[String]) -> Result<(), StoreError> {
    for (i, t) in terms.iter().enumerate() {
        if t.trim().is_empty() {
            return Err(StoreError::invalid("terms", format!("term {i} is blank")));
        }
        text("terms", t, MAX_TERM_BYTES)
            .map_err(|e| StoreError::invalid("terms", format!("term {i}: {e}")))?;
    }
    Ok(())
}

/// A bank entry, normalised: the hash lowercased and the id generated when absent.
pub(crate) struct CheckedEntry {
    pub id: String,
    pub kind: HashKind,
    pub hash: String,
    pub quality: Option<u8>,
    pub note: Option<String>,
}

pub(crate) fn bank_entries(entries: &[NewBankEntry]) -> Result<Vec<CheckedEntry>, StoreError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = |err: StoreError| StoreError::invalid("entries", format!("entry {i}: {err}"));
            let id = match &e.id {
                Some(id) => {
                    name("id", id).map_err(at)?;
                    id.clone()
                }
                None => ulid::Ulid::new().to_string(),
            };
            let hash = match e.kind {
                HashKind::Vpdq => vpdq_signature(&e.hash).map_err(at)?,
                kind => hex_digest("hash", &e.hash, kind.hex_len()).map_err(at)?,
            };
            if e.quality.is_some_and(|q| q > 100) {
                return Err(at(StoreError::invalid("quality", "must be 0-100")));
            }
            if let Some(note) = &e.note {
                text("note", note, 256).map_err(at)?;
            }
            Ok(CheckedEntry {
                id,
                kind: e.kind,
                hash,
                quality: e.quality,
                note: e.note.clone(),
            })
        })
        .collect()
}

/// A verdict fit to store: well-formed id and hashes, and nothing that looks like content.
pub(crate) fn verdict(v: &Verdict) -> Result<(), StoreError> {
    name("id", &v.id)?;
    hex_digest("content_ref.sha256", &v.content_ref.sha256, 64)?;
    if let Some(pdq) = &v.content_ref.pdq {
        hex_digest("content_ref.pdq", pdq, 64)?;
    }
    if let Some(client_id) = &v.content_ref.client_id {
        text("content_ref.client_id", client_id, 256)?;
    }
    text("policy", &v.policy, 128)?;
    v.labels.iter().try_for_each(|l| snippets(&l.evidence))
}

/// Longest URL accepted for webhooks and job callbacks.
const MAX_URL_BYTES: usize = 2048;
/// Longest stored error message or delivery error.
pub(crate) const MAX_ERROR_BYTES: usize = 1024;
/// Largest webhook body accepted.
const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Largest job input accepted (SQLite's default limit for one value is 10⁹ bytes).
pub(crate) const MAX_INPUT_BYTES: usize = 1_000_000_000;

/// An absolute `http` or `https` URL of at most 2048 bytes, without spaces or control
/// characters. Whether its host may be reached is the webhook sender's check.
pub(crate) fn url(field: &'static str, s: &str) -> Result<(), StoreError> {
    if s.len() > MAX_URL_BYTES {
        return Err(StoreError::invalid(
            field,
            format!("longer than {MAX_URL_BYTES} bytes"),
        ));
    }
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return Err(StoreError::invalid(
            field,
            format!("'{}' is not an http(s) URL", cut(s)),
        ));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(StoreError::invalid(field, "the URL has no host"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(StoreError::invalid(
            field,
            "contains spaces or control characters",
        ));
    }
    Ok(())
}

/// `s` cut to at most `max` bytes at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A job fit to store; returns the input hash lowercased.
pub(crate) fn job(job: &NewJob) -> Result<String, StoreError> {
    if let Some(client_id) = &job.client_id {
        text("client_id", client_id, 256)?;
    }
    if let Some(policy) = &job.policy {
        if policy.is_empty() {
            return Err(StoreError::invalid("policy", "is empty"));
        }
        text("policy", policy, 128)?;
    }
    if let Some(callback) = &job.callback_url {
        url("callback_url", callback)?;
    }
    if job.input.is_empty() {
        return Err(StoreError::invalid("input", "is empty"));
    }
    if job.input.len() > MAX_INPUT_BYTES {
        return Err(StoreError::invalid(
            "input",
            format!("larger than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    if !(1..=100).contains(&job.max_attempts) {
        return Err(StoreError::invalid("max_attempts", "must be 1-100"));
    }
    hex_digest("input_sha256", &job.input_sha256, 64)
}

/// A webhook delivery fit to store: a URL, an event name and a JSON body.
pub(crate) fn delivery(d: &NewDelivery) -> Result<(), StoreError> {
    url("url", &d.url)?;
    name("event", &d.event)?;
    if d.payload.len() > MAX_PAYLOAD_BYTES {
        return Err(StoreError::invalid("payload", "larger than 1 MiB"));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&d.payload)
        .map_err(|e| StoreError::invalid("payload", format!("not JSON: {e}")))?;
    Ok(())
}

/// A job error: a stable code (name rules) and a message, cut to 1024 bytes.
pub(crate) fn job_error<'a>(code: &str, message: &'a str) -> Result<&'a str, StoreError> {
    name("error_code", code)?;
    Ok(truncate(message, MAX_ERROR_BYTES))
}

/// A webhook signing secret: 1–256 bytes without control characters.
pub(crate) fn secret(s: &str) -> Result<(), StoreError> {
    if s.is_empty() {
        return Err(StoreError::invalid("secret", "is empty"));
    }
    text("secret", s, 256)
}

fn snippets(evidence: &[Evidence]) -> Result<(), StoreError> {
    for e in evidence {
        if e.matched
            .as_ref()
            .is_some_and(|m| m.chars().count() > MAX_SNIPPET_CHARS)
        {
            return Err(StoreError::invalid(
                "evidence.matched",
                format!("snippets are at most {MAX_SNIPPET_CHARS} characters"),
            ));
        }
        snippets(&e.evidence)?;
    }
    Ok(())
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpdq_signatures_are_whole_hex_frames() {
        let frame = format!("64{}", "Ab".repeat(32));
        assert_eq!(vpdq_signature(&frame).unwrap(), frame.to_ascii_lowercase());
        assert!(vpdq_signature(&frame.repeat(3)).is_ok());
        for bad in [
            String::new(),
            frame[..65].to_owned(),
            format!("{frame}0"),
            format!("zz{}", &frame[2..]),
            frame.repeat(MAX_VPDQ_FRAMES + 1),
        ] {
            assert!(
                vpdq_signature(&bad).is_err(),
                "{} digits accepted",
                bad.len()
            );
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        for good in ["https://hooks.example.com/x?y=1", "HTTP://10.0.0.1:8080/"] {
            assert!(url("url", good).is_ok(), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for bad in [
            "ftp://x",
            "https://",
            "http:///path",
            "https://a b",
            "x",
            long.as_str(),
        ] {
            assert!(url("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
        let long = "é".repeat(1000);
        let cut = job_error("decode_failed", &long).unwrap();
        assert_eq!(cut.len(), 1024);
        assert!(job_error("no spaces allowed", "x").is_err());
    }
}
