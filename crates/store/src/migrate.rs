//! Versioned schema migrations, embedded in the binary and run at open.
//!
//! Each backend has its own ordered list of SQL files (`migrations/sqlite`,
//! `migrations/postgres`); both lists must have the same versions. Applied versions are
//! recorded in `rampart_migrations`. All pending migrations run in one transaction, under
//! `BEGIN IMMEDIATE` on SQLite and an advisory lock on PostgreSQL, so nodes starting together
//! migrate once.

use sqlx::Row;

use crate::sql::Pool;
use crate::StoreError;

struct Migration {
    version: i64,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/sqlite/0002_jobs.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/sqlite/0003_audit.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/sqlite/0004_reviews.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/postgres/0002_jobs.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/postgres/0003_audit.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/postgres/0004_reviews.sql"),
    },
];

/// The schema version this build writes.
pub(crate) const LATEST: i64 = 4;

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS rampart_migrations \
    (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// Brings the database to [`LATEST`].
pub(crate) async fn run(pool: &Pool) -> Result<(), StoreError> {
    match pool {
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(LEDGER).execute(&mut *tx).await?;
            let current: i64 =
                sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM rampart_migrations")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("v")?;
            for m in pending(SQLITE, current)? {
                sqlx::raw_sql(m.sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| failed(m, e))?;
                sqlx::query("INSERT INTO rampart_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(m.version)
                    .bind(crate::sql::now_ms())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Pool::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // One key for "rampart schema"; released at commit.
            sqlx::query("SELECT pg_advisory_xact_lock(7265706172740001)")
                .execute(&mut *tx)
                .await?;
            sqlx::query(LEDGER).execute(&mut *tx).await?;
            let current: i64 =
                sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM rampart_migrations")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("v")?;
            for m in pending(POSTGRES, current)? {
                sqlx::raw_sql(m.sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| failed(m, e))?;
                sqlx::query("INSERT INTO rampart_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(m.version)
                    .bind(crate::sql::now_ms())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

fn pending(all: &'static [Migration], current: i64) -> Result<&'static [Migration], StoreError> {
    if current > LATEST {
        return Err(StoreError::Migration(format!(
            "the database is at schema version {current}, newer than this build's {LATEST}; \
             upgrade Rampart"
        )));
    }
    Ok(&all[all.partition_point(|m| m.version <= current)..])
}

fn failed(m: &Migration, e: sqlx::Error) -> StoreError {
    StoreError::Migration(format!("version {}: {e}", m.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_every_version_in_order() {
        for all in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = all.iter().map(|m| m.version).collect();
            assert_eq!(versions, (1..=LATEST).collect::<Vec<_>>());
        }
    }
}
