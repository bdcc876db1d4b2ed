//! [`ChangeBus`]: tells every node that a tenant's configuration changed.

use futures_util::{future, Stream, StreamExt};
use rampart_store::TenantId;
use serde::{Deserialize, Serialize};

use crate::QueueError;

/// The core NATS subject of change notices.
pub const CHANGES_SUBJECT: &str = "rampart.changes";

/// A cross-node notice that a tenant's libraries, banks or policies changed (scale-out).
/// Notices are plain core NATS messages, at most once: a node that misses one still sees the
/// change through the store's revision, which the notice only makes it check sooner.
#[derive(Clone)]
pub struct ChangeBus {
    client: async_nats::Client,
    subject: String,
}

/// The JSON body of a notice.
#[derive(Serialize, Deserialize)]
struct Notice {
    tenant: TenantId,
    revision: u64,
}

impl ChangeBus {
    /// Connects to NATS at `url`, on [`CHANGES_SUBJECT`].
    pub async fn connect(url: &str) -> Result<Self, QueueError> {
        let client = async_nats::connect(url)
            .await
            .map_err(QueueError::nats("connect"))?;
        Ok(ChangeBus {
            client,
            subject: CHANGES_SUBJECT.to_owned(),
        })
    }

    /// Announces that `tenant` is now at `revision`; returns once the notice has left this
    /// process.
    pub async fn publish(&self, tenant: TenantId, revision: u64) -> Result<(), QueueError> {
        let body =
            serde_json::to_vec(&Notice { tenant, revision }).map_err(QueueError::nats("encode"))?;
        self.client
            .publish(self.subject.clone(), body.into())
            .await
            .map_err(QueueError::nats("publish"))?;
        self.client
            .flush()
            .await
            .map_err(QueueError::nats("flush"))?;
        Ok(())
    }

    /// Every notice published from now on, as `(tenant, revision)`; malformed messages are
    /// skipped. The subscription is in place when this returns.
    pub async fn subscribe(
        &self,
    ) -> Result<impl Stream<Item = (TenantId, u64)> + Send + Unpin, QueueError> {
        let subscriber = self
            .client
            .subscribe(self.subject.clone())
            .await
            .map_err(QueueError::nats("subscribe"))?;
        // Make sure the server has the subscription before anyone relies on it.
        self.client
            .flush()
            .await
            .map_err(QueueError::nats("flush"))?;
        Ok(subscriber.filter_map(|message| {
            let notice = serde_json::from_slice::<Notice>(&message.payload)
                .map(|n| (n.tenant, n.revision))
                .map_err(|e| tracing::warn!("malformed change notice: {e}"))
                .ok();
            future::ready(notice)
        }))
    }
}
