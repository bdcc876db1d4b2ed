//! Health, readiness, metrics, the OpenAPI document, fallbacks, and the middleware every
//! request passes: request id, timeout, log line, metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_types::ErrorCode;
use serde::Serialize;
use tracing::Instrument;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The request-id header: taken from the client when it is a sane token, else made here, and
/// always echoed in the response.
pub const REQUEST_ID: &str = "x-request-id";

/// `{"status": "ok"}`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Status), (status = 503, description = "The store does not answer", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let started = Instant::now();
    let result = state.store.tenant_by_name("default").await;
    crate::metrics::store_op("ping", started);
    match result {
        Ok(_) => Ok(Json(Status {
            status: "ok".into(),
        })),
        Err(error) => {
            tracing::warn!(%error, "store not ready");
            Err(ApiError::new(ErrorCode::Internal, "store unavailable")
                .with_status(StatusCode::SERVICE_UNAVAILABLE))
        }
    }
}

/// Prometheus metrics, text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        crate::routes::ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".into())
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.clone(),
    )
        .into_response()
}

/// Any unknown path.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// A known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, "method not allowed")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}

fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map_or_else(|| ulid::Ulid::new().to_string(), str::to_string)
}

/// Request id, timeout, one log line and the metrics of every request. Logs name the route
/// template, never the body, query or headers.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!("request", request_id = %id);
    let timeout = state.limits.request_timeout;
    let mut response =
        match tokio::time::timeout(timeout, next.run(request).instrument(span.clone())).await {
            Ok(response) => response,
            Err(_) => {
                metrics::counter!("rampart_request_timeouts_total").increment(1);
                ApiError::new(
                    ErrorCode::Internal,
                    format!("the request did not finish within {} s", timeout.as_secs()),
                )
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .retry_after(1)
                .into_response()
            }
        };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    crate::metrics::request(&method, &route, status, started);
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "request"
        )
    });
    response
}
