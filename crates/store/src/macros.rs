//! SQL written once for both backends and used by more than one module (`sql`, `writer`).

/// Inserts review items and their retained content with multi-row statements inside an open
/// write transaction (one item for a job or an appeal, a whole batch for the verdict
/// writer). `$rows` is a
/// `&[(tenant_id, &ReviewRow, created_at)]`; `$db` the sqlx database type.
macro_rules! insert_review_items_batch {
    ($tx:expr, $db:ty, $rows:expr) => {{
        let rows: &[(i64, &crate::review::ReviewRow, i64)] = $rows;
        for chunk in rows.chunks(256) {
            let mut qb = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO review_items (tenant_id, id, verdict_id, content_type, client_id, \
                 automated, reason, state, escalated, priority, created_at, appeal_of, \
                 appeal_statement, excluded_actor) ",
            );
            qb.push_values(chunk, |mut b, (tenant, row, now)| {
                let appeal = row.appeal.as_ref();
                b.push_bind(*tenant)
                    .push_bind(row.id.clone())
                    .push_bind(row.verdict_id.clone())
                    .push_bind(row.content_type.clone())
                    .push_bind(row.client_id.clone())
                    .push_bind(row.automated.clone())
                    .push_bind(row.item.reason.as_str())
                    .push_bind("open")
                    .push_bind(0i64)
                    .push_bind(i64::from(row.item.priority.min(100)))
                    .push_bind(*now)
                    .push_bind(appeal.and_then(|a| a.of_item.clone()))
                    .push_bind(appeal.map(|a| a.statement.clone()))
                    .push_bind(appeal.and_then(|a| a.excluded_actor.clone()));
            });
            qb.build()
                .persistent(false)
                .execute(&mut *$tx)
                .await
                .map_err(|e| {
                    crate::error::classify(e, "an open review item of this content", "tenant")
                })?;
        }
        let parts: Vec<(i64, &str, i64, &crate::review::ContentPart)> = rows
            .iter()
            .flat_map(|(tenant, row, _)| {
                row.item
                    .content
                    .iter()
                    .enumerate()
                    .map(move |(i, p)| (*tenant, row.id.as_str(), i as i64, p))
            })
            .collect();
        for chunk in parts.chunks(256) {
            let mut qb = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO review_content (tenant_id, item_id, part, media_type, t_ms, data) ",
            );
            qb.push_values(chunk, |mut b, (tenant, item, i, part)| {
                b.push_bind(*tenant)
                    .push_bind(item.to_string())
                    .push_bind(*i)
                    .push_bind(part.media_type.clone())
                    .push_bind(part.t_ms)
                    .push_bind(part.data.clone());
            });
            qb.build().persistent(false).execute(&mut *$tx).await?;
        }
    }};
}
