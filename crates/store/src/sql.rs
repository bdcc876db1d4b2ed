//! [`SqlStore`]: the [`Store`] on SQLite or PostgreSQL.
//!
//! Each method body is written once inside `on_pool!`, which expands it for both native
//! drivers. The SQL is shared: `$n` placeholders, `ON CONFLICT`, `RETURNING` and BIGINT/TEXT
//! columns mean the same on both databases.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rampart_types::Verdict;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row};

use rampart_audit::Action;
use serde_json::json;

use crate::audit::{entry_from_row, AuditConn, Change, ENTRY_COLUMNS};
use crate::error::classify;
use crate::model::*;
use crate::review::*;
use crate::writer::{VerdictRow, VerdictWriter};
use crate::{keys, migrate, validate, Store, StoreError, MAX_LIST_LIMIT};

/// A connection pool of either backend.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool; the long form also names the database
/// type (`$db`, for `QueryBuilder`) and the statement that opens a write transaction
/// (`BEGIN IMMEDIATE` on SQLite, so writers queue on the busy timeout instead of failing on
/// lock upgrade).
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
    ($pool:expr, |$p:ident, $db:ident, $begin:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $begin = "BEGIN IMMEDIATE";
                $body
            }
            Pool::Postgres($p) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $begin = "BEGIN";
                $body
            }
        }
    };
}

/// Bumps the tenant's revision inside a write transaction; `NotFound` for an unknown tenant.
macro_rules! bump_revision {
    ($tx:expr, $tenant:expr) => {
        if sqlx::query("UPDATE tenants SET revision = revision + 1 WHERE id = $1")
            .bind($tenant.0)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
            == 0
        {
            return Err(StoreError::NotFound("tenant".into()));
        }
    };
}

/// Appends the audit entry of a change inside its write transaction.
macro_rules! audit {
    ($tx:expr, $tenant:expr, $action:expr, $subject:expr, $payload:expr) => {
        AuditConn::append(
            &mut *$tx,
            $tenant,
            &Change::new($action, $subject, $payload),
        )
        .await?
    };
}

/// Sets `updated_at` of a library or bank inside a write transaction; `NotFound` if absent.
macro_rules! touch {
    ($tx:expr, $table:literal, $what:literal, $tenant:expr, $name:expr, $now:expr) => {
        if sqlx::query(concat!(
            "UPDATE ",
            $table,
            " SET updated_at = $3 WHERE tenant_id = $1 AND name = $2"
        ))
        .bind($tenant.0)
        .bind($name)
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 0
        {
            return Err(StoreError::NotFound(format!("{} '{}'", $what, $name)));
        }
    };
}

macro_rules! tenant_from {
    ($row:expr) => {
        Tenant {
            id: TenantId($row.try_get("id")?),
            name: $row.try_get("name")?,
            created_at: $row.try_get("created_at")?,
        }
    };
}

macro_rules! key_from {
    ($row:expr) => {
        ApiKey {
            id: $row.try_get("id")?,
            tenant: TenantId($row.try_get("tenant_id")?),
            name: $row.try_get("name")?,
            role: $row.try_get::<String, _>("role")?.parse()?,
            created_at: $row.try_get("created_at")?,
            revoked_at: $row.try_get("revoked_at")?,
        }
    };
}

macro_rules! policy_from {
    ($row:expr) => {
        StoredPolicy {
            name: $row.try_get("name")?,
            version: u32::try_from($row.try_get::<i64, _>("version")?).unwrap_or(u32::MAX),
            toml: $row.try_get("toml")?,
            created_at: $row.try_get("created_at")?,
        }
    };
}

macro_rules! bank_from {
    ($row:expr) => {
        Bank {
            name: $row.try_get("name")?,
            config: parse_json("bank config", &$row.try_get::<String, _>("config")?)?,
            entry_count: $row.try_get::<i64, _>("entry_count")?.max(0) as u64,
            created_at: $row.try_get("created_at")?,
            updated_at: $row.try_get("updated_at")?,
        }
    };
}

macro_rules! entry_from {
    ($row:expr) => {
        BankEntry {
            id: $row.try_get("id")?,
            kind: $row.try_get::<String, _>("hash_kind")?.parse()?,
            hash: $row.try_get("hash")?,
            quality: $row
                .try_get::<Option<i64>, _>("quality")?
                .map(|q| q.clamp(0, 100) as u8),
            note: $row.try_get("note")?,
            added_at: $row.try_get("added_at")?,
        }
    };
}

macro_rules! verdict_from {
    ($row:expr) => {
        StoredVerdict {
            verdict: parse_json("verdict", &$row.try_get::<String, _>("verdict")?)?,
            recorded_at: $row.try_get("created_at")?,
            review: match $row.try_get::<Option<String>, _>("review_outcome")? {
                Some(outcome) => Some(VerdictReview {
                    outcome: outcome.parse()?,
                    at: $row.try_get::<Option<i64>, _>("reviewed_at")?.unwrap_or(0),
                    by: $row
                        .try_get::<Option<String>, _>("reviewed_by")?
                        .unwrap_or_default(),
                }),
                None => None,
            },
        }
    };
}

macro_rules! job_from {
    ($row:expr) => {
        Job {
            id: $row.try_get("id")?,
            tenant: TenantId($row.try_get("tenant_id")?),
            kind: $row.try_get::<String, _>("kind")?.parse()?,
            state: $row.try_get::<String, _>("state")?.parse()?,
            progress: $row.try_get::<f64, _>("progress")? as f32,
            attempts: count($row.try_get("attempts")?),
            max_attempts: count($row.try_get("max_attempts")?),
            client_id: $row.try_get("client_id")?,
            policy: $row.try_get("policy")?,
            callback_url: $row.try_get("callback_url")?,
            input_sha256: $row.try_get("input_sha256")?,
            input_bytes: $row.try_get::<i64, _>("input_bytes")?.max(0) as u64,
            error_code: $row.try_get("error_code")?,
            error_message: $row.try_get("error_message")?,
            verdict_id: $row.try_get("verdict_id")?,
            created_at: $row.try_get("created_at")?,
            started_at: $row.try_get("started_at")?,
            finished_at: $row.try_get("finished_at")?,
        }
    };
}

macro_rules! delivery_from {
    ($row:expr) => {
        Delivery {
            id: $row.try_get("id")?,
            tenant: TenantId($row.try_get("tenant_id")?),
            job_id: $row.try_get("job_id")?,
            url: $row.try_get("url")?,
            event: $row.try_get("event")?,
            state: $row.try_get::<String, _>("state")?.parse()?,
            attempts: count($row.try_get("attempts")?),
            next_attempt_at: $row.try_get("next_attempt_at")?,
            last_status: $row
                .try_get::<Option<i64>, _>("last_status")?
                .and_then(|s| u16::try_from(s).ok()),
            last_error: $row.try_get("last_error")?,
            created_at: $row.try_get("created_at")?,
            delivered_at: $row.try_get("delivered_at")?,
        }
    };
}

/// Inserts a job's webhook delivery (pending, due at once) inside a write transaction.
macro_rules! insert_delivery {
    ($tx:expr, $id:expr, $tenant:expr, $job:expr, $d:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO deliveries (id, tenant_id, job_id, url, event, payload, state, \
             attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
        )
        .bind($id)
        .bind($tenant)
        .bind($job)
        .bind(&$d.url)
        .bind(&$d.event)
        .bind(&$d.payload)
        .bind($now)
        .execute(&mut *$tx)
        .await?
    };
}

mod review;

const JOB_COLUMNS: &str = "id, tenant_id, kind, state, progress, attempts, max_attempts, \
    client_id, policy, callback_url, input_sha256, input_bytes, error_code, error_message, \
    verdict_id, created_at, started_at, finished_at";

const DELIVERY_COLUMNS: &str = "id, tenant_id, job_id, url, event, state, attempts, \
    next_attempt_at, last_status, last_error, created_at, delivered_at";

/// Rows per multi-row INSERT of terms or bank entries.
const CHUNK: usize = 500;

const BANK_COLUMNS: &str = "SELECT b.name, b.config, b.created_at, b.updated_at, \
    (SELECT COUNT(*) FROM bank_entries e WHERE e.tenant_id = b.tenant_id AND e.bank = b.name) \
    AS entry_count FROM banks b";

/// The [`Store`] on a SQL database. Cheap to share behind an `Arc`; see the crate docs.
pub struct SqlStore {
    pool: Pool,
    writer: VerdictWriter,
    /// The verdict writer's pool (the same pool as `pool` on PostgreSQL).
    writer_pool: Pool,
    /// Makes the ids of jobs and deliveries, increasing within this process so that ids made
    /// in the same millisecond still list in creation order.
    ids: Mutex<ulid::Generator>,
}

impl SqlStore {
    /// Opens, creates if needed, and migrates the store at `url` (a path, `sqlite://PATH` or
    /// `postgres://…`). Must be called inside a tokio runtime: it starts the verdict writer.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (pool, writer_pool) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                let options = PgConnectOptions::from_str(url)?;
                let pool = Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(16)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_with(options)
                        .await?,
                );
                (pool.clone(), pool)
            } else {
                // The verdict writer gets a connection of its own: SQLite has one writer at a
                // time anyway, and one connection keeps one sqlx worker thread warm instead of
                // waking a different one for each batch.
                (
                    Pool::Sqlite(open_sqlite(url, 4).await?),
                    Pool::Sqlite(open_sqlite(url, 1).await?),
                )
            };
        migrate::run(&pool).await?;
        let writer = VerdictWriter::spawn(writer_pool.clone());
        Ok(SqlStore {
            pool,
            writer,
            writer_pool,
            ids: Mutex::new(ulid::Generator::new()),
        })
    }

    /// The review row to queue with `verdict`, checked; `None` without an item.
    fn review_row(
        &self,
        verdict: &Verdict,
        item: Option<NewReviewItem>,
        appeal: Option<Appeal>,
    ) -> Result<Option<crate::review::ReviewRow>, StoreError> {
        let Some(item) = item else {
            return Ok(None);
        };
        crate::review::check_content(&item.content)?;
        Ok(Some(crate::review::ReviewRow {
            id: self.new_id(),
            verdict_id: verdict.id.clone(),
            content_type: serde_json::to_value(verdict.content_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            client_id: verdict.content_ref.client_id.clone(),
            automated: verdict.suggestion.as_str().to_owned(),
            item,
            appeal,
        }))
    }

    /// A new job, delivery or review item id.
    fn new_id(&self) -> String {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        // The generator fails only when 2^80 ids were made in one millisecond.
        ids.generate()
            .unwrap_or_else(|_| ulid::Ulid::new())
            .to_string()
    }
}

/// A fresh lease token: 80 random bits (a ULID's randomness) and the time.
fn new_lease() -> String {
    ulid::Ulid::new().to_string()
}

/// `now + ms`, saturating.
fn later(now: i64, ms: u64) -> i64 {
    now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A stored count as `u32`, saturating.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Progress as stored: finite and within 0–1.
fn progress_value(p: f32) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        f64::from(p.clamp(0.0, 1.0))
    }
}

/// The verdict table's row for a verdict, validated.
fn verdict_row(tenant: TenantId, verdict: &Verdict) -> Result<VerdictRow, StoreError> {
    validate::verdict(verdict)?;
    let json = serde_json::to_string(verdict)
        .map_err(|e| StoreError::invalid("verdict", e.to_string()))?;
    let content_type = serde_json::to_value(verdict.content_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(VerdictRow {
        audit: verdict_change(verdict),
        tenant: tenant.0,
        id: verdict.id.clone(),
        created_at: now_ms(),
        content_type,
        suggestion: verdict.suggestion.as_str().to_owned(),
        content_sha256: verdict.content_ref.sha256.to_ascii_lowercase(),
        pdq: verdict
            .content_ref
            .pdq
            .as_ref()
            .map(|p| p.to_ascii_lowercase()),
        client_id: verdict.content_ref.client_id.clone(),
        policy: verdict.policy.clone(),
        json,
        flagged: flagged_labels(verdict),
        review: None,
    })
}

/// `label:suggestion,…` of the labels a verdict flagged (not `pass`), for reports.
fn flagged_labels(verdict: &Verdict) -> String {
    verdict
        .labels
        .iter()
        .filter(|l| l.suggestion != rampart_types::Suggestion::Pass)
        .map(|l| format!("{}:{}", l.label.as_str(), l.suggestion.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The audit entry of a stored verdict: what was decided about which content, never the content.
fn verdict_change(verdict: &Verdict) -> Change {
    let labels: Vec<&str> = verdict.labels.iter().map(|l| l.label.as_str()).collect();
    Change::new(
        Action::VerdictRecorded,
        format!("verdict:{}", verdict.id),
        json!({
            "verdict_id": verdict.id,
            "suggestion": verdict.suggestion.as_str(),
            "labels": labels,
            "policy": verdict.policy,
            "content_sha256": verdict.content_ref.sha256.to_ascii_lowercase(),
        }),
    )
}

/// Lowercase hex SHA-256 of `text`.
fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn open_sqlite(url: &str, connections: u32) -> Result<sqlx::SqlitePool, StoreError> {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let bad = path.is_empty() || path.contains("://") || path.contains(":memory:");
    if bad || path.contains('?') {
        return Err(StoreError::BadUrl(url.to_owned()));
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::BadUrl(format!("{url} ({}: {e})", dir.display())))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Deleted job inputs are overwritten, not left in free pages of the file.
        .pragma("secure_delete", "ON");
    Ok(SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await?)
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Integrity(format!("stored {what}: {e}")))
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> BackendKind {
        match self.pool {
            Pool::Sqlite(_) => BackendKind::Sqlite,
            Pool::Postgres(_) => BackendKind::Postgres,
        }
    }

    async fn create_tenant(&self, name: &str) -> Result<Tenant, StoreError> {
        validate::name("name", name)?;
        let now = now_ms();
        let id: i64 = on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let id: i64 =
                sqlx::query("INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id")
                    .bind(name)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| classify(e, format!("tenant '{name}'"), "tenant"))?
                    .try_get("id")?;
            audit!(
                tx,
                id,
                Action::TenantCreated,
                format!("tenant:{name}"),
                json!({ "name": name })
            );
            tx.commit().await?;
            id
        });
        Ok(Tenant {
            id: TenantId(id),
            name: name.to_owned(),
            created_at: now,
        })
    }

    async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => Some(tenant_from!(r)),
                None => None,
            })
        })
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => Some(tenant_from!(r)),
                None => None,
            })
        })
    }

    async fn revision(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let revision: Option<i64> = on_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT revision FROM tenants WHERE id = $1")
                .bind(tenant.0)
                .fetch_optional(pool)
                .await?
        });
        revision
            .map(|r| r.max(0) as u64)
            .ok_or_else(|| StoreError::NotFound("tenant".into()))
    }

    async fn create_key(
        &self,
        tenant: TenantId,
        role: Role,
        name: &str,
    ) -> Result<CreatedKey, StoreError> {
        validate::text("name", name, 128)?;
        let generated = keys::generate();
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, name, role, secret_sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&generated.id)
            .bind(tenant.0)
            .bind(name)
            .bind(role.as_str())
            .bind(&generated.secret_sha256)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, "key", "tenant"))?;
            audit!(
                tx,
                tenant.0,
                Action::KeyCreated,
                format!("key:{}", generated.id),
                json!({ "id": generated.id, "name": name, "role": role.as_str() })
            );
            tx.commit().await?;
        });
        Ok(CreatedKey {
            key: ApiKey {
                id: generated.id,
                tenant,
                name: name.to_owned(),
                role,
                created_at: now,
                revoked_at: None,
            },
            plaintext: generated.plaintext,
        })
    }

    async fn list_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT id, tenant_id, name, role, created_at, revoked_at FROM api_keys \
                 WHERE tenant_id = $1 ORDER BY created_at, id",
            )
            .bind(tenant.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok(key_from!(r)))
            .collect()
        })
    }

    async fn revoke_key(&self, tenant: TenantId, key_id: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let revoked = sqlx::query(
                "UPDATE api_keys SET revoked_at = $3 \
                 WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
            )
            .bind(key_id)
            .bind(tenant.0)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if revoked == 0 {
                // Already revoked (nothing to record) or not the tenant's key.
                let exists: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM api_keys WHERE id = $1 AND tenant_id = $2",
                )
                .bind(key_id)
                .bind(tenant.0)
                .fetch_one(&mut *tx)
                .await?;
                if exists == 0 {
                    return Err(StoreError::NotFound(format!("key '{key_id}'")));
                }
                return Ok(());
            }
            audit!(
                tx,
                tenant.0,
                Action::KeyRevoked,
                format!("key:{key_id}"),
                json!({ "id": key_id })
            );
            tx.commit().await?;
            Ok(())
        })
    }

    async fn authenticate(&self, presented: &str) -> Result<Option<KeyInfo>, StoreError> {
        let Some((id, secret)) = keys::parse(presented) else {
            return Ok(None);
        };
        let found: Option<(i64, String, Vec<u8>)> = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT tenant_id, role, secret_sha256 FROM api_keys \
                 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let Some((tenant, role, stored)) = found else {
            return Ok(None);
        };
        if !keys::verify(secret, &stored) {
            return Ok(None);
        }
        Ok(Some(KeyInfo {
            tenant: TenantId(tenant),
            role: role.parse()?,
            key_id: id.to_owned(),
        }))
    }

    async fn put_policy_after(
        &self,
        tenant: TenantId,
        name: &str,
        toml: &str,
        after: u32,
    ) -> Result<u32, StoreError> {
        validate::name("name", name)?;
        if toml.len() > validate::MAX_POLICY_BYTES {
            return Err(StoreError::invalid("toml", "policy is larger than 256 KiB"));
        }
        let now = now_ms();
        let version: i64 = on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            // First, so concurrent writers of one tenant queue on its row.
            bump_revision!(tx, tenant);
            let latest: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) FROM policies WHERE tenant_id = $1 AND name = $2",
            )
            .bind(tenant.0)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
            let latest = latest.max(i64::from(after));
            sqlx::query(
                "INSERT INTO policies (tenant_id, name, version, toml, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant.0)
            .bind(name)
            .bind(latest + 1)
            .bind(toml)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, format!("policy '{name}@{}'", latest + 1), "tenant"))?;
            audit!(
                tx,
                tenant.0,
                Action::PolicyChanged,
                format!("policy:{name}@{}", latest + 1),
                json!({ "name": name, "version": latest + 1, "toml_sha256": sha256_hex(toml) })
            );
            tx.commit().await?;
            latest + 1
        });
        u32::try_from(version).map_err(|_| StoreError::Integrity("policy version overflow".into()))
    }

    async fn get_policy(
        &self,
        tenant: TenantId,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredPolicy>, StoreError> {
        // -1 stands for "the latest".
        let version = version.map_or(-1, i64::from);
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query(
                "SELECT name, version, toml, created_at FROM policies \
                 WHERE tenant_id = $1 AND name = $2 AND ($3 = -1 OR version = $3) \
                 ORDER BY version DESC LIMIT 1",
            )
            .bind(tenant.0)
            .bind(name)
            .bind(version)
            .fetch_optional(pool)
            .await?;
            Ok(match row {
                Some(r) => Some(policy_from!(r)),
                None => None,
            })
        })
    }

    async fn policy_versions(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Vec<StoredPolicy>, StoreError> {
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT name, version, toml, created_at FROM policies \
                 WHERE tenant_id = $1 AND name = $2 ORDER BY version",
            )
            .bind(tenant.0)
            .bind(name)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok(policy_from!(r)))
            .collect()
        })
    }

    async fn list_policies(&self, tenant: TenantId) -> Result<Vec<StoredPolicy>, StoreError> {
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT p.name, p.version, p.toml, p.created_at FROM policies p \
                 WHERE p.tenant_id = $1 AND p.version = (SELECT MAX(q.version) FROM policies q \
                 WHERE q.tenant_id = p.tenant_id AND q.name = p.name) ORDER BY p.name",
            )
            .bind(tenant.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok(policy_from!(r)))
            .collect()
        })
    }

    async fn create_library(
        &self,
        tenant: TenantId,
        library: &NewLibrary,
    ) -> Result<Library, StoreError> {
        validate::name("name", &library.name)?;
        validate::name("kind", &library.kind)?;
        validate::name("label", &library.label)?;
        validate::name("severity", &library.severity)?;
        validate::terms(&library.terms)?;
        let now = now_ms();
        let name = library.name.as_str();
        let mut terms = library.terms.clone();
        terms.sort();
        terms.dedup();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            sqlx::query(
                "INSERT INTO libraries (tenant_id, name, kind, label, severity, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(tenant.0)
            .bind(name)
            .bind(&library.kind)
            .bind(&library.label)
            .bind(&library.severity)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, format!("library '{name}'"), "tenant"))?;
            for chunk in library.terms.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO library_terms (tenant_id, library, term) ",
                );
                qb.push_values(chunk, |mut b, term| {
                    b.push_bind(tenant.0)
                        .push_bind(name)
                        .push_bind(term.as_str());
                });
                qb.push(" ON CONFLICT DO NOTHING");
                qb.build().persistent(false).execute(&mut *tx).await?;
            }
            audit!(
                tx,
                tenant.0,
                Action::LibraryChanged,
                format!("library:{name}"),
                json!({
                    "op": "created",
                    "name": name,
                    "kind": library.kind,
                    "label": library.label,
                    "severity": library.severity,
                    "terms": terms.len(),
                })
            );
            tx.commit().await?;
        });
        Ok(Library {
            name: library.name.clone(),
            kind: library.kind.clone(),
            label: library.label.clone(),
            severity: library.severity.clone(),
            terms,
            created_at: now,
            updated_at: now,
        })
    }

    async fn get_library(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Option<Library>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            let Some(row) = sqlx::query(
                "SELECT kind, label, severity, created_at, updated_at FROM libraries \
                 WHERE tenant_id = $1 AND name = $2",
            )
            .bind(tenant.0)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let terms: Vec<String> = sqlx::query_scalar(
                "SELECT term FROM library_terms WHERE tenant_id = $1 AND library = $2 \
                 ORDER BY term",
            )
            .bind(tenant.0)
            .bind(name)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(Library {
                name: name.to_owned(),
                kind: row.try_get("kind")?,
                label: row.try_get("label")?,
                severity: row.try_get("severity")?,
                terms,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            }))
        })
    }

    async fn list_libraries(&self, tenant: TenantId) -> Result<Vec<LibrarySummary>, StoreError> {
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT l.name, l.kind, l.label, l.severity, l.updated_at, \
                 (SELECT COUNT(*) FROM library_terms t \
                  WHERE t.tenant_id = l.tenant_id AND t.library = l.name) AS term_count \
                 FROM libraries l WHERE l.tenant_id = $1 ORDER BY l.name",
            )
            .bind(tenant.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(LibrarySummary {
                    name: r.try_get("name")?,
                    kind: r.try_get("kind")?,
                    label: r.try_get("label")?,
                    severity: r.try_get("severity")?,
                    term_count: r.try_get::<i64, _>("term_count")?.max(0) as u64,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
        })
    }

    async fn add_terms(
        &self,
        tenant: TenantId,
        library: &str,
        terms: &[String],
    ) -> Result<u64, StoreError> {
        validate::terms(terms)?;
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            touch!(tx, "libraries", "library", tenant, library, now);
            let mut added = 0;
            for chunk in terms.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO library_terms (tenant_id, library, term) ",
                );
                qb.push_values(chunk, |mut b, term| {
                    b.push_bind(tenant.0)
                        .push_bind(library)
                        .push_bind(term.as_str());
                });
                qb.push(" ON CONFLICT DO NOTHING");
                added += qb
                    .build()
                    .persistent(false)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            audit!(
                tx,
                tenant.0,
                Action::LibraryChanged,
                format!("library:{library}"),
                json!({ "op": "terms_added", "name": library, "added": added })
            );
            tx.commit().await?;
            Ok(added)
        })
    }

    async fn remove_terms(
        &self,
        tenant: TenantId,
        library: &str,
        terms: &[String],
    ) -> Result<u64, StoreError> {
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            touch!(tx, "libraries", "library", tenant, library, now);
            let mut removed = 0;
            for term in terms {
                removed += sqlx::query(
                    "DELETE FROM library_terms WHERE tenant_id = $1 AND library = $2 AND term = $3",
                )
                .bind(tenant.0)
                .bind(library)
                .bind(term)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            audit!(
                tx,
                tenant.0,
                Action::LibraryChanged,
                format!("library:{library}"),
                json!({ "op": "terms_removed", "name": library, "removed": removed })
            );
            tx.commit().await?;
            Ok(removed)
        })
    }

    async fn delete_library(&self, tenant: TenantId, name: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            sqlx::query("DELETE FROM library_terms WHERE tenant_id = $1 AND library = $2")
                .bind(tenant.0)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM libraries WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.0)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound(format!("library '{name}'")));
            }
            audit!(
                tx,
                tenant.0,
                Action::LibraryChanged,
                format!("library:{name}"),
                json!({ "op": "deleted", "name": name })
            );
            tx.commit().await?;
            Ok(())
        })
    }

    async fn create_bank(
        &self,
        tenant: TenantId,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Bank, StoreError> {
        validate::name("name", name)?;
        if !config.is_object() {
            return Err(StoreError::invalid("config", "must be a JSON object"));
        }
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            sqlx::query(
                "INSERT INTO banks (tenant_id, name, config, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(tenant.0)
            .bind(name)
            .bind(config.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, format!("bank '{name}'"), "tenant"))?;
            audit!(
                tx,
                tenant.0,
                Action::BankChanged,
                format!("bank:{name}"),
                json!({ "op": "created", "name": name, "config": config })
            );
            tx.commit().await?;
        });
        Ok(Bank {
            name: name.to_owned(),
            config: config.clone(),
            entry_count: 0,
            created_at: now,
            updated_at: now,
        })
    }

    async fn get_bank(&self, tenant: TenantId, name: &str) -> Result<Option<Bank>, StoreError> {
        let sql = format!("{BANK_COLUMNS} WHERE b.tenant_id = $1 AND b.name = $2");
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query(&sql)
                .bind(tenant.0)
                .bind(name)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => Some(bank_from!(r)),
                None => None,
            })
        })
    }

    async fn list_banks(&self, tenant: TenantId) -> Result<Vec<Bank>, StoreError> {
        let sql = format!("{BANK_COLUMNS} WHERE b.tenant_id = $1 ORDER BY b.name");
        on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(tenant.0)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(bank_from!(r)))
                .collect()
        })
    }

    async fn delete_bank(&self, tenant: TenantId, name: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            sqlx::query("DELETE FROM bank_entries WHERE tenant_id = $1 AND bank = $2")
                .bind(tenant.0)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM banks WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.0)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound(format!("bank '{name}'")));
            }
            audit!(
                tx,
                tenant.0,
                Action::BankChanged,
                format!("bank:{name}"),
                json!({ "op": "deleted", "name": name })
            );
            tx.commit().await?;
            Ok(())
        })
    }

    async fn add_bank_entries(
        &self,
        tenant: TenantId,
        bank: &str,
        entries: &[NewBankEntry],
    ) -> Result<Vec<BankEntry>, StoreError> {
        let checked = validate::bank_entries(entries)?;
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            touch!(tx, "banks", "bank", tenant, bank, now);
            for chunk in checked.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO bank_entries (tenant_id, bank, id, hash_kind, hash, quality, \
                     note, added_at) ",
                );
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(tenant.0)
                        .push_bind(bank)
                        .push_bind(e.id.as_str())
                        .push_bind(e.kind.as_str())
                        .push_bind(e.hash.as_str())
                        .push_bind(e.quality.map(i64::from))
                        .push_bind(e.note.as_deref())
                        .push_bind(now);
                });
                qb.build()
                    .persistent(false)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| classify(e, format!("an entry id in bank '{bank}'"), "bank"))?;
            }
            audit!(
                tx,
                tenant.0,
                Action::BankChanged,
                format!("bank:{bank}"),
                json!({
                    "op": "entries_added",
                    "name": bank,
                    "ids": checked.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
                })
            );
            tx.commit().await?;
        });
        Ok(checked
            .into_iter()
            .map(|e| BankEntry {
                id: e.id,
                kind: e.kind,
                hash: e.hash,
                quality: e.quality,
                note: e.note,
                added_at: now,
            })
            .collect())
    }

    async fn list_bank_entries(
        &self,
        tenant: TenantId,
        bank: &str,
    ) -> Result<Vec<BankEntry>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            let exists: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM banks WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.0)
                    .bind(bank)
                    .fetch_one(&mut *tx)
                    .await?;
            if exists == 0 {
                return Err(StoreError::NotFound(format!("bank '{bank}'")));
            }
            let rows = sqlx::query(
                "SELECT id, hash_kind, hash, quality, note, added_at FROM bank_entries \
                 WHERE tenant_id = $1 AND bank = $2 ORDER BY added_at, id",
            )
            .bind(tenant.0)
            .bind(bank)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.iter().map(|r| Ok(entry_from!(r))).collect()
        })
    }

    async fn remove_bank_entries(
        &self,
        tenant: TenantId,
        bank: &str,
        ids: &[String],
    ) -> Result<u64, StoreError> {
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            bump_revision!(tx, tenant);
            touch!(tx, "banks", "bank", tenant, bank, now);
            let mut removed = 0;
            for id in ids {
                removed += sqlx::query(
                    "DELETE FROM bank_entries WHERE tenant_id = $1 AND bank = $2 AND id = $3",
                )
                .bind(tenant.0)
                .bind(bank)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            audit!(
                tx,
                tenant.0,
                Action::BankChanged,
                format!("bank:{bank}"),
                json!({ "op": "entries_removed", "name": bank, "ids": ids, "removed": removed })
            );
            tx.commit().await?;
            Ok(removed)
        })
    }

    async fn record_verdict_for_review(
        &self,
        tenant: TenantId,
        verdict: &Verdict,
        review: Option<NewReviewItem>,
    ) -> Result<Option<String>, StoreError> {
        let mut row = verdict_row(tenant, verdict)?;
        row.review = self.review_row(verdict, review, None)?;
        let id = row.review.as_ref().map(|r| r.id.clone());
        self.writer.write(row).await?;
        Ok(id)
    }

    async fn get_verdict(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<StoredVerdict>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query(
                "SELECT verdict, created_at, review_outcome, reviewed_at, reviewed_by \
                 FROM verdicts WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            Ok(match row {
                Some(r) => Some(verdict_from!(r)),
                None => None,
            })
        })
    }

    async fn list_verdicts(
        &self,
        tenant: TenantId,
        limit: u32,
        after_id: Option<&str>,
    ) -> Result<Vec<StoredVerdict>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT verdict, created_at, review_outcome, reviewed_at, reviewed_by FROM verdicts WHERE tenant_id = $1 AND id > $2 \
                 ORDER BY id LIMIT $3",
            )
            .bind(tenant.0)
            .bind(after_id.unwrap_or(""))
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok(verdict_from!(r)))
            .collect()
        })
    }

    async fn list_verdicts_recorded(
        &self,
        tenant: TenantId,
        suggestion: rampart_types::Suggestion,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, &str)>,
        limit: u32,
    ) -> Result<Vec<StoredVerdict>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let (after_ms, after_id) = after.unwrap_or((from.saturating_sub(1), ""));
        on_pool!(&self.pool, |pool| {
            sqlx::query(
                "SELECT verdict, created_at, review_outcome, reviewed_at, reviewed_by FROM verdicts WHERE tenant_id = $1 \
                 AND suggestion = $2 AND created_at >= $3 AND created_at < $4 \
                 AND (created_at > $5 OR (created_at = $5 AND id > $6)) \
                 ORDER BY created_at, id LIMIT $7",
            )
            .bind(tenant.0)
            .bind(suggestion.as_str())
            .bind(from)
            .bind(to)
            .bind(after_ms)
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok(verdict_from!(r)))
            .collect()
        })
    }

    async fn create_job(&self, job: NewJob) -> Result<Job, StoreError> {
        let input_sha256 = validate::job(&job)?;
        let id = self.new_id();
        let now = now_ms();
        let input_bytes = job.input.len() as u64;
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(
                "INSERT INTO jobs (id, tenant_id, kind, state, progress, attempts, max_attempts, \
                 client_id, policy, callback_url, input_sha256, input_bytes, created_at) \
                 VALUES ($1, $2, $3, 'queued', 0.0, 0, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&id)
            .bind(job.tenant.0)
            .bind(job.kind.as_str())
            .bind(i64::from(job.max_attempts))
            .bind(job.client_id.as_deref())
            .bind(job.policy.as_deref())
            .bind(job.callback_url.as_deref())
            .bind(&input_sha256)
            .bind(input_bytes as i64)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, format!("job '{id}'"), "tenant"))?;
            sqlx::query("INSERT INTO job_inputs (job_id, data) VALUES ($1, $2)")
                .bind(&id)
                .bind(&job.input)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(Job {
            id,
            tenant: job.tenant,
            kind: job.kind,
            state: JobState::Queued,
            progress: 0.0,
            attempts: 0,
            max_attempts: job.max_attempts,
            client_id: job.client_id,
            policy: job.policy,
            callback_url: job.callback_url,
            input_sha256,
            input_bytes,
            error_code: None,
            error_message: None,
            verdict_id: None,
            created_at: now,
            started_at: None,
            finished_at: None,
        })
    }

    async fn get_job(&self, tenant: TenantId, id: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query(&sql)
                .bind(tenant.0)
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => Some(job_from!(r)),
                None => None,
            })
        })
    }

    async fn list_jobs(
        &self,
        tenant: TenantId,
        state: Option<JobState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        // '' stands for "any state" and "from the newest".
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND ($2 = '' OR state = $2) \
             AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(tenant.0)
                .bind(state.map_or("", JobState::as_str))
                .bind(after.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(job_from!(r)))
                .collect()
        })
    }

    async fn claim_job(&self, id: &str, lease_ms: u64) -> Result<Option<ClaimedJob>, StoreError> {
        let lease = new_lease();
        let now = now_ms();
        // The usual claim counts an attempt. A job out of attempts (it has crashed or timed out
        // every worker) is claimed without one and without its input, so the worker can fail
        // it with its webhook in one transaction.
        let claim = |attempts: &str, has_attempts: &str| {
            format!(
                "UPDATE jobs SET state = 'running', attempts = {attempts}, lease = $2, \
                 lease_until = $3, started_at = COALESCE(started_at, $4) \
                 WHERE id = $1 AND {has_attempts} \
                 AND (state = 'queued' OR (state = 'running' AND lease_until <= $4)) \
                 RETURNING {JOB_COLUMNS}"
            )
        };
        let claims = [
            (claim("attempts + 1", "attempts < max_attempts"), false),
            (claim("attempts", "attempts >= max_attempts"), true),
        ];
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for (sql, exhausted) in &claims {
                let claimed = sqlx::query(sql)
                    .bind(id)
                    .bind(&lease)
                    .bind(later(now, lease_ms))
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = claimed else { continue };
                let job = job_from!(row);
                let input = if *exhausted {
                    Vec::new()
                } else {
                    let input: Option<Vec<u8>> =
                        sqlx::query_scalar("SELECT data FROM job_inputs WHERE job_id = $1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    input.ok_or_else(|| {
                        StoreError::Integrity(format!("unfinished job '{id}' has no input"))
                    })?
                };
                tx.commit().await?;
                return Ok(Some(ClaimedJob {
                    job,
                    input,
                    lease,
                    exhausted: *exhausted,
                }));
            }
            Ok(None)
        })
    }

    async fn renew_job_lease(
        &self,
        id: &str,
        lease: &str,
        lease_ms: u64,
        progress: f32,
    ) -> Result<bool, StoreError> {
        let until = later(now_ms(), lease_ms);
        let renewed = on_pool!(&self.pool, |pool| {
            sqlx::query(
                "UPDATE jobs SET lease_until = $3, progress = $4 \
                 WHERE id = $1 AND lease = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(lease)
            .bind(until)
            .bind(progress_value(progress))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(renewed > 0)
    }

    async fn complete_job(
        &self,
        id: &str,
        lease: &str,
        tenant: TenantId,
        verdict: &Verdict,
        delivery: Option<NewDelivery>,
        review: Option<NewReviewItem>,
    ) -> Result<bool, StoreError> {
        let mut row = verdict_row(tenant, verdict)?;
        row.review = self.review_row(verdict, review, None)?;
        if let Some(d) = &delivery {
            validate::delivery(d)?;
        }
        let delivery_id = self.new_id();
        let now = row.created_at;
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let finished = sqlx::query(
                "UPDATE jobs SET state = 'succeeded', verdict_id = $4, progress = 1.0, \
                 finished_at = $5, lease = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease = $2 AND tenant_id = $3 AND state = 'running'",
            )
            .bind(id)
            .bind(lease)
            .bind(tenant.0)
            .bind(&row.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if finished == 0 {
                return Ok(false); // dropping the transaction rolls it back
            }
            sqlx::query(
                "INSERT INTO verdicts (tenant_id, id, created_at, content_type, suggestion, \
                 content_sha256, pdq, client_id, policy, verdict, flagged) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(row.tenant)
            .bind(&row.id)
            .bind(row.created_at)
            .bind(&row.content_type)
            .bind(&row.suggestion)
            .bind(&row.content_sha256)
            .bind(row.pdq.as_deref())
            .bind(row.client_id.as_deref())
            .bind(&row.policy)
            .bind(&row.json)
            .bind(&row.flagged)
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, format!("verdict '{}'", row.id), "tenant"))?;
            AuditConn::append(&mut *tx, row.tenant, &row.audit).await?;
            if let Some(review) = &row.review {
                insert_review_items_batch!(tx, Db, &[(row.tenant, review, now)]);
            }
            sqlx::query("DELETE FROM job_inputs WHERE job_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let Some(d) = &delivery {
                insert_delivery!(tx, &delivery_id, tenant.0, id, d, now);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn fail_job(
        &self,
        id: &str,
        lease: &str,
        code: &str,
        message: &str,
        delivery: Option<NewDelivery>,
    ) -> Result<bool, StoreError> {
        let message = validate::job_error(code, message)?;
        if let Some(d) = &delivery {
            validate::delivery(d)?;
        }
        let delivery_id = self.new_id();
        let now = now_ms();
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let tenant: Option<i64> = sqlx::query_scalar(
                "UPDATE jobs SET state = 'failed', error_code = $3, error_message = $4, \
                 finished_at = $5, lease = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease = $2 AND state = 'running' RETURNING tenant_id",
            )
            .bind(id)
            .bind(lease)
            .bind(code)
            .bind(message)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(tenant) = tenant else {
                return Ok(false);
            };
            sqlx::query("DELETE FROM job_inputs WHERE job_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let Some(d) = &delivery {
                insert_delivery!(tx, &delivery_id, tenant, id, d, now);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn requeue_running_jobs(&self) -> Result<u64, StoreError> {
        Ok(on_pool!(&self.pool, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'queued', lease = NULL, lease_until = NULL \
                 WHERE state = 'running'",
            )
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    async fn pending_jobs_after(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, TenantId)>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let rows: Vec<(String, i64)> = on_pool!(&self.pool, |pool| {
            // The first condition is the partial index's, word for word.
            sqlx::query_as(
                "SELECT id, tenant_id FROM jobs WHERE state IN ('queued', 'running') \
                 AND (state = 'queued' OR lease_until <= $1) AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(now_ms())
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id, t)| (id, TenantId(t))).collect())
    }

    async fn claim_due_deliveries(
        &self,
        now: UnixMillis,
        limit: u32,
        lease_ms: u64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let lease = new_lease();
        // The conditions are repeated outside the sub-select so that on PostgreSQL a row another
        // node leased meanwhile is re-checked and skipped, not leased twice.
        let sql = format!(
            "UPDATE deliveries SET lease = $1, lease_until = $2 \
             WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' \
             AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
             ORDER BY next_attempt_at, id LIMIT $4) \
             AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3) \
             RETURNING {DELIVERY_COLUMNS}, payload"
        );
        let mut due: Vec<DueDelivery> = on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(&lease)
                .bind(later(now, lease_ms))
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(DueDelivery {
                        delivery: delivery_from!(r),
                        payload: r.try_get("payload")?,
                        lease: lease.clone(),
                    })
                })
                .collect::<Result<_, StoreError>>()?
        });
        due.sort_by(|a, b| {
            (a.delivery.next_attempt_at, &a.delivery.id)
                .cmp(&(b.delivery.next_attempt_at, &b.delivery.id))
        });
        Ok(due)
    }

    async fn record_delivery_attempt(
        &self,
        id: &str,
        lease: &str,
        attempt: &DeliveryAttempt,
        outcome: DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let (state, next_attempt_at, delivered_at) = match outcome {
            DeliveryOutcome::Delivered => (DeliveryState::Delivered, None, Some(now)),
            DeliveryOutcome::RetryAt(at) => (DeliveryState::Pending, Some(at), None),
            DeliveryOutcome::GaveUp => (DeliveryState::Failed, None, None),
        };
        let error = attempt
            .error
            .as_deref()
            .map(|e| validate::truncate(e, validate::MAX_ERROR_BYTES));
        let status = attempt.status.map(i64::from);
        let duration = i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX);
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let n: Option<i64> = sqlx::query_scalar(
                "UPDATE deliveries SET attempts = attempts + 1, state = $3, next_attempt_at = $4, \
                 last_status = $5, last_error = $6, delivered_at = $7, lease = NULL, \
                 lease_until = NULL WHERE id = $1 AND lease = $2 AND state = 'pending' \
                 RETURNING attempts",
            )
            .bind(id)
            .bind(lease)
            .bind(state.as_str())
            .bind(next_attempt_at)
            .bind(status)
            .bind(error)
            .bind(delivered_at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(n) = n else {
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO delivery_attempts (delivery_id, n, at, status, error, duration_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(n)
            .bind(attempt.at)
            .bind(status)
            .bind(error)
            .bind(duration)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn list_deliveries(
        &self,
        tenant: TenantId,
        job_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        // '' stands for "any job" and "from the newest".
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1 \
             AND ($2 = '' OR job_id = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(tenant.0)
                .bind(job_id.unwrap_or(""))
                .bind(after.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(delivery_from!(r)))
                .collect()
        })
    }

    async fn delivery_attempts(
        &self,
        tenant: TenantId,
        delivery_id: &str,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        on_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            let exists: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(delivery_id)
            .fetch_one(&mut *tx)
            .await?;
            if exists == 0 {
                return Err(StoreError::NotFound(format!("delivery '{delivery_id}'")));
            }
            let rows = sqlx::query(
                "SELECT at, status, error, duration_ms FROM delivery_attempts \
                 WHERE delivery_id = $1 ORDER BY n",
            )
            .bind(delivery_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.iter()
                .map(|r| {
                    Ok(DeliveryAttempt {
                        at: r.try_get("at")?,
                        status: r
                            .try_get::<Option<i64>, _>("status")?
                            .and_then(|s| u16::try_from(s).ok()),
                        error: r.try_get("error")?,
                        duration_ms: r.try_get::<i64, _>("duration_ms")?.max(0) as u64,
                    })
                })
                .collect()
        })
    }

    async fn webhook_config(&self, tenant: TenantId) -> Result<Option<WebhookConfig>, StoreError> {
        let row: Option<(Option<String>, String)> = on_pool!(&self.pool, |pool| {
            sqlx::query_as("SELECT url, secret FROM webhook_configs WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(url, secret)| WebhookConfig { url, secret }))
    }

    async fn set_webhook_config(
        &self,
        tenant: TenantId,
        url: Option<&str>,
        secret: &str,
    ) -> Result<(), StoreError> {
        if let Some(url) = url {
            validate::url("url", url)?;
        }
        validate::secret(secret)?;
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(
                "INSERT INTO webhook_configs (tenant_id, url, secret, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE \
                 SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at",
            )
            .bind(tenant.0)
            .bind(url)
            .bind(secret)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, "webhook config", "tenant"))?;
            // The secret is never recorded, not even hashed.
            audit!(
                tx,
                tenant.0,
                Action::WebhookChanged,
                "webhook",
                json!({ "url": url })
            );
            tx.commit().await?;
        });
        Ok(())
    }

    async fn get_review_item(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<ReviewItem>, StoreError> {
        self.review_get(tenant, id).await
    }

    async fn review_item_owner(&self, id: &str) -> Result<Option<TenantId>, StoreError> {
        self.review_owner(id).await
    }

    async fn list_review_items(
        &self,
        tenant: TenantId,
        filter: &ReviewFilter,
        after: Option<&ReviewCursor>,
        limit: u32,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        self.review_list(tenant, filter, after, limit).await
    }

    async fn review_content(
        &self,
        tenant: TenantId,
        id: &str,
        part: u32,
    ) -> Result<Option<ContentPart>, StoreError> {
        self.review_part(tenant, id, part).await
    }

    async fn claim_review(
        &self,
        tenant: TenantId,
        id: &str,
        lease_ms: u64,
    ) -> Result<ReviewItem, StoreError> {
        self.review_claim(tenant, id, lease_ms).await
    }

    async fn release_review(&self, tenant: TenantId, id: &str) -> Result<ReviewItem, StoreError> {
        self.review_release(tenant, id).await
    }

    async fn decide_review(
        &self,
        tenant: TenantId,
        id: &str,
        decision: &NewDecision,
        rule: ClaimRule,
        retention_ms: u64,
        webhook: Option<NewDelivery>,
    ) -> Result<ReviewItem, StoreError> {
        self.review_decide(tenant, id, decision, rule, retention_ms, webhook)
            .await
    }

    async fn review_history(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Vec<ReviewDecision>, StoreError> {
        self.review_history_of(tenant, id).await
    }

    async fn open_appeal(
        &self,
        tenant: TenantId,
        content_id: &str,
        statement: &str,
    ) -> Result<ReviewItem, StoreError> {
        self.appeal_open(tenant, content_id, statement).await
    }

    async fn purge_review_content(&self, now: UnixMillis, limit: u32) -> Result<u64, StoreError> {
        self.review_purge(now, limit).await
    }

    async fn list_review_decisions(
        &self,
        tenant: TenantId,
        outcome: ReviewOutcome,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, &str)>,
        limit: u32,
    ) -> Result<Vec<(ReviewItem, StoredVerdict)>, StoreError> {
        self.review_decisions_between(tenant, outcome, from, to, after, limit)
            .await
    }

    async fn review_counts(
        &self,
        tenant: TenantId,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<ReviewCounts, StoreError> {
        self.review_counts_between(tenant, from, to).await
    }

    async fn create_console_session(
        &self,
        tenant: TenantId,
        key_id: &str,
        ttl_ms: u64,
    ) -> Result<(String, ConsoleSession), StoreError> {
        self.session_create(tenant, key_id, ttl_ms).await
    }

    async fn console_session(&self, presented: &str) -> Result<Option<ConsoleSession>, StoreError> {
        self.session_get(presented).await
    }

    async fn end_console_session(&self, presented: &str) -> Result<(), StoreError> {
        self.session_end(presented).await
    }

    async fn append_audit(
        &self,
        entry: &rampart_audit::NewEntry,
    ) -> Result<rampart_audit::Entry, StoreError> {
        let change = Change {
            ts_ms: entry.ts_ms,
            actor: entry.actor.clone(),
            action: entry.action,
            subject: entry.subject.clone(),
            payload: entry.payload.clone(),
        };
        on_pool!(&self.pool, |pool, Db, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let tenant: Option<i64> = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
                .bind(&entry.tenant)
                .fetch_optional(&mut *tx)
                .await?;
            let tenant = tenant.ok_or_else(|| StoreError::NotFound("tenant".into()))?;
            let sealed = AuditConn::append(&mut *tx, tenant, &change).await?;
            tx.commit().await?;
            Ok(sealed)
        })
    }

    async fn list_audit(
        &self,
        tenant: TenantId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<(rampart_audit::Entry, Option<serde_json::Value>)>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_LIST_LIMIT));
        let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        on_pool!(&self.pool, |pool| {
            sqlx::query(&sql)
                .bind(tenant.0)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(entry_from_row)
                .collect()
        })
    }

    async fn audit_head(
        &self,
        tenant: TenantId,
    ) -> Result<Option<rampart_audit::Head>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 \
             ORDER BY seq DESC LIMIT 1"
        );
        on_pool!(&self.pool, |pool| {
            let row = sqlx::query(&sql)
                .bind(tenant.0)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => Some(entry_from_row(&r)?.0.head()),
                None => None,
            })
        })
    }

    async fn integrity_check(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                    .fetch_all(pool)
                    .await?;
                if report != ["ok"] {
                    return Err(StoreError::Integrity(report.join("; ")));
                }
                let violations = sqlx::query("PRAGMA foreign_key_check")
                    .fetch_all(pool)
                    .await?;
                if let Some(first) = violations.first() {
                    let table: String = first.try_get(0)?;
                    return Err(StoreError::Integrity(format!(
                        "{} foreign key violation(s), first in table {table}",
                        violations.len()
                    )));
                }
            }
            Pool::Postgres(pool) => {
                let orphans: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM verdicts v WHERE NOT EXISTS \
                     (SELECT 1 FROM tenants t WHERE t.id = v.tenant_id)) + \
                     (SELECT COUNT(*) FROM api_keys k WHERE NOT EXISTS \
                     (SELECT 1 FROM tenants t WHERE t.id = k.tenant_id)) + \
                     (SELECT COUNT(*) FROM jobs j WHERE NOT EXISTS \
                     (SELECT 1 FROM tenants t WHERE t.id = j.tenant_id))",
                )
                .fetch_one(pool)
                .await?;
                if orphans != 0 {
                    return Err(StoreError::Integrity(format!(
                        "{orphans} rows belong to no tenant"
                    )));
                }
            }
        }
        let kept: i64 = on_pool!(&self.pool, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM job_inputs i JOIN jobs j ON j.id = i.job_id \
                 WHERE j.state IN ('succeeded', 'failed')",
            )
            .fetch_one(pool)
            .await?
        });
        if kept != 0 {
            return Err(StoreError::Integrity(format!(
                "{kept} finished job(s) still hold their input"
            )));
        }
        let version: i64 = on_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM rampart_migrations")
                .fetch_one(pool)
                .await?
        });
        if version != migrate::LATEST {
            return Err(StoreError::Integrity(format!(
                "schema version {version}, expected {}",
                migrate::LATEST
            )));
        }
        Ok(())
    }

    async fn close(&self) {
        on_pool!(&self.writer_pool, |pool| pool.close().await);
        on_pool!(&self.pool, |pool| pool.close().await)
    }
}
