//! Asynchronous moderation of videos and audio: `POST /v1/moderate/video|audio` stores the
//! file as a job and answers `202 {"job_id"}`; `GET /v1/jobs/{id}` reports state, progress and,
//! once done, the verdict or the reason it failed; the result is also POSTed to the tenant's
//! webhook, whose settings and delivery log live under `/v1/webhooks`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_store::{
    Delivery, DeliveryAttempt, DeliveryState, Job, JobKind, JobState, NewJob, Store, TenantId,
};
use rampart_types::{ErrorCode, Verdict};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::error::{
    body_error, field_error, media_type, multipart_error, parse_json, read_json_body, ApiError,
    ApiJson, ApiQuery, ErrorBody,
};
use crate::routes::moderate::{check_client_id, engine_error, Binary};
use crate::state::AppState;

/// Most jobs or deliveries one list call returns.
const MAX_LIMIT: u32 = 100;

/// Query parameters of the video and audio routes (for raw bodies; JSON and multipart bodies
/// may carry the same fields, which then win).
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    /// Your own id for the content (≤ 256 bytes of UTF-8, no control characters but tab).
    #[param(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub client_id: Option<String>,
    /// `name` or `name@version`.
    pub policy: Option<String>,
    /// Where the result is POSTed (overrides the tenant's webhook URL for this job). Checked
    /// like URL fetches: private, loopback and link-local addresses are refused.
    #[param(format = "uri")]
    pub callback_url: Option<String>,
}

/// `{"url"}` form of the video and audio routes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaUrlRequest {
    /// An `http` or `https` URL of the file, fetched when the job is accepted (same rules as
    /// image URLs: no private addresses, at most 3 redirects, size and time capped).
    #[schema(format = "uri")]
    pub url: String,
    #[schema(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub client_id: Option<String>,
    pub policy: Option<String>,
    #[schema(format = "uri")]
    pub callback_url: Option<String>,
}

/// Multipart form of the video and audio routes (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MediaUpload {
    /// The video or audio file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    client_id: Option<String>,
    policy: Option<String>,
    callback_url: Option<String>,
}

/// The answer to a submitted video or audio file.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobAccepted {
    /// Poll `GET /v1/jobs/{job_id}`, or wait for the webhook.
    pub job_id: String,
    /// Always `queued`.
    pub state: String,
}

/// Why a job failed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobError {
    /// A stable error code (`decode_failed`, `unsupported_media`, `payload_too_large`,
    /// `internal`).
    pub code: String,
    pub message: String,
}

/// A job: its state and progress, and once it succeeded its verdict.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// `video` or `audio`.
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// 0..=1.
    pub progress: f32,
    /// How many times a worker started it (more than 1 after a worker died).
    pub attempts: u32,
    pub client_id: Option<String>,
    pub policy: Option<String>,
    pub callback_url: Option<String>,
    /// SHA-256 of the submitted file (the file itself is deleted when the job ends).
    pub input_sha256: String,
    pub input_bytes: u64,
    /// Unix milliseconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<JobError>,
    /// The verdict, once the job succeeded.
    pub verdict: Option<Verdict>,
}

/// A page of jobs, newest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Paging and filters of the job list.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: Option<String>,
    /// The last id of the previous page.
    pub after: Option<String>,
    /// 1..=100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The tenant's webhook settings.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    /// Where results are POSTed when a job names no `callback_url`; absent: nowhere.
    pub url: Option<String>,
    /// The HMAC-SHA256 key of the `Rampart-Signature` header; shown to admins only (an
    /// auditor who could read it could forge callbacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A change of the webhook settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    /// The default callback URL; `null` removes it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "uri", nullable)]
    pub url: Option<Option<String>>,
    /// Make a new secret (the old one stops signing at once).
    #[serde(default)]
    pub rotate_secret: bool,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`, by
/// `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// One delivery of a job's result to a callback URL.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The idempotency id, sent as `Rampart-Delivery-Id` and `Idempotency-Key` on every attempt.
    pub id: String,
    pub job_id: Option<String>,
    pub url: String,
    /// `job.succeeded` or `job.failed`.
    pub event: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    /// Every attempt, oldest first (only on `GET /v1/webhooks/deliveries/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<AttemptView>>,
}

/// One attempt of a delivery.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub at: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A page of deliveries, newest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    pub next: Option<String>,
}

/// Paging of the delivery list.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// Only the deliveries of this job.
    pub job_id: Option<String>,
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

pub(crate) fn job_state_name(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
    }
}

fn kind_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Video => "video",
        JobKind::Audio => "audio",
    }
}

/// The job as the API shows it, its verdict included once it succeeded.
pub(crate) async fn job_view(
    store: &dyn Store,
    tenant: TenantId,
    job: Job,
) -> Result<JobView, ApiError> {
    let verdict = match &job.verdict_id {
        Some(id) => store
            .get_verdict(tenant, id)
            .await
            .map_err(ApiError::internal)?
            .map(|stored| stored.verdict),
        None => None,
    };
    Ok(JobView {
        error: job.error_code.clone().map(|code| JobError {
            code,
            message: job.error_message.clone().unwrap_or_default(),
        }),
        id: job.id,
        kind: kind_name(job.kind).into(),
        state: job_state_name(job.state).into(),
        progress: job.progress,
        attempts: job.attempts,
        client_id: job.client_id,
        policy: job.policy,
        callback_url: job.callback_url,
        input_sha256: job.input_sha256,
        input_bytes: job.input_bytes,
        created_at: job.created_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
        verdict,
    })
}

fn delivery_view(d: Delivery, log: Option<Vec<DeliveryAttempt>>) -> DeliveryView {
    DeliveryView {
        id: d.id,
        job_id: d.job_id,
        url: d.url,
        event: d.event,
        state: match d.state {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
        .into(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at,
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: d.created_at,
        delivered_at: d.delivered_at,
        log: log.map(|attempts| {
            attempts
                .into_iter()
                .map(|a| AttemptView {
                    at: a.at,
                    status: a.status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect()
        }),
    }
}

/// The file and request fields, whichever form the request took.
struct MediaInput {
    bytes: Bytes,
    client_id: Option<String>,
    policy: Option<String>,
    callback_url: Option<String>,
}

/// Reads the file from a raw body (`video/*`, `audio/*`, `application/octet-stream`), a
/// multipart form (`file` field, or `video`/`audio`, plus the optional fields) or `{"url"}`.
async fn read_media(
    state: &AppState,
    query: MediaQuery,
    request: Request,
) -> Result<MediaInput, ApiError> {
    let essence = media_type(&request);
    let mut input = MediaInput {
        bytes: Bytes::new(),
        client_id: query.client_id,
        policy: query.policy,
        callback_url: query.callback_url,
    };
    if essence == "application/json" {
        let body = read_json_body(state, request).await?;
        let url: MediaUrlRequest = parse_json(&body)?;
        let fetched = state.media_fetcher.fetch(&url.url).await.map_err(|e| {
            tracing::info!(reason = %e, "media fetch refused or failed");
            ApiError::new(e.api_code(), e.to_string()).field("url")
        })?;
        input.bytes = fetched.bytes;
        input.client_id = url.client_id.or(input.client_id);
        input.policy = url.policy.or(input.policy);
        input.callback_url = url.callback_url.or(input.callback_url);
    } else if essence == "multipart/form-data" {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|e| multipart_error(e.status(), &e))?;
        let mut file = None;
        while let Some(field) = form.next_field().await.map_err(field_error)? {
            let name = field.name().unwrap_or("").to_string();
            match name.as_str() {
                "file" | "video" | "audio" => {
                    file = Some(field.bytes().await.map_err(field_error)?)
                }
                "client_id" => input.client_id = Some(field.text().await.map_err(field_error)?),
                "policy" => input.policy = Some(field.text().await.map_err(field_error)?),
                "callback_url" => {
                    input.callback_url = Some(field.text().await.map_err(field_error)?)
                }
                other => {
                    return Err(ApiError::invalid(
                        "multipart",
                        format!(
                        "unknown form field '{other}': use file, client_id, policy, callback_url"
                    ),
                    ))
                }
            }
        }
        input.bytes =
            file.ok_or_else(|| ApiError::invalid("file", "the form has no file field"))?;
    } else if essence.starts_with("video/")
        || essence.starts_with("audio/")
        || essence == "application/octet-stream"
    {
        input.bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
    } else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMedia,
            "send the file as a raw body (Content-Type video/*, audio/* or application/octet-stream), a multipart form, or JSON {\"url\"}",
        ));
    }
    if input.bytes.is_empty() {
        return Err(ApiError::new(ErrorCode::DecodeFailed, "the file is empty"));
    }
    check_client_id(&input.client_id)?;
    if let Some(url) = &input.callback_url {
        state.fetcher.check_url(url).map_err(|e| {
            ApiError::new(e.api_code(), format!("callback_url: {e}")).field("callback_url")
        })?;
    }
    Ok(input)
}

async fn submit(
    state: AppState,
    caller: Caller,
    kind: JobKind,
    query: MediaQuery,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(roles::SUBMIT, "moderation")?;
    let input = read_media(&state, query, request).await?;
    // An unknown policy is the caller's mistake: say so now, not in a failed job.
    state
        .engines
        .text_moderator(caller.tenant(), input.policy.as_deref())
        .await
        .map_err(engine_error)?;
    let sha256 = hex::encode(Sha256::digest(&input.bytes));
    let job = state
        .store
        .create_job(NewJob {
            tenant: caller.tenant(),
            kind,
            client_id: input.client_id,
            policy: input.policy,
            callback_url: input.callback_url,
            input: input.bytes.to_vec(),
            input_sha256: sha256,
            max_attempts: state.limits.job_attempts,
        })
        .await?;
    // The job is stored, so it is accepted even if the queue cannot take it now: the
    // scale-out sweep publishes stored jobs that NATS does not have.
    if let Err(error) = state
        .queue
        .enqueue(rampart_queue::JobRef {
            id: job.id.clone(),
            tenant: caller.tenant(),
        })
        .await
    {
        tracing::warn!(%error, job = %job.id, "queueing a stored job failed; the sweep will publish it");
    }
    metrics::counter!("rampart_jobs_submitted_total", "kind" => kind_name(kind)).increment(1);
    let location = format!("/v1/jobs/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(JobAccepted {
            job_id: job.id,
            state: "queued".into(),
        }),
    )
        .into_response())
}

/// Moderate a video (asynchronously).
#[utoipa::path(
    post,
    path = "/v1/moderate/video",
    tag = "moderation",
    params(MediaQuery),
    request_body(description = "The video as the raw body (Content-Type video/*), a multipart form with a `file` field, or JSON `{\"url\"}`. Frames are sampled (1/s by default, plus cuts) and moderated like images, matched against video banks (vPDQ), and the audio track goes through speech recognition.", content(
        (Binary = "video/mp4"),
        (Binary = "application/octet-stream"),
        (MediaUpload = "multipart/form-data"),
        (MediaUrlRequest = "application/json"),
    )),
    responses(
        (status = 202, description = "Accepted; poll `GET /v1/jobs/{job_id}` (also in Location) or wait for the webhook", body = JobAccepted),
        (status = 400, description = "invalid_json, invalid_request (incl. unknown policy), fetch_blocked (url or callback_url)", body = ErrorBody),
        (status = 403, description = "forbidden: needs admin or submitter", body = ErrorBody),
        (status = 415, description = "unsupported_media (Content-Type)", body = ErrorBody),
        (status = 422, description = "decode_failed (empty file)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn moderate_video(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MediaQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    submit(state, caller, JobKind::Video, query, request).await
}

/// Moderate audio (asynchronously).
#[utoipa::path(
    post,
    path = "/v1/moderate/audio",
    tag = "moderation",
    params(MediaQuery),
    request_body(description = "The audio (WAV, MP3, Ogg/Opus, FLAC, AAC/M4A, or a video's audio track) as the raw body, a multipart form with a `file` field, or JSON `{\"url\"}`. Speech is recognised and moderated as text; evidence carries t_start/t_end.", content(
        (Binary = "audio/mpeg"),
        (Binary = "application/octet-stream"),
        (MediaUpload = "multipart/form-data"),
        (MediaUrlRequest = "application/json"),
    )),
    responses(
        (status = 202, description = "Accepted; poll `GET /v1/jobs/{job_id}` (also in Location) or wait for the webhook", body = JobAccepted),
        (status = 400, description = "invalid_json, invalid_request (incl. unknown policy), fetch_blocked (url or callback_url)", body = ErrorBody),
        (status = 403, description = "forbidden: needs admin or submitter", body = ErrorBody),
        (status = 415, description = "unsupported_media (Content-Type)", body = ErrorBody),
        (status = 422, description = "decode_failed (empty file)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn moderate_audio(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MediaQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    submit(state, caller, JobKind::Audio, query, request).await
}

/// Read a job.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "State, progress, and the verdict or error once finished", body = JobView),
        (status = 403, description = "forbidden", body = ErrorBody),
        (status = 404, description = "not_found (also for another tenant's job)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    caller.require(roles::READ_JOBS, "jobs")?;
    let job = state
        .store
        .get_job(caller.tenant(), &id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no job '{id}'")))?;
    Ok(Json(
        job_view(state.store.as_ref(), caller.tenant(), job).await?,
    ))
}

/// List jobs, newest first.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    params(JobListQuery),
    responses(
        (status = 200, description = "A page of jobs (verdicts not included: read a job for its verdict)", body = JobList),
        (status = 400, description = "invalid_request", body = ErrorBody),
        (status = 403, description = "forbidden", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<JobListQuery>,
) -> Result<Json<JobList>, ApiError> {
    caller.require(roles::READ_JOBS, "jobs")?;
    let filter = match query.state.as_deref() {
        None => None,
        Some("queued") => Some(JobState::Queued),
        Some("running") => Some(JobState::Running),
        Some("succeeded") => Some(JobState::Succeeded),
        Some("failed") => Some(JobState::Failed),
        Some(_) => {
            return Err(ApiError::invalid(
                "state",
                "state is one of queued, running, succeeded, failed",
            ))
        }
    };
    let limit = page_limit(query.limit)?;
    let jobs = state
        .store
        .list_jobs(caller.tenant(), filter, query.after.as_deref(), limit)
        .await?;
    let next = (jobs.len() == limit as usize)
        .then(|| jobs.last().map(|j| j.id.clone()))
        .flatten();
    let mut views = Vec::with_capacity(jobs.len());
    for mut job in jobs {
        job.verdict_id = None; // listing stays cheap; read the job for its verdict
        views.push(job_view(state.store.as_ref(), caller.tenant(), job).await?);
    }
    Ok(Json(JobList { jobs: views, next }))
}

fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid("limit", "limit must lie in 1..=100")),
    }
}

/// The webhook settings; a secret is made on first read.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The default callback URL and the signing secret", body = WebhookView),
        (status = 403, description = "forbidden: needs admin or auditor", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookView>, ApiError> {
    caller.require(roles::READ_WEBHOOKS, "webhooks")?;
    let config = crate::jobs::webhook_config(state.store.as_ref(), caller.tenant()).await?;
    let admin = caller.require(roles::EDIT_WEBHOOKS, "").is_ok();
    Ok(Json(WebhookView {
        url: config.url,
        secret: admin.then_some(config.secret),
    }))
}

/// Set the default callback URL, or rotate the signing secret.
#[utoipa::path(
    put,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookUpdate,
    responses(
        (status = 200, description = "The new settings", body = WebhookView),
        (status = 400, description = "invalid_json, invalid_request, fetch_blocked (url)", body = ErrorBody),
        (status = 403, description = "forbidden: needs admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(update): ApiJson<WebhookUpdate>,
) -> Result<Json<WebhookView>, ApiError> {
    caller.require(roles::EDIT_WEBHOOKS, "webhooks")?;
    if let Some(Some(url)) = &update.url {
        state
            .fetcher
            .check_url(url)
            .map_err(|e| ApiError::new(e.api_code(), format!("url: {e}")).field("url"))?;
    }
    let current = crate::jobs::webhook_config(state.store.as_ref(), caller.tenant()).await?;
    let secret = if update.rotate_secret {
        rampart_webhook::new_secret()
    } else {
        current.secret
    };
    let url = update.url.unwrap_or(current.url);
    state
        .store
        .set_webhook_config(caller.tenant(), url.as_deref(), &secret)
        .await?;
    tracing::info!(rotated = update.rotate_secret, by = %caller.0.key_id, "webhook settings changed");
    Ok(Json(WebhookView {
        url,
        secret: Some(secret),
    }))
}

/// The delivery log, newest first.
#[utoipa::path(
    get,
    path = "/v1/webhooks/deliveries",
    tag = "webhooks",
    params(DeliveryListQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryList),
        (status = 400, description = "invalid_request", body = ErrorBody),
        (status = 403, description = "forbidden", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DeliveryListQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    caller.require(roles::READ_JOBS, "deliveries")?;
    let limit = page_limit(query.limit)?;
    let deliveries = state
        .store
        .list_deliveries(
            caller.tenant(),
            query.job_id.as_deref(),
            query.after.as_deref(),
            limit,
        )
        .await?;
    let next = (deliveries.len() == limit as usize)
        .then(|| deliveries.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Json(DeliveryList {
        deliveries: deliveries
            .into_iter()
            .map(|d| delivery_view(d, None))
            .collect(),
        next,
    }))
}

/// One delivery with every attempt.
#[utoipa::path(
    get,
    path = "/v1/webhooks/deliveries/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The delivery (idempotency) id")),
    responses(
        (status = 200, description = "The delivery and its attempts", body = DeliveryView),
        (status = 403, description = "forbidden", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    caller.require(roles::READ_JOBS, "deliveries")?;
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("no delivery '{id}'"));
    // The list is the tenant-scoped lookup; ids are ULIDs so a page after the next-higher id
    // would also do, but one store method per question keeps the trait small.
    let attempts = state.store.delivery_attempts(caller.tenant(), &id).await?;
    let delivery = find_delivery(state.store.as_ref(), caller.tenant(), &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(delivery_view(delivery, Some(attempts))))
}

async fn find_delivery(
    store: &dyn Store,
    tenant: TenantId,
    id: &str,
) -> Result<Option<Delivery>, ApiError> {
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_deliveries(tenant, None, after.as_deref(), MAX_LIMIT)
            .await?;
        if let Some(found) = page.iter().position(|d| d.id == id) {
            return Ok(page.into_iter().nth(found));
        }
        if page.len() < MAX_LIMIT as usize {
            return Ok(None);
        }
        after = page.last().map(|d| d.id.clone());
    }
}
