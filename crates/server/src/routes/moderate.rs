//! `POST /v1/moderate/text` and `POST /v1/moderate/image`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::future::try_join_all;
use rampart_store::NewReviewItem;
use rampart_types::{ErrorCode, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::engine::EngineError;
use crate::error::{
    body_error, field_error, media_type, multipart_error, parse_json, read_json_body, ApiError,
    ApiJson, ApiQuery, ErrorBody,
};
use crate::state::AppState;

/// Most texts in one batch.
pub const MAX_BATCH: usize = 100;
/// Longest `client_id`, in bytes.
pub const MAX_CLIENT_ID: usize = 256;
/// Texts up to this many bytes in all are moderated on the request's own task; longer ones on
/// the blocking pool (a hand-off costs more than scanning a short message).
const INLINE_BYTES: usize = 8 << 10;

/// A text moderation request: exactly one of `text` and `texts`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    /// One text.
    pub text: Option<String>,
    /// Up to 100 texts, answered in order.
    #[schema(min_items = 1, max_items = 100)]
    pub texts: Option<Vec<String>>,
    /// Your own id for the content, echoed in `content_ref.client_id` (≤ 256 bytes of UTF-8,
    /// no control characters but tab).
    #[schema(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub client_id: Option<String>,
    /// `name` (its latest version) or `name@version`; the tenant's default when absent.
    pub policy: Option<String>,
    /// BCP 47 language hint; checked, not yet used (the built-in libraries are English).
    #[schema(max_length = 35, pattern = "^[A-Za-z0-9-]+$")]
    pub lang: Option<String>,
}

/// The verdicts of a batch, in the order of `texts`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Verdicts {
    pub verdicts: Vec<Verdict>,
}

/// A verdict for `text`, or verdicts for `texts`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TextResponse {
    One(Verdict),
    Many(Verdicts),
}

/// `{"url"}` form of the image route.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageUrlRequest {
    /// An `http` or `https` URL. Private, loopback and link-local addresses are refused after
    /// DNS resolution; at most 3 redirects; size and time are capped (`fetch_blocked`).
    #[schema(format = "uri")]
    pub url: String,
    /// Your own id for the content (≤ 256 bytes of UTF-8, no control characters but tab).
    #[schema(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub client_id: Option<String>,
    pub policy: Option<String>,
}

/// Query parameters of the image route (for raw bodies; JSON and multipart bodies may carry
/// the same fields, which then win).
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Your own id for the content (≤ 256 bytes of UTF-8, no control characters but tab).
    #[param(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub client_id: Option<String>,
    /// `name` or `name@version`.
    pub policy: Option<String>,
}

/// A raw file body, e.g. an image (for the OpenAPI document, where `Vec<u8>` would be a JSON
/// array of integers).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Binary(Vec<u8>);

/// Multipart form of the image route (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// The image file.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// Your own id for the content (≤ 256 bytes of UTF-8, no control characters but tab).
    #[schema(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    client_id: Option<String>,
    policy: Option<String>,
}

pub(crate) fn engine_error(error: EngineError) -> ApiError {
    match error {
        EngineError::UnknownPolicy(name) => {
            ApiError::invalid("policy", format!("this tenant has no policy '{name}'"))
        }
        EngineError::Store(e) => e.into(),
        other => ApiError::internal(other),
    }
}

/// What the store accepts in a verdict's `client_id` (checked here: a verdict the store refuses
/// after moderation would be a 500): at most 256 bytes, no control characters but tab.
pub(crate) fn check_client_id(client_id: &Option<String>) -> Result<(), ApiError> {
    match client_id {
        Some(id) if id.len() > MAX_CLIENT_ID => Err(ApiError::invalid(
            "client_id",
            format!("client_id is longer than {MAX_CLIENT_ID} bytes"),
        )),
        Some(id) if id.chars().any(|c| c.is_control() && c != '\t') => Err(ApiError::invalid(
            "client_id",
            "client_id contains control characters",
        )),
        _ => Ok(()),
    }
}

/// Records verdicts (concurrently, so that they share one group commit), each with the review
/// item the policy queues for it (same index in `items`; missing means none), and counts them.
pub(crate) async fn record(
    state: &AppState,
    caller: &Caller,
    verdicts: &[Verdict],
    mut items: Vec<Option<NewReviewItem>>,
) -> Result<(), ApiError> {
    let started = Instant::now();
    items.resize(verdicts.len(), None);
    let result = try_join_all(verdicts.iter().zip(items).map(|(v, item)| {
        state
            .store
            .record_verdict_for_review(caller.tenant(), v, item)
    }))
    .await;
    crate::metrics::store_op("record_verdict", started);
    result.map_err(ApiError::internal)?;
    for verdict in verdicts {
        crate::metrics::verdict(verdict);
        tracing::debug!(
            verdict = %verdict.id,
            suggestion = verdict.suggestion.as_str(),
            policy = %verdict.policy,
            key = %caller.0.key_id,
            "verdict recorded"
        );
    }
    Ok(())
}

/// Moderate text.
#[utoipa::path(
    post,
    path = "/v1/moderate/text",
    tag = "moderation",
    request_body = TextRequest,
    responses(
        (status = 200, description = "A verdict for `text`, or `{\"verdicts\": […]}` for `texts`; stored before it is sent", body = TextResponse),
        (status = 400, description = "invalid_json, invalid_request (incl. more than 100 texts, unknown policy)", body = ErrorBody),
        (status = 401, description = "unauthenticated", body = ErrorBody),
        (status = 403, description = "forbidden: needs admin or submitter", body = ErrorBody),
        (status = 413, description = "payload_too_large (1 MiB)", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn moderate_text(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TextRequest>,
) -> Result<Response, ApiError> {
    caller.require(roles::SUBMIT, "moderation")?;
    check_client_id(&request.client_id)?;
    if request.lang.as_ref().is_some_and(|l| {
        l.is_empty() || l.len() > 35 || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) {
        return Err(ApiError::invalid(
            "lang",
            "lang must be a BCP 47 tag such as en or pt-BR",
        ));
    }
    let (texts, batch) = match (request.text, request.texts) {
        (Some(text), None) => (vec![text], false),
        (None, Some(texts)) => {
            if texts.is_empty() || texts.len() > MAX_BATCH {
                return Err(ApiError::invalid(
                    "texts",
                    format!("texts must hold 1 to {MAX_BATCH} texts"),
                ));
            }
            (texts, true)
        }
        _ => {
            return Err(ApiError::invalid(
                "text",
                "give exactly one of text and texts",
            ))
        }
    };
    let moderator = state
        .engines
        .text_moderator(caller.tenant(), request.policy.as_deref())
        .await
        .map_err(engine_error)?;
    let client_id = request.client_id;
    let total: usize = texts.iter().map(String::len).sum();
    let (verdicts, texts_kept): (Vec<Verdict>, Vec<String>) = if total <= INLINE_BYTES {
        let verdicts = texts
            .iter()
            .map(|t| moderator.verdict(t, client_id.clone()))
            .collect();
        (verdicts, texts)
    } else {
        let m = moderator.clone();
        tokio::task::spawn_blocking(move || {
            let verdicts = texts
                .iter()
                .map(|t| m.verdict(t, client_id.clone()))
                .collect();
            (verdicts, texts)
        })
        .await
        .map_err(ApiError::internal)?
    };
    let review = &moderator.policy.review;
    let items = verdicts
        .iter()
        .zip(&texts_kept)
        .map(|(v, text)| crate::review::item_for(v, review, || crate::review::text_content(text)))
        .collect();
    record(&state, &caller, &verdicts, items).await?;
    let response = if batch {
        TextResponse::Many(Verdicts { verdicts })
    } else {
        TextResponse::One(
            verdicts
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::internal("no verdict"))?,
        )
    };
    Ok(Json(response).into_response())
}

/// The image bytes and request fields, whichever form the request took.
pub(crate) struct ImageInput {
    pub bytes: Bytes,
    pub client_id: Option<String>,
    pub policy: Option<String>,
}

/// Reads an image from a raw body (`image/*`, `application/octet-stream`), a multipart form
/// (`image` file field plus optional `client_id` and `policy`), or `{"url"}` JSON.
pub(crate) async fn read_image(
    state: &AppState,
    query: ImageQuery,
    request: Request,
) -> Result<ImageInput, ApiError> {
    let essence = media_type(&request);
    let mut input = ImageInput {
        bytes: Bytes::new(),
        client_id: query.client_id,
        policy: query.policy,
    };
    if essence == "application/json" {
        let body = read_json_body(state, request).await?;
        let url: ImageUrlRequest = parse_json(&body)?;
        let fetched = state.fetcher.fetch(&url.url).await.map_err(|e| {
            tracing::info!(reason = %e, "image fetch refused or failed");
            ApiError::new(e.api_code(), e.to_string()).field("url")
        })?;
        input.bytes = fetched.bytes;
        input.client_id = url.client_id.or(input.client_id);
        input.policy = url.policy.or(input.policy);
    } else if essence == "multipart/form-data" {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|e| multipart_error(e.status(), &e))?;
        let mut image = None;
        while let Some(field) = form.next_field().await.map_err(field_error)? {
            let name = field.name().unwrap_or("").to_string();
            match name.as_str() {
                "image" | "file" => image = Some(field.bytes().await.map_err(field_error)?),
                "client_id" => input.client_id = Some(field.text().await.map_err(field_error)?),
                "policy" => input.policy = Some(field.text().await.map_err(field_error)?),
                other => {
                    return Err(ApiError::invalid(
                        "multipart",
                        format!("unknown form field '{other}': use image, client_id, policy"),
                    ))
                }
            }
        }
        input.bytes =
            image.ok_or_else(|| ApiError::invalid("image", "the form has no image field"))?;
    } else if essence.starts_with("image/") || essence == "application/octet-stream" {
        input.bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
    } else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMedia,
            "send the image as a raw body (Content-Type image/*), a multipart form, or JSON {\"url\"}",
        ));
    }
    if input.bytes.is_empty() {
        return Err(ApiError::new(ErrorCode::DecodeFailed, "the image is empty"));
    }
    check_client_id(&input.client_id)?;
    Ok(input)
}

/// Moderate an image.
#[utoipa::path(
    post,
    path = "/v1/moderate/image",
    tag = "moderation",
    params(ImageQuery),
    request_body(description = "The image as the raw body (Content-Type image/*), a multipart form with an `image` file field, or JSON `{\"url\"}`", content(
        (Binary = "image/jpeg"),
        (Binary = "image/png"),
        (Binary = "application/octet-stream"),
        (ImageUpload = "multipart/form-data"),
        (ImageUrlRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The verdict; stored before it is sent", body = Verdict),
        (status = 400, description = "invalid_json, invalid_request, fetch_blocked", body = ErrorBody),
        (status = 401, description = "unauthenticated", body = ErrorBody),
        (status = 403, description = "forbidden: needs admin or submitter", body = ErrorBody),
        (status = 413, description = "payload_too_large (32 MiB)", body = ErrorBody),
        (status = 415, description = "unsupported_media", body = ErrorBody),
        (status = 422, description = "decode_failed", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn moderate_image(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ImageQuery>,
    request: Request,
) -> Result<Json<Verdict>, ApiError> {
    caller.require(roles::SUBMIT, "moderation")?;
    let input = read_image(&state, query, request).await?;
    let moderator = state
        .engines
        .image_moderator(caller.tenant(), input.policy.as_deref())
        .await
        .map_err(engine_error)?;
    let _slot = state
        .image_slots
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let client_id = input.client_id;
    let bytes = input.bytes;
    let review = moderator.text.policy.review.clone();
    let kept = bytes.clone();
    let verdict = tokio::task::spawn_blocking(move || moderator.verdict(&bytes, client_id))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            let code = e.code();
            if code == ErrorCode::Internal {
                ApiError::internal(e)
            } else {
                ApiError::new(code, e.to_string())
            }
        })?;
    let item = crate::review::item_for(&verdict, &review, || crate::review::image_content(&kept));
    record(&state, &caller, std::slice::from_ref(&verdict), vec![item]).await?;
    Ok(Json(verdict))
}
