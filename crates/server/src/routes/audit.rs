//! The caller's tenant's audit chain: read it, verify it, and get its head to publish.
//!
//! Reading never writes: fetching the head does not append an entry (a `GET` that changed the
//! chain would make every verification move the head it verifies).

use axum::extract::State;
use axum::Json;
use rampart_store::rampart_audit::{Entry, Head, VerifyReport};
use rampart_store::MAX_LIST_LIMIT;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;

/// One sealed entry of the chain, with its payload while it is kept.
///
/// `hash` = lowercase hex SHA-256 of the 32 bytes of `prev` followed by the RFC 8785
/// canonical JSON of this object without `hash` and `payload`.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Position in the tenant's chain, from 1 without gaps.
    pub seq: u64,
    /// Unix milliseconds.
    pub ts_ms: i64,
    /// The tenant's name.
    pub tenant: String,
    /// `key:<id>`, `cli` or `system`.
    pub actor: String,
    /// What was done, e.g. `verdict_recorded`, `library_changed`.
    pub action: String,
    /// What it was done to, e.g. `verdict:<id>`, `library:<name>`.
    pub subject: String,
    /// SHA-256 of the canonical JSON of `payload`.
    pub payload_sha256: String,
    /// `hash` of the previous entry (64 zeros for seq 1).
    pub prev: String,
    pub hash: String,
    /// The details; `null` once purged or redacted (the chain still verifies).
    #[schema(value_type = Object)]
    pub payload: Option<Value>,
}

impl AuditEntryView {
    fn new(entry: Entry, payload: Option<Value>) -> Self {
        AuditEntryView {
            seq: entry.seq,
            ts_ms: entry.ts_ms,
            tenant: entry.tenant,
            actor: entry.actor,
            action: entry.action.as_str().to_owned(),
            subject: entry.subject,
            payload_sha256: entry.payload_sha256,
            prev: entry.prev,
            hash: entry.hash,
            payload,
        }
    }
}

/// A page of the chain.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Paging of the chain.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries with a greater seq (default 0: from the start); at most 2^63 − 1, the
    /// largest seq the store can hold.
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub after: Option<u64>,
    /// At most this many (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The chain's last entry, in brief, and the one-line form to publish.
#[derive(Serialize, ToSchema)]
pub struct HeadView {
    pub tenant: String,
    pub seq: u64,
    pub hash: String,
    /// Unix milliseconds.
    pub ts_ms: i64,
    /// `rampart-audit-head v1 tenant=… seq=… hash=… ts=…`: publish this somewhere the operator
    /// cannot rewrite; `rampart audit check-head` later proves the chain still contains it.
    pub line: String,
}

impl From<Head> for HeadView {
    fn from(head: Head) -> Self {
        HeadView {
            line: head.to_string(),
            tenant: head.tenant,
            seq: head.seq,
            hash: head.hash,
            ts_ms: head.ts_ms,
        }
    }
}

/// Where verification stopped.
#[derive(Serialize, ToSchema)]
pub struct BrokenView {
    /// The first entry that does not verify.
    pub seq: u64,
    /// `seq_gap`, `tenant_mismatch`, `prev_mismatch`, `hash_mismatch` or `payload_mismatch`,
    /// with `expected`/`found` where they apply.
    #[schema(value_type = Object)]
    pub reason: Value,
    /// The reason in words.
    pub message: String,
}

/// The outcome of walking the whole chain.
#[derive(Serialize, ToSchema)]
pub struct VerifyView {
    /// True if every entry verified.
    pub intact: bool,
    /// Entries examined, including the broken one.
    pub entries_checked: u64,
    /// Entries whose payload was purged or redacted: their links verify, their details cannot.
    pub payloads_missing: u64,
    /// The last entry that verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<HeadView>,
    /// The first broken link, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<BrokenView>,
}

impl From<VerifyReport> for VerifyView {
    fn from(report: VerifyReport) -> Self {
        VerifyView {
            intact: report.is_intact(),
            entries_checked: report.entries_checked,
            payloads_missing: report.payloads_missing,
            head: report.head.map(HeadView::from),
            first_broken: report.first_broken.map(|broken| BrokenView {
                seq: broken.seq,
                message: format!("entry {}: {}", broken.seq, broken.reason),
                reason: serde_json::to_value(&broken.reason).unwrap_or(Value::Null),
            }),
        }
    }
}

/// Read the audit chain, oldest first.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(roles::READ_AUDIT, "reading the audit log")?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_LIST_LIMIT}"),
        ));
    }
    let after = query.after.unwrap_or(0);
    if after > i64::MAX as u64 {
        return Err(ApiError::invalid(
            "after",
            "after is a seq: 0 to 9223372036854775807",
        ));
    }
    let entries = state
        .store
        .list_audit(caller.tenant(), after, limit)
        .await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|(e, _)| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries: entries
            .into_iter()
            .map(|(entry, payload)| AuditEntryView::new(entry, payload))
            .collect(),
        next,
    }))
}

/// Verify the whole audit chain and name its first broken link.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyView, description = "The report; `intact` says whether the chain verified"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<VerifyView>, ApiError> {
    caller.require(roles::READ_AUDIT, "verifying the audit log")?;
    let report = rampart_store::verify_chain(state.store.as_ref(), caller.tenant()).await?;
    if let Some(broken) = &report.first_broken {
        tracing::warn!(seq = broken.seq, reason = %broken.reason, "audit chain broken");
    }
    Ok(Json(report.into()))
}

/// The chain's head, with the line to publish.
#[utoipa::path(get, path = "/v1/audit/head", tag = "audit",
    responses((status = 200, body = HeadView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "The chain is empty")),
    security(("bearer" = [])))]
pub async fn audit_head(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<HeadView>, ApiError> {
    caller.require(roles::READ_AUDIT, "reading the audit log")?;
    match state.store.audit_head(caller.tenant()).await? {
        Some(head) => Ok(Json(head.into())),
        None => Err(ApiError::not_found("audit entry")),
    }
}
