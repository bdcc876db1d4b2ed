//! Helpers shared by the queue tests.

use rampart_queue::JobRef;
use rampart_store::{JobKind, NewJob, Store, TenantId};

/// Stores a video job of `tenant` (16 bytes of `n`), as the API does before it queues one.
pub async fn create(store: &dyn Store, tenant: TenantId, n: u8) -> JobRef {
    let input = vec![n; 16];
    let job = store
        .create_job(NewJob {
            tenant,
            kind: JobKind::Video,
            client_id: None,
            policy: None,
            callback_url: None,
            input_sha256: sha256(&input),
            input,
            max_attempts: 3,
        })
        .await
        .unwrap();
    JobRef { id: job.id, tenant }
}

fn sha256(bytes: &[u8]) -> String {
    // The store checks the shape only; a real digest is not needed for queueing.
    format!("{:064x}", bytes.iter().map(|&b| u64::from(b)).sum::<u64>())
}
