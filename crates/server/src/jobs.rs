//! The work behind `POST /v1/moderate/video|audio`: workers that take jobs from the
//! [`Queue`](rampart_queue::Queue), moderate the file, and store the verdict (or the reason it
//! failed) together with the webhook delivery; and the dispatcher that sends deliveries, signed
//! and retried with backoff.
//!
//! Exactly once, even when a worker dies: a worker first *claims* the job in the store (a
//! lease with a token, renewed while it runs); the verdict, the job's new state and the
//! delivery are written in one transaction that only succeeds while that lease is held. A job
//! whose worker was killed is claimed again after restart (embedded mode) or once its lease
//! expires (scale-out), and a late finish of the old attempt changes nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_moderate::MediaModerateError;
use rampart_queue::Lease;
use rampart_store::{
    ContentPart, DeliveryAttempt, DeliveryOutcome, DueDelivery, Job, JobKind, NewDelivery,
    NewReviewItem, Store, StoreError, TenantId, WebhookConfig,
};
use rampart_types::{ErrorCode, Verdict};
use rampart_webhook::{Backoff, Sender};
use serde::Serialize;

use crate::error::ApiError;
use crate::routes::jobs::JobView;
use crate::state::AppState;

/// A job is given up after this many starts by default (a file that kills its worker every
/// time); `Limits::job_attempts` sets it.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a claim lasts without renewal.
const LEASE: Duration = Duration::from_secs(60);
/// How often a running job renews its claim and saves its progress.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// Longer side of the video stills kept for review, in pixels.
const EVIDENCE_FRAME_SIDE: u32 = 640;
/// How often a scale-out node looks for stored jobs missing from NATS.
const REPUBLISH_EVERY: Duration = Duration::from_secs(60);
/// Deliveries sent at once by one node.
const DELIVERY_BATCH: u32 = 16;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The tenant's webhook settings, with a signing secret made on first use.
pub(crate) async fn webhook_config(
    store: &dyn Store,
    tenant: TenantId,
) -> Result<WebhookConfig, StoreError> {
    if let Some(config) = store.webhook_config(tenant).await? {
        return Ok(config);
    }
    let secret = rampart_webhook::new_secret();
    store.set_webhook_config(tenant, None, &secret).await?;
    // Another node may have made one at the same moment: read back whichever won.
    Ok(store
        .webhook_config(tenant)
        .await?
        .unwrap_or(WebhookConfig { url: None, secret }))
}

/// What a webhook receives: the job, and its verdict or error.
#[derive(Serialize)]
struct Callback<'a> {
    event: &'a str,
    job: &'a JobView,
}

/// Starts `workers` job workers and the webhook dispatcher on the current runtime.
pub fn start(state: AppState, workers: usize, spool: PathBuf, backoff: Backoff) {
    if let Err(error) = std::fs::create_dir_all(&spool) {
        tracing::error!(%error, path = %spool.display(), "cannot create the job spool dir");
    }
    for _ in 0..workers {
        let state = state.clone();
        let spool = spool.clone();
        tokio::spawn(async move {
            loop {
                match state.queue.next().await {
                    Ok(lease) => run_one(&state, &spool, lease).await,
                    Err(error) => {
                        tracing::warn!(%error, "job queue failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
    tokio::spawn(dispatch_forever(state, backoff));
}

/// Runs one job to its end (or until its claim is lost).
async fn run_one(state: &AppState, spool: &std::path::Path, lease: Lease) {
    let id = lease.job().id.clone();
    let claimed = match state.store.claim_job(&id, LEASE.as_millis() as u64).await {
        Ok(Some(claimed)) => claimed,
        Ok(None) => {
            // Finished, given up, or running elsewhere: nothing to do here.
            lease.done().await;
            return;
        }
        Err(error) => {
            tracing::warn!(%error, job = %id, "claiming a job failed; retrying later");
            lease.retry(Duration::from_secs(5)).await;
            return;
        }
    };
    let job = claimed.job;
    let token = claimed.lease;
    if claimed.exhausted {
        // It crashed or outlived every worker it had: fail it, and tell the webhook.
        tracing::warn!(job = %job.id, attempts = job.attempts, "job out of attempts; failing it");
        let message = format!("gave up after {} attempts", job.attempts);
        finish(state, job, &token, Err((ErrorCode::Internal, message))).await;
        lease.done().await;
        return;
    }
    let path = spool.join(format!("{}-{}", job.id, job.attempts));
    tracing::info!(job = %job.id, kind = ?job.kind, attempt = job.attempts, bytes = job.input_bytes, "job started");
    let result = match tokio::fs::write(&path, &claimed.input).await {
        Ok(()) => {
            drop(claimed.input);
            moderate(state, &job, &token, &path, &lease).await
        }
        Err(e) => Err((ErrorCode::Internal, format!("writing the spool file: {e}"))),
    };
    let _ = tokio::fs::remove_file(&path).await;
    finish(state, job, &token, result).await;
    lease.done().await;
}

/// The verdict and the review item the policy queues with it, or why the job failed.
type JobResult = Result<(Verdict, Option<NewReviewItem>), (ErrorCode, String)>;

/// Moderates the spooled file on the blocking pool, renewing the claim meanwhile.
async fn moderate(
    state: &AppState,
    job: &Job,
    token: &str,
    path: &std::path::Path,
    lease: &Lease,
) -> JobResult {
    let moderator = state
        .engines
        .media_moderator(job.tenant, job.policy.as_deref())
        .await
        .map_err(|e| (ErrorCode::InvalidRequest, e.to_string()))?;
    let progress = Arc::new(AtomicU32::new(0f32.to_bits()));
    let cancelled = Arc::new(AtomicBool::new(false));
    let (p, c) = (progress.clone(), cancelled.clone());
    let (kind, path_owned) = (job.kind, path.to_path_buf());
    let (sha, client_id) = (job.input_sha256.clone(), job.client_id.clone());
    let mut work = tokio::task::spawn_blocking(move || {
        let mut report = |fraction: f32| {
            p.store(fraction.to_bits(), Ordering::Relaxed);
            !c.load(Ordering::Relaxed)
        };
        let verdict = match kind {
            JobKind::Video => moderator.video_verdict(&path_owned, sha, client_id, &mut report),
            JobKind::Audio => moderator.audio_verdict(&path_owned, sha, client_id, &mut report),
        }?;
        // A video's kept content is stills at its visual evidence; an audio file keeps none
        // (its evidence already carries the recognised words).
        let review = &moderator.image.text.policy.review;
        let item = crate::review::item_for(&verdict, review, || match kind {
            JobKind::Video => rampart_moderate::evidence_frames(
                &path_owned,
                &verdict,
                &moderator.video_limits,
                EVIDENCE_FRAME_SIDE,
            )
            .into_iter()
            .map(|(t, jpeg)| ContentPart {
                media_type: "image/jpeg".into(),
                t_ms: Some((t * 1000.0).round() as i64),
                data: jpeg,
            })
            .collect(),
            JobKind::Audio => Vec::new(),
        });
        Ok((verdict, item))
    });
    let outcome = loop {
        tokio::select! {
            joined = &mut work => break joined,
            () = tokio::time::sleep(RENEW_EVERY) => {
                let fraction = f32::from_bits(progress.load(Ordering::Relaxed));
                match state.store.renew_job_lease(&job.id, token, LEASE.as_millis() as u64, fraction).await {
                    Ok(true) => lease.progress().await,
                    Ok(false) => {
                        tracing::warn!(job = %job.id, "lost the job's claim; stopping");
                        cancelled.store(true, Ordering::Relaxed);
                    }
                    Err(error) => tracing::warn!(%error, job = %job.id, "renewing the claim failed"),
                }
            }
        }
    };
    match outcome {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(error)) => Err(media_failure(&error)),
        Err(panic) => Err((
            ErrorCode::Internal,
            format!("the moderation task failed: {panic}"),
        )),
    }
}

fn media_failure(error: &MediaModerateError) -> (ErrorCode, String) {
    (error.code(), error.to_string())
}

/// Stores the outcome and the webhook delivery in one transaction (if the claim still holds).
async fn finish(state: &AppState, job: Job, token: &str, result: JobResult) {
    let tenant = job.tenant;
    let id = job.id.clone();
    let url = match &job.callback_url {
        Some(url) => Some(url.clone()),
        None => match webhook_config(state.store.as_ref(), tenant).await {
            Ok(config) => config.url,
            Err(error) => {
                tracing::warn!(%error, job = %id, "reading the webhook settings failed");
                None
            }
        },
    };
    let mut view = match crate::routes::jobs::job_view(state.store.as_ref(), tenant, job).await {
        Ok(view) => view,
        Err(ApiError { .. }) => return,
    };
    view.progress = 1.0;
    view.finished_at = Some(now_ms());
    let event = match &result {
        Ok((verdict, _)) => {
            view.state = "succeeded".into();
            view.verdict = Some(verdict.clone());
            "job.succeeded"
        }
        Err((code, message)) => {
            view.state = "failed".into();
            view.error = Some(crate::routes::jobs::JobError {
                code: code.as_str().into(),
                message: message.clone(),
            });
            "job.failed"
        }
    };
    let delivery = url.map(|url| NewDelivery {
        url,
        event: event.into(),
        payload: serde_json::to_string(&Callback { event, job: &view }).unwrap_or_default(),
    });
    let stored = match &result {
        Ok((verdict, item)) => {
            state
                .store
                .complete_job(&id, token, tenant, verdict, delivery, item.clone())
                .await
        }
        Err((code, message)) => {
            state
                .store
                .fail_job(&id, token, code.as_str(), message, delivery)
                .await
        }
    };
    match stored {
        Ok(true) => {
            if let Ok((verdict, _)) = &result {
                crate::metrics::verdict(verdict);
            }
            metrics::counter!("rampart_jobs_finished_total", "event" => event).increment(1);
            tracing::info!(job = %id, event, "job finished");
        }
        Ok(false) => {
            tracing::info!(job = %id, "job finished elsewhere or its claim expired; result dropped")
        }
        Err(error) => tracing::warn!(%error, job = %id, "storing the job's result failed"),
    }
}

/// Scale-out: every minute, publishes again the stored jobs that NATS no longer has (a publish
/// that failed after the job was stored, a lost stream), so every accepted job runs.
pub(crate) async fn republish_forever(queue: Arc<rampart_queue::NatsQueue>, store: Arc<dyn Store>) {
    loop {
        match queue.republish_missing(store.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "published jobs missing from the NATS stream"),
            Err(error) => tracing::warn!(%error, "sweeping for jobs missing from NATS failed"),
        }
        tokio::time::sleep(REPUBLISH_EVERY).await;
    }
}

/// Sends due webhook deliveries forever.
async fn dispatch_forever(state: AppState, backoff: Backoff) {
    let sender = Arc::new(Sender::new(state.fetcher.clone()));
    let backoff = Arc::new(backoff);
    loop {
        let due = match state
            .store
            .claim_due_deliveries(now_ms(), DELIVERY_BATCH, LEASE.as_millis() as u64)
            .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "reading due webhook deliveries failed");
                Vec::new()
            }
        };
        if due.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let mut sends = tokio::task::JoinSet::new();
        for delivery in due {
            let (state, sender, backoff) = (state.clone(), sender.clone(), backoff.clone());
            sends.spawn(async move { deliver(&state, &sender, &backoff, delivery).await });
        }
        while sends.join_next().await.is_some() {}
    }
}

async fn deliver(state: &AppState, sender: &Sender, backoff: &Backoff, due: DueDelivery) {
    let d = &due.delivery;
    let secret = match webhook_config(state.store.as_ref(), d.tenant).await {
        Ok(config) => config.secret,
        Err(error) => {
            tracing::warn!(%error, delivery = %d.id, "reading the webhook secret failed");
            return; // the lease expires and the attempt is made again
        }
    };
    let started = now_ms();
    let attempt = sender
        .send(
            &d.url,
            secret.as_bytes(),
            &d.id,
            &d.event,
            bytes::Bytes::from(due.payload.clone()),
        )
        .await;
    let age = Duration::from_millis(started.saturating_sub(d.created_at).max(0) as u64);
    let outcome = if attempt.ok {
        DeliveryOutcome::Delivered
    } else if !attempt.retryable {
        DeliveryOutcome::GaveUp
    } else {
        let mut rng = rand::rng();
        match backoff.next_attempt(d.attempts + 1, age, &mut rng) {
            Some(delay) => DeliveryOutcome::RetryAt(now_ms() + delay.as_millis() as i64),
            None => DeliveryOutcome::GaveUp,
        }
    };
    let record = DeliveryAttempt {
        at: started,
        status: attempt.status,
        error: attempt.error.clone(),
        duration_ms: attempt.duration.as_millis() as u64,
    };
    metrics::counter!("rampart_webhook_attempts_total", "ok" => if attempt.ok { "true" } else { "false" })
        .increment(1);
    match state
        .store
        .record_delivery_attempt(&d.id, &due.lease, &record, outcome)
        .await
    {
        Ok(_) => tracing::info!(
            delivery = %d.id,
            ok = attempt.ok,
            status = attempt.status,
            error = attempt.error.as_deref().unwrap_or(""),
            "webhook attempt"
        ),
        Err(error) => {
            tracing::warn!(%error, delivery = %d.id, "recording a webhook attempt failed")
        }
    }
}
