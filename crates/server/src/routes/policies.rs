//! Versioned policies of the caller's tenant. A change stores a new version; every version
//! stays readable, and verdicts cite `name@version`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_store::StoredPolicy;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::engine::policy_from_toml;
use crate::error::{body_error, media_type, parse_json, ApiError, ApiQuery, ErrorBody};
use crate::routes::moderate::engine_error;
use crate::state::AppState;
use rampart_types::ErrorCode;

/// One version of a policy, without its text.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersion {
    pub name: String,
    pub version: u32,
    /// `name@version`, as verdicts cite it.
    pub id: String,
    /// Unix milliseconds; absent for the data dir's policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

/// One version of a policy with its TOML.
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    #[serde(flatten)]
    pub version: PolicyVersion,
    /// The policy as TOML.
    pub toml: String,
    /// `stored` (this tenant's) or `data_dir` (the server's, used until the tenant stores a
    /// policy of that name).
    pub source: String,
}

/// The tenant's policies.
#[derive(Serialize, ToSchema)]
pub struct PolicyList {
    /// The latest version of each.
    pub policies: Vec<PolicyVersion>,
    /// The policy a request without `policy` is moderated under.
    pub default: String,
}

/// Every version of a policy, oldest first.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersions {
    pub versions: Vec<PolicyVersion>,
}

/// `{"toml": "…"}`, the JSON form of a policy body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Policy TOML (README, "A policy": per-label thresholds, allow-lists, per-bank thresholds,
    /// detectors per content type). Its `name` and `version`, if given, are ignored: the path
    /// names it and the store numbers it.
    pub toml: String,
}

/// Which version to read.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A version number; the latest when absent.
    #[param(minimum = 1)]
    pub version: Option<u32>,
}

/// The data dir's policy as a version (it has no creation time).
fn base_version(base: &rampart_policy::Policy) -> PolicyVersion {
    PolicyVersion {
        name: base.name.clone(),
        version: base.version,
        id: base.id(),
        created_at: None,
    }
}

fn version_of(p: &StoredPolicy) -> PolicyVersion {
    PolicyVersion {
        name: p.name.clone(),
        version: p.version,
        id: format!("{}@{}", p.name, p.version),
        created_at: Some(p.created_at),
    }
}

/// Stored versions of the server's own policy name are numbered above the server's version, so
/// `default@1` never means two different policies.
fn version_floor(state: &AppState, name: &str) -> u32 {
    let base = state.engines.base_policy();
    if base.name == name {
        base.version
    } else {
        0
    }
}

/// List policies.
#[utoipa::path(get, path = "/v1/policies", tag = "policies",
    responses((status = 200, body = PolicyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PolicyList>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading policies")?;
    let stored = state.store.list_policies(caller.tenant()).await?;
    let mut policies: Vec<PolicyVersion> = stored.iter().map(version_of).collect();
    let base = state.engines.base_policy();
    if !stored.iter().any(|p| p.name == base.name) {
        policies.push(base_version(base));
    }
    let default = state
        .engines
        .text_moderator(caller.tenant(), None)
        .await
        .map_err(engine_error)?
        .policy
        .id();
    Ok(Json(PolicyList { policies, default }))
}

/// Store a new version of a policy.
#[utoipa::path(put, path = "/v1/policies/{name}", tag = "policies",
    params(("name" = String, Path, description = "1–64 characters of a-z A-Z 0-9 _ -")),
    request_body(content((PolicyBody = "application/json"), (String = "application/toml"), (String = "text/plain")),
        description = "Policy TOML, raw or as JSON {\"toml\"}"),
    responses((status = 201, body = PolicyVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<PolicyVersion>), ApiError> {
    caller.require(roles::EDIT_POLICIES, "changing policies")?;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(ApiError::invalid(
            "name",
            "a policy name is 1-64 characters of a-z A-Z 0-9 _ -",
        ));
    }
    let content_type = media_type(&request);
    let body = Bytes::from_request(request, &state)
        .await
        .map_err(body_error)?;
    let toml = if content_type.starts_with("application/json") {
        parse_json::<PolicyBody>(&body)?.toml
    } else if content_type.starts_with("application/toml") || content_type.starts_with("text/plain")
    {
        String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::invalid("toml", "the body is not UTF-8"))?
    } else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMedia,
            "send the policy as application/toml, text/plain, or JSON {\"toml\"}",
        ));
    };
    // Validate (the version is a placeholder: the store numbers it).
    policy_from_toml(&toml, &name, 1).map_err(|e| ApiError::invalid("toml", e))?;
    let version = state
        .store
        .put_policy_after(caller.tenant(), &name, &toml, version_floor(&state, &name))
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(policy = %name, version, by = %caller.0.key_id, "policy stored");
    let stored = state
        .store
        .get_policy(caller.tenant(), &name, Some(version))
        .await?
        .ok_or_else(|| ApiError::internal("stored policy vanished"))?;
    Ok((StatusCode::CREATED, Json(version_of(&stored))))
}

/// Read a policy (the latest version, or `?version=N`).
#[utoipa::path(get, path = "/v1/policies/{name}", tag = "policies",
    params(("name" = String, Path), VersionQuery),
    responses((status = 200, body = PolicyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<PolicyView>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading policies")?;
    if let Some(stored) = state
        .store
        .get_policy(caller.tenant(), &name, query.version)
        .await?
    {
        return Ok(Json(PolicyView {
            version: version_of(&stored),
            toml: stored.toml,
            source: "stored".into(),
        }));
    }
    let base = state.engines.base_policy();
    let has_stored = !state
        .store
        .policy_versions(caller.tenant(), &name)
        .await?
        .is_empty();
    let wanted_base = match query.version {
        Some(v) => v == base.version,
        None => !has_stored,
    };
    if name == base.name && wanted_base {
        return Ok(Json(PolicyView {
            version: base_version(base),
            toml: base.to_toml(),
            source: "data_dir".into(),
        }));
    }
    Err(ApiError::not_found("policy"))
}

/// Every version of a policy.
#[utoipa::path(get, path = "/v1/policies/{name}/versions", tag = "policies",
    params(("name" = String, Path)),
    responses((status = 200, body = PolicyVersions), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn policy_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PolicyVersions>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading policies")?;
    let stored = state.store.policy_versions(caller.tenant(), &name).await?;
    let mut versions = Vec::new();
    let base = state.engines.base_policy();
    if base.name == name {
        // The server's own version comes first: stored ones are numbered above it.
        versions.push(base_version(base));
    }
    versions.extend(stored.iter().map(version_of));
    if versions.is_empty() {
        return Err(ApiError::not_found("policy"));
    }
    Ok(Json(PolicyVersions { versions }))
}
