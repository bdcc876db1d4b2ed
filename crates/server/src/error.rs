//! The one error shape of the API, `{"error": {"code", "message", "field"?}}`, and the body
//! extractors whose rejections take that shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_types::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::ToSchema;

/// An API error with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
    /// Seconds for `Retry-After` (rate limiting, load shedding).
    pub(crate) retry_after: Option<u64>,
    /// Overrides the status the code implies (405, 503, 408).
    pub(crate) status: Option<StatusCode>,
}

impl ApiError {
    /// An error with `code` and a human message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            status: None,
        }
    }

    /// The same error naming the request field at fault.
    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    /// The same error with a `Retry-After` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The same error with another HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// `invalid_request` naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidRequest, message).field(field)
    }

    /// `not_found` for a kind of object.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    /// `internal`; the cause is logged, never sent.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error")
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
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

impl From<rampart_store::StoreError> for ApiError {
    fn from(error: rampart_store::StoreError) -> Self {
        use rampart_store::StoreError;
        match error {
            StoreError::NotFound(what) => {
                ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
            }
            StoreError::Conflict(what) => {
                ApiError::new(ErrorCode::Conflict, format!("{what} already exists"))
            }
            StoreError::Invalid { field, reason } => ApiError::invalid(field, reason),
            StoreError::StateConflict(message) => ApiError::new(ErrorCode::Conflict, message),
            StoreError::Forbidden(message) => ApiError::new(ErrorCode::Forbidden, message),
            other => ApiError::internal(other),
        }
    }
}

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code.
    pub code: ErrorCode,
    /// For humans; may change between versions.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.code == ErrorCode::Unauthenticated {
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The request's media type, lowercased, without parameters (`""` when absent): what the
/// routes that accept several body forms dispatch on.
pub fn media_type(request: &axum::extract::Request) -> String {
    request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A body that could not be read: too large, or the connection failed.
pub fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "request body too large")
    } else {
        ApiError::new(ErrorCode::InvalidRequest, "could not read the request body")
    }
}

/// The body of a route whose uploads may be large, when it is JSON: read, then held to the JSON
/// limit (`payload_too_large` over it), since the route's own body limit is the upload's.
pub async fn read_json_body(
    state: &crate::state::AppState,
    request: Request,
) -> Result<Bytes, ApiError> {
    let body = Bytes::from_request(request, state)
        .await
        .map_err(body_error)?;
    if body.len() > state.limits.json_body {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "request body too large",
        ));
    }
    Ok(body)
}

/// A multipart form that could not be read, or a field of it: too large, or malformed.
pub fn multipart_error(status: StatusCode, reason: impl std::fmt::Display) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "request body too large")
    } else {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("bad multipart body: {reason}"),
        )
    }
}

/// A field of a multipart form that could not be read (see [`multipart_error`]).
pub fn field_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    multipart_error(e.status(), &e)
}

/// A JSON body whose rejections are [`ApiError`]s: `invalid_json` for malformed JSON,
/// `invalid_request` for wrong types and unknown fields, `payload_too_large` over the limit.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// `bytes` as JSON of `T`, with the API's error codes.
///
/// Every request body of the API is a JSON object: an array is refused here, because serde
/// would otherwise read `[]` as a struct whose fields all have defaults.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "the body must be a JSON object, not an array",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| json_error(&e))
}

/// A serde_json error as `invalid_json` (syntax) or `invalid_request` (shape), naming the field
/// when serde does.
pub fn json_error(error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {error}"))
        }
        Category::Data => {
            let message = error.to_string();
            with_named_field(ApiError::new(ErrorCode::InvalidRequest, &message), &message)
        }
    }
}

/// Names the field of a serde message ("unknown field `x`, …", "missing field `x`") in the
/// error, when there is one.
fn with_named_field(error: ApiError, message: &str) -> ApiError {
    let named = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))
        .and_then(|rest| rest.find('`').map(|end| &rest[..end]));
    match named {
        Some(field) => error.field(field),
        None => error,
    }
}

/// Query strings whose rejections are `invalid_request`, naming the field when serde does.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| {
                let message = e.to_string();
                with_named_field(
                    ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("bad query string: {message}"),
                    ),
                    &message,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        text: Option<String>,
        texts: Option<Vec<String>>,
    }

    fn classify(body: &str) -> ApiError {
        match parse_json::<Probe>(body.as_bytes()) {
            Ok(p) => panic!("{body} parsed as {p:?}"),
            Err(e) => e,
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
        assert_eq!(
            status(ErrorCode::RateLimited),
            StatusCode::TOO_MANY_REQUESTS
        );
        let shed = ApiError::new(ErrorCode::RateLimited, "busy")
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .retry_after(1)
            .into_response();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()["retry-after"], "1");
    }
}
