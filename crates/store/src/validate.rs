//! Checks done before anything is written, so a bad value never half-lands.

use rampart_types::{Evidence, Verdict};

use crate::{HashKind, NewBankEntry, StoreError};

/// Longest evidence snippet a verdict may carry (DESIGN.md §3).
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
            let hash = hex_digest("hash", &e.hash, e.kind.hex_len()).map_err(at)?;
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
