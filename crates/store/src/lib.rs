//! Durable storage for Rampart: tenants, API keys, versioned policies, term libraries, hash
//! banks (PDQ, MD5, SHA-256 and vPDQ video signatures), verdicts, asynchronous video/audio
//! jobs and their webhook deliveries, on an embedded SQLite file (the default) or on
//! PostgreSQL (scale-out).
//!
//! Not for: HTTP, permissions, validating policy or library *content* (the server parses those
//! with `rampart-policy` and `rampart-text` before storing), or keeping submitted content:
//! verdicts are stored under data minimisation — the content's SHA-256 and PDQ
//! hash, the verdict JSON with its evidence snippets (≤ 64 characters each), never the text or
//! the bytes. The one exception is a job's input, kept only while the job is queued or running
//! and deleted in the transaction that finishes it (see below).
//!
//! # Shape
//!
//! [`Store`] is an object-safe trait (`Arc<dyn Store>`, via `async_trait`) because storage
//! is a seam (ARCHITECTURE.md): the server holds a `dyn Store` and tests or future backends can
//! stand in. Its one real implementation, [`SqlStore`], runs every query on either a SQLite or
//! a PostgreSQL `sqlx` pool: the SQL is written once (`$1` placeholders work on both) and each
//! method body is compiled twice, once per native driver, so both backends get typed, native
//! drivers without a generic-trait-bound maze or the lossy `Any` driver. What truly differs —
//! connection set-up, migrations, the batch insert of verdicts and the integrity check — is
//! written per backend.
//!
//! # Opening
//!
//! [`open`] takes a file path or `sqlite://PATH` (SQLite in WAL mode, `synchronous=NORMAL`,
//! foreign keys on, 5 s busy timeout; the file is created if missing) or `postgres://…`
//! (a pool of 16 connections; add `?options=-c%20search_path%3Dmy_schema` to use a schema).
//! Migrations are embedded in the binary and run at open, inside one transaction, recorded in
//! `rampart_migrations`; a database written by a newer build is refused.
//!
//! # Tenancy
//!
//! Every method that reads or changes an object takes a [`TenantId`] and filters on it: asking
//! for another tenant's object gives `None` or [`StoreError::NotFound`], exactly as for an
//! object that does not exist.
//!
//! # Verdict writes: group commit
//!
//! [`Store::record_verdict`] hands the row to one writer task per store and waits for its
//! acknowledgement. The writer takes whatever is queued (up to 512 rows), inserts it in one
//! transaction, commits, then acknowledges every caller. So a verdict is acknowledged only
//! once it is committed, and one commit serves many requests. On SQLite a WAL commit with
//! `synchronous=NORMAL` is in the operating system's hands when acknowledged: it survives the
//! process being killed (SIGKILL) but not a power cut of the machine; on PostgreSQL it is as
//! durable as the server's `synchronous_commit` makes it. A batch that fails is retried row by
//! row so one bad row fails only its own caller.
//!
//! # Jobs and webhook deliveries
//!
//! A video or audio job is a row plus its input bytes, created in one transaction
//! ([`Store::create_job`]). A worker claims it ([`Store::claim_job`]): the claim is a random
//! lease token valid until a deadline the worker keeps pushing forward
//! ([`Store::renew_job_lease`]). A claim that lapses (the worker died) lets the next claim win
//! and voids the old token. A job already claimed `max_attempts` times is claimed once more
//! only to be failed (the claim says it is exhausted), so its failure and its webhook are
//! written together like any other outcome. [`Store::complete_job`] and [`Store::fail_job`] act only under the current
//! token and, in one transaction, finish the job, store the verdict, delete the input and
//! queue the webhook delivery — so a job completes exactly once whatever the queue does, and
//! its result is never sent without being stored. Deliveries are leased the same way
//! ([`Store::claim_due_deliveries`]) so two nodes never send one attempt at once, and every
//! attempt is logged ([`Store::record_delivery_attempt`]).
//!
//! Deleted inputs leave no copy in the SQLite file: connections run with
//! `secure_delete=ON`, which overwrites freed pages (the WAL keeps old frames until the next
//! checkpoint overwrites or truncates it). On PostgreSQL a deleted input stays in a dead tuple
//! until `VACUUM` reclaims it.
//!
//! # Audit log
//!
//! Every change the store makes appends an entry to the tenant's hash chain (`rampart-audit`)
//! in the same transaction as the change: a verdict (in the group-commit batch), a policy
//! version, a library or bank change, a key created or revoked, the webhook
//! settings, the tenant itself. The entry's actor is the task's ambient actor
//! ([`acting_as`], [`set_actor`]; `system` by default). [`Store::append_audit`] appends
//! other events (review decisions, purges). Appends of one tenant are serialised: on
//! PostgreSQL by a transaction-scoped advisory lock per tenant, on SQLite by its single writer.
//! The table is append-only: no statement in this crate updates or deletes an entry.
//! [`verify_chain`] walks a chain page by page and [`check_published_head`] proves a published
//! head is still in it.
//!
//! # Change notification
//!
//! Each tenant has a [`Store::revision`] that every policy, library or bank change bumps in the
//! same transaction, so a server can compare one number per request and reload when it moved.

#[macro_use]
mod macros;
mod audit;
mod error;
mod keys;
mod migrate;
mod model;
mod review;
mod sql;
mod validate;
mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use rampart_types::Verdict;

pub use audit::{
    acting_as, check_published_head, current_actor, set_actor, verify_chain, AUDIT_PAGE,
    SYSTEM_ACTOR,
};
pub use error::StoreError;
pub use model::{
    ApiKey, BackendKind, Bank, BankEntry, ClaimedJob, CreatedKey, Delivery, DeliveryAttempt,
    DeliveryOutcome, DeliveryState, DueDelivery, HashKind, Job, JobKind, JobState, KeyInfo,
    Library, LibrarySummary, NewBankEntry, NewDelivery, NewJob, NewLibrary, Role, StoredPolicy,
    StoredVerdict, Tenant, TenantId, UnixMillis, VerdictReview, WebhookConfig, MAX_VPDQ_FRAMES,
    VPDQ_FRAME_HEX,
};
pub use rampart_audit;
pub use review::{
    Appeal, Claim, ClaimRule, ConsoleSession, ContentPart, ContentPartInfo, NewDecision,
    NewReviewItem, ReviewCounts, ReviewCursor, ReviewDecision, ReviewFilter, ReviewItem,
    ReviewOutcome, ReviewReason, ReviewState, MAX_CONTENT_BYTES, MAX_PARTS, MAX_REASON,
};
pub use sql::SqlStore;

/// Most verdicts one [`Store::list_verdicts`] call returns.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// Opens (creating and migrating if needed) the store at `url`; see the crate docs for URLs.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// Everything Rampart keeps. Every object method is scoped by tenant.
#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this store runs on.
    fn backend(&self) -> BackendKind;

    // ----- tenants -----

    /// Creates a tenant; `Conflict` if the name is taken.
    async fn create_tenant(&self, name: &str) -> Result<Tenant, StoreError>;
    /// The tenant with this id.
    async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant with this name.
    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, StoreError>;
    /// The tenant's change counter: bumped by every policy, library or bank change.
    async fn revision(&self, tenant: TenantId) -> Result<u64, StoreError>;

    // ----- API keys -----

    /// Creates a key; the plaintext is in the result and nowhere else, ever.
    async fn create_key(
        &self,
        tenant: TenantId,
        role: Role,
        name: &str,
    ) -> Result<CreatedKey, StoreError>;
    /// The tenant's keys, revoked ones included, without secrets.
    async fn list_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes a key of the tenant (idempotent); `NotFound` for another tenant's key.
    async fn revoke_key(&self, tenant: TenantId, key_id: &str) -> Result<(), StoreError>;
    /// Who a presented `rk_…` key speaks for; `None` when it is malformed, unknown, wrong or
    /// revoked. The secret is compared in constant time.
    async fn authenticate(&self, presented: &str) -> Result<Option<KeyInfo>, StoreError>;

    // ----- policies -----

    /// Stores `toml` as the next version of the tenant's policy `name` and returns that
    /// version (1 for a new policy). Earlier versions stay readable.
    async fn put_policy(
        &self,
        tenant: TenantId,
        name: &str,
        toml: &str,
    ) -> Result<u32, StoreError> {
        self.put_policy_after(tenant, name, toml, 0).await
    }
    /// [`Store::put_policy`], numbering the new version above `after` as well as above every
    /// stored version (so a tenant's own `default` policy never reuses the version number of
    /// the server's built-in `default@N` that verdicts may already cite).
    async fn put_policy_after(
        &self,
        tenant: TenantId,
        name: &str,
        toml: &str,
        after: u32,
    ) -> Result<u32, StoreError>;
    /// A version of a policy, or its latest when `version` is `None`.
    async fn get_policy(
        &self,
        tenant: TenantId,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredPolicy>, StoreError>;
    /// Every version of a policy, oldest first; empty if there is no such policy.
    async fn policy_versions(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Vec<StoredPolicy>, StoreError>;
    /// The latest version of each of the tenant's policies, by name.
    async fn list_policies(&self, tenant: TenantId) -> Result<Vec<StoredPolicy>, StoreError>;

    // ----- term libraries -----

    /// Creates a library with its terms in one transaction; `Conflict` if the name is taken.
    async fn create_library(
        &self,
        tenant: TenantId,
        library: &NewLibrary,
    ) -> Result<Library, StoreError>;
    /// A library with all its terms.
    async fn get_library(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Option<Library>, StoreError>;
    /// The tenant's libraries, without terms.
    async fn list_libraries(&self, tenant: TenantId) -> Result<Vec<LibrarySummary>, StoreError>;
    /// Bulk import: adds terms in one transaction (all or nothing) and returns how many were
    /// new; terms already present are skipped.
    async fn add_terms(
        &self,
        tenant: TenantId,
        library: &str,
        terms: &[String],
    ) -> Result<u64, StoreError>;
    /// Removes terms and returns how many were present.
    async fn remove_terms(
        &self,
        tenant: TenantId,
        library: &str,
        terms: &[String],
    ) -> Result<u64, StoreError>;
    /// Deletes a library and its terms.
    async fn delete_library(&self, tenant: TenantId, name: &str) -> Result<(), StoreError>;

    // ----- hash banks -----

    /// Creates a bank; `config` must be a JSON object and is kept verbatim.
    async fn create_bank(
        &self,
        tenant: TenantId,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Bank, StoreError>;
    /// A bank's settings and entry count.
    async fn get_bank(&self, tenant: TenantId, name: &str) -> Result<Option<Bank>, StoreError>;
    /// The tenant's banks.
    async fn list_banks(&self, tenant: TenantId) -> Result<Vec<Bank>, StoreError>;
    /// Deletes a bank and its entries.
    async fn delete_bank(&self, tenant: TenantId, name: &str) -> Result<(), StoreError>;
    /// Bulk import: adds entries in one transaction. All or nothing: an invalid entry or an id
    /// already in the bank stores none of them.
    async fn add_bank_entries(
        &self,
        tenant: TenantId,
        bank: &str,
        entries: &[NewBankEntry],
    ) -> Result<Vec<BankEntry>, StoreError>;
    /// Every entry of a bank, oldest first; `NotFound` if there is no such bank.
    async fn list_bank_entries(
        &self,
        tenant: TenantId,
        bank: &str,
    ) -> Result<Vec<BankEntry>, StoreError>;
    /// Removes entries by id and returns how many were present.
    async fn remove_bank_entries(
        &self,
        tenant: TenantId,
        bank: &str,
        ids: &[String],
    ) -> Result<u64, StoreError>;

    // ----- verdicts -----

    /// Persists a verdict (group commit; returns once committed). Stored: the verdict JSON, its
    /// id, suggestion, policy, `content_ref` (SHA-256, PDQ, client id) and the time. Refused:
    /// a malformed id or hash, or evidence snippets over 64 characters (content must not leak
    /// into the store).
    async fn record_verdict(&self, tenant: TenantId, verdict: &Verdict) -> Result<(), StoreError> {
        self.record_verdict_for_review(tenant, verdict, None)
            .await
            .map(|_| ())
    }
    /// [`Store::record_verdict`], queueing `review` (if any) for human review in the same
    /// transaction; returns the new item's id. The item's content is the only submitted
    /// content the store keeps outside a job, until the item is decided and its retention
    /// period has passed.
    async fn record_verdict_for_review(
        &self,
        tenant: TenantId,
        verdict: &Verdict,
        review: Option<NewReviewItem>,
    ) -> Result<Option<String>, StoreError>;
    /// A verdict of the tenant by id.
    async fn get_verdict(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<StoredVerdict>, StoreError>;
    /// The tenant's verdicts in id (ULID, so time) order, after `after_id` if given; at most
    /// `limit`, capped at [`MAX_LIST_LIMIT`].
    async fn list_verdicts(
        &self,
        tenant: TenantId,
        limit: u32,
        after_id: Option<&str>,
    ) -> Result<Vec<StoredVerdict>, StoreError>;

    /// The tenant's verdicts with `suggestion`, recorded in `[from, to)` (Unix milliseconds),
    /// in recording order `(recorded_at, id)`, after the cursor `after` (the last row of the
    /// previous page); at most `limit`, capped at [`MAX_LIST_LIMIT`].
    async fn list_verdicts_recorded(
        &self,
        tenant: TenantId,
        suggestion: rampart_types::Suggestion,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, &str)>,
        limit: u32,
    ) -> Result<Vec<StoredVerdict>, StoreError>;

    // ----- jobs -----

    /// Creates a `Queued` job and stores its input, in one transaction. The input is the only
    /// content the store keeps, and only until the job succeeds or fails.
    async fn create_job(&self, job: NewJob) -> Result<Job, StoreError>;
    /// A job of the tenant by id.
    async fn get_job(&self, tenant: TenantId, id: &str) -> Result<Option<Job>, StoreError>;
    /// The tenant's jobs, newest first, optionally in one state; `after` is the last id of the
    /// previous page. At most `limit`, capped at [`MAX_LIST_LIMIT`].
    async fn list_jobs(
        &self,
        tenant: TenantId,
        state: Option<JobState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;
    /// Claims a job for a worker, atomically: only a `Queued` job or a `Running` one whose lease
    /// has run out. The job becomes `Running` with one more attempt, a new lease token and
    /// `lease_until = now + lease_ms`; the input bytes come back with it. `None` for an
    /// unknown or finished job, or one another worker holds. A job out of attempts (it has
    /// crashed or outlived every worker) is claimed without another attempt, without its
    /// input and with [`ClaimedJob::exhausted`] set: the worker's only move is
    /// [`Store::fail_job`], which also queues its webhook. If that worker dies too, the next
    /// claim is exhausted again.
    async fn claim_job(&self, id: &str, lease_ms: u64) -> Result<Option<ClaimedJob>, StoreError>;
    /// Extends a claim to `now + lease_ms` and records progress (clamped to 0–1); `false` when
    /// the lease is no longer this one (the job was reclaimed or finished).
    async fn renew_job_lease(
        &self,
        id: &str,
        lease: &str,
        lease_ms: u64,
        progress: f32,
    ) -> Result<bool, StoreError>;
    /// Finishes a job, in one transaction and only while it is `Running` under `lease`: stores
    /// the verdict (as [`Store::record_verdict`] would), marks the job `Succeeded` with that
    /// verdict, deletes the input and queues the webhook delivery (due now). `false`, with
    /// nothing changed, otherwise — so a job completes exactly once.
    async fn complete_job(
        &self,
        id: &str,
        lease: &str,
        tenant: TenantId,
        verdict: &Verdict,
        delivery: Option<NewDelivery>,
        review: Option<NewReviewItem>,
    ) -> Result<bool, StoreError>;
    /// Fails a job under the same guard as [`Store::complete_job`]: `Failed` with a stable
    /// error code and a message (cut to 1024 bytes), the input deleted, the delivery queued.
    async fn fail_job(
        &self,
        id: &str,
        lease: &str,
        code: &str,
        message: &str,
        delivery: Option<NewDelivery>,
    ) -> Result<bool, StoreError>;
    /// Puts every `Running` job back to `Queued` with no lease, and returns how many. Only for
    /// embedded mode at start-up, where this process is the only worker.
    async fn requeue_running_jobs(&self) -> Result<u64, StoreError>;
    /// Jobs a worker may claim (`Queued`, or `Running` with an expired lease), oldest first.
    async fn pending_jobs(&self, limit: u32) -> Result<Vec<(String, TenantId)>, StoreError> {
        self.pending_jobs_after(None, limit).await
    }
    /// [`Store::pending_jobs`] after the job id `after`, to page through all of them.
    async fn pending_jobs_after(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, TenantId)>, StoreError>;

    // ----- webhook deliveries -----

    /// Leases up to `limit` pending deliveries due at `now` that no one holds (or whose lease
    /// ran out) until `now + lease_ms`, so two nodes never send the same attempt at once.
    /// Oldest due first.
    async fn claim_due_deliveries(
        &self,
        now: UnixMillis,
        limit: u32,
        lease_ms: u64,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Logs an attempt of a leased delivery and applies its outcome (delivered, retry at a
    /// time, or given up), releasing the lease; `false` when the lease is not held.
    async fn record_delivery_attempt(
        &self,
        id: &str,
        lease: &str,
        attempt: &DeliveryAttempt,
        outcome: DeliveryOutcome,
    ) -> Result<bool, StoreError>;
    /// The tenant's deliveries, newest first, optionally of one job; `after` is the last id of
    /// the previous page. At most `limit`, capped at [`MAX_LIST_LIMIT`].
    async fn list_deliveries(
        &self,
        tenant: TenantId,
        job_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Every attempt of one of the tenant's deliveries, oldest first; `NotFound` if there is
    /// no such delivery.
    async fn delivery_attempts(
        &self,
        tenant: TenantId,
        delivery_id: &str,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;
    /// The tenant's webhook settings, if set.
    async fn webhook_config(&self, tenant: TenantId) -> Result<Option<WebhookConfig>, StoreError>;
    /// Sets the tenant's webhook URL (or none) and signing secret.
    async fn set_webhook_config(
        &self,
        tenant: TenantId,
        url: Option<&str>,
        secret: &str,
    ) -> Result<(), StoreError>;

    // ----- review queue -----

    /// An item of the tenant by id.
    async fn get_review_item(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<ReviewItem>, StoreError>;
    /// The tenant an item belongs to, whoever asks: only to audit a caller reaching for
    /// another tenant's item (the caller is told `not_found` either way).
    async fn review_item_owner(&self, id: &str) -> Result<Option<TenantId>, StoreError>;
    /// A page of the tenant's items (see [`ReviewFilter`] for the orders); at most `limit`,
    /// capped at [`MAX_LIST_LIMIT`].
    async fn list_review_items(
        &self,
        tenant: TenantId,
        filter: &ReviewFilter,
        after: Option<&ReviewCursor>,
        limit: u32,
    ) -> Result<Vec<ReviewItem>, StoreError>;
    /// One retained part of an item's content; `None` once purged.
    async fn review_content(
        &self,
        tenant: TenantId,
        id: &str,
        part: u32,
    ) -> Result<Option<ContentPart>, StoreError>;
    /// Claims an open item for the current actor until `now + lease_ms` (renews the actor's
    /// own claim). `StateConflict` when another actor holds a live claim or the item is
    /// decided; `Forbidden` for the actor an appeal excludes. Audited.
    async fn claim_review(
        &self,
        tenant: TenantId,
        id: &str,
        lease_ms: u64,
    ) -> Result<ReviewItem, StoreError>;
    /// Gives up the current actor's claim; `StateConflict` when the actor holds none. Audited.
    async fn release_review(&self, tenant: TenantId, id: &str) -> Result<ReviewItem, StoreError>;
    /// Decides an open item as the current actor, in one transaction with its effects (see
    /// the `review` module docs): `StateConflict` when the item is decided, another actor
    /// holds it, or (under [`ClaimRule::Required`]) the actor's claim is missing or expired;
    /// `Forbidden` for the actor an appeal excludes. A final outcome schedules the retained
    /// content's purge at `now + retention_ms` and queues `webhook`. Audited.
    async fn decide_review(
        &self,
        tenant: TenantId,
        id: &str,
        decision: &NewDecision,
        rule: ClaimRule,
        retention_ms: u64,
        webhook: Option<NewDelivery>,
    ) -> Result<ReviewItem, StoreError>;
    /// Every decision made on an item (escalations included), oldest first.
    async fn review_history(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Vec<ReviewDecision>, StoreError>;
    /// Reopens content on appeal: `content_id` is a verdict id or, failing that, the
    /// `client_id` of the tenant's latest verdict with it. Queues an `appeal` item that the
    /// moderator of the last decision on that verdict may not decide, keeping whatever
    /// content is still retained. `NotFound` for unknown content; `StateConflict` when the
    /// content is already in the queue. Audited.
    async fn open_appeal(
        &self,
        tenant: TenantId,
        content_id: &str,
        statement: &str,
    ) -> Result<ReviewItem, StoreError>;
    /// Deletes the retained content of up to `limit` items whose retention ended by `now`, and
    /// appends one `retention_purged` entry per tenant naming them; returns how many items.
    async fn purge_review_content(&self, now: UnixMillis, limit: u32) -> Result<u64, StoreError>;
    /// Final decisions with `outcome` made in `[from, to)`, by decision time, after the cursor
    /// `(decided_at, item id)`; each with its verdict. For statements of reasons.
    async fn list_review_decisions(
        &self,
        tenant: TenantId,
        outcome: ReviewOutcome,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, &str)>,
        limit: u32,
    ) -> Result<Vec<(ReviewItem, StoredVerdict)>, StoreError>;
    /// Counts for a transparency report over `[from, to)`.
    async fn review_counts(
        &self,
        tenant: TenantId,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<ReviewCounts, StoreError>;

    // ----- console sessions -----

    /// Starts a console session for a key of the tenant, valid for `ttl_ms`; returns the
    /// cookie value (stored only as its SHA-256) and the session. Audited.
    async fn create_console_session(
        &self,
        tenant: TenantId,
        key_id: &str,
        ttl_ms: u64,
    ) -> Result<(String, ConsoleSession), StoreError>;
    /// The live session a cookie value stands for; `None` when unknown, expired, or its key
    /// was revoked.
    async fn console_session(&self, presented: &str) -> Result<Option<ConsoleSession>, StoreError>;
    /// Ends a session (idempotent).
    async fn end_console_session(&self, presented: &str) -> Result<(), StoreError>;

    // ----- audit log -----

    /// Seals `entry` onto the chain of the tenant it names (by name) and stores it with its
    /// payload, in one transaction serialised per tenant; `NotFound` for an unknown tenant.
    /// For events with no other store write (review decisions, purges, redactions); every
    /// change this store makes already appends its own entry.
    async fn append_audit(
        &self,
        entry: &rampart_audit::NewEntry,
    ) -> Result<rampart_audit::Entry, StoreError>;
    /// The tenant's entries with seq greater than `after_seq`, in seq order, each with its
    /// stored payload (`None` once purged). At most `limit`, capped at [`MAX_LIST_LIMIT`].
    async fn list_audit(
        &self,
        tenant: TenantId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<(rampart_audit::Entry, Option<serde_json::Value>)>, StoreError>;
    /// The last entry of the tenant's chain, as a head; `None` while the chain is empty.
    async fn audit_head(&self, tenant: TenantId)
        -> Result<Option<rampart_audit::Head>, StoreError>;

    // ----- operations -----

    /// `PRAGMA integrity_check` and `foreign_key_check` on SQLite; orphan-row and schema
    /// version checks on PostgreSQL. `Err(Integrity)` describes the first problem.
    async fn integrity_check(&self) -> Result<(), StoreError>;
    /// Waits for in-flight work and closes the connections; later calls fail.
    async fn close(&self);
}
