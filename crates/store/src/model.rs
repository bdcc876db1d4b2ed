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

/// What a key may do (the roles of the README's HTTP API section). The server enforces the
/// permissions; the store only keeps the role.
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
    /// A vPDQ video signature: one or more frames of 66 hex digits each (2 of quality, then the
    /// frame's 64-digit PDQ hash), at most [`MAX_VPDQ_FRAMES`] frames.
    Vpdq,
}

/// Hex digits of one vPDQ frame in a [`HashKind::Vpdq`] signature: 2 of quality + 64 of PDQ.
pub const VPDQ_FRAME_HEX: usize = 66;
/// Most frames one stored vPDQ signature may hold (6.6 MB of hex).
pub const MAX_VPDQ_FRAMES: usize = 100_000;

impl HashKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Pdq => "pdq",
            HashKind::Md5 => "md5",
            HashKind::Sha256 => "sha256",
            HashKind::Vpdq => "vpdq",
        }
    }

    /// Length of the hash in hex digits; for [`HashKind::Vpdq`], of one frame (a signature is
    /// a whole number of frames).
    pub fn hex_len(self) -> usize {
        match self {
            HashKind::Md5 => 32,
            HashKind::Pdq | HashKind::Sha256 => 64,
            HashKind::Vpdq => VPDQ_FRAME_HEX,
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
            "vpdq" => Ok(HashKind::Vpdq),
            other => Err(StoreError::invalid(
                "hash_kind",
                format!("'{other}': use pdq, md5, sha256 or vpdq"),
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
    /// Hex digits (any case; stored lowercase); for vPDQ, the frames concatenated.
    pub hash: String,
    /// PDQ quality 0–100, when known (for vPDQ each frame carries its own).
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
    /// The human decision on it, once a moderator made one (the verdict JSON is never
    /// rewritten).
    pub review: Option<VerdictReview>,
}

/// A moderator's final decision on a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictReview {
    /// `approve` (now `pass`) or `remove` (now `block`).
    pub outcome: crate::review::ReviewOutcome,
    pub at: UnixMillis,
    /// `key:<id>` of the moderator.
    pub by: String,
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// What an asynchronous job moderates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Video,
    Audio,
}

impl JobKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Video => "video",
            JobKind::Audio => "audio",
        }
    }
}

impl FromStr for JobKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "video" => Ok(JobKind::Video),
            "audio" => Ok(JobKind::Audio),
            other => Err(StoreError::invalid(
                "kind",
                format!("'{other}': use video or audio"),
            )),
        }
    }
}

/// Where a job is in its life: `Queued → Running → Succeeded | Failed` (a running job whose
/// worker died is claimed again once its lease runs out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    /// Whether the job will change no more.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

impl FromStr for JobState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(JobState::Queued),
            "running" => Ok(JobState::Running),
            "succeeded" => Ok(JobState::Succeeded),
            "failed" => Ok(JobState::Failed),
            other => Err(StoreError::invalid(
                "state",
                format!("'{other}': use queued, running, succeeded or failed"),
            )),
        }
    }
}

/// A job to create: its metadata and the content, kept only until the job finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub tenant: TenantId,
    pub kind: JobKind,
    /// The caller's reference for the content (≤ 256 bytes), copied into the verdict.
    pub client_id: Option<String>,
    /// The policy the caller asked for (≤ 128 bytes), `None` for the tenant's default.
    pub policy: Option<String>,
    /// Where to send the result (http or https, ≤ 2048 bytes); overrides the tenant's webhook.
    pub callback_url: Option<String>,
    /// The content to moderate: the only content the store ever keeps, deleted when the job
    /// succeeds or fails.
    pub input: Vec<u8>,
    /// SHA-256 of `input`, 64 hex digits.
    pub input_sha256: String,
    /// How many claims the job gets before it is failed (1–100).
    pub max_attempts: u32,
}

/// A stored job, without its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// A ULID generated by the store.
    pub id: String,
    pub tenant: TenantId,
    pub kind: JobKind,
    pub state: JobState,
    /// 0 to 1, as last reported by the worker.
    pub progress: f32,
    /// Claims so far.
    pub attempts: u32,
    pub max_attempts: u32,
    pub client_id: Option<String>,
    pub policy: Option<String>,
    pub callback_url: Option<String>,
    pub input_sha256: String,
    pub input_bytes: u64,
    /// A stable API error code when the job failed.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The verdict when the job succeeded.
    pub verdict_id: Option<String>,
    pub created_at: UnixMillis,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
}

/// A job a worker has claimed: its content and the lease that proves the claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub job: Job,
    /// The uploaded file (empty when [`ClaimedJob::exhausted`]).
    pub input: Vec<u8>,
    /// The job was already out of attempts: this claim is only for failing it.
    pub exhausted: bool,
    /// A random token of this claim; renewing, completing and failing the job need it.
    pub lease: String,
}

/// A webhook delivery to create together with a job's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// http or https, ≤ 2048 bytes.
    pub url: String,
    /// `job.succeeded` or `job.failed`.
    pub event: String,
    /// The exact JSON body to send (≤ 1 MiB).
    pub payload: String,
}

/// Where a webhook delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not yet accepted by the receiver; will be tried (again) at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the last retry.
    Failed,
}

impl DeliveryState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(StoreError::invalid(
                "state",
                format!("'{other}': use pending, delivered or failed"),
            )),
        }
    }
}

/// A stored webhook delivery, without its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// A ULID; sent with every attempt as the idempotency id.
    pub id: String,
    pub tenant: TenantId,
    pub job_id: Option<String>,
    pub url: String,
    pub event: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<UnixMillis>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    pub created_at: UnixMillis,
    pub delivered_at: Option<UnixMillis>,
}

/// A delivery whose attempt is due, leased to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub delivery: Delivery,
    /// The exact body to send.
    pub payload: String,
    /// The token that [`crate::Store::record_delivery_attempt`] needs.
    pub lease: String,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub at: UnixMillis,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong (≤ 1024 bytes; longer messages are cut).
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it; no more attempts.
    Delivered,
    /// Try again at this time.
    RetryAt(UnixMillis),
    /// Give up: the delivery becomes [`DeliveryState::Failed`].
    GaveUp,
}

/// A tenant's webhook settings. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    /// Where job results go when a job names no `callback_url`; `None` sends nothing.
    pub url: Option<String>,
    /// The HMAC key of the `Rampart-Signature` header.
    pub secret: String,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}
