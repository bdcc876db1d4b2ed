//! Group commit for verdicts: one writer task per store turns many concurrent
//! `record_verdict` calls into one transaction.

use sqlx::QueryBuilder;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditConn, Change};
use crate::error::classify;
use crate::sql::Pool;
use crate::StoreError;

/// Most rows committed in one transaction (11 bound values each, well under SQLite's and
/// PostgreSQL's parameter limits).
const MAX_BATCH: usize = 512;
/// Rows that may wait for the writer before callers wait to enqueue (back-pressure).
const QUEUE: usize = 8 * MAX_BATCH;

/// One verdict row, ready to insert, with the audit entry that records it.
pub(crate) struct VerdictRow {
    pub audit: Change,
    pub tenant: i64,
    pub id: String,
    pub created_at: i64,
    pub content_type: String,
    pub suggestion: String,
    pub content_sha256: String,
    pub pdq: Option<String>,
    pub client_id: Option<String>,
    pub policy: String,
    pub json: String,
    /// The flagged labels, `label:suggestion,…` (for reports).
    pub flagged: String,
    /// The review item queued with it, if any.
    pub review: Option<crate::review::ReviewRow>,
}

struct Pending {
    row: VerdictRow,
    ack: oneshot::Sender<Result<(), StoreError>>,
}

/// The sending side of the writer task; the task ends when this is dropped.
pub(crate) struct VerdictWriter {
    queue: mpsc::Sender<Pending>,
}

impl VerdictWriter {
    /// Starts the writer task on the current tokio runtime.
    pub(crate) fn spawn(pool: Pool) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, rx));
        VerdictWriter { queue }
    }

    /// Queues a row and waits until its transaction has committed.
    pub(crate) async fn write(&self, row: VerdictRow) -> Result<(), StoreError> {
        let (ack, committed) = oneshot::channel();
        self.queue
            .send(Pending { row, ack })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        committed.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Review items this writer has queued, until it analyses the review tables.
    let mut reviews_queued: Option<usize> = Some(0);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rows: Vec<&VerdictRow> = batch.iter().map(|p| &p.row).collect();
        let queued = rows.iter().filter(|r| r.review.is_some()).count();
        let outcome = insert(&pool, &rows).await;
        drop(rows);
        if let (Ok(()), Some(count)) = (&outcome, reviews_queued.as_mut()) {
            *count += queued;
            if *count >= ANALYSE_AFTER_REVIEWS {
                analyse_review_tables(&pool).await;
                reviews_queued = None;
            }
        }
        match outcome {
            Ok(()) => {
                for p in batch.drain(..) {
                    let _ = p.ack.send(Ok(()));
                }
            }
            // One bad row (a duplicate id, an unknown tenant) must not fail its neighbours.
            Err(_) if batch.len() > 1 => {
                for p in batch.drain(..) {
                    let result = insert(&pool, &[&p.row]).await;
                    let _ = p.ack.send(result);
                }
            }
            Err(e) => {
                if let Some(p) = batch.pop() {
                    let _ = p.ack.send(Err(e));
                }
            }
        }
    }
}

/// Review items a writer queues before it analyses the review tables (once per process).
const ANALYSE_AFTER_REVIEWS: usize = 1_000;

/// Gives PostgreSQL statistics on the review tables (see [`ANALYSE_AFTER_REVIEWS`]).
///
/// PostgreSQL plans the foreign-key check of `review_content` (and `review_decisions`)
/// against `review_items` once per connection and keeps the plan until the table is next
/// analysed. Planned on a small `review_items`, the check costs the same through any index
/// that starts with `tenant_id` as through the primary key, and can take the smaller
/// `review_decided`; as the table grows, each check then reads every review item of the
/// tenant: on a new schema text throughput fell from ~12,000 to ~3,400 req/s until
/// autovacuum's analyse, about a minute later (BENCHMARKS.md). Analysing once a thousand
/// items are there invalidates those plans everywhere, and the new statistics make the
/// primary key the clear choice (analysing at the first item was not enough: the plan made
/// right after, on one page, took `review_decided` again). Failure only costs speed, so it
/// is logged, not returned. SQLite needs nothing.
async fn analyse_review_tables(pool: &Pool) {
    if let Pool::Postgres(pool) = pool {
        if let Err(e) = sqlx::raw_sql("ANALYZE review_items, review_content, review_decisions")
            .execute(pool)
            .await
        {
            tracing::warn!(error = %e, "could not analyse the review tables");
        }
    }
}

/// Appends the audit entries of a batch, tenant by tenant in tenant order (the order PostgreSQL
/// locks the chains in), each tenant's in row order.
async fn append_audit_batch<C: AuditConn + ?Sized>(
    conn: &mut C,
    rows: &[&VerdictRow],
) -> Result<(), StoreError> {
    let mut tenants: Vec<i64> = rows.iter().map(|r| r.tenant).collect();
    tenants.sort_unstable();
    tenants.dedup();
    for tenant in tenants {
        let changes: Vec<&Change> = rows
            .iter()
            .filter(|r| r.tenant == tenant)
            .map(|r| &r.audit)
            .collect();
        conn.append_many(tenant, &changes).await?;
    }
    Ok(())
}

/// The review items queued with a batch's verdicts.
fn review_rows<'a>(rows: &[&'a VerdictRow]) -> Vec<(i64, &'a crate::review::ReviewRow, i64)> {
    rows.iter()
        .filter_map(|r| {
            r.review
                .as_ref()
                .map(|review| (r.tenant, review, r.created_at))
        })
        .collect()
}

/// Inserts rows and their audit entries in one transaction.
async fn insert(pool: &Pool, rows: &[&VerdictRow]) -> Result<(), StoreError> {
    let what = || match rows {
        [one] => format!("verdict '{}'", one.id),
        _ => "verdict".to_owned(),
    };
    let result = match pool {
        Pool::Sqlite(pool) => insert_sqlite(pool, rows).await,
        Pool::Postgres(pool) => insert_postgres(pool, rows).await,
    };
    result.map_err(|e| match e {
        StoreError::Database(e) => classify(e, what(), "tenant"),
        other => other,
    })
}

async fn insert_sqlite(pool: &sqlx::SqlitePool, rows: &[&VerdictRow]) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut qb = QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO verdicts (tenant_id, id, created_at, content_type, suggestion, \
         content_sha256, pdq, client_id, policy, verdict, flagged) ",
    );
    qb.push_values(rows, |mut b, r| {
        b.push_bind(r.tenant)
            .push_bind(r.id.as_str())
            .push_bind(r.created_at)
            .push_bind(r.content_type.as_str())
            .push_bind(r.suggestion.as_str())
            .push_bind(r.content_sha256.as_str())
            .push_bind(r.pdq.as_deref())
            .push_bind(r.client_id.as_deref())
            .push_bind(r.policy.as_str())
            .push_bind(r.json.as_str())
            .push_bind(r.flagged.as_str());
    });
    // Batch sizes vary, so caching each statement shape would only churn the cache.
    qb.build().persistent(false).execute(&mut *tx).await?;
    append_audit_batch(&mut *tx, rows).await?;
    insert_review_items_batch!(tx, sqlx::Sqlite, &review_rows(rows));
    Ok(tx.commit().await?)
}

async fn insert_postgres(pool: &sqlx::PgPool, rows: &[&VerdictRow]) -> Result<(), StoreError> {
    fn col<T>(rows: &[&VerdictRow], f: impl Fn(&VerdictRow) -> T) -> Vec<T> {
        rows.iter().map(|r| f(r)).collect()
    }
    let mut tx = pool.begin().await?;
    // Every chain this batch appends to is locked first, in tenant order, so two nodes'
    // batches cannot deadlock on each other's chains.
    let mut tenants: Vec<i64> = rows.iter().map(|r| r.tenant).collect();
    tenants.sort_unstable();
    tenants.dedup();
    for tenant in tenants {
        tx.lock_chain(tenant).await?;
    }
    sqlx::query(
        "INSERT INTO verdicts (tenant_id, id, created_at, content_type, suggestion, \
         content_sha256, pdq, client_id, policy, verdict, flagged) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])",
    )
    .bind(col(rows, |r| r.tenant))
    .bind(col(rows, |r| r.id.clone()))
    .bind(col(rows, |r| r.created_at))
    .bind(col(rows, |r| r.content_type.clone()))
    .bind(col(rows, |r| r.suggestion.clone()))
    .bind(col(rows, |r| r.content_sha256.clone()))
    .bind(col(rows, |r| r.pdq.clone()))
    .bind(col(rows, |r| r.client_id.clone()))
    .bind(col(rows, |r| r.policy.clone()))
    .bind(col(rows, |r| r.json.clone()))
    .bind(col(rows, |r| r.flagged.clone()))
    .execute(&mut *tx)
    .await?;
    append_audit_batch(&mut *tx, rows).await?;
    insert_review_items_batch!(tx, sqlx::Postgres, &review_rows(rows));
    Ok(tx.commit().await?)
}
