//! The review queue, appeals, retention purges and console sessions on either backend. The
//! rules are in the `review` module's docs; each method here is one transaction.

use rampart_audit::Action;
use serde_json::json;
use sqlx::Row;

use super::{count, later, now_ms, sha256_hex, Pool, SqlStore};
use crate::audit::{current_actor, AuditConn, Change};

use crate::error::classify;
use crate::model::*;
use crate::review::*;
use crate::{keys, StoreError, MAX_LIST_LIMIT};

const ITEM_COLUMNS: &str = "id, tenant_id, verdict_id, content_type, client_id, automated, \
    reason, state, escalated, priority, created_at, claimed_by, claim_until, appeal_of, \
    appeal_statement, excluded_actor, outcome, decided_label, decided_reason, decided_by, \
    decided_at, reverses, purge_after, purged_at";

macro_rules! item_from {
    ($row:expr) => {{
        let r = &$row;
        let claim = match (
            r.try_get::<Option<String>, _>("claimed_by")?,
            r.try_get::<Option<i64>, _>("claim_until")?,
        ) {
            (Some(actor), Some(until)) => Some(Claim { actor, until }),
            _ => None,
        };
        let reason: ReviewReason = r.try_get::<String, _>("reason")?.parse()?;
        let statement: Option<String> = r.try_get("appeal_statement")?;
        let appeal = (reason == ReviewReason::Appeal).then(|| Appeal {
            of_item: r.try_get("appeal_of").ok().flatten(),
            statement: statement.unwrap_or_default(),
            excluded_actor: r.try_get("excluded_actor").ok().flatten(),
        });
        let decision = match r.try_get::<Option<String>, _>("outcome")? {
            Some(outcome) => Some(ReviewDecision {
                outcome: outcome.parse()?,
                label: r.try_get("decided_label")?,
                reason: r
                    .try_get::<Option<String>, _>("decided_reason")?
                    .unwrap_or_default(),
                actor: r
                    .try_get::<Option<String>, _>("decided_by")?
                    .unwrap_or_default(),
                at: r.try_get::<Option<i64>, _>("decided_at")?.unwrap_or(0),
            }),
            None => None,
        };
        ReviewItem {
            id: r.try_get("id")?,
            tenant: TenantId(r.try_get("tenant_id")?),
            verdict_id: r.try_get("verdict_id")?,
            content_type: r.try_get("content_type")?,
            client_id: r.try_get("client_id")?,
            automated: suggestion(&r.try_get::<String, _>("automated")?)?,
            reason,
            state: r.try_get::<String, _>("state")?.parse()?,
            escalated: r.try_get::<i64, _>("escalated")? != 0,
            priority: count(r.try_get("priority")?),
            created_at: r.try_get("created_at")?,
            claim,
            appeal,
            decision,
            reverses: r.try_get::<Option<i64>, _>("reverses")?.map(|v| v != 0),
            content: Vec::new(),
            purge_after: r.try_get("purge_after")?,
            purged_at: r.try_get("purged_at")?,
        }
    }};
}

fn suggestion(s: &str) -> Result<rampart_types::Suggestion, StoreError> {
    use rampart_types::Suggestion::*;
    match s {
        "pass" => Ok(Pass),
        "review" => Ok(Review),
        "block" => Ok(Block),
        other => Err(StoreError::Integrity(format!(
            "unknown suggestion '{other}'"
        ))),
    }
}

fn not_found() -> StoreError {
    StoreError::NotFound("review item".into())
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix-millisecond time, for messages (the bare number of
/// milliseconds for a time outside the years -9999..=9999).
fn utc(ms: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// What a claim check found, for the error a caller gets.
fn claim_conflict(
    claimed_by: Option<&str>,
    claim_until: Option<i64>,
    actor: &str,
    now: i64,
    rule: ClaimRule,
) -> Option<StoreError> {
    let live = claim_until.is_some_and(|u| u > now);
    match (claimed_by, live, rule) {
        (Some(by), true, _) if by != actor => Some(StoreError::StateConflict(format!(
            "this item is claimed by {by} until {}",
            utc(claim_until.unwrap_or(0))
        ))),
        (Some(by), false, ClaimRule::Required) if by == actor => {
            Some(StoreError::StateConflict(format!(
                "your claim on this item expired at {}; claim it again",
                utc(claim_until.unwrap_or(0))
            )))
        }
        (_, _, ClaimRule::Required) if !(live && claimed_by == Some(actor)) => Some(
            StoreError::StateConflict("claim this item before deciding it".into()),
        ),
        _ => None,
    }
}

impl SqlStore {
    async fn with_content(&self, mut item: ReviewItem) -> Result<ReviewItem, StoreError> {
        let rows = on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT part, media_type, t_ms, CAST(LENGTH(data) AS BIGINT) AS bytes \
                 FROM review_content WHERE tenant_id = $1 AND item_id = $2 ORDER BY part",
            )
            .bind(item.tenant.0)
            .bind(&item.id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> Result<ContentPartInfo, StoreError> {
                Ok(ContentPartInfo {
                    part: count(r.try_get("part")?),
                    media_type: r.try_get("media_type")?,
                    t_ms: r.try_get("t_ms")?,
                    bytes: r.try_get::<i64, _>("bytes")?.max(0) as u64,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        item.content = rows;
        Ok(item)
    }

    pub(super) async fn review_get(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<ReviewItem>, StoreError> {
        let sql =
            format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE tenant_id = $1 AND id = $2");
        let item = on_pool!(&self.pool, |pool| {
            match sqlx::query(&sql)
                .bind(tenant.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(item_from!(r)),
                None => None,
            }
        });
        match item {
            Some(item) => Ok(Some(self.with_content(item).await?)),
            None => Ok(None),
        }
    }

    pub(super) async fn review_owner(&self, id: &str) -> Result<Option<TenantId>, StoreError> {
        let owner: Option<i64> = on_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT tenant_id FROM review_items WHERE id = $1 LIMIT 1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(owner.map(TenantId))
    }

    pub(super) async fn review_list(
        &self,
        tenant: TenantId,
        filter: &ReviewFilter,
        after: Option<&ReviewCursor>,
        limit: u32,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let (condition, order, e, p, at, id) = match (filter.state, filter.oldest_first) {
            (ReviewState::Open, false) => (
                "(escalated < $5 OR (escalated = $5 AND (priority < $6 OR (priority = $6 AND \
                 (created_at > $7 OR (created_at = $7 AND id > $8))))))",
                "escalated DESC, priority DESC, created_at, id",
                after.map_or(2, |c| i64::from(c.escalated)),
                after.map_or(0, |c| i64::from(c.priority)),
                after.map_or(i64::MIN, |c| c.at),
                after.map_or(String::new(), |c| c.id.clone()),
            ),
            (ReviewState::Open, true) => (
                "($5 = $5 AND $6 = $6 AND (created_at > $7 OR (created_at = $7 AND id > $8)))",
                "created_at, id",
                0,
                0,
                after.map_or(i64::MIN, |c| c.at),
                after.map_or(String::new(), |c| c.id.clone()),
            ),
            (ReviewState::Decided, _) => (
                "($5 = $5 AND $6 = $6 AND (decided_at < $7 OR (decided_at = $7 AND id < $8)))",
                "decided_at DESC, id DESC",
                0,
                0,
                after.map_or(i64::MAX, |c| c.at),
                after.map_or("~".to_owned(), |c| c.id.clone()),
            ),
        };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM review_items WHERE tenant_id = $1 AND state = $2 \
             AND (CAST($3 AS TEXT) IS NULL OR reason = $3) \
             AND (CAST($4 AS BIGINT) IS NULL OR escalated = $4) AND {condition} \
             ORDER BY {order} LIMIT $9"
        );
        let items: Vec<ReviewItem> = on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(tenant.0)
                .bind(filter.state.as_str())
                .bind(filter.reason.map(|r| r.as_str()))
                .bind(filter.escalated.map(i64::from))
                .bind(e)
                .bind(p)
                .bind(at)
                .bind(id)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(item_from!(r)))
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.with_content(item).await?);
        }
        Ok(out)
    }

    pub(super) async fn review_part(
        &self,
        tenant: TenantId,
        id: &str,
        part: u32,
    ) -> Result<Option<ContentPart>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query(
                "SELECT media_type, t_ms, data FROM review_content \
                 WHERE tenant_id = $1 AND item_id = $2 AND part = $3",
            )
            .bind(tenant.0)
            .bind(id)
            .bind(i64::from(part))
            .fetch_optional(pool)
            .await?;
            Ok(match row {
                Some(r) => Some(ContentPart {
                    media_type: r.try_get("media_type")?,
                    t_ms: r.try_get("t_ms")?,
                    data: r.try_get("data")?,
                }),
                None => None,
            })
        })
    }

    pub(super) async fn review_claim(
        &self,
        tenant: TenantId,
        id: &str,
        lease_ms: u64,
    ) -> Result<ReviewItem, StoreError> {
        let actor = current_actor();
        let now = now_ms();
        let until = later(now, lease_ms);
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            // Check and change under the tenant's chain lock (taken for the audit entry anyway):
            // on PostgreSQL (READ COMMITTED) a plain read would let two concurrent claims or
            // decisions both pass the checks below. A no-op on SQLite (BEGIN IMMEDIATE).
            tx.lock_chain(tenant.0).await?;
            let row = sqlx::query(
                "SELECT state, claimed_by, claim_until, excluded_actor, verdict_id \
                 FROM review_items WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?;
            let state: String = row.try_get("state")?;
            let claimed_by: Option<String> = row.try_get("claimed_by")?;
            let claim_until: Option<i64> = row.try_get("claim_until")?;
            let excluded: Option<String> = row.try_get("excluded_actor")?;
            let verdict_id: String = row.try_get("verdict_id")?;
            if state != "open" {
                return Err(StoreError::StateConflict(
                    "this item is already decided".into(),
                ));
            }
            if excluded.as_deref() == Some(actor.as_str()) {
                return Err(StoreError::Forbidden(
                    "this appeal is against your own decision: another moderator must review it"
                        .into(),
                ));
            }
            if let Some(e) = claim_conflict(
                claimed_by.as_deref(),
                claim_until,
                &actor,
                now,
                ClaimRule::UnlessHeldByOther,
            ) {
                return Err(e);
            }
            sqlx::query(
                "UPDATE review_items SET claimed_by = $3, claim_until = $4 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .bind(&actor)
            .bind(until)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                tenant.0,
                Action::ReviewClaimed,
                format!("review:{id}"),
                json!({ "item": id, "verdict_id": verdict_id, "until": until })
            );
            tx.commit().await?;
        });
        self.review_get(tenant, id).await?.ok_or_else(not_found)
    }

    pub(super) async fn review_release(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<ReviewItem, StoreError> {
        let actor = current_actor();
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            // Serialised per tenant, as in `review_claim`.
            tx.lock_chain(tenant.0).await?;
            let row = sqlx::query(
                "SELECT state, claimed_by, claim_until FROM review_items \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?;
            let claimed_by: Option<String> = row.try_get("claimed_by")?;
            let claim_until: Option<i64> = row.try_get("claim_until")?;
            let mine = claimed_by.as_deref() == Some(actor.as_str())
                && claim_until.is_some_and(|u| u > now);
            if row.try_get::<String, _>("state")? != "open" || !mine {
                return Err(StoreError::StateConflict(
                    "you hold no claim on this item".into(),
                ));
            }
            sqlx::query(
                "UPDATE review_items SET claimed_by = NULL, claim_until = NULL \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                tenant.0,
                Action::ReviewReleased,
                format!("review:{id}"),
                json!({ "item": id })
            );
            tx.commit().await?;
        });
        self.review_get(tenant, id).await?.ok_or_else(not_found)
    }

    pub(super) async fn review_decide(
        &self,
        tenant: TenantId,
        id: &str,
        decision: &NewDecision,
        rule: ClaimRule,
        retention_ms: u64,
        webhook: Option<NewDelivery>,
    ) -> Result<ReviewItem, StoreError> {
        check_reason("reason", &decision.reason)?;
        if let Some(label) = &decision.label {
            crate::validate::name("label", label)?;
        }
        if let Some(d) = &webhook {
            crate::validate::delivery(d)?;
        }
        let actor = current_actor();
        let now = now_ms();
        let delivery_id = self.new_id();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            // Serialised per tenant, as in `review_claim`.
            tx.lock_chain(tenant.0).await?;
            let row = sqlx::query(
                "SELECT state, claimed_by, claim_until, excluded_actor, verdict_id, automated, \
                 reason, appeal_of FROM review_items WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?;
            let claimed_by: Option<String> = row.try_get("claimed_by")?;
            let claim_until: Option<i64> = row.try_get("claim_until")?;
            let excluded: Option<String> = row.try_get("excluded_actor")?;
            let verdict_id: String = row.try_get("verdict_id")?;
            let automated: String = row.try_get("automated")?;
            let reason: String = row.try_get("reason")?;
            let appeal_of: Option<String> = row.try_get("appeal_of")?;
            if row.try_get::<String, _>("state")? != "open" {
                return Err(StoreError::StateConflict(
                    "this item is already decided".into(),
                ));
            }
            if excluded.as_deref() == Some(actor.as_str()) {
                return Err(StoreError::Forbidden(
                    "this appeal is against your own decision: another moderator must review it"
                        .into(),
                ));
            }
            if let Some(e) = claim_conflict(claimed_by.as_deref(), claim_until, &actor, now, rule) {
                return Err(e);
            }
            let n: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM review_decisions \
                 WHERE tenant_id = $1 AND item_id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO review_decisions (tenant_id, item_id, n, outcome, label, reason, \
                 actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant.0)
            .bind(id)
            .bind(n)
            .bind(decision.outcome.as_str())
            .bind(decision.label.as_deref())
            .bind(&decision.reason)
            .bind(&actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let is_appeal = reason == ReviewReason::Appeal.as_str();
            if decision.outcome == ReviewOutcome::Escalate {
                sqlx::query(
                    "UPDATE review_items SET escalated = 1, claimed_by = NULL, \
                     claim_until = NULL WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                audit!(
                    tx,
                    tenant.0,
                    Action::ReviewDecided,
                    format!("review:{id}"),
                    json!({
                        "item": id, "verdict_id": verdict_id, "outcome": "escalate",
                        "label": decision.label, "reason": decision.reason,
                    })
                );
                tx.commit().await?;
                return self.review_get(tenant, id).await?.ok_or_else(not_found);
            }
            let previous: Option<String> = match &appeal_of {
                Some(of) => sqlx::query_scalar(
                    "SELECT outcome FROM review_items WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(of)
                .fetch_optional(&mut *tx)
                .await?
                .flatten(),
                None => None,
            };
            let reverses = match previous.as_deref() {
                Some(before) => before != decision.outcome.as_str(),
                None => matches!(
                    (decision.outcome, automated.as_str()),
                    (ReviewOutcome::Approve, "block") | (ReviewOutcome::Remove, "pass")
                ),
            };
            sqlx::query(
                "UPDATE review_items SET state = 'decided', outcome = $3, decided_label = $4, \
                 decided_reason = $5, decided_by = $6, decided_at = $7, reverses = $8, \
                 purge_after = $9, claimed_by = NULL, claim_until = NULL \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .bind(decision.outcome.as_str())
            .bind(decision.label.as_deref())
            .bind(&decision.reason)
            .bind(&actor)
            .bind(now)
            .bind(i64::from(reverses))
            .bind(later(now, retention_ms))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE verdicts SET review_outcome = $3, reviewed_at = $4, reviewed_by = $5 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(&verdict_id)
            .bind(decision.outcome.as_str())
            .bind(now)
            .bind(&actor)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                tenant.0,
                if is_appeal {
                    Action::AppealDecided
                } else {
                    Action::ReviewDecided
                },
                format!("review:{id}"),
                json!({
                    "item": id, "verdict_id": verdict_id,
                    "outcome": decision.outcome.as_str(), "label": decision.label,
                    "reason": decision.reason, "automated": automated, "reverses": reverses,
                })
            );
            if let Some(d) = &webhook {
                insert_delivery!(tx, &delivery_id, tenant.0, None::<&str>, d, now);
            }
            tx.commit().await?;
        });
        self.review_get(tenant, id).await?.ok_or_else(not_found)
    }

    pub(super) async fn review_history_of(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Vec<ReviewDecision>, StoreError> {
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT outcome, label, reason, actor, at FROM review_decisions \
                 WHERE tenant_id = $1 AND item_id = $2 ORDER BY n",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(ReviewDecision {
                    outcome: r.try_get::<String, _>("outcome")?.parse()?,
                    label: r.try_get("label")?,
                    reason: r.try_get("reason")?,
                    actor: r.try_get("actor")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
        })
    }

    pub(super) async fn appeal_open(
        &self,
        tenant: TenantId,
        content_id: &str,
        statement: &str,
    ) -> Result<ReviewItem, StoreError> {
        check_reason("statement", statement)?;
        if content_id.is_empty() || content_id.len() > 256 {
            return Err(StoreError::invalid(
                "content_id",
                "content_id must be a verdict id or a client id of 1 to 256 bytes",
            ));
        }
        let now = now_ms();
        let item_id = self.new_id();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            // Serialised per tenant, as in `review_claim`: no second appeal passes the
            // open-item check meanwhile.
            tx.lock_chain(tenant.0).await?;
            let mut verdict = sqlx::query(
                "SELECT id, content_type, client_id, suggestion FROM verdicts \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(content_id)
            .fetch_optional(&mut *tx)
            .await?;
            if verdict.is_none() {
                verdict = sqlx::query(
                    "SELECT id, content_type, client_id, suggestion FROM verdicts \
                     WHERE tenant_id = $1 AND client_id = $2 ORDER BY created_at DESC, id DESC \
                     LIMIT 1",
                )
                .bind(tenant.0)
                .bind(content_id)
                .fetch_optional(&mut *tx)
                .await?;
            }
            let verdict =
                verdict.ok_or_else(|| StoreError::NotFound(format!("content '{content_id}'")))?;
            let verdict_id: String = verdict.try_get("id")?;
            let open: Option<String> = sqlx::query_scalar(
                "SELECT id FROM review_items WHERE tenant_id = $1 AND verdict_id = $2 \
                 AND state = 'open'",
            )
            .bind(tenant.0)
            .bind(&verdict_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(open) = open {
                return Err(StoreError::StateConflict(format!(
                    "this content is already in the review queue (item {open})"
                )));
            }
            let last = sqlx::query(
                "SELECT id, decided_by, priority FROM review_items WHERE tenant_id = $1 \
                 AND verdict_id = $2 AND state = 'decided' ORDER BY decided_at DESC, id DESC \
                 LIMIT 1",
            )
            .bind(tenant.0)
            .bind(&verdict_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (of_item, excluded, priority) = match &last {
                Some(r) => (
                    Some(r.try_get::<String, _>("id")?),
                    r.try_get::<Option<String>, _>("decided_by")?,
                    count(r.try_get("priority")?),
                ),
                None => (None, None, 50),
            };
            let row = ReviewRow {
                id: item_id.clone(),
                verdict_id: verdict_id.clone(),
                content_type: verdict.try_get("content_type")?,
                client_id: verdict.try_get("client_id")?,
                automated: verdict.try_get("suggestion")?,
                item: NewReviewItem {
                    reason: ReviewReason::Appeal,
                    priority,
                    content: Vec::new(),
                },
                appeal: Some(Appeal {
                    of_item: of_item.clone(),
                    statement: statement.to_owned(),
                    excluded_actor: excluded.clone(),
                }),
            };
            insert_review_items_batch!(tx, Db, &[(tenant.0, &row, now)]);
            if let Some(of) = &of_item {
                sqlx::query(
                    "INSERT INTO review_content (tenant_id, item_id, part, media_type, t_ms, data) \
                     SELECT tenant_id, $3, part, media_type, t_ms, data FROM review_content \
                     WHERE tenant_id = $1 AND item_id = $2",
                )
                .bind(tenant.0)
                .bind(of)
                .bind(&item_id)
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                tenant.0,
                Action::AppealOpened,
                format!("review:{item_id}"),
                json!({
                    "item": item_id, "verdict_id": verdict_id, "of_item": of_item,
                    "excluded_actor": excluded, "statement_sha256": sha256_hex(statement),
                })
            );
            tx.commit().await?;
        });
        self.review_get(tenant, &item_id)
            .await?
            .ok_or_else(not_found)
    }

    pub(super) async fn review_purge(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let due: Vec<(i64, String)> = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT tenant_id, id FROM review_items WHERE purged_at IS NULL \
                 AND purge_after <= $1 ORDER BY purge_after, id LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut by_tenant: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
        for (tenant, id) in due {
            by_tenant.entry(tenant).or_default().push(id);
        }
        let mut purged = 0u64;
        for (tenant, ids) in by_tenant {
            on_pool!(&self.pool, |pool, Db, begin| {
                let mut tx = pool.begin_with(begin).await?;
                let mut parts = 0u64;
                for id in &ids {
                    parts += sqlx::query(
                        "DELETE FROM review_content WHERE tenant_id = $1 AND item_id = $2",
                    )
                    .bind(tenant)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    sqlx::query(
                        "UPDATE review_items SET purged_at = $3 WHERE tenant_id = $1 AND id = $2",
                    )
                    .bind(tenant)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                audit!(
                    tx,
                    tenant,
                    Action::RetentionPurged,
                    "review_content",
                    json!({ "items": ids, "parts": parts })
                );
                tx.commit().await?;
            });
            purged += ids.len() as u64;
        }
        Ok(purged)
    }

    pub(super) async fn review_decisions_between(
        &self,
        tenant: TenantId,
        outcome: ReviewOutcome,
        from: i64,
        to: i64,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<(ReviewItem, StoredVerdict)>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let (after_ms, after_id) = after.unwrap_or((from.saturating_sub(1), ""));
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM review_items WHERE tenant_id = $1 AND state = 'decided' \
             AND outcome = $2 AND decided_at >= $3 AND decided_at < $4 \
             AND (decided_at > $5 OR (decided_at = $5 AND id > $6)) \
             ORDER BY decided_at, id LIMIT $7"
        );
        let items: Vec<ReviewItem> = on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(tenant.0)
                .bind(outcome.as_str())
                .bind(from)
                .bind(to)
                .bind(after_ms)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(item_from!(r)))
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let verdict = crate::Store::get_verdict(self, tenant, &item.verdict_id)
                .await?
                .ok_or_else(|| {
                    StoreError::Integrity(format!("review item {} has no verdict", item.id))
                })?;
            out.push((item, verdict));
        }
        Ok(out)
    }

    pub(super) async fn review_counts_between(
        &self,
        tenant: TenantId,
        from: i64,
        to: i64,
    ) -> Result<ReviewCounts, StoreError> {
        let verdicts: Vec<(i64, String, String, String, i64)> = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT created_at / 86400000 AS day, content_type, suggestion, \
                 COALESCE(flagged, '') AS flagged, COUNT(*) AS n FROM verdicts \
                 WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
                 GROUP BY created_at / 86400000, content_type, suggestion, COALESCE(flagged, '')",
            )
            .bind(tenant.0)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        let decisions: Vec<(i64, String, String, i64, i64)> = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT d.at / 86400000 AS day, d.outcome, i.reason, \
                 CASE WHEN d.outcome = 'escalate' THEN 0 ELSE COALESCE(i.reverses, 0) END AS rev, \
                 COUNT(*) AS n FROM review_decisions d JOIN review_items i \
                 ON i.tenant_id = d.tenant_id AND i.id = d.item_id \
                 WHERE d.tenant_id = $1 AND d.at >= $2 AND d.at < $3 \
                 GROUP BY d.at / 86400000, d.outcome, i.reason, \
                 CASE WHEN d.outcome = 'escalate' THEN 0 ELSE COALESCE(i.reverses, 0) END",
            )
            .bind(tenant.0)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        let latencies: Vec<i64> = on_pool!(&self.pool, |pool| {
            sqlx::query_scalar(
                "SELECT decided_at - created_at FROM review_items WHERE tenant_id = $1 \
                 AND state = 'decided' AND decided_at >= $2 AND decided_at < $3",
            )
            .bind(tenant.0)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        let (appeals, open, escalated): (i64, i64, i64) = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT \
                 (SELECT COUNT(*) FROM review_items WHERE tenant_id = $1 AND reason = 'appeal' \
                  AND created_at >= $2 AND created_at < $3), \
                 (SELECT COUNT(*) FROM review_items WHERE tenant_id = $1 AND state = 'open'), \
                 (SELECT COUNT(*) FROM review_items WHERE tenant_id = $1 AND state = 'open' \
                  AND escalated = 1)",
            )
            .bind(tenant.0)
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?
        });
        let n = |v: i64| v.max(0) as u64;
        Ok(ReviewCounts {
            verdicts: verdicts
                .into_iter()
                .map(|(d, c, s, f, k)| (d, c, s, f, n(k)))
                .collect(),
            decisions: decisions
                .into_iter()
                .map(|(d, o, r, rev, k)| (d, o, r, rev != 0, n(k)))
                .collect(),
            decision_latencies_ms: latencies,
            appeals_opened: n(appeals),
            open_now: n(open),
            escalated_now: n(escalated),
        })
    }

    pub(super) async fn session_create(
        &self,
        tenant: TenantId,
        key_id: &str,
        ttl_ms: u64,
    ) -> Result<(String, ConsoleSession), StoreError> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).expect("the operating system's random source failed");
        let value = hex::encode(raw);
        let mut csrf = [0u8; 32];
        getrandom::fill(&mut csrf).expect("the operating system's random source failed");
        let csrf = hex::encode(csrf);
        let now = now_ms();
        let expires = later(now, ttl_ms);
        let digest = keys::hash_secret(&value);
        let (name, role): (String, String) = on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let key: Option<(String, String)> = sqlx::query_as(
                "SELECT name, role FROM api_keys WHERE tenant_id = $1 AND id = $2 \
                 AND revoked_at IS NULL",
            )
            .bind(tenant.0)
            .bind(key_id)
            .fetch_optional(&mut *tx)
            .await?;
            let key = key.ok_or_else(|| StoreError::NotFound("key".into()))?;
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_sessions (id_sha256, tenant_id, key_id, csrf, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&digest[..])
            .bind(tenant.0)
            .bind(key_id)
            .bind(&csrf)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, "session", "key"))?;
            audit!(
                tx,
                tenant.0,
                Action::ConsoleSignedIn,
                format!("key:{key_id}"),
                json!({ "key_id": key_id, "expires_at": expires })
            );
            tx.commit().await?;
            key
        });
        Ok((
            value,
            ConsoleSession {
                tenant,
                key_id: key_id.to_owned(),
                key_name: name,
                role: role.parse()?,
                csrf,
                expires_at: expires,
            },
        ))
    }

    pub(super) async fn session_get(
        &self,
        presented: &str,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        if presented.len() != 64 || !presented.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let digest = keys::hash_secret(presented);
        let now = now_ms();
        let row: Option<(i64, String, String, String, String, i64)> =
            on_pool!(&self.pool, |pool| {
                sqlx::query_as(
                    "SELECT s.tenant_id, s.key_id, k.name, k.role, s.csrf, s.expires_at \
                     FROM console_sessions s JOIN api_keys k ON k.id = s.key_id \
                     WHERE s.id_sha256 = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL",
                )
                .bind(&digest[..])
                .bind(now)
                .fetch_optional(pool)
                .await?
            });
        Ok(match row {
            Some((tenant, key_id, key_name, role, csrf, expires_at)) => Some(ConsoleSession {
                tenant: TenantId(tenant),
                key_id,
                key_name,
                role: role.parse()?,
                csrf,
                expires_at,
            }),
            None => None,
        })
    }

    pub(super) async fn session_end(&self, presented: &str) -> Result<(), StoreError> {
        let digest = keys::hash_secret(presented);
        on_pool!(&self.pool, |pool| {
            sqlx::query("DELETE FROM console_sessions WHERE id_sha256 = $1")
                .bind(&digest[..])
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_renders_known_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn claims_are_checked_per_rule() {
        let now = 1_000;
        let other_live = claim_conflict(
            Some("key:b"),
            Some(2_000),
            "key:a",
            now,
            ClaimRule::Required,
        );
        assert!(
            matches!(other_live, Some(StoreError::StateConflict(m)) if m.contains("claimed by key:b"))
        );
        let mine_expired =
            claim_conflict(Some("key:a"), Some(500), "key:a", now, ClaimRule::Required);
        assert!(
            matches!(mine_expired, Some(StoreError::StateConflict(m)) if m.contains("expired"))
        );
        let none = claim_conflict(None, None, "key:a", now, ClaimRule::Required);
        assert!(
            matches!(none, Some(StoreError::StateConflict(m)) if m.contains("claim this item"))
        );
        assert!(claim_conflict(
            Some("key:a"),
            Some(2_000),
            "key:a",
            now,
            ClaimRule::Required
        )
        .is_none());
        assert!(claim_conflict(None, None, "key:a", now, ClaimRule::UnlessHeldByOther).is_none());
        assert!(claim_conflict(
            Some("key:b"),
            Some(500),
            "key:a",
            now,
            ClaimRule::UnlessHeldByOther
        )
        .is_none());
        assert!(claim_conflict(
            Some("key:b"),
            Some(2_000),
            "key:a",
            now,
            ClaimRule::UnlessHeldByOther
        )
        .is_some());
    }
}
