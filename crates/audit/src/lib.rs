//! The tamper-evident audit log of Rampart, as pure logic: sealing entries
//! into hash chains, verifying chains, and publishing chain heads.
//!
//! This crate does no I/O and knows nothing of databases or HTTP. The store
//! persists [`Entry`] rows (and their payloads beside them) and calls
//! [`seal`] when appending and [`verify`]/[`Verifier`] when walking; the
//! server exposes the results at `/v1/audit` and `/v1/audit/verify`.
//!
//! # One chain per tenant
//!
//! Every tenant has its own chain, numbered from seq 1. A tenant's auditor
//! can verify and publish its chain without seeing any other tenant's
//! entries, and appends for different tenants never contend for one global
//! head. Verification is always for a named tenant and fails with
//! [`BrokenReason::TenantMismatch`] on a foreign entry. Tenant names must be
//! non-empty without whitespace or control characters, so that they print
//! unambiguously in a published head.
//!
//! # What is hashed
//!
//! For the entry with sequence number `seq`:
//!
//! ```text
//! payload_sha256 = hex(SHA-256(JCS(payload)))
//! prev           = hash of entry seq-1, or 64 × "0" for seq 1
//! hash           = hex(SHA-256(bytes(prev) ‖ JCS(record)))
//! record         = {"action", "actor", "payload_sha256", "prev", "seq",
//!                   "subject", "tenant", "ts_ms"}
//! ```
//!
//! `bytes(prev)` is the 32 raw bytes of the previous hash; `JCS` is RFC 8785
//! canonical JSON ([`canonical_json`]); all digests are lowercase hex. The
//! record is exactly the entry's JSON as served, minus `hash`, so anyone can
//! recompute a hash from an API response with an off-the-shelf JCS library
//! ([`Entry::hashed_record`] shows the bytes). `prev` appears both as the
//! prefix and inside the record, which is what the contract's
//! `SHA-256(prev ‖ canonical JSON of the entry)` says; it costs nothing and
//! keeps each record self-describing. `seq` and `ts_ms` are JSON integers
//! (milliseconds since the Unix epoch, UTC, 1970..=9999) and `action` its
//! snake_case name ([`Action`]).
//!
//! # Payloads live beside the chain
//!
//! The chain holds only the payload's digest. The payload itself is stored
//! next to the entry, so it can be purged at the end of its retention period
//! or redacted (e.g. a data-subject request) without touching the chain:
//! verification then counts the entry under
//! [`VerifyReport::payloads_missing`] instead of reporting a break. A payload
//! that is present must match its digest ([`BrokenReason::PayloadMismatch`]).
//! Because the digest is over canonical JSON, re-serialising a payload (key
//! order, whitespace, `5.0` vs `5`) does not change it.
//!
//! Canonicalisation rejects integers beyond ±(2^53 − 1) rather than round
//! them (store such values as strings) and nesting deeper than
//! [`MAX_DEPTH`].
//!
//! # What verification proves, and what heads add
//!
//! [`verify`] walks a chain in seq order, in constant memory, and names the
//! first broken link: a gap or reordering ([`BrokenReason::SeqGap`]), a cut
//! link ([`BrokenReason::PrevMismatch`]), an edited entry
//! ([`BrokenReason::HashMismatch`]) or a changed payload. The chain is not
//! keyed, so it cannot on its own show that entries were removed from its
//! end, or that someone with write access re-sealed everything after an
//! edit. That is what [`Head`]s are for: a tenant periodically publishes
//! its head (the one-line `rampart-audit-head v1 tenant=… seq=… hash=… ts=…`
//! form of [`Head`]'s `Display`) somewhere the operator cannot rewrite, and
//! [`check_head`] later proves the current chain still contains that head.
//!
//! # Example
//!
//! ```
//! use rampart_audit::{check_head, seal, verify, Action, Head, NewEntry};
//! use serde_json::json;
//!
//! let new = |action, subject: &str| NewEntry {
//!     ts_ms: 1_714_566_896_789,
//!     tenant: "acme".into(),
//!     actor: "key:01HX".into(),
//!     action,
//!     subject: subject.into(),
//!     payload: json!({"reason": "spam"}),
//! };
//! let first = seal(None, &new(Action::ReviewClaimed, "review:42"))?;
//! let second = seal(Some(&first.head()), &new(Action::ReviewDecided, "review:42"))?;
//!
//! let published = first.head().to_string(); // "rampart-audit-head v1 tenant=acme seq=1 …"
//! let chain = [first, second];
//!
//! let report = verify("acme", chain.iter().map(|e| (e.clone(), None)));
//! assert!(report.is_intact());
//! assert_eq!(report.payloads_missing, 2);
//! let current = check_head(&published.parse::<Head>()?, chain.iter().cloned())?;
//! assert_eq!(current.seq, 2);
//! # Ok::<(), rampart_audit::AuditError>(())
//! ```

mod action;
mod canonical;
mod entry;
mod error;
mod head;
mod verify;

pub use action::Action;
pub use canonical::{canonical_json, sha256_of_json, MAX_DEPTH};
pub use entry::{seal, Entry, NewEntry, GENESIS_PREV, MAX_TS_MS};
pub use error::AuditError;
pub use head::Head;
pub use verify::{check_head, verify, Broken, BrokenReason, Verifier, VerifyReport};
