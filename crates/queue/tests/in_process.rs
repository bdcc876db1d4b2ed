//! The in-process queue over a SQLite store: fair across tenants, and nothing lost when the
//! process dies.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::create;
use futures_util::FutureExt;
use rampart_queue::{InProcessQueue, JobRef, Queue};
use rampart_store::{JobState, Store};

/// A guard against hangs, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(30);

struct Db {
    _dir: tempfile::TempDir,
    url: String,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
        Db { _dir: dir, url }
    }

    async fn open(&self) -> Arc<dyn Store> {
        rampart_store::open(&self.url).await.unwrap()
    }
}

async fn next(queue: &InProcessQueue) -> rampart_queue::Lease {
    tokio::time::timeout(PATIENCE, queue.next())
        .await
        .expect("no job came out of the queue")
        .unwrap()
}

fn verdict(job: &JobRef) -> rampart_types::Verdict {
    serde_json::from_value(serde_json::json!({
        "id": format!("V{}", &job.id[1..]),
        "content_type": "video",
        "content_ref": {"sha256": "ab".repeat(32)},
        "suggestion": "pass",
        "labels": [],
        "policy": "default@1",
        "models": [],
        "elapsed_ms": 1.0
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_backlog_does_not_starve_another() {
    let db = Db::new();
    let store = db.open().await;
    let a = store.create_tenant("a").await.unwrap().id;
    let b = store.create_tenant("b").await.unwrap().id;
    let queue = InProcessQueue::start(store.clone(), 1).await.unwrap();
    let mut a_jobs = Vec::new();
    for n in 0..5 {
        let job = create(store.as_ref(), a, n).await;
        queue.enqueue(job.clone()).await.unwrap();
        a_jobs.push(job);
    }
    let b_job = create(store.as_ref(), b, 9).await;
    queue.enqueue(b_job.clone()).await.unwrap();
    queue.enqueue(a_jobs[0].clone()).await.unwrap(); // a duplicate is ignored

    let first = next(&queue).await;
    assert_eq!(first.job(), &a_jobs[0]);
    let second = next(&queue).await;
    assert_eq!(second.job(), &b_job, "B's job comes before A's second");
    // A is at its share and B has nothing left: the next job waits for A's first to finish.
    assert!(queue.next().now_or_never().is_none());
    second.done().await;
    assert!(queue.next().now_or_never().is_none());
    first.done().await;
    let third = next(&queue).await;
    assert_eq!(third.job(), &a_jobs[1]);

    // A lease dropped without done/retry frees the slot and puts the job back first in line.
    drop(third);
    let again = next(&queue).await;
    assert_eq!(again.job(), &a_jobs[1]);
    // retry frees the slot now; the job comes back after its delay.
    again.retry(Duration::from_millis(50)).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let lease = next(&queue).await;
        seen.push(lease.job().id.clone());
        lease.done().await;
    }
    seen.sort();
    let mut rest: Vec<String> = a_jobs[1..].iter().map(|j| j.id.clone()).collect();
    rest.sort();
    assert_eq!(seen, rest);
    assert!(queue.next().now_or_never().is_none());
    assert_eq!(queue.waiting(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_jobs_come_back_after_a_restart_and_complete_once() {
    let db = Db::new();
    let (unfinished, finished, stale) = {
        let store = db.open().await;
        let a = store.create_tenant("a").await.unwrap().id;
        let b = store.create_tenant("b").await.unwrap().id;
        let queue = InProcessQueue::start(store.clone(), 2).await.unwrap();
        let mut jobs = Vec::new();
        for (tenant, n) in [(a, 1), (a, 2), (b, 3), (b, 4)] {
            let job = create(store.as_ref(), tenant, n).await;
            queue.enqueue(job.clone()).await.unwrap();
            jobs.push(job);
        }
        // One job finishes properly.
        let lease = next(&queue).await;
        let done = lease.job().clone();
        let claim = store.claim_job(&done.id, 60_000).await.unwrap().unwrap();
        assert!(store
            .complete_job(
                &done.id,
                &claim.lease,
                done.tenant,
                &verdict(&done),
                None,
                None
            )
            .await
            .unwrap());
        lease.done().await;
        // A worker claims another and dies mid-job (its lease would hold for a minute).
        let lease = next(&queue).await;
        let dying = store
            .claim_job(&lease.job().id, 60_000)
            .await
            .unwrap()
            .unwrap();
        std::mem::forget(lease);
        drop(queue);
        store.close().await;
        let unfinished: Vec<JobRef> = jobs.into_iter().filter(|j| j != &done).collect();
        (unfinished, done, dying)
    };

    // The restart: a new store and queue over the same file.
    let store = db.open().await;
    let queue = InProcessQueue::start(store.clone(), 10).await.unwrap();
    let mut came_back = Vec::new();
    for _ in 0..unfinished.len() {
        came_back.push(next(&queue).await);
    }
    assert!(
        queue.next().now_or_never().is_none(),
        "the finished job is not queued"
    );
    let mut ids: Vec<&JobRef> = came_back.iter().map(|l| l.job()).collect();
    ids.sort_by(|x, y| x.id.cmp(&y.id));
    let mut expected: Vec<&JobRef> = unfinished.iter().collect();
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(ids, expected);
    assert!(!ids.contains(&&finished));

    // The job the dead worker held runs again, and completes exactly once.
    let job = stale.job.id.clone();
    let tenant = stale.job.tenant;
    let reclaimed = store.claim_job(&job, 60_000).await.unwrap().unwrap();
    assert_eq!(reclaimed.job.attempts, 2);
    let jobref = JobRef {
        id: job.clone(),
        tenant,
    };
    assert!(store
        .complete_job(
            &job,
            &reclaimed.lease,
            tenant,
            &verdict(&jobref),
            None,
            None
        )
        .await
        .unwrap());
    let mut late = verdict(&jobref);
    late.id = format!("W{}", &job[1..]);
    assert!(!store
        .complete_job(&job, &stale.lease, tenant, &late, None, None)
        .await
        .unwrap());
    assert!(!store
        .complete_job(&job, &reclaimed.lease, tenant, &late, None, None)
        .await
        .unwrap());
    let stored = store.get_job(tenant, &job).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Succeeded);
    assert_eq!(stored.verdict_id, Some(verdict(&jobref).id));
    assert_eq!(store.get_verdict(tenant, &late.id).await.unwrap(), None);
    for lease in came_back {
        lease.done().await;
    }
    store.close().await;
}
