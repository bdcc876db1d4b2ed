//! The job queue of asynchronous video and audio moderation: which job a worker runs next,
//! fairly across tenants.
//!
//! Not for: durability or job state. A job is a row in the store ([`rampart_store::Store`])
//! before it is enqueued, and the store decides who may run it ([`Store::claim_job`] with a
//! lease) and that it completes once ([`Store::complete_job`]). The queue only carries
//! [`JobRef`]s, so a message lost, duplicated or redelivered costs at most a wasted claim: a
//! worker that gets a job from [`Queue::next`] claims it in the store and skips it when the
//! claim says no.
//!
//! # Two implementations
//!
//! - [`InProcessQueue`] (embedded mode, one process, SQLite): an in-memory round-robin over
//!   tenants, refilled from the store at start-up so jobs of a killed process run again.
//! - [`NatsQueue`] (scale-out): a NATS JetStream work-queue stream with one durable pull
//!   consumer shared by every worker node; a message not acknowledged within `ack_wait` is
//!   delivered again, so a node that dies mid-job loses nothing.
//!
//! Both hand out at most `per_tenant` jobs of one tenant at a time (per node for NATS), so one
//! tenant's long videos cannot starve the others.
//!
//! [`ChangeBus`] is the other cross-node channel: a notice on core NATS that a tenant's
//! libraries, banks or policies changed, so every node reloads within seconds.
//!
//! [`Store::claim_job`]: rampart_store::Store::claim_job
//! [`Store::complete_job`]: rampart_store::Store::complete_job

mod changes;
mod in_process;
mod lease;
mod nats;

use async_trait::async_trait;
use rampart_store::{StoreError, TenantId};
use serde::{Deserialize, Serialize};

pub use changes::{ChangeBus, CHANGES_SUBJECT};
pub use in_process::InProcessQueue;
pub use lease::Lease;
pub use nats::{NatsOptions, NatsQueue};

/// A job waiting to run: its id in the store and its tenant (for fairness). On NATS this is
/// the message body, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobRef {
    pub id: String,
    pub tenant: TenantId,
}

/// What went wrong in a queue call.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The store failed (in-process queue start-up).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// NATS refused or failed an operation; usually transient, so callers may retry.
    #[error("NATS {action}: {reason}")]
    Nats {
        /// What was being done, e.g. "publish".
        action: &'static str,
        /// The client's error.
        reason: String,
    },
}

impl QueueError {
    /// For `map_err`: a NATS error while doing `action`.
    pub(crate) fn nats<E: std::fmt::Display>(action: &'static str) -> impl FnOnce(E) -> Self {
        move |e| QueueError::Nats {
            action,
            reason: e.to_string(),
        }
    }
}

/// Hands jobs to workers. Object-safe: the server and workers hold an `Arc<dyn Queue>`.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Makes a job available to workers. The job row must already be in the store: that is
    /// where durability lives.
    async fn enqueue(&self, job: JobRef) -> Result<(), QueueError>;
    /// Waits for the next job this node may run. The [`Lease`] must end in
    /// [`Lease::done`] or [`Lease::retry`]; dropping it puts the job back.
    async fn next(&self) -> Result<Lease, QueueError>;
}
