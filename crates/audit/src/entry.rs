//! Entries and sealing them onto a chain.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::canonical::{canonical_json, sha256_of_json};
use crate::{Action, AuditError, Head};

/// The `prev` of the first entry of every chain: 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Latest timestamp accepted: 9999-12-31T23:59:59.999Z, the last instant
/// RFC 3339 can write.
pub const MAX_TS_MS: i64 = 253_402_300_799_999;

/// What the caller wants recorded; [`seal`] turns it into an [`Entry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    /// Whose chain the entry goes on.
    pub tenant: String,
    /// Who did it: a key id, a moderator, or `system:<job>`.
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// What it was done to: a verdict id, review id, policy version, key id…
    pub subject: String,
    /// Details, stored next to the entry; only its digest is chained.
    pub payload: Value,
}

/// One sealed link of a tenant's audit chain, as stored and served.
///
/// The digest fields are the stored text, not parsed digests, on purpose:
/// verification must be able to report a tampered row, whatever it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the tenant's chain, from 1 without gaps.
    pub seq: u64,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    /// The chain's tenant.
    pub tenant: String,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// What it was done to.
    pub subject: String,
    /// Lowercase hex SHA-256 of the canonical JSON of the payload.
    pub payload_sha256: String,
    /// `hash` of the previous entry; [`GENESIS_PREV`] for seq 1.
    pub prev: String,
    /// Lowercase hex `SHA-256(prev as 32 bytes ‖ hashed_record)`.
    pub hash: String,
}

impl Entry {
    /// The exact bytes hashed after `prev`: the RFC 8785 canonical JSON of
    /// this entry without `hash`, i.e. of the object with the members
    /// `action, actor, payload_sha256, prev, seq, subject, tenant, ts_ms`.
    pub fn hashed_record(&self) -> Result<String, AuditError> {
        let record = json!({
            "seq": self.seq,
            "ts_ms": self.ts_ms,
            "tenant": self.tenant,
            "actor": self.actor,
            "action": self.action.as_str(),
            "subject": self.subject,
            "payload_sha256": self.payload_sha256,
            "prev": self.prev,
        });
        canonical_json(&record)
    }

    /// What `hash` must be: lowercase hex
    /// `SHA-256(bytes(prev) ‖ hashed_record())`. Fails if `prev` is not a
    /// digest or a number is out of the canonical range.
    pub fn compute_hash(&self) -> Result<String, AuditError> {
        let prev = parse_digest(&self.prev)?;
        let record = self.hashed_record()?;
        let mut hasher = Sha256::new();
        hasher.update(prev);
        hasher.update(record.as_bytes());
        Ok(hex::encode(hasher.finalize()))
    }

    /// The chain head this entry forms when it is the last one.
    pub fn head(&self) -> Head {
        Head {
            tenant: self.tenant.clone(),
            seq: self.seq,
            hash: self.hash.clone(),
            ts_ms: self.ts_ms,
        }
    }
}

/// Seals `new` onto the chain whose current head is `head` (`None` for an
/// empty chain): assigns the next seq, digests the payload, links `prev`
/// and computes `hash`.
///
/// The seq is derived from the head rather than passed in, so a caller
/// cannot create a gap. Timestamps are not required to increase: they come
/// from the wall clocks of several nodes, and the order of the chain is
/// `seq`.
pub fn seal(head: Option<&Head>, new: &NewEntry) -> Result<Entry, AuditError> {
    validate_tenant(&new.tenant)?;
    if !(0..=MAX_TS_MS).contains(&new.ts_ms) {
        return Err(AuditError::TimestampOutOfRange(new.ts_ms));
    }
    let (seq, prev) = match head {
        None => (1, GENESIS_PREV.to_owned()),
        Some(head) => {
            if head.tenant != new.tenant {
                return Err(AuditError::TenantMismatch {
                    head: head.tenant.clone(),
                    entry: new.tenant.clone(),
                });
            }
            parse_digest(&head.hash)?;
            let seq = head
                .seq
                .checked_add(1)
                .ok_or(AuditError::SeqOverflow(head.seq))?;
            (seq, head.hash.clone())
        }
    };
    let mut entry = Entry {
        seq,
        ts_ms: new.ts_ms,
        tenant: new.tenant.clone(),
        actor: new.actor.clone(),
        action: new.action,
        subject: new.subject.clone(),
        payload_sha256: sha256_of_json(&new.payload)?,
        prev,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash().map_err(|e| match e {
        // Only the seq can be out of range here: ts was checked above.
        AuditError::IntegerOutOfRange(_) => AuditError::SeqOverflow(seq - 1),
        other => other,
    })?;
    Ok(entry)
}

/// A tenant must be printable in a one-line published head.
pub(crate) fn validate_tenant(tenant: &str) -> Result<(), AuditError> {
    if tenant.is_empty() || tenant.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AuditError::InvalidTenant(tenant.to_owned()));
    }
    Ok(())
}

/// The 32 bytes of a lowercase hex SHA-256.
pub(crate) fn parse_digest(hex_digest: &str) -> Result<[u8; 32], AuditError> {
    let invalid = || AuditError::InvalidDigest(hex_digest.to_owned());
    if !hex_digest
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(invalid());
    }
    let mut bytes = [0; 32];
    hex::decode_to_slice(hex_digest, &mut bytes).map_err(|_| invalid())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_entry(tenant: &str) -> NewEntry {
        NewEntry {
            ts_ms: 1_714_566_896_789,
            tenant: tenant.into(),
            actor: "key:01HXAMPLE".into(),
            action: Action::ReviewDecided,
            subject: "review:42".into(),
            payload: json!({"decision": "remove", "reason": "spam", "labels": ["spam"]}),
        }
    }

    /// Known-answer test. The expected values were computed independently in
    /// Python (`hashlib` + the PyPI `rfc8785` package) from the documented
    /// rule, so they pin the exact hashed form.
    #[test]
    fn known_answer() {
        let first = seal(None, &new_entry("acme")).unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(first.prev, GENESIS_PREV);
        assert_eq!(
            first.hashed_record().unwrap(),
            concat!(
                r#"{"action":"review_decided","actor":"key:01HXAMPLE","#,
                r#""payload_sha256":"PAYLOAD_SHA","#,
                r#""prev":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""seq":1,"subject":"review:42","tenant":"acme","ts_ms":1714566896789}"#
            )
            .replace("PAYLOAD_SHA", &first.payload_sha256)
        );
        assert_eq!(
            first.payload_sha256,
            "9a86ddcdfc2a0aefaea0f174f3c7e2fcfa4794ea088483438ffb8b43df064fcc"
        );
        assert_eq!(
            first.hash,
            "580f84e8afc7f574eb3cf0b19fbda8f6bf22161386c63b6899472ba684084aaa"
        );
        let second = seal(Some(&first.head()), &new_entry("acme")).unwrap();
        assert_eq!((second.seq, second.prev.as_str()), (2, first.hash.as_str()));
        assert_eq!(
            second.hash,
            "6387a98345c8acbb8dfd74dc5b21ab00bb5122115bacdd62f9f8b375c9a31ac6"
        );
    }

    /// The documented rule "the entry's JSON without `hash`" holds for the
    /// serde form, so anyone can re-derive the hash from an API response.
    #[test]
    fn hashed_record_is_the_served_json_without_hash() {
        let entry = seal(None, &new_entry("acme")).unwrap();
        let mut served = serde_json::to_value(&entry).unwrap();
        served.as_object_mut().unwrap().remove("hash");
        assert_eq!(
            canonical_json(&served).unwrap(),
            entry.hashed_record().unwrap()
        );
    }

    #[test]
    fn seal_rejects() {
        let acme = seal(None, &new_entry("acme")).unwrap().head();
        let with = |f: fn(&mut NewEntry)| {
            let mut new = new_entry("acme");
            f(&mut new);
            new
        };
        let table: &[(&str, Option<&Head>, NewEntry, AuditError)] = &[
            (
                "empty tenant",
                None,
                new_entry(""),
                AuditError::InvalidTenant("".into()),
            ),
            (
                "tenant with space",
                None,
                new_entry("a b"),
                AuditError::InvalidTenant("a b".into()),
            ),
            (
                "tenant with newline",
                None,
                new_entry("a\n"),
                AuditError::InvalidTenant("a\n".into()),
            ),
            (
                "another tenant's head",
                Some(&acme),
                new_entry("globex"),
                AuditError::TenantMismatch {
                    head: "acme".into(),
                    entry: "globex".into(),
                },
            ),
            (
                "negative ts",
                None,
                with(|n| n.ts_ms = -1),
                AuditError::TimestampOutOfRange(-1),
            ),
            (
                "ts after 9999",
                None,
                with(|n| n.ts_ms = MAX_TS_MS + 1),
                AuditError::TimestampOutOfRange(MAX_TS_MS + 1),
            ),
            (
                "unsafe integer in payload",
                None,
                with(|n| n.payload = json!({"size": u64::MAX})),
                AuditError::IntegerOutOfRange(u64::MAX.to_string()),
            ),
        ];
        for (name, head, new, expected) in table {
            assert_eq!(seal(*head, new).as_ref(), Err(expected), "{name}");
        }
    }

    #[test]
    fn seal_rejects_a_malformed_or_exhausted_head() {
        let mut head = seal(None, &new_entry("acme")).unwrap().head();
        head.hash = head.hash.to_uppercase();
        assert!(matches!(
            seal(Some(&head), &new_entry("acme")),
            Err(AuditError::InvalidDigest(_))
        ));
        head.hash = GENESIS_PREV.into();
        head.seq = (1 << 53) - 1;
        assert_eq!(
            seal(Some(&head), &new_entry("acme")),
            Err(AuditError::SeqOverflow((1 << 53) - 1))
        );
        head.seq = u64::MAX;
        assert_eq!(
            seal(Some(&head), &new_entry("acme")),
            Err(AuditError::SeqOverflow(u64::MAX))
        );
    }

    #[test]
    fn payload_digest_ignores_formatting() {
        let a = seal(None, &new_entry("acme")).unwrap();
        let mut reordered = new_entry("acme");
        reordered.payload = serde_json::from_str(
            r#"{ "labels" : ["spam"], "reason": "spam", "decision": "remove" }"#,
        )
        .unwrap();
        assert_eq!(seal(None, &reordered).unwrap(), a);
    }
}
