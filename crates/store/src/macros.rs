//! SQL written once for both backends and used by more than one module (`sql`, `writer`).

/// Inserts a review item and its retained content inside an open write transaction.
/// `$row` is a [`crate::review::ReviewRow`].
macro_rules! insert_review_item {
    ($tx:expr, $tenant:expr, $row:expr, $now:expr) => {{
        let row: &crate::review::ReviewRow = $row;
        sqlx::query(
            "INSERT INTO review_items (tenant_id, id, verdict_id, content_type, client_id, \
             automated, reason, state, escalated, priority, created_at, appeal_of, \
             appeal_statement, excluded_actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', 0, $8, $9, $10, $11, $12)",
        )
        .bind($tenant)
        .bind(&row.id)
        .bind(&row.verdict_id)
        .bind(&row.content_type)
        .bind(row.client_id.as_deref())
        .bind(&row.automated)
        .bind(row.item.reason.as_str())
        .bind(i64::from(row.item.priority.min(100)))
        .bind($now)
        .bind(row.appeal.as_ref().and_then(|a| a.of_item.as_deref()))
        .bind(row.appeal.as_ref().map(|a| a.statement.as_str()))
        .bind(
            row.appeal
                .as_ref()
                .and_then(|a| a.excluded_actor.as_deref()),
        )
        .execute(&mut *$tx)
        .await
        .map_err(|e| crate::error::classify(e, "an open review item of this content", "tenant"))?;
        for (i, part) in row.item.content.iter().enumerate() {
            sqlx::query(
                "INSERT INTO review_content (tenant_id, item_id, part, media_type, t_ms, data) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind($tenant)
            .bind(&row.id)
            .bind(i as i64)
            .bind(&part.media_type)
            .bind(part.t_ms)
            .bind(&part.data[..])
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
