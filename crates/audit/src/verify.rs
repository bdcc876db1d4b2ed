//! Walking a chain: streaming verification and checking published heads.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::sha256_of_json;
use crate::entry::GENESIS_PREV;
use crate::{AuditError, Entry, Head};

/// Where and why a chain stopped verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    /// The chain position that failed: the seq the entry there should have
    /// had (for every reason but [`BrokenReason::SeqGap`] also its seq).
    pub seq: u64,
    /// What failed.
    pub reason: BrokenReason,
}

/// Why an entry does not verify, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BrokenReason {
    /// The entry at this position has another seq: entries were deleted,
    /// inserted or reordered.
    SeqGap {
        /// The seq due here.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// The entry belongs to another tenant's chain.
    TenantMismatch {
        /// The tenant being verified.
        expected: String,
        /// The entry's tenant.
        found: String,
    },
    /// `prev` is not the hash of the entry before: the link to the past
    /// was cut (an entry before was replaced, or this one was moved).
    PrevMismatch,
    /// `hash` does not match the entry's contents: the entry was edited.
    HashMismatch,
    /// The stored payload does not match `payload_sha256`.
    PayloadMismatch,
}

impl fmt::Display for BrokenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokenReason::SeqGap { expected, found } => {
                write!(f, "expected seq {expected}, found {found}")
            }
            BrokenReason::TenantMismatch { expected, found } => {
                write!(f, "entry belongs to tenant {found:?}, not {expected:?}")
            }
            BrokenReason::PrevMismatch => f.write_str("prev is not the hash of the previous entry"),
            BrokenReason::HashMismatch => f.write_str("hash does not match the entry"),
            BrokenReason::PayloadMismatch => f.write_str("payload does not match payload_sha256"),
        }
    }
}

/// The outcome of walking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Entries examined, including the one that broke.
    pub entries_checked: u64,
    /// Head of the verified part of the chain: the last entry that passed
    /// (or the trusted head verification resumed from). `None` if nothing
    /// verified.
    pub head: Option<Head>,
    /// The first failure; verification stops there.
    pub first_broken: Option<Broken>,
    /// Entries whose payload was not supplied (purged or redacted). Their
    /// links still verify; only their details cannot be checked.
    pub payloads_missing: u64,
}

impl VerifyReport {
    /// True if every examined entry verified.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Verifies one tenant's chain an entry at a time, in constant memory, for
/// callers that read entries in pages (e.g. from a database cursor).
/// [`verify`] is the same over an iterator.
///
/// Checks per entry, in this order, stopping at the first failure: seq is
/// the next one, tenant is the chain's, `prev` is the previous entry's
/// `hash`, `hash` matches the entry, and (if supplied) the payload matches
/// `payload_sha256`.
#[derive(Debug, Clone)]
pub struct Verifier {
    tenant: String,
    next_seq: u64,
    prev_hash: String,
    head: Option<Head>,
    entries_checked: u64,
    payloads_missing: u64,
    broken: Option<Broken>,
}

impl Verifier {
    /// Verifies `tenant`'s chain from its first entry (seq 1).
    pub fn new(tenant: &str) -> Self {
        Verifier {
            tenant: tenant.to_owned(),
            next_seq: 1,
            prev_hash: GENESIS_PREV.to_owned(),
            head: None,
            entries_checked: 0,
            payloads_missing: 0,
            broken: None,
        }
    }

    /// Verifies the entries after a head already verified (or published and
    /// checked), so a periodic job need not re-walk the whole chain.
    pub fn resume(trusted: Head) -> Self {
        Verifier {
            tenant: trusted.tenant.clone(),
            next_seq: trusted.seq.saturating_add(1),
            prev_hash: trusted.hash.clone(),
            head: Some(trusted),
            entries_checked: 0,
            payloads_missing: 0,
            broken: None,
        }
    }

    /// Checks the next entry, with its stored payload if still available.
    /// Returns whether the chain is still intact; once broken, further
    /// entries are ignored.
    pub fn push(&mut self, entry: &Entry, payload: Option<&Value>) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.entries_checked += 1;
        if let Err(reason) = self.check(entry, payload) {
            self.broken = Some(Broken {
                seq: self.next_seq,
                reason,
            });
            return false;
        }
        if payload.is_none() {
            self.payloads_missing += 1;
        }
        self.next_seq = self.next_seq.saturating_add(1);
        self.prev_hash.clone_from(&entry.hash);
        self.head = Some(entry.head());
        true
    }

    fn check(&self, entry: &Entry, payload: Option<&Value>) -> Result<(), BrokenReason> {
        if entry.seq != self.next_seq {
            return Err(BrokenReason::SeqGap {
                expected: self.next_seq,
                found: entry.seq,
            });
        }
        if entry.tenant != self.tenant {
            return Err(BrokenReason::TenantMismatch {
                expected: self.tenant.clone(),
                found: entry.tenant.clone(),
            });
        }
        if entry.prev != self.prev_hash {
            return Err(BrokenReason::PrevMismatch);
        }
        if entry.compute_hash().ok().as_ref() != Some(&entry.hash) {
            return Err(BrokenReason::HashMismatch);
        }
        if let Some(payload) = payload {
            if sha256_of_json(payload).ok().as_ref() != Some(&entry.payload_sha256) {
                return Err(BrokenReason::PayloadMismatch);
            }
        }
        Ok(())
    }

    /// The first failure so far.
    pub fn first_broken(&self) -> Option<&Broken> {
        self.broken.as_ref()
    }

    /// The report for everything pushed.
    pub fn finish(self) -> VerifyReport {
        VerifyReport {
            entries_checked: self.entries_checked,
            head: self.head,
            first_broken: self.broken,
            payloads_missing: self.payloads_missing,
        }
    }
}

/// Walks `tenant`'s chain from seq 1, in the order given (the store yields
/// it by seq), and names the first broken link. Entries are consumed one at
/// a time, so memory stays constant; iteration stops at the first failure.
///
/// Pass `None` as the payload of an entry whose payload was purged or
/// redacted: that is counted in [`VerifyReport::payloads_missing`], not a
/// break.
///
/// An intact report proves the entries are a consistent chain, not that
/// none were removed from its end or that it was not rewritten wholesale
/// (anyone with write access can re-hash an unkeyed chain): compare with a
/// published head for that ([`check_head`]).
pub fn verify<I>(tenant: &str, entries: I) -> VerifyReport
where
    I: IntoIterator<Item = (Entry, Option<Value>)>,
{
    let mut verifier = Verifier::new(tenant);
    for (entry, payload) in entries {
        if !verifier.push(&entry, payload.as_ref()) {
            break;
        }
    }
    verifier.finish()
}

/// Proves that `entries` (the tenant's whole chain from seq 1, in order)
/// extends a head published earlier: the chain verifies, reaches the
/// published seq, and has the published hash there. Returns the chain's
/// current head.
///
/// Payloads play no part: a head commits only to the hashed records.
pub fn check_head<I>(published: &Head, entries: I) -> Result<Head, AuditError>
where
    I: IntoIterator<Item = Entry>,
{
    let mut verifier = Verifier::new(&published.tenant);
    let mut hash_at_published_seq = None;
    for entry in entries {
        if !verifier.push(&entry, None) {
            break;
        }
        if entry.seq == published.seq {
            hash_at_published_seq = Some(entry.hash);
        }
    }
    let report = verifier.finish();
    if let Some(broken) = report.first_broken {
        return Err(AuditError::ChainBroken(broken));
    }
    let Some(found) = hash_at_published_seq else {
        return Err(AuditError::HeadNotReached {
            published_seq: published.seq,
            chain_seq: report.head.map_or(0, |head| head.seq),
        });
    };
    if found != published.hash {
        return Err(AuditError::HeadMismatch {
            seq: published.seq,
            published: published.hash.clone(),
            found,
        });
    }
    Ok(report.head.expect("the chain reached the published seq"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{seal, Action, NewEntry};
    use serde_json::json;

    type Row = (Entry, Option<Value>);

    const TENANT: &str = "acme";
    const ACTIONS: [Action; 4] = [
        Action::VerdictRecorded,
        Action::ReviewClaimed,
        Action::ReviewDecided,
        Action::PolicyChanged,
    ];

    fn new_entry(tenant: &str, i: u64) -> NewEntry {
        NewEntry {
            ts_ms: 1_714_566_896_000 + i as i64 * 1000,
            tenant: tenant.into(),
            actor: format!("moderator:{}", i % 3),
            action: ACTIONS[i as usize % ACTIONS.len()],
            subject: format!("item:{i}"),
            payload: json!({"n": i, "note": format!("entry {i}")}),
        }
    }

    /// Seals `new` onto the last row of `rows`.
    fn append(rows: &mut Vec<Row>, new: NewEntry) {
        let head = rows.last().map(|(entry, _)| entry.head());
        let entry = seal(head.as_ref(), &new).unwrap();
        rows.push((entry, Some(new.payload)));
    }

    fn chain_of(tenant: &str, n: u64) -> Vec<Row> {
        let mut rows = Vec::new();
        for i in 1..=n {
            append(&mut rows, new_entry(tenant, i));
        }
        rows
    }

    /// Re-seals every entry from index `from` on, as someone with write
    /// access to the store could.
    fn reseal_from(rows: &mut [Row], from: usize) {
        for i in from..rows.len() {
            let head = (i > 0).then(|| rows[i - 1].0.head());
            let (entry, payload) = &rows[i];
            let new = NewEntry {
                ts_ms: entry.ts_ms,
                tenant: entry.tenant.clone(),
                actor: entry.actor.clone(),
                action: entry.action,
                subject: entry.subject.clone(),
                payload: payload.clone().unwrap(),
            };
            rows[i].0 = seal(head.as_ref(), &new).unwrap();
        }
    }

    /// Checks the invariants between a report and the chain it came from.
    fn assert_report_consistent(report: &VerifyReport, rows: &[Row]) {
        match &report.first_broken {
            Some(broken) => {
                assert_eq!(report.entries_checked, broken.seq);
                assert_eq!(
                    report.head.as_ref().map(|h| h.seq),
                    broken.seq.checked_sub(1).filter(|s| *s > 0)
                );
            }
            None => {
                assert_eq!(report.entries_checked, rows.len() as u64);
                assert_eq!(report.head, rows.last().map(|(entry, _)| entry.head()));
            }
        }
    }

    fn broken(seq: u64, reason: BrokenReason) -> Option<Broken> {
        Some(Broken { seq, reason })
    }

    type FieldTamper = (&'static str, fn(&mut Entry), fn(u64) -> BrokenReason);

    /// Editing any field of the first, a middle or the last entry breaks
    /// the chain exactly there.
    #[test]
    fn tampering_with_any_field_is_detected_at_that_entry() {
        use BrokenReason::*;
        let fields: &[FieldTamper] = &[
            (
                "seq",
                |e| e.seq = 999,
                |k| SeqGap {
                    expected: k,
                    found: 999,
                },
            ),
            ("ts_ms", |e| e.ts_ms += 1, |_| HashMismatch),
            (
                "ts_ms out of range",
                |e| e.ts_ms = i64::MAX,
                |_| HashMismatch,
            ),
            (
                "tenant",
                |e| e.tenant = "globex".into(),
                |_| TenantMismatch {
                    expected: TENANT.into(),
                    found: "globex".into(),
                },
            ),
            ("actor", |e| e.actor.push('x'), |_| HashMismatch),
            (
                "action",
                |e| e.action = Action::KeyRevoked,
                |_| HashMismatch,
            ),
            ("subject", |e| e.subject = "item:0".into(), |_| HashMismatch),
            (
                "payload_sha256",
                |e| e.payload_sha256 = "ab".repeat(32),
                |_| HashMismatch,
            ),
            ("prev", |e| e.prev = "ab".repeat(32), |_| PrevMismatch),
            (
                "prev not hex",
                |e| e.prev = "genesis".into(),
                |_| PrevMismatch,
            ),
            ("hash", |e| e.hash = "ab".repeat(32), |_| HashMismatch),
            (
                "hash in uppercase",
                |e| e.hash = e.hash.to_uppercase(),
                |_| HashMismatch,
            ),
            ("hash emptied", |e| e.hash.clear(), |_| HashMismatch),
        ];
        for &(field, tamper, reason) in fields {
            for k in [1_u64, 5, 10] {
                let mut rows = chain_of(TENANT, 10);
                tamper(&mut rows[k as usize - 1].0);
                let report = verify(TENANT, rows.clone());
                assert_eq!(
                    report.first_broken,
                    broken(k, reason(k)),
                    "{field} of entry {k}"
                );
                assert_report_consistent(&report, &rows);
            }
        }
    }

    type ChainTamper = (&'static str, fn(&mut Vec<Row>), Option<Broken>);

    #[test]
    fn structural_tampering_is_detected_at_the_first_broken_link() {
        use BrokenReason::*;
        let cases: &[ChainTamper] = &[
            ("untouched", |_| {}, None),
            (
                "delete the first entry",
                |r| drop(r.remove(0)),
                broken(
                    1,
                    SeqGap {
                        expected: 1,
                        found: 2,
                    },
                ),
            ),
            (
                "delete entry 5",
                |r| drop(r.remove(4)),
                broken(
                    5,
                    SeqGap {
                        expected: 5,
                        found: 6,
                    },
                ),
            ),
            // A chain alone cannot show that its end is missing: that is what
            // published heads are for (see `check_head_*`).
            ("delete the last entry", |r| drop(r.pop()), None),
            (
                "delete entry 5 and renumber the rest",
                |r| {
                    r.remove(4);
                    r[4..].iter_mut().for_each(|(e, _)| e.seq -= 1);
                },
                broken(5, PrevMismatch),
            ),
            (
                "swap entries 5 and 6",
                |r| r.swap(4, 5),
                broken(
                    5,
                    SeqGap {
                        expected: 5,
                        found: 6,
                    },
                ),
            ),
            (
                "swap entries 5 and 6 and their seqs",
                |r| {
                    r.swap(4, 5);
                    r[4].0.seq = 5;
                    r[5].0.seq = 6;
                },
                broken(5, PrevMismatch),
            ),
            (
                "move the last entry first",
                |r| r.rotate_right(1),
                broken(
                    1,
                    SeqGap {
                        expected: 1,
                        found: 10,
                    },
                ),
            ),
            (
                "duplicate entry 5",
                |r| {
                    let copy = r[4].clone();
                    r.insert(5, copy);
                },
                broken(
                    6,
                    SeqGap {
                        expected: 6,
                        found: 5,
                    },
                ),
            ),
            (
                "insert a well-sealed forgery after entry 4",
                |r| {
                    let forged = seal(Some(&r[3].0.head()), &new_entry(TENANT, 99)).unwrap();
                    r.insert(4, (forged, None));
                },
                broken(
                    6,
                    SeqGap {
                        expected: 6,
                        found: 5,
                    },
                ),
            ),
            (
                "insert a forgery after entry 4 and renumber the rest",
                |r| {
                    let forged = seal(Some(&r[3].0.head()), &new_entry(TENANT, 99)).unwrap();
                    r.insert(4, (forged, None));
                    r[5..].iter_mut().for_each(|(e, _)| e.seq += 1);
                },
                broken(6, PrevMismatch),
            ),
            (
                "replace entry 5 with entry 5 of another tenant",
                |r| r[4] = chain_of("globex", 5).pop().unwrap(),
                broken(
                    5,
                    TenantMismatch {
                        expected: TENANT.into(),
                        found: "globex".into(),
                    },
                ),
            ),
            (
                "edit entry 5 and re-hash it",
                |r| {
                    r[4].0.actor = "someone-else".into();
                    r[4].0.hash = r[4].0.compute_hash().unwrap();
                },
                broken(6, PrevMismatch),
            ),
            // Re-hashing everything after an edit yields a consistent chain:
            // only a published head catches this (see `check_head_*`).
            (
                "edit entry 5 and re-seal everything after it",
                |r| {
                    r[4].0.actor = "someone-else".into();
                    reseal_from(r, 4);
                },
                None,
            ),
            (
                "change the stored payload of entry 5",
                |r| r[4].1 = Some(json!({"n": 5, "note": "something else"})),
                broken(5, PayloadMismatch),
            ),
            (
                "change the stored payload of the first entry",
                |r| r[0].1 = Some(json!(null)),
                broken(1, PayloadMismatch),
            ),
            (
                "swap the stored payloads of entries 5 and 6",
                |r| {
                    let p5 = r[4].1.take();
                    r[4].1 = r[5].1.replace(p5.unwrap());
                },
                broken(5, PayloadMismatch),
            ),
            (
                "stored payload with an unsafe integer",
                |r| r[4].1 = Some(json!({"n": u64::MAX})),
                broken(5, PayloadMismatch),
            ),
            // Same payload, other formatting and key order: still matches.
            (
                "payload re-serialised",
                |r| {
                    r[4].1 =
                        Some(serde_json::from_str(r#"{ "note" : "entry 5", "n" : 5.0 }"#).unwrap())
                },
                None,
            ),
            ("delete everything", |r| r.clear(), None),
        ];
        for (name, tamper, expected) in cases {
            let mut rows = chain_of(TENANT, 10);
            tamper(&mut rows);
            let report = verify(TENANT, rows.clone());
            assert_eq!(&report.first_broken, expected, "{name}");
            assert_report_consistent(&report, &rows);
        }
    }

    #[test]
    fn purged_payloads_are_counted_not_broken() {
        let mut rows = chain_of(TENANT, 10);
        rows[2].1 = None;
        rows[6].1 = None;
        let report = verify(TENANT, rows);
        assert!(report.is_intact());
        assert_eq!((report.entries_checked, report.payloads_missing), (10, 2));
    }

    #[test]
    fn a_chain_is_verified_as_the_named_tenants() {
        let report = verify("globex", chain_of(TENANT, 3));
        assert_eq!(
            report.first_broken,
            broken(
                1,
                BrokenReason::TenantMismatch {
                    expected: "globex".into(),
                    found: TENANT.into()
                }
            )
        );
        assert_eq!(report.head, None);
    }

    #[test]
    fn verification_stops_at_the_first_break() {
        let mut rows = chain_of(TENANT, 10);
        rows[2].0.actor.clear();
        rows[7].0.actor.clear();
        let mut verifier = Verifier::new(TENANT);
        let intact: Vec<bool> = rows
            .iter()
            .map(|(e, p)| verifier.push(e, p.as_ref()))
            .collect();
        assert_eq!(
            intact,
            [true, true, false, false, false, false, false, false, false, false]
        );
        let report = verifier.finish();
        assert_eq!(report.first_broken, broken(3, BrokenReason::HashMismatch));
        assert_eq!(report.entries_checked, 3);
    }

    #[test]
    fn resume_from_a_trusted_head() {
        let rows = chain_of(TENANT, 10);
        let first = verify(TENANT, rows[..5].to_vec());
        let trusted = first.head.unwrap();

        let mut verifier = Verifier::resume(trusted.clone());
        rows[5..]
            .iter()
            .for_each(|(e, p)| assert!(verifier.push(e, p.as_ref())));
        let report = verifier.finish();
        assert_eq!(
            (report.entries_checked, report.head),
            (5, Some(rows[9].0.head()))
        );

        // Nothing new: the trusted head is still the head.
        assert_eq!(
            Verifier::resume(trusted.clone()).finish().head,
            Some(trusted.clone())
        );

        // A head that is not on this chain does not link.
        let wrong = Head {
            hash: "ab".repeat(32),
            ..trusted
        };
        let mut verifier = Verifier::resume(wrong);
        assert!(!verifier.push(&rows[5].0, None));
        assert_eq!(
            verifier.first_broken(),
            broken(6, BrokenReason::PrevMismatch).as_ref()
        );
    }

    /// 10 000 entries generated lazily and verified as a stream: nothing
    /// holds the chain in memory.
    #[test]
    fn ten_thousand_untouched_entries_verify() {
        let entries = (1..=10_000).scan(None::<Head>, |head, i| {
            let new = new_entry(TENANT, i);
            let entry = seal(head.as_ref(), &new).unwrap();
            *head = Some(entry.head());
            Some((entry, (i % 100 != 0).then_some(new.payload)))
        });
        let report = verify(TENANT, entries);
        assert!(report.is_intact(), "{:?}", report.first_broken);
        assert_eq!(report.entries_checked, 10_000);
        assert_eq!(report.payloads_missing, 100);
        assert_eq!(report.head.map(|h| h.seq), Some(10_000));
    }

    #[test]
    fn report_json() {
        let mut rows = chain_of(TENANT, 3);
        rows.remove(1);
        let report = verify(TENANT, rows.clone());
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({
                "entries_checked": 2,
                "head": {"tenant": "acme", "seq": 1, "hash": rows[0].0.hash, "ts_ms": 1_714_566_897_000_i64},
                "first_broken": {"seq": 2, "reason": {"kind": "seq_gap", "expected": 2, "found": 3}},
                "payloads_missing": 0,
            })
        );
    }

    #[test]
    fn check_head_accepts_extensions_and_catches_rewrites() {
        let chain = chain_of(TENANT, 10);
        let published = chain[4].0.head();
        let entries = |rows: &[Row]| rows.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>();
        let now = chain[9].0.head();

        type Case = (
            &'static str,
            fn(&mut Vec<Row>),
            fn(&[Row]) -> Result<Head, AuditError>,
        );
        let cases: &[Case] = &[
            ("the chain grew", |_| {}, |r| Ok(r[9].0.head())),
            (
                "the chain did not grow",
                |r| r.truncate(5),
                |r| Ok(r[4].0.head()),
            ),
            (
                "re-sealed after the published head: a valid extension",
                |r| {
                    r[7].0.actor = "someone-else".into();
                    reseal_from(r, 7);
                },
                |r| Ok(r[9].0.head()),
            ),
            (
                "truncated before the published head",
                |r| r.truncate(3),
                |_| {
                    Err(AuditError::HeadNotReached {
                        published_seq: 5,
                        chain_seq: 3,
                    })
                },
            ),
            (
                "emptied",
                |r| r.clear(),
                |_| {
                    Err(AuditError::HeadNotReached {
                        published_seq: 5,
                        chain_seq: 0,
                    })
                },
            ),
            (
                "history rewritten and re-sealed",
                |r| {
                    r[2].0.actor = "someone-else".into();
                    reseal_from(r, 2);
                },
                |r| {
                    Err(AuditError::HeadMismatch {
                        seq: 5,
                        published: chain_of(TENANT, 5)[4].0.hash.clone(),
                        found: r[4].0.hash.clone(),
                    })
                },
            ),
            (
                "broken after the published head",
                |r| r[7].0.actor.clear(),
                |_| {
                    Err(AuditError::ChainBroken(Broken {
                        seq: 8,
                        reason: BrokenReason::HashMismatch,
                    }))
                },
            ),
        ];
        for (name, tamper, expected) in cases {
            let mut rows = chain.clone();
            tamper(&mut rows);
            assert_eq!(
                check_head(&published, entries(&rows)),
                expected(&rows),
                "{name}"
            );
        }

        // Through the published text form, as an outside auditor would.
        let line = published.to_string();
        assert_eq!(check_head(&line.parse().unwrap(), entries(&chain)), Ok(now));

        // Another tenant's head never matches this chain.
        let foreign = Head {
            tenant: "globex".into(),
            ..published
        };
        assert!(matches!(
            check_head(&foreign, entries(&chain)),
            Err(AuditError::ChainBroken(Broken {
                seq: 1,
                reason: BrokenReason::TenantMismatch { .. }
            }))
        ));
    }
}
