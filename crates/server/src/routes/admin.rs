//! Keys and verdicts of the caller's tenant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_store::{ApiKey, Role, StoredVerdict, MAX_LIST_LIMIT};
use rampart_types::Verdict;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// A key's role (for the OpenAPI document; the store's `Role` is what the code uses).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RoleName {
    Admin,
    Moderator,
    Submitter,
    Auditor,
}

/// A key as listed (never its secret).
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    /// The key's public id: the `<id>` of `rk_<id>_<secret>`.
    pub id: String,
    pub name: String,
    #[schema(value_type = RoleName, example = "submitter")]
    pub role: Role,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds; absent while the key works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        KeyView {
            id: k.id,
            name: k.name,
            role: k.role,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// The tenant's keys.
#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// A new key of the caller's tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// `admin`, `moderator`, `submitter` or `auditor`.
    #[schema(value_type = RoleName, example = "submitter")]
    pub role: String,
    /// A note for humans, e.g. "ingest worker" (≤ 128 bytes of UTF-8, no control characters
    /// but tab).
    #[schema(max_length = 128, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub name: Option<String>,
}

/// A key just created: `key` is shown this once and cannot be recovered.
#[derive(Serialize, ToSchema)]
pub struct CreatedKeyView {
    /// The key to send as `Authorization: Bearer <key>`.
    pub key: String,
    #[serde(flatten)]
    pub info: KeyView,
}

/// List the tenant's keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<KeyList>, ApiError> {
    caller.require(roles::READ_KEYS, "listing keys")?;
    let keys = state.store.list_keys(caller.tenant()).await?;
    Ok(Json(KeyList {
        keys: keys.into_iter().map(KeyView::from).collect(),
    }))
}

/// Create a key (shown once).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = NewKey,
    responses((status = 201, body = CreatedKeyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    caller.require(roles::EDIT_KEYS, "creating keys")?;
    let role: Role = request
        .role
        .parse()
        .map_err(|e: rampart_store::StoreError| ApiError::invalid("role", e.to_string()))?;
    let name = request.name.unwrap_or_default();
    if name.chars().count() > 128 {
        return Err(ApiError::invalid(
            "name",
            "name is longer than 128 characters",
        ));
    }
    let created = state.store.create_key(caller.tenant(), role, &name).await?;
    tracing::info!(key = %created.key.id, role = role.as_str(), by = %caller.0.key_id, "key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyView {
            key: created.plaintext,
            info: created.key.into(),
        }),
    ))
}

/// Revoke a key (idempotent).
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "The key's public id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(roles::EDIT_KEYS, "revoking keys")?;
    state.store.revoke_key(caller.tenant(), &id).await?;
    state.auth.forget_key(&id);
    tracing::info!(key = %id, by = %caller.0.key_id, "key revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A stored verdict.
#[derive(Serialize, ToSchema)]
pub struct StoredVerdictView {
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Unix milliseconds.
    pub recorded_at: i64,
    /// A moderator's final decision on it, once made: `{"outcome": "approve"|"remove", "at",
    /// "by"}`. `approve` means the content now passes, `remove` that it is blocked, whatever
    /// the automated `suggestion` said.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub review: Option<rampart_store::VerdictReview>,
}

impl From<StoredVerdict> for StoredVerdictView {
    fn from(s: StoredVerdict) -> Self {
        StoredVerdictView {
            verdict: s.verdict,
            recorded_at: s.recorded_at,
            review: s.review,
        }
    }
}

/// A page of verdicts.
#[derive(Serialize, ToSchema)]
pub struct VerdictPage {
    pub verdicts: Vec<StoredVerdictView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Paging of verdict lists.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerdictQuery {
    /// At most this many (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only verdicts after this id (ids are ULIDs, so this is time order).
    pub after: Option<String>,
}

/// Read one verdict.
#[utoipa::path(get, path = "/v1/verdicts/{id}", tag = "verdicts",
    params(("id" = String, Path, description = "The verdict id (ULID)")),
    responses((status = 200, body = StoredVerdictView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_verdict(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StoredVerdictView>, ApiError> {
    caller.require(roles::READ_VERDICTS, "reading verdicts")?;
    match state.store.get_verdict(caller.tenant(), &id).await {
        Ok(Some(stored)) => Ok(Json(stored.into())),
        Ok(None) | Err(rampart_store::StoreError::NotFound(_)) => {
            Err(ApiError::not_found("verdict"))
        }
        Err(rampart_store::StoreError::Invalid { .. }) => Err(ApiError::not_found("verdict")),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// List verdicts, oldest first.
#[utoipa::path(get, path = "/v1/verdicts", tag = "verdicts", params(VerdictQuery),
    responses((status = 200, body = VerdictPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_verdicts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<VerdictQuery>,
) -> Result<Json<VerdictPage>, ApiError> {
    caller.require(roles::READ_VERDICTS, "reading verdicts")?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_LIST_LIMIT}"),
        ));
    }
    let verdicts = state
        .store
        .list_verdicts(caller.tenant(), limit, query.after.as_deref())
        .await?;
    let next = (verdicts.len() == limit as usize)
        .then(|| verdicts.last().map(|v| v.verdict.id.clone()))
        .flatten();
    Ok(Json(VerdictPage {
        verdicts: verdicts.into_iter().map(Into::into).collect(),
        next,
    }))
}
