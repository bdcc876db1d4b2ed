//! [`NatsQueue`]: the queue of scale-out mode, on a NATS JetStream work-queue stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind};
use async_trait::async_trait;
use futures_util::StreamExt;
use rampart_store::TenantId;

use crate::{JobRef, Lease, Queue, QueueError};

/// How long one pull request waits for a message before it is renewed.
const PULL_EXPIRES: Duration = Duration::from_secs(30);

/// Where and how a [`NatsQueue`] keeps its jobs. Every node of one deployment must use the
/// same stream, consumer and subject prefix.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// The JetStream stream (default `RAMPART_JOBS`).
    pub stream: String,
    /// The durable pull consumer all workers share (default `rampart-workers`).
    pub consumer: String,
    /// Jobs are published on `<prefix>.<tenant id>` (default `rampart.jobs`).
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
            consumer,
            options,
            slots,
        }))
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
        let subject = format!("{}.{}", self.options.subject_prefix, job.tenant);
        let body = serde_json::to_vec(&job).map_err(QueueError::nats("encode"))?;
        // The second await is the stream's acknowledgement: the job is stored.
        self.jetstream
            .publish(subject, body.into())
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
