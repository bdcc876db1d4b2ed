//! The human-review queue (`/v1/reviews`) and appeals (`/v1/appeals`).
//!
//! Moderators and admins list, claim, release and decide items; a decision needs the
//! deciding key's live claim (bulk decisions take any item nobody else holds). Escalated
//! items are for admins. Appeals reopen content for a moderator other than the one who
//! decided it. Every change is audited by the store; a reach for another tenant's item is
//! answered `not_found` and audited as a security event.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_store::rampart_audit::{Action, NewEntry};
use rampart_store::{
    ClaimRule, NewDecision, ReviewCursor, ReviewDecision, ReviewFilter, ReviewItem, ReviewOutcome,
    ReviewReason, ReviewState, Role, StoreError, TenantId, MAX_REASON,
};
use rampart_types::{Label, Suggestion, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Most items per page, and per bulk decision.
pub const MAX_PAGE: u32 = 100;

/// Which items to list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `open` (default; escalated first, then priority, then age) or `decided` (newest
    /// decision first).
    pub state: Option<String>,
    /// Only items queued for this reason: `review`, `sample` or `appeal`.
    pub reason: Option<String>,
    /// Only escalated (`true`) or only not escalated (`false`) items.
    pub escalated: Option<bool>,
    /// `priority` (default) or `age` (oldest first); open items only.
    pub order: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// A page of the queue.
#[derive(Serialize, ToSchema)]
pub struct ReviewPage {
    /// Items: id, verdict_id, content_type, client_id, automated (the verdict's suggestion),
    /// reason, state, escalated, priority, created_at, claim {actor, until}, appeal
    /// {of_item, statement, excluded_actor}, decision {outcome, label, reason, actor, at},
    /// reverses, content [{part, media_type, t_ms, bytes}], purge_after, purged_at.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ReviewItem>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One item with its verdict and every decision made on it.
#[derive(Serialize, ToSchema)]
pub struct ReviewDetail {
    #[schema(value_type = Object)]
    pub item: ReviewItem,
    /// The automated verdict: labels, scores and evidence.
    #[schema(value_type = Object)]
    pub verdict: Option<Verdict>,
    /// Every decision, escalations included, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<ReviewDecision>,
}

/// A decision on one item.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve` (leave up: the verdict becomes pass), `remove` (take down: block) or
    /// `escalate` (to an admin; the item stays open).
    pub outcome: String,
    /// The label a removal is for; default the verdict's top flagged label.
    #[schema(max_length = 64)]
    pub label: Option<String>,
    /// Why (≤ 1000 bytes; required for remove and escalate). Quoted in the statement of
    /// reasons: no personal data.
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// One decision for many items.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDecisionRequest {
    /// 1–100 item ids.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<String>,
    /// `approve` or `remove` (escalation is one item at a time).
    pub outcome: String,
    #[schema(max_length = 64)]
    pub label: Option<String>,
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// What happened to each item of a bulk decision, in request order.
#[derive(Serialize, ToSchema)]
pub struct BulkDecisionResult {
    pub results: Vec<BulkOutcome>,
}

/// One item's result.
#[derive(Serialize, ToSchema)]
pub struct BulkOutcome {
    pub id: String,
    /// `decided`, or the error code (`conflict`, `not_found`, `forbidden`, …).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An appeal against a decision on content.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    /// The verdict id, or your `client_id` of the content (its latest verdict).
    #[schema(min_length = 1, max_length = 256)]
    pub content_id: String,
    /// The appellant's statement (≤ 1000 bytes).
    #[schema(max_length = 1000)]
    pub statement: Option<String>,
}

fn parse_filter(query: &ReviewQuery) -> Result<ReviewFilter, ApiError> {
    let state = match query.state.as_deref() {
        None | Some("open") => ReviewState::Open,
        Some("decided") => ReviewState::Decided,
        Some(_) => return Err(ApiError::invalid("state", "state must be open or decided")),
    };
    let reason = match query.reason.as_deref() {
        None => None,
        Some(r) => Some(
            ReviewReason::ALL
                .iter()
                .copied()
                .find(|x| x.as_str() == r)
                .ok_or_else(|| {
                    ApiError::invalid("reason", "reason must be review, sample or appeal")
                })?,
        ),
    };
    let oldest_first = match query.order.as_deref() {
        None | Some("priority") => false,
        Some("age") => true,
        Some(_) => return Err(ApiError::invalid("order", "order must be priority or age")),
    };
    Ok(ReviewFilter {
        state,
        reason,
        escalated: query.escalated,
        oldest_first,
    })
}

/// The tenant's items, a page at a time.
pub(crate) async fn list_page(
    state: &AppState,
    tenant: TenantId,
    query: &ReviewQuery,
) -> Result<ReviewPage, ApiError> {
    let filter = parse_filter(query)?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let after = match query.after.as_deref() {
        None => None,
        Some(text) => Some(ReviewCursor::decode(text).ok_or_else(|| {
            ApiError::invalid("after", "after must be a next cursor of this list")
        })?),
    };
    let items = state
        .store
        .list_review_items(tenant, &filter, after.as_ref(), limit)
        .await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|i| ReviewCursor::after(i).encode()))
        .flatten();
    Ok(ReviewPage { items, next })
}

/// List the review queue.
#[utoipa::path(get, path = "/v1/reviews", tag = "reviews", params(ReviewQuery),
    responses((status = 200, body = ReviewPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_reviews(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ReviewQuery>,
) -> Result<Json<ReviewPage>, ApiError> {
    caller.require(roles::READ_REVIEWS, "reading the review queue")?;
    Ok(Json(list_page(&state, caller.tenant(), &query).await?))
}

/// An item of `tenant`, or `not_found`; a reach for another tenant's item is audited in the
/// caller's chain as a security event (the caller learns nothing from the answer).
pub(crate) async fn item_of(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<ReviewItem, ApiError> {
    if let Some(item) = state.store.get_review_item(tenant, id).await? {
        return Ok(item);
    }
    if let Ok(Some(owner)) = state.store.review_item_owner(id).await {
        if owner != tenant {
            security_event(
                state,
                tenant,
                "review item of another tenant",
                &format!("review:{id}"),
            )
            .await;
        }
    }
    Err(ApiError::not_found("review item"))
}

/// Appends a `security_refused` entry to `tenant`'s chain (best effort: logged if it fails).
pub(crate) async fn security_event(state: &AppState, tenant: TenantId, what: &str, subject: &str) {
    let name = match state.store.tenant(tenant).await {
        Ok(Some(t)) => t.name,
        _ => return,
    };
    let entry = NewEntry {
        ts_ms: crate::jobs::now_ms(),
        tenant: name,
        actor: rampart_store::current_actor(),
        action: Action::SecurityRefused,
        subject: subject.to_owned(),
        payload: serde_json::json!({ "refused": what }),
    };
    tracing::warn!(what, subject, "security event refused");
    if let Err(error) = state.store.append_audit(&entry).await {
        tracing::warn!(%error, "auditing a security event failed");
    }
}

/// The item with its verdict and decision history.
pub(crate) async fn detail(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<ReviewDetail, ApiError> {
    let item = item_of(state, tenant, id).await?;
    let verdict = state
        .store
        .get_verdict(tenant, &item.verdict_id)
        .await?
        .map(|v| v.verdict);
    let history = state.store.review_history(tenant, id).await?;
    Ok(ReviewDetail {
        item,
        verdict,
        history,
    })
}

/// One item, its verdict and its history.
#[utoipa::path(get, path = "/v1/reviews/{id}", tag = "reviews",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, body = ReviewDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewDetail>, ApiError> {
    caller.require(roles::READ_REVIEWS, "reading the review queue")?;
    Ok(Json(detail(&state, caller.tenant(), &id).await?))
}

/// The bytes of a kept content part, served so a browser can never run them: the stored
/// type only when it is a plain image or text type, `nosniff`, a sandboxing CSP, no caching.
pub(crate) async fn content_response(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    part: u32,
) -> Result<Response, ApiError> {
    item_of(state, tenant, id).await?;
    let content = state
        .store
        .review_content(tenant, id, part)
        .await?
        .ok_or_else(|| ApiError::not_found("content part (purged, or never kept)"))?;
    let media_type: &'static str = match content.media_type.as_str() {
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "image/gif" => "image/gif",
        "image/webp" => "image/webp",
        "image/bmp" => "image/bmp",
        t if t == crate::review::TEXT_MEDIA_TYPE => crate::review::TEXT_MEDIA_TYPE,
        _ => "application/octet-stream",
    };
    let mut response = Response::new(Body::from(content.data));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}

/// A kept content part of an item (the text, the image, a video frame), while it is kept.
#[utoipa::path(get, path = "/v1/reviews/{id}/content/{part}", tag = "reviews",
    params(("id" = String, Path, description = "Item id"), ("part" = u32, Path, description = "Part number")),
    responses((status = 200, description = "The bytes, as image/* or text/plain"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_review_content(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, part)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(roles::REVIEW, "seeing content under review")?;
    let part: u32 = part
        .parse()
        .map_err(|_| ApiError::invalid("part", "part must be a part number"))?;
    content_response(&state, caller.tenant(), &id, part).await
}

/// Escalated items are decided (and claimed) by admins only.
fn check_escalation(item: &ReviewItem, role: Role) -> Result<(), ApiError> {
    if item.escalated && role != Role::Admin {
        return Err(ApiError::new(
            rampart_types::ErrorCode::Forbidden,
            "this item is escalated: an admin decides it",
        ));
    }
    Ok(())
}

/// Claims an item as the calling key, for the tenant's claim time.
pub(crate) async fn claim(
    state: &AppState,
    tenant: TenantId,
    role: Role,
    id: &str,
) -> Result<ReviewItem, ApiError> {
    let item = item_of(state, tenant, id).await?;
    check_escalation(&item, role)?;
    let lease_ms = settings(state, tenant).await.claim_minutes * 60_000.0;
    state
        .store
        .claim_review(tenant, id, lease_ms as u64)
        .await
        .map_err(|e| refusal(state, tenant, id, e))
}

/// A store refusal as an API error; a `Forbidden` (deciding one's own appealed decision) is
/// also audited as a security event.
fn refusal(state: &AppState, tenant: TenantId, id: &str, e: StoreError) -> ApiError {
    if matches!(e, StoreError::Forbidden(_)) {
        let (state, id) = (state.clone(), id.to_owned());
        // Spawned tasks do not inherit the request's audit actor: carry it over.
        let actor = rampart_store::current_actor();
        tokio::spawn(rampart_store::acting_as(actor, async move {
            security_event(
                &state,
                tenant,
                "deciding an appeal against one's own decision",
                &format!("review:{id}"),
            )
            .await;
        }));
    }
    e.into()
}

/// The review settings of the tenant's default policy.
pub(crate) async fn settings(state: &AppState, tenant: TenantId) -> rampart_policy::ReviewSettings {
    match state.engines.text_moderator(tenant, None).await {
        Ok(m) => m.policy.review.clone(),
        Err(_) => state.engines.base_policy().review.clone(),
    }
}

/// Claim an item (a lease for the policy's `review.claim_minutes`; claiming again renews it).
#[utoipa::path(post, path = "/v1/reviews/{id}/claim", tag = "reviews",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, body = Object, description = "The item"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "conflict: claimed by another moderator, or decided")),
    security(("bearer" = [])))]
pub async fn claim_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewItem>, ApiError> {
    caller.require(roles::REVIEW, "claiming review items")?;
    Ok(Json(
        claim(&state, caller.tenant(), caller.0.role, &id).await?,
    ))
}

/// Give up your claim on an item.
#[utoipa::path(post, path = "/v1/reviews/{id}/release", tag = "reviews",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, body = Object, description = "The item"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "conflict: you hold no claim")),
    security(("bearer" = [])))]
pub async fn release_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewItem>, ApiError> {
    caller.require(roles::REVIEW, "releasing review items")?;
    item_of(&state, caller.tenant(), &id).await?;
    Ok(Json(
        state.store.release_review(caller.tenant(), &id).await?,
    ))
}

/// Checks a decision and fills in its defaults against the item's verdict.
pub(crate) fn new_decision(
    outcome: &str,
    label: Option<&str>,
    reason: Option<&str>,
    verdict: Option<&Verdict>,
    bulk: bool,
) -> Result<NewDecision, ApiError> {
    let outcome = match outcome {
        "approve" => ReviewOutcome::Approve,
        "remove" => ReviewOutcome::Remove,
        "escalate" if !bulk => ReviewOutcome::Escalate,
        _ => {
            return Err(ApiError::invalid(
                "outcome",
                if bulk {
                    "outcome must be approve or remove"
                } else {
                    "outcome must be approve, remove or escalate"
                },
            ))
        }
    };
    let reason = reason.unwrap_or("").trim().to_owned();
    if reason.len() > MAX_REASON {
        return Err(ApiError::invalid(
            "reason",
            format!("reason is longer than {MAX_REASON} bytes"),
        ));
    }
    if reason.is_empty() && outcome != ReviewOutcome::Approve {
        return Err(ApiError::invalid(
            "reason",
            "a removal or escalation needs a reason (it goes into the statement of reasons)",
        ));
    }
    let label = match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => Some(
            l.parse::<Label>()
                .map_err(|_| ApiError::invalid("label", format!("unknown label '{l}'")))?
                .as_str()
                .to_owned(),
        ),
        None if outcome == ReviewOutcome::Remove => verdict.and_then(top_label),
        None => None,
    };
    if outcome == ReviewOutcome::Remove && label.is_none() {
        return Err(ApiError::invalid(
            "label",
            "a removal needs the label it is for (the verdict flagged none)",
        ));
    }
    Ok(NewDecision {
        outcome,
        label,
        reason,
    })
}

/// The verdict's flagged label with the highest score.
pub(crate) fn top_label(verdict: &Verdict) -> Option<String> {
    verdict
        .labels
        .iter()
        .filter(|l| l.suggestion != Suggestion::Pass)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .map(|l| l.label.as_str().to_owned())
}

/// A decision as a request or form states it, before it is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecisionInput<'a> {
    pub outcome: &'a str,
    pub label: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Decides an item as the calling key.
pub(crate) async fn decide(
    state: &AppState,
    tenant: TenantId,
    role: Role,
    id: &str,
    input: DecisionInput<'_>,
    rule: ClaimRule,
) -> Result<ReviewItem, ApiError> {
    let DecisionInput {
        outcome,
        label,
        reason,
    } = input;
    let item = item_of(state, tenant, id).await?;
    check_escalation(&item, role)?;
    let verdict = state.store.get_verdict(tenant, &item.verdict_id).await?;
    let decision = new_decision(
        outcome,
        label,
        reason,
        verdict.as_ref().map(|v| &v.verdict),
        rule == ClaimRule::UnlessHeldByOther,
    )?;
    let settings = settings(state, tenant).await;
    let actor = rampart_store::current_actor();
    let webhook = crate::review::decision_delivery(
        state,
        &item,
        decision.outcome,
        decision.label.as_deref(),
        &decision.reason,
        &actor,
    )
    .await;
    let retention_ms = (settings.retention_hours * 3_600_000.0) as u64;
    let decided = state
        .store
        .decide_review(tenant, id, &decision, rule, retention_ms, webhook)
        .await
        .map_err(|e| refusal(state, tenant, id, e))?;
    metrics::counter!("rampart_review_decisions_total", "outcome" => decision.outcome.as_str())
        .increment(1);
    Ok(decided)
}

/// Decide an item you have claimed.
#[utoipa::path(post, path = "/v1/reviews/{id}/decision", tag = "reviews",
    params(("id" = String, Path, description = "Item id")),
    request_body = DecisionRequest,
    responses((status = 200, body = Object, description = "The decided (or escalated) item"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "forbidden: an appeal of your own decision, or an escalated item without admin"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "conflict: not claimed by you, claim expired, or already decided")),
    security(("bearer" = [])))]
pub async fn decide_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Result<Json<ReviewItem>, ApiError> {
    caller.require(roles::REVIEW, "deciding review items")?;
    Ok(Json(
        decide(
            &state,
            caller.tenant(),
            caller.0.role,
            &id,
            DecisionInput {
                outcome: &request.outcome,
                label: request.label.as_deref(),
                reason: request.reason.as_deref(),
            },
            ClaimRule::Required,
        )
        .await?,
    ))
}

/// Runs one decision over many items (each nobody else holds a claim on).
pub(crate) async fn bulk(
    state: &AppState,
    tenant: TenantId,
    role: Role,
    ids: &[String],
    input: DecisionInput<'_>,
) -> Result<Vec<BulkOutcome>, ApiError> {
    let DecisionInput {
        outcome,
        label,
        reason,
    } = input;
    if ids.is_empty() || ids.len() > MAX_PAGE as usize {
        return Err(ApiError::invalid(
            "items",
            format!("items must hold 1 to {MAX_PAGE} ids"),
        ));
    }
    // Refuse a bad decision once, before touching any item.
    new_decision(outcome, label.or(Some("spam")), reason, None, true)?;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let result = decide(state, tenant, role, id, input, ClaimRule::UnlessHeldByOther).await;
        results.push(match result {
            Ok(_) => BulkOutcome {
                id: id.clone(),
                status: "decided".into(),
                message: None,
            },
            Err(e) => BulkOutcome {
                id: id.clone(),
                status: e.code.as_str().into(),
                message: Some(e.message),
            },
        });
    }
    Ok(results)
}

/// Decide many items at once (approve or remove).
#[utoipa::path(post, path = "/v1/reviews/decisions", tag = "reviews",
    request_body = BulkDecisionRequest,
    responses((status = 200, body = BulkDecisionResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn bulk_decide(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<BulkDecisionRequest>,
) -> Result<Json<BulkDecisionResult>, ApiError> {
    caller.require(roles::REVIEW, "deciding review items")?;
    let results = bulk(
        &state,
        caller.tenant(),
        caller.0.role,
        &request.items,
        DecisionInput {
            outcome: &request.outcome,
            label: request.label.as_deref(),
            reason: request.reason.as_deref(),
        },
    )
    .await?;
    Ok(Json(BulkDecisionResult { results }))
}

/// Appeal a decision: reopens the content for review by a moderator other than the one who
/// decided it.
#[utoipa::path(post, path = "/v1/appeals", tag = "reviews",
    request_body = AppealRequest,
    responses((status = 201, body = Object, description = "The new appeal item"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "not_found: no such content"),
        (status = 409, body = ErrorBody, description = "conflict: the content is already in the queue")),
    security(("bearer" = [])))]
pub async fn create_appeal(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AppealRequest>,
) -> Result<Response, ApiError> {
    caller.require(roles::APPEAL, "filing appeals")?;
    let item = state
        .store
        .open_appeal(
            caller.tenant(),
            &request.content_id,
            request.statement.as_deref().unwrap_or(""),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_need_a_known_outcome_a_reason_to_restrict_and_a_label_to_remove() {
        assert!(new_decision("approve", None, None, None, false).is_ok());
        assert_eq!(
            new_decision("remove", Some("hate"), Some("slur"), None, false)
                .unwrap()
                .label
                .as_deref(),
            Some("hate")
        );
        for (outcome, label, reason, bulk, field) in [
            ("delete", None, Some("x"), false, "outcome"),
            ("escalate", None, Some("x"), true, "outcome"),
            ("remove", Some("hate"), None, false, "reason"),
            ("escalate", None, Some("  "), false, "reason"),
            ("remove", None, Some("x"), false, "label"),
            ("remove", Some("politics"), Some("x"), false, "label"),
        ] {
            let e = new_decision(outcome, label, reason, None, bulk).unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some(field),
                "{outcome} {label:?} {reason:?}"
            );
        }
        let long = "x".repeat(MAX_REASON + 1);
        assert!(new_decision("approve", None, Some(&long), None, false).is_err());
    }
}
