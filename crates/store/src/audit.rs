//! The audit log in the database: appending sealed entries inside the transaction of the
//! change they record, reading them back, and walking a tenant's chain page by page.
//!
//! The chain logic (hashing, verification, published heads) is `rampart-audit`'s; this module
//! only stores it. Architecture invariant: there is no `UPDATE` or `DELETE` of
//! `audit_entries` anywhere in this crate.
//!
//! # Who the actor is
//!
//! Every write method of the [`Store`](crate::Store) records who asked for it. Rather than
//! thread an `actor` argument through every method (and every caller), the actor is ambient
//! context of the task, like a tracing span: [`acting_as`] runs a future as an actor, and
//! [`set_actor`] changes the actor of the enclosing scope (the server sets `key:<id>` once a
//! request is authenticated). Outside any scope the actor is [`SYSTEM_ACTOR`], which is right
//! for background work (job workers, start-up). The actor is read when the store call is
//! made, in the caller's task, so the group-commit writer records the caller, not itself.

use std::cell::RefCell;
use std::future::Future;

use async_trait::async_trait;
use rampart_audit::{canonical_json, seal, Action, Entry, Head, NewEntry, Verifier, VerifyReport};
use serde_json::Value;
use sqlx::Row;

use crate::{Store, StoreError, TenantId};

/// The actor of store writes made outside any [`acting_as`] scope.
pub const SYSTEM_ACTOR: &str = "system";

/// Entries read per page when walking a chain.
pub const AUDIT_PAGE: u32 = 1000;

tokio::task_local! {
    static ACTOR: RefCell<String>;
}

/// Runs `fut` with `actor` (e.g. `key:01HX…`, `cli`) as the actor of every audit entry the
/// store appends for it.
pub async fn acting_as<F: Future>(actor: impl Into<String>, fut: F) -> F::Output {
    ACTOR.scope(RefCell::new(actor.into()), fut).await
}

/// Changes the actor of the enclosing [`acting_as`] scope; `false` (and nothing changed)
/// outside any scope.
pub fn set_actor(actor: impl Into<String>) -> bool {
    let actor = actor.into();
    ACTOR.try_with(|a| *a.borrow_mut() = actor).is_ok()
}

/// The actor store writes made now are recorded under.
pub fn current_actor() -> String {
    ACTOR
        .try_with(|a| a.borrow().clone())
        .unwrap_or_else(|_| SYSTEM_ACTOR.to_owned())
}

/// A change to record, captured (with its actor and time) when the store call is made.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub ts_ms: i64,
    pub actor: String,
    pub action: Action,
    pub subject: String,
    pub payload: Value,
}

impl Change {
    pub(crate) fn new(action: Action, subject: impl Into<String>, payload: Value) -> Change {
        Change {
            ts_ms: crate::sql::now_ms(),
            actor: current_actor(),
            action,
            subject: subject.into(),
            payload,
        }
    }
}

/// Appending to a tenant's chain inside an open write transaction.
#[async_trait]
pub(crate) trait AuditConn: Send {
    /// Holds the tenant's chain until the transaction ends, so appends of one tenant are
    /// serialised (PostgreSQL: an advisory lock; SQLite: its single writer already does it).
    async fn lock_chain(&mut self, tenant: i64) -> Result<(), StoreError>;
    /// Seals `change` onto the tenant's chain and inserts it.
    async fn append(&mut self, tenant: i64, change: &Change) -> Result<Entry, StoreError>;
    /// Seals `changes` onto the tenant's chain in order and inserts them with multi-row
    /// statements: one head lookup and a few round trips for a whole group-commit batch,
    /// instead of four per entry.
    async fn append_many(
        &mut self,
        tenant: i64,
        changes: &[&Change],
    ) -> Result<Vec<Entry>, StoreError>;
}

/// Rows per multi-row insert of audit entries (11 bound values each).
const APPEND_CHUNK: usize = 256;

/// The PostgreSQL advisory-lock key of a tenant's chain.
fn chain_lock_key(tenant: i64) -> i64 {
    // "AUDI" in the high half keeps these apart from the schema lock.
    0x4155_4449_0000_0000_i64.wrapping_add(tenant)
}

macro_rules! impl_audit_conn {
    ($conn:ty, $db:ty, |$self_:ident, $tenant:ident| $lock:block) => {
        #[async_trait]
        impl AuditConn for $conn {
            async fn lock_chain(&mut self, tenant: i64) -> Result<(), StoreError> {
                let $self_ = self;
                let $tenant = tenant;
                let () = $lock;
                Ok(())
            }

            async fn append_many(
                &mut self,
                tenant: i64,
                changes: &[&Change],
            ) -> Result<Vec<Entry>, StoreError> {
                if changes.is_empty() {
                    return Ok(Vec::new());
                }
                self.lock_chain(tenant).await?;
                let name: Option<String> =
                    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
                        .bind(tenant)
                        .fetch_optional(&mut *self)
                        .await?;
                let name = name.ok_or_else(|| StoreError::NotFound("tenant".into()))?;
                let mut head = sqlx::query(
                    "SELECT seq, hash, ts_ms FROM audit_entries WHERE tenant_id = $1 \
                     ORDER BY seq DESC LIMIT 1",
                )
                .bind(tenant)
                .fetch_optional(&mut *self)
                .await?
                .map(|r| -> Result<Head, StoreError> {
                    Ok(Head {
                        tenant: name.clone(),
                        seq: r.try_get::<i64, _>("seq")?.max(0) as u64,
                        hash: r.try_get("hash")?,
                        ts_ms: r.try_get("ts_ms")?,
                    })
                })
                .transpose()?;
                let mut sealed = Vec::with_capacity(changes.len());
                for change in changes {
                    let new = NewEntry {
                        ts_ms: change.ts_ms,
                        tenant: name.clone(),
                        actor: change.actor.clone(),
                        action: change.action,
                        subject: change.subject.clone(),
                        payload: change.payload.clone(),
                    };
                    let entry = seal(head.as_ref(), &new)?;
                    let payload = canonical_json(&new.payload)?;
                    let seq = i64::try_from(entry.seq)
                        .map_err(|_| StoreError::Integrity("audit seq overflow".into()))?;
                    head = Some(entry.head());
                    sealed.push((seq, entry, payload));
                }
                for chunk in sealed.chunks(APPEND_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_entries (tenant_id, seq, ts_ms, tenant, actor, action, \
                         subject, payload_sha256, prev, hash, payload) ",
                    );
                    qb.push_values(chunk, |mut b, (seq, entry, payload)| {
                        b.push_bind(tenant)
                            .push_bind(*seq)
                            .push_bind(entry.ts_ms)
                            .push_bind(entry.tenant.clone())
                            .push_bind(entry.actor.clone())
                            .push_bind(entry.action.as_str())
                            .push_bind(entry.subject.clone())
                            .push_bind(entry.payload_sha256.clone())
                            .push_bind(entry.prev.clone())
                            .push_bind(entry.hash.clone())
                            .push_bind(payload.clone());
                    });
                    qb.build().persistent(false).execute(&mut *self).await?;
                }
                Ok(sealed.into_iter().map(|(_, entry, _)| entry).collect())
            }

            async fn append(&mut self, tenant: i64, change: &Change) -> Result<Entry, StoreError> {
                self.append_many(tenant, &[change])
                    .await?
                    .pop()
                    .ok_or_else(|| StoreError::Integrity("no audit entry sealed".into()))
            }
        }
    };
}

// SQLite: the write transaction (`BEGIN IMMEDIATE`) already excludes every other writer.
impl_audit_conn!(sqlx::SqliteConnection, sqlx::Sqlite, |_conn, _tenant| {});
impl_audit_conn!(sqlx::PgConnection, sqlx::Postgres, |conn, tenant| {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(chain_lock_key(tenant))
        .execute(&mut *conn)
        .await?;
});

/// The columns [`entry_from_row`] reads.
pub(crate) const ENTRY_COLUMNS: &str =
    "seq, ts_ms, tenant, actor, action, subject, payload_sha256, prev, hash, payload";

/// An entry and its payload as stored. The row is taken as it is, so that verification can
/// report a tampered one: a payload that is not JSON comes back as a JSON string (and fails
/// its digest); only an action name this build does not know is an error.
pub(crate) fn entry_from_row<R>(row: &R) -> Result<(Entry, Option<Value>), StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let seq = row.try_get::<i64, _>("seq")?.max(0) as u64;
    let action: String = row.try_get("action")?;
    let action = action.parse().map_err(|_| {
        StoreError::Integrity(format!(
            "audit entry {seq} has an unknown action {action:?}"
        ))
    })?;
    let payload = row
        .try_get::<Option<String>, _>("payload")?
        .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)));
    Ok((
        Entry {
            seq,
            ts_ms: row.try_get("ts_ms")?,
            tenant: row.try_get("tenant")?,
            actor: row.try_get("actor")?,
            action,
            subject: row.try_get("subject")?,
            payload_sha256: row.try_get("payload_sha256")?,
            prev: row.try_get("prev")?,
            hash: row.try_get("hash")?,
        },
        payload,
    ))
}

/// Walks `tenant`'s whole chain from seq 1, [`AUDIT_PAGE`] entries at a time, and names the
/// first broken link. Memory stays constant whatever the chain's length.
pub async fn verify_chain(store: &dyn Store, tenant: TenantId) -> Result<VerifyReport, StoreError> {
    let name = tenant_name(store, tenant).await?;
    let mut verifier = Verifier::new(&name);
    let mut after = 0;
    loop {
        let page = store.list_audit(tenant, after, AUDIT_PAGE).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.seq;
        let full = page.len() as u32 == AUDIT_PAGE;
        for (entry, payload) in &page {
            if !verifier.push(entry, payload.as_ref()) {
                return Ok(verifier.finish());
            }
        }
        if !full {
            break;
        }
    }
    Ok(verifier.finish())
}

/// Proves that `tenant`'s chain still contains the `published` head: the chain verifies up to
/// its end, reaches the published seq and has the published hash there. Returns the current
/// head. Errors other than [`StoreError`] come back as [`rampart_audit::AuditError`] inside
/// `Ok(Err(..))`.
pub async fn check_published_head(
    store: &dyn Store,
    tenant: TenantId,
    published: &Head,
) -> Result<Result<Head, rampart_audit::AuditError>, StoreError> {
    use rampart_audit::AuditError;
    let name = tenant_name(store, tenant).await?;
    if published.tenant != name {
        return Ok(Err(AuditError::TenantMismatch {
            head: published.tenant.clone(),
            entry: name,
        }));
    }
    let mut verifier = Verifier::new(&name);
    let mut found = None;
    let mut after = 0;
    'pages: loop {
        let page = store.list_audit(tenant, after, AUDIT_PAGE).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.seq;
        let full = page.len() as u32 == AUDIT_PAGE;
        for (entry, _) in &page {
            if !verifier.push(entry, None) {
                break 'pages;
            }
            if entry.seq == published.seq {
                found = Some(entry.hash.clone());
            }
        }
        if !full {
            break;
        }
    }
    let report = verifier.finish();
    if let Some(broken) = report.first_broken {
        return Ok(Err(AuditError::ChainBroken(broken)));
    }
    let Some(found) = found else {
        return Ok(Err(AuditError::HeadNotReached {
            published_seq: published.seq,
            chain_seq: report.head.map_or(0, |h| h.seq),
        }));
    };
    if found != published.hash {
        return Ok(Err(AuditError::HeadMismatch {
            seq: published.seq,
            published: published.hash.clone(),
            found,
        }));
    }
    Ok(Ok(report
        .head
        .expect("the chain reached the published seq")))
}

async fn tenant_name(store: &dyn Store, tenant: TenantId) -> Result<String, StoreError> {
    Ok(store
        .tenant(tenant)
        .await?
        .ok_or_else(|| StoreError::NotFound("tenant".into()))?
        .name)
}
