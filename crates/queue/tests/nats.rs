//! The JetStream queue and the change bus against the NATS server at `NATS_URL` (which must be
//! set and reachable: these tests fail, never skip). Each test uses a stream, consumer and
//! subject prefix of its own and deletes the stream at the end.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod common;

use futures_util::StreamExt;
use rampart_queue::{ChangeBus, JobRef, NatsOptions, NatsQueue, Queue};
use rampart_store::TenantId;

/// A guard against hangs, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(30);

fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| {
        panic!(
            "NATS_URL is not set: the NATS queue tests need a JetStream server, \
             e.g. NATS_URL=nats://127.0.0.1:4222 (nats-server -js)"
        )
    })
}

/// A name no other test run uses.
fn unique(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{what}_{}_{nanos}", std::process::id())
}

fn options(test: &str, per_tenant: usize, ack_wait: Duration) -> NatsOptions {
    let name = unique(test);
    NatsOptions {
        stream: format!("T_{name}").to_uppercase(),
        consumer: format!("w_{name}"),
        subject_prefix: format!("rampart.test.{name}"),
        per_tenant,
        ack_wait,
        busy_delay: Duration::from_millis(200),
    }
}

async fn connect(options: &NatsOptions) -> Arc<NatsQueue> {
    NatsQueue::connect_with(&nats_url(), options.clone())
        .await
        .unwrap_or_else(|e| panic!("NATS at NATS_URL={} is unusable: {e}", nats_url()))
}

async fn next(queue: &NatsQueue) -> rampart_queue::Lease {
    tokio::time::timeout(PATIENCE, queue.next())
        .await
        .expect("no job came out of the queue")
        .unwrap()
}

fn job(id: &str, tenant: i64) -> JobRef {
    JobRef {
        id: id.into(),
        tenant: TenantId(tenant),
    }
}

/// Messages left in the stream, once acknowledgements have landed.
async fn settled_messages(options: &NatsOptions, expected: u64) -> u64 {
    let client = async_nats::connect(nats_url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream.get_stream(&options.stream).await.unwrap();
    let mut messages = 0;
    for _ in 0..100 {
        messages = stream.info().await.unwrap().state.messages;
        if messages == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_goes_in_comes_out_and_is_gone_once_done() {
    let options = options("roundtrip", 2, Duration::from_secs(30));
    let queue = connect(&options).await;
    queue.enqueue(job("job-1", 7)).await.unwrap();
    assert_eq!(settled_messages(&options, 1).await, 1, "the job is stored");
    let lease = next(&queue).await;
    assert_eq!(lease.job(), &job("job-1", 7));
    lease.progress().await;
    lease.done().await;
    assert_eq!(
        settled_messages(&options, 0).await,
        0,
        "acknowledged jobs leave the stream"
    );
    queue.delete_stream().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_vanished_is_redelivered_after_ack_wait() {
    let options = options("redeliver", 1, Duration::from_secs(1));
    let node_a = connect(&options).await;
    let node_b = connect(&options).await;
    node_a.enqueue(job("job-1", 7)).await.unwrap();

    // Node A takes the job and dies: no ack, no nak, nothing (forget skips the Drop nak).
    let lease = next(&node_a).await;
    assert_eq!(lease.job().id, "job-1");
    std::mem::forget(lease);
    // Once ack_wait has passed, node B gets it.
    let again = next(&node_b).await;
    assert_eq!(again.job().id, "job-1");

    // A lease merely dropped naks at once, so the job comes straight back.
    drop(again);
    let third = next(&node_b).await;
    assert_eq!(third.job().id, "job-1");
    third.done().await;
    assert_eq!(settled_messages(&options, 0).await, 0);
    node_a.delete_stream().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_a_tenants_share_takes_another_tenants_job() {
    let options = options("fair", 1, Duration::from_secs(30));
    let queue = connect(&options).await;
    for j in [job("a-1", 1), job("a-2", 1), job("b-1", 2)] {
        queue.enqueue(j).await.unwrap();
    }
    let first = next(&queue).await;
    assert_eq!(first.job().id, "a-1");
    let second = next(&queue).await;
    assert_eq!(second.job().id, "b-1", "a-2 waits while this node runs a-1");
    first.done().await;
    second.done().await;
    let third = next(&queue).await;
    assert_eq!(third.job().id, "a-2");
    third.retry(Duration::from_millis(100)).await;
    let fourth = next(&queue).await;
    assert_eq!(fourth.job().id, "a-2", "a retried job comes back");
    fourth.done().await;
    assert_eq!(settled_messages(&options, 0).await, 0);
    queue.delete_stream().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_notices_reach_every_subscriber() {
    let url = nats_url();
    let listener = ChangeBus::connect(&url).await.unwrap();
    let speaker = ChangeBus::connect(&url).await.unwrap();
    let mut notices = listener.subscribe().await.unwrap();
    // Other test runs may publish too: look for our own tenant.
    let tenant = TenantId(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64,
    );
    speaker.publish(tenant, 41).await.unwrap();
    speaker.publish(tenant, 42).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (t, revision) = tokio::time::timeout(PATIENCE, notices.next())
            .await
            .expect("no change notice arrived")
            .expect("the subscription ended");
        if t == tenant {
            seen.push(revision);
        }
    }
    assert_eq!(seen, [41, 42]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_publishes_stored_jobs_the_stream_lost_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
    let store = rampart_store::open(&url).await.unwrap();
    let tenant = store.create_tenant("acme").await.unwrap().id;
    let options = options("sweep", 4, Duration::from_secs(30));
    let queue = connect(&options).await;

    // One job published as usual; one stored while NATS was unreachable (never published).
    let published = common::create(store.as_ref(), tenant, 1).await;
    queue.enqueue(published.clone()).await.unwrap();
    let orphan = common::create(store.as_ref(), tenant, 2).await;
    assert_eq!(settled_messages(&options, 1).await, 1);

    // The sweep publishes the orphan only; a second sweep finds nothing missing.
    assert_eq!(queue.republish_missing(store.as_ref()).await.unwrap(), 1);
    assert_eq!(settled_messages(&options, 2).await, 2);
    assert_eq!(queue.republish_missing(store.as_ref()).await.unwrap(), 0);
    // Publishing a job again within the duplicate window adds no second copy.
    queue.enqueue(published.clone()).await.unwrap();
    assert_eq!(settled_messages(&options, 2).await, 2);

    let mut ids = Vec::new();
    for _ in 0..2 {
        let lease = next(&queue).await;
        ids.push(lease.job().id.clone());
        // A job held by a worker still has its message: the sweep leaves it alone.
        let claimed = store
            .claim_job(&lease.job().id, 60_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(queue.republish_missing(store.as_ref()).await.unwrap(), 0);
        // Finished in the store, then acknowledged, as a worker does.
        assert!(store
            .fail_job(&claimed.job.id, &claimed.lease, "internal", "test", None)
            .await
            .unwrap());
        lease.done().await;
    }
    ids.sort();
    let mut expected = vec![published.id.clone(), orphan.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(settled_messages(&options, 0).await, 0);
    queue.delete_stream().await.unwrap();
}
