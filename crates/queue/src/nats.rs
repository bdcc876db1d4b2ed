//! [`NatsQueue`]: the queue of scale-out mode, on a NATS JetStream work-queue stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind};
use async_trait::async_trait;
use futures_util::StreamExt;
use rampart_store::{Store, TenantId};

use crate::{JobRef, Lease, Queue, QueueError};

/// How long one pull request waits for a message before it is renewed.
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// Pending jobs read from the store at a time by [`NatsQueue::republish_missing`].
const SWEEP_PAGE: u32 = 500;

/// Where and how a [`NatsQueue`] keeps its jobs. Every node of one deployment must use the
/// same stream, consumer and subject prefix.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// The JetStream stream (default `RAMPART_JOBS`).
    pub stream: String,
    /// The durable pull consumer all workers share (default `rampart-workers`).
    pub consumer: String,
    /// Jobs are published on `<prefix>.<tenant id>.<job id>` (default `rampart.jobs`).
    pub subject_prefix: String,
    /// Most jobs of one tenant this node runs at once (at least 1).
    pub per_tenant: usize,
    /// How long a job may go without [`Lease::progress`] before NATS hands it to another
    /// worker. Applies when the consumer is created; an existing consumer keeps its own.
    pub ack_wait: Duration,
    /// How long a job of a tenant already at its share on this node waits before it is offered
    /// again.
    pub busy_delay: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            stream: "RAMPART_JOBS".into(),
            consumer: "rampart-workers".into(),
            subject_prefix: "rampart.jobs".into(),
            per_tenant: 2,
            ack_wait: Duration::from_secs(60),
            busy_delay: Duration::from_secs(1),
        }
    }
}

/// Jobs on NATS JetStream: a stream with work-queue retention and file storage (a message is
/// kept until a worker acknowledges it) and one durable pull consumer with explicit acks that
/// every worker node pulls from. A job whose worker dies is delivered again after `ack_wait`.
pub struct NatsQueue {
    jetstream: jetstream::Context,
    stream: jetstream::stream::Stream,
    consumer: PullConsumer,
    options: NatsOptions,
    slots: Arc<Slots>,
}

/// Jobs this node runs, per tenant.
pub(crate) struct Slots {
    running: Mutex<HashMap<TenantId, usize>>,
    per_tenant: usize,
}

impl Slots {
    /// Takes a slot of `tenant` if it has one free.
    fn try_take(&self, tenant: TenantId) -> bool {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let n = running.entry(tenant).or_insert(0);
        if *n >= self.per_tenant {
            return false;
        }
        *n += 1;
        true
    }

    /// Frees a slot of `tenant`.
    pub(crate) fn release(&self, tenant: TenantId) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = running.get_mut(&tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&tenant);
            }
        }
    }
}

impl NatsQueue {
    /// Connects to NATS at `url` with the default stream and consumer names, creating them if
    /// needed.
    pub async fn connect(
        url: &str,
        per_tenant: usize,
        ack_wait: Duration,
    ) -> Result<Arc<Self>, QueueError> {
        Self::connect_with(
            url,
            NatsOptions {
                per_tenant,
                ack_wait,
                ..NatsOptions::default()
            },
        )
        .await
    }

    /// Connects with explicit options (tests use their own stream to stay apart).
    pub async fn connect_with(url: &str, options: NatsOptions) -> Result<Arc<Self>, QueueError> {
        let client = async_nats::connect(url)
            .await
            .map_err(QueueError::nats("connect"))?;
        let jetstream = jetstream::new(client);
        let stream = jetstream
            .get_or_create_stream(jetstream::stream::Config {
                name: options.stream.clone(),
                subjects: vec![format!("{}.>", options.subject_prefix)],
                retention: RetentionPolicy::WorkQueue,
                storage: StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(QueueError::nats("create stream"))?;
        let consumer = stream
            .get_or_create_consumer(
                &options.consumer,
                pull::Config {
                    durable_name: Some(options.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: options.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(QueueError::nats("create consumer"))?;
        let slots = Arc::new(Slots {
            running: Mutex::new(HashMap::new()),
            per_tenant: options.per_tenant.max(1),
        });
        Ok(Arc::new(NatsQueue {
            jetstream,
            stream,
            consumer,
            options,
            slots,
        }))
    }

    /// Publishes every job the store holds as pending (queued, or running with a lapsed lease)
    /// whose message the stream no longer has: one whose publish failed after the job was
    /// stored, or one lost with the stream. Returns how many were published.
    ///
    /// The store is where jobs live; the stream only tells workers about them. A job whose
    /// message is still there (waiting, or held by a worker) is left alone. A sweep that races
    /// the first publish adds nothing: both carry the job id as their message id, and
    /// JetStream drops the second within its duplicate window. A copy that still gets through
    /// is harmless, as the store lets one claim win.
    pub async fn republish_missing(&self, store: &dyn Store) -> Result<usize, QueueError> {
        let mut published = 0;
        let mut after: Option<String> = None;
        loop {
            let page = store
                .pending_jobs_after(after.as_deref(), SWEEP_PAGE)
                .await?;
            let Some((last, _)) = page.last() else {
                return Ok(published);
            };
            after = Some(last.clone());
            for (id, tenant) in page {
                let job = JobRef { id, tenant };
                let subject = self.subject(&job);
                match self.stream.get_last_raw_message_by_subject(&subject).await {
                    Ok(_) => continue,
                    Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {}
                    Err(e) => return Err(QueueError::nats("look up a job")(e)),
                }
                tracing::info!(job = %job.id, "job missing from the NATS stream; publishing it again");
                self.enqueue(job).await?;
                published += 1;
            }
        }
    }

    /// `<prefix>.<tenant>.<job id>`: one subject per job, so the stream can be asked whether
    /// it still holds a job's message. An id that is not a plain subject token (store ids
    /// are ULIDs) goes under `<prefix>.<tenant>` instead.
    fn subject(&self, job: &JobRef) -> String {
        let plain = !job.id.is_empty()
            && job
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if plain {
            format!("{}.{}.{}", self.options.subject_prefix, job.tenant, job.id)
        } else {
            format!("{}.{}", self.options.subject_prefix, job.tenant)
        }
    }

    /// Deletes this queue's stream and every job in it (tests and tear-down).
    pub async fn delete_stream(&self) -> Result<(), QueueError> {
        self.jetstream
            .delete_stream(&self.options.stream)
            .await
            .map_err(QueueError::nats("delete stream"))?;
        Ok(())
    }
}

#[async_trait]
impl Queue for NatsQueue {
    async fn enqueue(&self, job: JobRef) -> Result<(), QueueError> {
        let subject = self.subject(&job);
        let body = serde_json::to_vec(&job).map_err(QueueError::nats("encode"))?;
        let message = PublishMessage::build()
            .payload(body.into())
            .message_id(&job.id);
        // The second await is the stream's acknowledgement: the job is stored.
        self.jetstream
            .send_publish(subject, message)
            .await
            .map_err(QueueError::nats("publish"))?
            .await
            .map_err(QueueError::nats("publish"))?;
        Ok(())
    }

    async fn next(&self) -> Result<Lease, QueueError> {
        loop {
            let mut batch = self
                .consumer
                .batch()
                .max_messages(1)
                .expires(PULL_EXPIRES)
                .messages()
                .await
                .map_err(QueueError::nats("pull"))?;
            while let Some(message) = batch.next().await {
                let message = message.map_err(QueueError::nats("pull"))?;
                let job: JobRef = match serde_json::from_slice(&message.payload) {
                    Ok(job) => job,
                    Err(e) => {
                        // Not ours to run, ever: drop it for good.
                        tracing::warn!(subject = %message.subject, "malformed job message: {e}");
                        let _ = message.ack_with(AckKind::Term).await;
                        continue;
                    }
                };
                if self.slots.try_take(job.tenant) {
                    return Ok(Lease::nats(job, message, self.slots.clone()));
                }
                // This node already runs its share of the tenant: let another job (or node) go.
                message
                    .ack_with(AckKind::Nak(Some(self.options.busy_delay)))
                    .await
                    .map_err(QueueError::nats("nak"))?;
            }
        }
    }
}
