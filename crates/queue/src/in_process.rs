//! [`InProcessQueue`]: the queue of embedded mode, in memory and refilled from the store.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rampart_store::{Store, TenantId};
use tokio::sync::Notify;

use crate::{JobRef, Lease, Queue, QueueError};

/// Jobs read from the store per page at start-up.
const START_PAGE: u32 = 1000;

/// The queue of a single process: jobs wait in memory, one line per tenant, and are handed out
/// round-robin over the tenants with jobs waiting, never more than `per_tenant` of one tenant
/// at once. Nothing here is durable — the store is: [`InProcessQueue::start`] puts back every
/// job the store has not finished.
pub struct InProcessQueue {
    shared: Arc<Shared>,
}

/// The state shared by the queue and its leases.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Woken whenever a job arrives or a slot frees.
    changed: Notify,
    per_tenant: usize,
}

#[derive(Default)]
struct State {
    /// Each tenant's waiting jobs, in order.
    waiting: HashMap<TenantId, VecDeque<JobRef>>,
    /// Tenants with waiting jobs, next turn first.
    turns: VecDeque<TenantId>,
    /// Jobs handed out and not yet settled, per tenant.
    running: HashMap<TenantId, usize>,
    /// Ids waiting, handed out or waiting out a retry delay: enqueuing one again is a no-op.
    known: HashSet<String>,
}

impl InProcessQueue {
    /// Starts the queue over `store`: every job left `Running` by a previous process is put
    /// back to `Queued` (this process is the only worker), then every claimable job is
    /// enqueued, oldest first. `per_tenant` (at least 1) bounds one tenant's jobs handed out
    /// at once.
    pub async fn start(store: Arc<dyn Store>, per_tenant: usize) -> Result<Arc<Self>, QueueError> {
        let queue = Arc::new(InProcessQueue {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                per_tenant: per_tenant.max(1),
            }),
        });
        let requeued = store.requeue_running_jobs().await?;
        let mut after: Option<String> = None;
        let mut pending = 0usize;
        loop {
            let page = store
                .pending_jobs_after(after.as_deref(), START_PAGE)
                .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            pending += page.len();
            for (id, tenant) in page {
                queue.shared.enqueue(JobRef { id, tenant });
            }
        }
        tracing::info!(requeued, pending, "in-process job queue started");
        Ok(queue)
    }

    /// Jobs waiting (not handed out), for metrics.
    pub fn waiting(&self) -> usize {
        self.shared.lock().waiting.values().map(VecDeque::len).sum()
    }
}

#[async_trait]
impl Queue for InProcessQueue {
    async fn enqueue(&self, job: JobRef) -> Result<(), QueueError> {
        self.shared.enqueue(job);
        Ok(())
    }

    async fn next(&self) -> Result<Lease, QueueError> {
        loop {
            // Registered before looking, so a change between the look and the wait is not missed.
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(job) = self.shared.take() {
                return Ok(Lease::in_process(job, self.shared.clone()));
            }
            changed.await;
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one did, the state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a job unless it is already known.
    fn enqueue(&self, job: JobRef) {
        let mut state = self.lock();
        if state.known.insert(job.id.clone()) {
            state.push(job, false);
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// The next job in round-robin order among tenants under their share.
    fn take(&self) -> Option<JobRef> {
        let mut state = self.lock();
        let per_tenant = self.per_tenant;
        let turn = state
            .turns
            .iter()
            .position(|tenant| state.running.get(tenant).copied().unwrap_or(0) < per_tenant)?;
        let tenant = state.turns.remove(turn)?;
        let line = state.waiting.get_mut(&tenant)?;
        let job = line.pop_front()?;
        if line.is_empty() {
            state.waiting.remove(&tenant);
        } else {
            state.turns.push_back(tenant);
        }
        *state.running.entry(tenant).or_insert(0) += 1;
        Some(job)
    }

    /// A handed-out job is finished.
    pub(crate) fn finish(&self, job: &JobRef) {
        let mut state = self.lock();
        state.known.remove(&job.id);
        state.release(job.tenant);
        drop(state);
        self.changed.notify_waiters();
    }

    /// A handed-out job goes back at the head of its tenant's line (its lease was dropped).
    pub(crate) fn put_back(&self, job: JobRef) {
        let mut state = self.lock();
        state.release(job.tenant);
        state.push(job, true);
        drop(state);
        self.changed.notify_waiters();
    }

    /// A handed-out job frees its slot now and waits `delay` before it may run again.
    pub(crate) fn retry(self: Arc<Self>, job: JobRef, delay: Duration) {
        self.lock().release(job.tenant);
        self.changed.notify_waiters();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            self.lock().push(job, false);
            self.changed.notify_waiters();
        });
    }
}

impl State {
    fn push(&mut self, job: JobRef, front: bool) {
        let tenant = job.tenant;
        let line = self.waiting.entry(tenant).or_default();
        if front {
            line.push_front(job);
        } else {
            line.push_back(job);
        }
        if !self.turns.contains(&tenant) {
            self.turns.push_back(tenant);
        }
    }

    fn release(&mut self, tenant: TenantId) {
        if let Some(n) = self.running.get_mut(&tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.running.remove(&tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(per_tenant: usize) -> Shared {
        Shared {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            per_tenant,
        }
    }

    fn job(id: &str, tenant: i64) -> JobRef {
        JobRef {
            id: id.into(),
            tenant: TenantId(tenant),
        }
    }

    #[test]
    fn tenants_take_turns_within_their_share() {
        let q = shared(2);
        for id in ["a1", "a2", "a3"] {
            q.enqueue(job(id, 1));
        }
        q.enqueue(job("b1", 2));
        q.enqueue(job("a1", 1)); // already known: ignored
        let order: Vec<String> = std::iter::from_fn(|| q.take()).map(|j| j.id).collect();
        // a3 waits: tenant 1 already has two running.
        assert_eq!(order, ["a1", "b1", "a2"]);
        q.finish(&job("a1", 1));
        assert_eq!(q.take().map(|j| j.id).as_deref(), Some("a3"));
        assert!(q.take().is_none());
    }

    #[test]
    fn a_job_put_back_runs_next_for_its_tenant() {
        let q = shared(1);
        q.enqueue(job("a1", 1));
        q.enqueue(job("a2", 1));
        let first = q.take().unwrap();
        assert!(q.take().is_none(), "tenant 1 is at its share");
        q.put_back(first);
        assert_eq!(q.take().map(|j| j.id).as_deref(), Some("a1"));
    }
}
