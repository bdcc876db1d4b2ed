//! Routes, extractors and the JSON error shape.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rampart_moderate::ImageModerator;
use rampart_store::{KeyInfo, Role, Store};
use rampart_types::{ErrorCode, Verdict};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Largest JSON body of the text route.
pub const TEXT_BODY_LIMIT: usize = 1 << 20;
/// Largest raw body of the image route.
pub const IMAGE_BODY_LIMIT: usize = 64 << 20;
/// Most texts in one batch.
pub const MAX_BATCH: usize = 100;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub moderator: Arc<ImageModerator>,
}

/// The router of the whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/v1/moderate/text",
            post(moderate_text).layer(DefaultBodyLimit::max(TEXT_BODY_LIMIT)),
        )
        .route(
            "/v1/moderate/image",
            post(moderate_image).layer(DefaultBodyLimit::max(IMAGE_BODY_LIMIT)),
        )
        .route("/v1/verdicts/{id}", get(get_verdict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

// ----- errors -----

/// `{"error": {"code", "message", "field"?}}` with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
        }
    }

    fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error")
    }

    fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidJson | ErrorCode::InvalidRequest | ErrorCode::FetchBlocked => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::DecodeFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if self.code == ErrorCode::Unauthenticated {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A body that could not be read: too large, or the connection failed.
fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "request body too large")
    } else {
        ApiError::new(ErrorCode::InvalidRequest, "could not read the request body")
    }
}

// ----- extractors -----

/// A JSON body whose rejections are [`ApiError`]s: `invalid_json` for malformed JSON,
/// `invalid_request` for wrong types and unknown fields, `payload_too_large` over the limit.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| json_error(&e))
    }
}

fn json_error(error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {error}"))
        }
        Category::Data => {
            let message = error.to_string();
            let mut api = ApiError::new(ErrorCode::InvalidRequest, message.clone());
            // serde's message names the field between backticks: "unknown field `x`, …".
            if let Some(rest) = message
                .strip_prefix("unknown field `")
                .or_else(|| message.strip_prefix("missing field `"))
            {
                if let Some(end) = rest.find('`') {
                    api = api.field(&rest[..end]);
                }
            }
            api
        }
    }
}

/// The caller's key, from `Authorization: Bearer rk_…`.
pub struct Caller(pub KeyInfo);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            || ApiError::new(ErrorCode::Unauthenticated, "missing or invalid API key");
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(unauthenticated)?;
        match state.store.authenticate(key).await {
            Ok(Some(info)) => Ok(Caller(info)),
            Ok(None) => Err(unauthenticated()),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}

impl Caller {
    fn require_submitter(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Admin | Role::Submitter => Ok(()),
            _ => Err(ApiError::new(
                ErrorCode::Forbidden,
                "this route needs a submitter or admin key",
            )),
        }
    }
}

// ----- handlers -----

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    match state.store.tenant_by_name("default").await {
        Ok(_) => Ok(Json(serde_json::json!({"status": "ok"}))),
        Err(error) => {
            tracing::warn!(%error, "store not ready");
            Err(ApiError::new(ErrorCode::Internal, "store unavailable"))
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> Response {
    let mut r = ApiError::new(ErrorCode::InvalidRequest, "method not allowed").into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// `POST /v1/moderate/text`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextRequest {
    text: Option<String>,
    texts: Option<Vec<String>>,
    client_id: Option<String>,
    policy: Option<String>,
    lang: Option<String>,
}

#[derive(Serialize)]
struct Verdicts {
    verdicts: Vec<Verdict>,
}

async fn moderate_text(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TextRequest>,
) -> Result<Response, ApiError> {
    caller.require_submitter()?;
    let _ = request.lang;
    if let Some(policy) = &request.policy {
        let current = &state.moderator.text.policy;
        if *policy != current.name && *policy != current.id() {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("unknown policy; this server runs {}", current.id()),
            )
            .field("policy"));
        }
    }
    let (texts, batch) = match (request.text, request.texts) {
        (Some(text), None) => (vec![text], false),
        (None, Some(texts)) => {
            if texts.is_empty() || texts.len() > MAX_BATCH {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("texts must hold 1 to {MAX_BATCH} texts"),
                )
                .field("texts"));
            }
            (texts, true)
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give exactly one of text and texts",
            )
            .field("text"))
        }
    };
    let moderator = state.moderator.clone();
    let client_id = request.client_id;
    let verdicts = tokio::task::spawn_blocking(move || {
        texts
            .iter()
            .map(|t| moderator.text.verdict(t, client_id.clone()))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::internal)?;
    for verdict in &verdicts {
        record(&state, &caller, verdict).await?;
    }
    if batch {
        Ok(Json(Verdicts { verdicts }).into_response())
    } else {
        let verdict = verdicts
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("no verdict"))?;
        Ok(Json(verdict).into_response())
    }
}

async fn record(state: &AppState, caller: &Caller, verdict: &Verdict) -> Result<(), ApiError> {
    state
        .store
        .record_verdict(caller.0.tenant, verdict)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(
        verdict = %verdict.id,
        suggestion = ?verdict.suggestion,
        key = %caller.0.key_id,
        "verdict recorded"
    );
    Ok(())
}

/// `POST /v1/moderate/image`: the raw image as the body, `Content-Type: image/*`.
async fn moderate_image(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<Verdict>, ApiError> {
    caller.require_submitter()?;
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.starts_with("image/") && content_type != "application/octet-stream" {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMedia,
            "send the image as the raw body with Content-Type image/*",
        ));
    }
    let bytes = Bytes::from_request(request, &state)
        .await
        .map_err(body_error)?;
    let moderator = state.moderator.clone();
    let verdict = tokio::task::spawn_blocking(move || moderator.verdict(&bytes, None))
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
    record(&state, &caller, &verdict).await?;
    Ok(Json(verdict))
}

/// `GET /v1/verdicts/{id}`: the caller's tenant's verdict.
async fn get_verdict(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Verdict>, ApiError> {
    match state.store.get_verdict(caller.0.tenant, &id).await {
        Ok(Some(stored)) => Ok(Json(stored.verdict)),
        Ok(None) => Err(ApiError::new(ErrorCode::NotFound, "no such verdict")),
        Err(rampart_store::StoreError::NotFound(_)) => {
            Err(ApiError::new(ErrorCode::NotFound, "no such verdict"))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// One log line per request: method, route path, status, latency. Never bodies or headers.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(body: &str) -> ApiError {
        match serde_json::from_str::<TextRequest>(body) {
            Ok(_) => panic!("{body} parsed"),
            Err(e) => json_error(&e),
        }
    }

    #[test]
    fn json_errors_map_to_stable_codes() {
        let e = classify(r#"{"text": "#);
        assert_eq!(
            (e.code, e.status()),
            (ErrorCode::InvalidJson, StatusCode::BAD_REQUEST)
        );
        let e = classify(r#"{"text": "a", "extra": true}"#);
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(e.field.as_deref(), Some("extra"));
        let e = classify(r#"{"texts": "not a list"}"#);
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn statuses_follow_the_codes() {
        let status = |code| ApiError::new(code, "").status();
        assert_eq!(status(ErrorCode::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(ErrorCode::PayloadTooLarge),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            status(ErrorCode::DecodeFailed),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status(ErrorCode::UnsupportedMedia),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(status(ErrorCode::NotFound), StatusCode::NOT_FOUND);
    }
}
