//! [`Lease`]: a job handed to a worker, until the worker says how it ended.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};

use crate::in_process::Shared;
use crate::nats::Slots;
use crate::JobRef;

/// A job handed out by [`crate::Queue::next`]. While it lives it counts against its tenant's
/// share; [`Lease::done`] or [`Lease::retry`] ends it, and dropping it without either puts the
/// job back (a worker that panicked or was cancelled loses nothing).
pub struct Lease {
    job: JobRef,
    /// `None` once settled.
    holder: Option<Holder>,
}

enum Holder {
    InProcess(Arc<Shared>),
    Nats {
        /// Boxed: a JetStream message is some 400 bytes.
        message: Box<jetstream::Message>,
        slots: Arc<Slots>,
    },
}

impl Lease {
    pub(crate) fn in_process(job: JobRef, shared: Arc<Shared>) -> Self {
        Lease {
            job,
            holder: Some(Holder::InProcess(shared)),
        }
    }

    pub(crate) fn nats(job: JobRef, message: jetstream::Message, slots: Arc<Slots>) -> Self {
        Lease {
            job,
            holder: Some(Holder::Nats {
                message: Box::new(message),
                slots,
            }),
        }
    }

    /// The job to run.
    pub fn job(&self) -> &JobRef {
        &self.job
    }

    /// Tells the queue the job is still being worked on. On NATS this restarts the message's
    /// `ack_wait`, so call it well within that time during long jobs; in process it is a
    /// no-op (the store's lease is what guards the job).
    pub async fn progress(&self) {
        if let Some(Holder::Nats { message, .. }) = &self.holder {
            if let Err(e) = message.ack_with(AckKind::Progress).await {
                tracing::warn!(job = %self.job.id, "could not extend the NATS ack wait: {e}");
            }
        }
    }

    /// The job is finished (succeeded or failed for good): it leaves the queue and frees its
    /// tenant's slot.
    pub async fn done(mut self) {
        match self.holder.take() {
            Some(Holder::InProcess(shared)) => shared.finish(&self.job),
            Some(Holder::Nats { message, slots }) => {
                slots.release(self.job.tenant);
                if let Err(e) = message.ack().await {
                    // The message comes back after ack_wait; the store refuses a second run.
                    tracing::warn!(job = %self.job.id, "could not acknowledge: {e}");
                }
            }
            None => {}
        }
    }

    /// The job should run again after `delay` (e.g. the store was briefly unavailable). Frees
    /// the tenant's slot at once.
    pub async fn retry(mut self, delay: Duration) {
        match self.holder.take() {
            Some(Holder::InProcess(shared)) => shared.retry(self.job.clone(), delay),
            Some(Holder::Nats { message, slots }) => {
                slots.release(self.job.tenant);
                if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(job = %self.job.id, "could not nak: {e}");
                }
            }
            None => {}
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        match self.holder.take() {
            Some(Holder::InProcess(shared)) => shared.put_back(self.job.clone()),
            Some(Holder::Nats { message, slots }) => {
                slots.release(self.job.tenant);
                // Without a runtime the nak cannot be sent; ack_wait brings the job back.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let _ = message.ack_with(AckKind::Nak(None)).await;
                    });
                }
            }
            None => {}
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("job", &self.job).finish()
    }
}
