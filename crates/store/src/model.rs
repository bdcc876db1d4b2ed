//! The records the store keeps, as the server sees them.

use std::fmt;
use std::str::FromStr;

use rampart_types::Verdict;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A tenant's id. Every stored object belongs to exactly one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TenantId(pub i64);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Milliseconds since the Unix epoch, UTC.
pub type UnixMillis = i64;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    /// Unique, 1–64 characters of `[A-Za-z0-9_.:-]`.
    pub name: String,
    pub created_at: UnixMillis,
}

/// What a key may do (DESIGN.md §5). The server enforces the permissions; the store only keeps
/// the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Moderator,
    Submitter,
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Moderator, Role::Submitter, Role::Auditor];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Submitter => "submitter",
            Role::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                StoreError::invalid(
                    "role",
                    format!("'{s}': use admin, moderator, submitter or auditor"),
                )
            })
    }
}

/// A stored API key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The public part of the key (`rk_<id>_…`).
    pub id: String,
    pub tenant: TenantId,
    /// A human note, e.g. "ingest worker".
    pub name: String,
    pub role: Role,
    pub created_at: UnixMillis,
    pub revoked_at: Option<UnixMillis>,
}

/// A key just created: the only time its plaintext exists outside the caller.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    /// `rk_<id>_<secret>`; show it once, it cannot be recovered.
    pub plaintext: String,
}

/// Who a presented key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub tenant: TenantId,
    pub role: Role,
    pub key_id: String,
}

/// One version of a policy, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    pub name: String,
    /// 1, 2, 3 … per tenant and name; verdicts cite `name@version`.
    pub version: u32,
    /// The TOML as submitted (the server validates it with `rampart-policy` first).
    pub toml: String,
    pub created_at: UnixMillis,
}

/// A new term library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLibrary {
    /// 1–64 characters of `[A-Za-z0-9_.:-]`.
    pub name: String,
    /// `block`, `review`, `flag` or `allow` (validated by the server).
    pub kind: String,
    /// The library's label, e.g. `hate` or `custom:scams`.
    pub label: String,
    /// The default severity of its terms.
    pub severity: String,
    /// One term per element, in the library line format (`term[\tlabel[\tseverity]]`).
    pub terms: Vec<String>,
}

/// A stored term library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    pub name: String,
    pub kind: String,
    pub label: String,
    pub severity: String,
    /// Every term, sorted.
    pub terms: Vec<String>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// A library without its terms, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibrarySummary {
    pub name: String,
    pub kind: String,
    pub label: String,
    pub severity: String,
    pub term_count: u64,
    pub updated_at: UnixMillis,
}

/// A stored hash bank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bank {
    pub name: String,
    /// The bank's settings as JSON (e.g. `rampart_hashbank::BankConfig`), kept verbatim.
    pub config: serde_json::Value,
    pub entry_count: u64,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// The algorithm of a bank entry's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// A 256-bit PDQ hash, 64 hex digits.
    Pdq,
    /// An MD5 digest, 32 hex digits.
    Md5,
    /// A SHA-256 digest, 64 hex digits.
    Sha256,
}

impl HashKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Pdq => "pdq",
            HashKind::Md5 => "md5",
            HashKind::Sha256 => "sha256",
        }
    }

    /// Length of the hash in hex digits.
    pub fn hex_len(self) -> usize {
        match self {
            HashKind::Md5 => 32,
            HashKind::Pdq | HashKind::Sha256 => 64,
        }
    }
}

impl FromStr for HashKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pdq" => Ok(HashKind::Pdq),
            "md5" => Ok(HashKind::Md5),
            "sha256" => Ok(HashKind::Sha256),
            other => Err(StoreError::invalid(
                "hash_kind",
                format!("'{other}': use pdq, md5 or sha256"),
            )),
        }
    }
}

/// A hash to add to a bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBankEntry {
    /// Unique within the bank; a ULID is generated when absent.
    pub id: Option<String>,
    pub kind: HashKind,
    /// Hex digits (any case; stored lowercase).
    pub hash: String,
    /// PDQ quality 0–100, when known.
    pub quality: Option<u8>,
    /// Where the hash came from (≤ 256 characters).
    pub note: Option<String>,
}

/// A stored bank entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankEntry {
    pub id: String,
    pub kind: HashKind,
    /// Lowercase hex.
    pub hash: String,
    pub quality: Option<u8>,
    pub note: Option<String>,
    pub added_at: UnixMillis,
}

/// A verdict as stored: the verdict JSON plus when it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredVerdict {
    pub verdict: Verdict,
    pub recorded_at: UnixMillis,
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}
