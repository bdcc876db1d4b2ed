//! The store's behaviour, written once and run against both backends: every test below runs as
//! `sqlite::<name>` on a temporary file and as `postgres::<name>` in a fresh schema of the
//! server at `DATABASE_URL` (which must be set and reachable: the PostgreSQL half fails, never
//! skips).

use std::sync::Arc;

use rampart_store::{
    BackendKind, DeliveryAttempt, DeliveryOutcome, DeliveryState, HashKind, JobKind, JobState,
    NewBankEntry, NewDelivery, NewJob, NewLibrary, Role, Store, StoreError, TenantId,
};
use rampart_types::{
    ByteSpan, ContentRef, ContentType, ErrorCode, Evidence, EvidenceKind, Label, LabelVerdict,
    Suggestion, Verdict,
};
use sha2::{Digest, Sha256};
use sqlx::Connection;

/// A store on a throw-away database, and the means to reopen and inspect it.
struct TestDb {
    url: String,
    store: Arc<dyn Store>,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
        let store = rampart_store::open(&url).await.unwrap();
        assert_eq!(store.backend(), BackendKind::Sqlite);
        TestDb {
            url,
            store,
            place: Place::Sqlite(dir),
        }
    }

    async fn postgres() -> TestDb {
        let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!(
                "DATABASE_URL is not set: the PostgreSQL half of the store suite needs a server, \
                 e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
            )
        });
        let schema = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at DATABASE_URL={admin_url} is unreachable: {e}")
            });
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        let store = rampart_store::open(&url).await.unwrap();
        assert_eq!(store.backend(), BackendKind::Postgres);
        TestDb {
            url,
            store,
            place: Place::Postgres { admin_url, schema },
        }
    }

    /// A second store on the same database (as after a restart).
    async fn reopen(&self) -> Arc<dyn Store> {
        rampart_store::open(&self.url).await.unwrap()
    }

    /// Every verdict row as one string per row, every column included.
    async fn raw_verdict_rows(&self) -> Vec<String> {
        let sql = "SELECT tenant_id || '|' || id || '|' || created_at || '|' || content_type \
                   || '|' || suggestion || '|' || content_sha256 || '|' || COALESCE(pdq, '') \
                   || '|' || COALESCE(client_id, '') || '|' || policy || '|' || verdict \
                   FROM verdicts";
        match &self.place {
            Place::Sqlite(_) => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
            }
            Place::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
            }
        }
    }

    /// One number from a raw query, e.g. a row count.
    async fn raw_count(&self, sql: &str) -> i64 {
        match &self.place {
            Place::Sqlite(_) => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
            Place::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
        }
    }

    /// Runs one raw statement, as someone with direct database access could (the store itself
    /// has no way to change an audit entry).
    async fn raw_exec(&self, sql: &str) {
        match &self.place {
            Place::Sqlite(_) => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Place::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
        }
    }

    /// Moves the SQLite WAL into the database file and empties it (no-op on PostgreSQL).
    async fn checkpoint(&self) {
        if let Place::Sqlite(_) = &self.place {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(busy, 0, "the checkpoint was blocked");
        }
    }

    /// Every byte the database keeps on disk (SQLite only: the file and its WAL).
    fn sqlite_bytes(&self) -> Option<Vec<u8>> {
        let Place::Sqlite(dir) = &self.place else {
            return None;
        };
        let mut bytes = Vec::new();
        for name in ["rampart.db", "rampart.db-wal"] {
            bytes.extend(std::fs::read(dir.path().join(name)).unwrap_or_default());
        }
        Some(bytes)
    }

    async fn finish(self) {
        self.store.close().await;
        if let Place::Postgres { admin_url, schema } = &self.place {
            let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
            sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

/// Runs each named test against SQLite and PostgreSQL.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = super::TestDb::sqlite().await;
                    super::$test(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = super::TestDb::postgres().await;
                    super::$test(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

on_both_backends!(
    tenants_have_unique_names,
    a_key_authenticates_until_revoked_and_its_secret_is_not_kept,
    a_tenant_sees_none_of_another_tenants_objects,
    policy_changes_make_new_versions_and_old_ones_stay_readable,
    every_policy_library_and_bank_change_bumps_the_revision,
    library_import_is_all_or_nothing,
    bank_import_is_all_or_nothing_across_chunks,
    a_verdict_round_trips_without_the_content,
    verdicts_that_could_carry_content_are_refused,
    concurrent_verdicts_are_all_acknowledged_and_stored,
    a_bad_verdict_fails_alone_in_its_batch,
    verdicts_page_in_id_order,
    data_survives_reopening,
    the_integrity_check_passes,
    a_job_is_claimed_once_and_completes_once,
    a_job_with_an_expired_lease_is_reclaimed_and_the_old_claim_is_void,
    a_job_out_of_attempts_is_claimed_only_to_be_failed_with_its_webhook,
    a_failed_job_keeps_its_error_and_its_delivery,
    a_finished_job_keeps_no_content,
    bad_jobs_are_refused_before_anything_is_written,
    jobs_list_newest_first_by_page_and_state,
    running_jobs_are_requeued_at_startup,
    a_tenant_sees_none_of_another_tenants_jobs_or_deliveries,
    deliveries_are_leased_attempted_and_logged,
    the_webhook_config_round_trips,
    vpdq_entries_round_trip,
    every_change_appends_to_the_tenants_audit_chain,
    audit_chains_are_per_tenant_and_survive_concurrent_writers,
    a_tampered_audit_entry_is_named_and_a_purged_payload_is_only_missing,
    a_published_head_is_found_until_history_is_rewritten,
    append_audit_seals_external_events,
    verdicts_list_by_suggestion_and_recording_time,
    a_verdict_queued_for_review_keeps_its_content_in_the_same_transaction,
    the_review_tables_get_statistics_once_a_thousand_items_are_queued,
    a_completed_job_queues_its_verdict_for_review_in_its_transaction,
    the_queue_lists_escalated_first_then_by_priority_then_oldest,
    a_claim_is_a_lease_held_by_one_moderator,
    a_decision_needs_a_live_claim_and_closes_the_item_once,
    an_appeal_reopens_content_for_another_moderator,
    decided_content_is_purged_after_retention_and_the_purge_is_audited,
    a_tenant_sees_none_of_another_tenants_review_items,
    review_counts_and_decisions_sum_up_a_period,
    a_console_session_lives_until_it_ends_expires_or_its_key_is_revoked,
    concurrent_claims_and_decisions_have_one_winner,
);

// ---------- helpers ----------

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A verdict about `text` as the text pipeline would make it: a profanity hit with its snippet.
fn verdict_for(text: &str, matched: &str) -> Verdict {
    let start = text.find(matched).expect("the match is in the text");
    let mut evidence = Evidence::new(EvidenceKind::Term)
        .with_span(text, ByteSpan::new(start, start + matched.len()));
    evidence.library = Some("builtin:profanity-en".into());
    evidence.term = Some(matched.into());
    Verdict {
        id: ulid::Ulid::new().to_string(),
        content_type: ContentType::Text,
        content_ref: ContentRef {
            sha256: sha256_hex(text),
            pdq: None,
            client_id: Some("post-17".into()),
        },
        suggestion: Suggestion::Block,
        labels: vec![LabelVerdict {
            label: Label::Profanity,
            score: 0.93,
            suggestion: Suggestion::Block,
            evidence: vec![evidence],
        }],
        policy: "default@1".into(),
        models: vec![],
        elapsed_ms: 0.4,
    }
}

fn plain_verdict(n: usize) -> Verdict {
    verdict_for(&format!("message number {n} says damn"), "damn")
}

fn entry(hash_byte: u8) -> NewBankEntry {
    NewBankEntry {
        id: None,
        kind: HashKind::Pdq,
        hash: format!("{hash_byte:02x}").repeat(32),
        quality: Some(90),
        note: Some("case 1".into()),
    }
}

fn library(name: &str, terms: &[&str]) -> NewLibrary {
    NewLibrary {
        name: name.into(),
        kind: "block".into(),
        label: "custom:scams".into(),
        severity: "strong".into(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
    }
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(e) => assert_eq!(e.code(), ErrorCode::NotFound, "{what}: {e}"),
        Ok(v) => panic!("{what}: expected not_found, got {v:?}"),
    }
}

// ---------- the specification ----------

async fn tenants_have_unique_names(db: &TestDb) {
    let s = &db.store;
    let a = s.create_tenant("acme").await.unwrap();
    assert_eq!(s.tenant(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.tenant_by_name("acme").await.unwrap(), Some(a.clone()));
    assert_eq!(s.tenant_by_name("nobody").await.unwrap(), None);
    assert_eq!(s.tenant(TenantId(a.id.0 + 1000)).await.unwrap(), None);
    let again = s.create_tenant("acme").await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict, "{again}");
    let bad = s.create_tenant("no spaces").await.unwrap_err();
    assert_eq!(bad.code(), ErrorCode::InvalidRequest, "{bad}");
}

async fn a_key_authenticates_until_revoked_and_its_secret_is_not_kept(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap();
    let created = s
        .create_key(t.id, Role::Moderator, "review desk")
        .await
        .unwrap();
    assert!(
        created.plaintext.starts_with("rk_"),
        "{}",
        created.plaintext
    );

    let who = s.authenticate(&created.plaintext).await.unwrap().unwrap();
    assert_eq!((who.tenant, who.role), (t.id, Role::Moderator));
    assert_eq!(who.key_id, created.key.id);

    // A wrong secret for a real id, garbage, and an empty header all fail.
    let (prefix, secret) = created.plaintext.rsplit_once('_').unwrap();
    let flipped = if secret.starts_with('0') { "1" } else { "0" };
    let wrong = format!("{prefix}_{flipped}{}", &secret[1..]);
    for presented in [wrong.as_str(), "rk_nothing", "", "Bearer x"] {
        assert_eq!(
            s.authenticate(presented).await.unwrap(),
            None,
            "{presented}"
        );
    }

    // Listing shows the key without anything secret.
    let keys = s.list_keys(t.id).await.unwrap();
    assert_eq!(keys, vec![created.key.clone()]);
    assert!(!serde_json::to_string(&keys).unwrap().contains(secret));

    s.revoke_key(t.id, &created.key.id).await.unwrap();
    s.revoke_key(t.id, &created.key.id).await.unwrap(); // idempotent
    assert_eq!(s.authenticate(&created.plaintext).await.unwrap(), None);
    assert!(s.list_keys(t.id).await.unwrap()[0].revoked_at.is_some());
    assert_not_found(s.revoke_key(t.id, "0000000000000000").await, "unknown key");
}

async fn a_tenant_sees_none_of_another_tenants_objects(db: &TestDb) {
    let s = &db.store;
    let a = s.create_tenant("tenant-a").await.unwrap();
    let b = s.create_tenant("tenant-b").await.unwrap();

    // Tenant B owns one of everything.
    let b_key = s.create_key(b.id, Role::Admin, "b admin").await.unwrap();
    s.put_policy(b.id, "forum", "name = \"forum\"\nversion = 1\n")
        .await
        .unwrap();
    s.create_library(b.id, &library("scams", &["crypto doubler"]))
        .await
        .unwrap();
    s.create_bank(b.id, "known", &serde_json::json!({"kind": "pdq"}))
        .await
        .unwrap();
    let b_entry = s
        .add_bank_entries(b.id, "known", &[entry(1)])
        .await
        .unwrap();
    let b_verdict = plain_verdict(1);
    s.record_verdict(b.id, &b_verdict).await.unwrap();

    // A key of tenant A speaks for A only.
    let a_key = s.create_key(a.id, Role::Admin, "a admin").await.unwrap();
    let me = s
        .authenticate(&a_key.plaintext)
        .await
        .unwrap()
        .unwrap()
        .tenant;
    assert_eq!(me, a.id);
    let a_revision = s.revision(me).await.unwrap();

    // Reads: nothing of B is visible to A.
    assert_eq!(s.list_keys(me).await.unwrap(), vec![a_key.key.clone()]);
    assert_eq!(s.get_policy(me, "forum", None).await.unwrap(), None);
    assert_eq!(s.get_policy(me, "forum", Some(1)).await.unwrap(), None);
    assert!(s.policy_versions(me, "forum").await.unwrap().is_empty());
    assert!(s.list_policies(me).await.unwrap().is_empty());
    assert_eq!(s.get_library(me, "scams").await.unwrap(), None);
    assert!(s.list_libraries(me).await.unwrap().is_empty());
    assert_eq!(s.get_bank(me, "known").await.unwrap(), None);
    assert!(s.list_banks(me).await.unwrap().is_empty());
    assert_not_found(s.list_bank_entries(me, "known").await, "bank entries");
    assert_eq!(s.get_verdict(me, &b_verdict.id).await.unwrap(), None);
    assert!(s.list_verdicts(me, 100, None).await.unwrap().is_empty());

    // Writes: every change aimed at B's objects is not_found and changes nothing.
    assert_not_found(s.revoke_key(me, &b_key.key.id).await, "revoke");
    assert_not_found(s.add_terms(me, "scams", &["x".into()]).await, "add terms");
    assert_not_found(
        s.remove_terms(me, "scams", &["crypto doubler".into()])
            .await,
        "remove terms",
    );
    assert_not_found(s.delete_library(me, "scams").await, "delete library");
    assert_not_found(
        s.add_bank_entries(me, "known", &[entry(2)]).await,
        "add entries",
    );
    let ids = vec![b_entry[0].id.clone()];
    assert_not_found(
        s.remove_bank_entries(me, "known", &ids).await,
        "remove entries",
    );
    assert_not_found(s.delete_bank(me, "known").await, "delete bank");
    assert_eq!(s.revision(me).await.unwrap(), a_revision);

    // B's objects are untouched.
    assert!(s.authenticate(&b_key.plaintext).await.unwrap().is_some());
    assert_eq!(
        s.get_library(b.id, "scams").await.unwrap().unwrap().terms,
        ["crypto doubler"]
    );
    assert_eq!(s.list_bank_entries(b.id, "known").await.unwrap().len(), 1);
    assert_eq!(
        s.get_verdict(b.id, &b_verdict.id)
            .await
            .unwrap()
            .unwrap()
            .verdict,
        b_verdict
    );

    // The same names are free for A: objects are per tenant.
    assert_eq!(
        s.put_policy(me, "forum", "name = \"forum\"\nversion = 1\n")
            .await
            .unwrap(),
        1
    );
    s.create_library(me, &library("scams", &[])).await.unwrap();
    s.create_bank(me, "known", &serde_json::json!({}))
        .await
        .unwrap();
}

async fn policy_changes_make_new_versions_and_old_ones_stay_readable(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let sources: Vec<String> = (1..=3)
        .map(|v| format!("name = \"forum\"\nversion = {v}\n\n[labels.profanity]\nreview = 0.{v}\nblock = 0.9\n"))
        .collect();
    for (i, toml) in sources.iter().enumerate() {
        assert_eq!(s.put_policy(t, "forum", toml).await.unwrap(), i as u32 + 1);
    }
    let latest = s.get_policy(t, "forum", None).await.unwrap().unwrap();
    assert_eq!(
        (latest.version, latest.toml.as_str()),
        (3, sources[2].as_str())
    );
    let first = s.get_policy(t, "forum", Some(1)).await.unwrap().unwrap();
    assert_eq!(first.toml, sources[0]);
    // What is stored is what policies parse from.
    assert!(rampart_policy::Policy::from_toml(&first.toml).is_ok());
    assert_eq!(s.get_policy(t, "forum", Some(4)).await.unwrap(), None);
    let versions: Vec<u32> = s
        .policy_versions(t, "forum")
        .await
        .unwrap()
        .iter()
        .map(|p| p.version)
        .collect();
    assert_eq!(versions, [1, 2, 3]);

    assert_eq!(
        s.put_policy(t, "kids", "name = \"kids\"\nversion = 1\n")
            .await
            .unwrap(),
        1
    );
    let latest: Vec<(String, u32)> = s
        .list_policies(t)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    assert_eq!(latest, [("forum".to_owned(), 3), ("kids".to_owned(), 1)]);
    // Numbered above a floor (the server's own policy of that name), and never backwards.
    assert_eq!(
        s.put_policy_after(t, "floor", &sources[0], 4)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        s.put_policy_after(t, "floor", &sources[0], 4)
            .await
            .unwrap(),
        6
    );
    assert_eq!(
        s.put_policy_after(t, "floor", &sources[0], 1)
            .await
            .unwrap(),
        7
    );
    assert_not_found(
        s.put_policy(TenantId(999_999), "x", "").await,
        "unknown tenant",
    );
}

async fn every_policy_library_and_bank_change_bumps_the_revision(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let mut seen = s.revision(t).await.unwrap();
    assert_eq!(seen, 0);
    let mut changed = |now: u64, what: &str| {
        assert!(
            now > seen,
            "{what} did not bump the revision ({seen} -> {now})"
        );
        seen = now;
    };
    s.put_policy(t, "p", "name = \"p\"\nversion = 1\n")
        .await
        .unwrap();
    changed(s.revision(t).await.unwrap(), "put_policy");
    s.create_library(t, &library("l", &["a"])).await.unwrap();
    changed(s.revision(t).await.unwrap(), "create_library");
    s.add_terms(t, "l", &["b".into()]).await.unwrap();
    changed(s.revision(t).await.unwrap(), "add_terms");
    s.remove_terms(t, "l", &["a".into()]).await.unwrap();
    changed(s.revision(t).await.unwrap(), "remove_terms");
    s.delete_library(t, "l").await.unwrap();
    changed(s.revision(t).await.unwrap(), "delete_library");
    s.create_bank(t, "b", &serde_json::json!({})).await.unwrap();
    changed(s.revision(t).await.unwrap(), "create_bank");
    let added = s.add_bank_entries(t, "b", &[entry(3)]).await.unwrap();
    changed(s.revision(t).await.unwrap(), "add_bank_entries");
    s.remove_bank_entries(t, "b", &[added[0].id.clone()])
        .await
        .unwrap();
    changed(s.revision(t).await.unwrap(), "remove_bank_entries");
    s.delete_bank(t, "b").await.unwrap();
    changed(s.revision(t).await.unwrap(), "delete_bank");

    // Failed changes leave it alone; verdicts and keys are not configuration.
    let before = s.revision(t).await.unwrap();
    assert!(s.add_terms(t, "gone", &["x".into()]).await.is_err());
    assert!(s
        .create_library(t, &library("bad", &["   "]))
        .await
        .is_err());
    s.record_verdict(t, &plain_verdict(1)).await.unwrap();
    s.create_key(t, Role::Submitter, "k").await.unwrap();
    assert_eq!(s.revision(t).await.unwrap(), before);
    assert_not_found(s.revision(TenantId(999_999)).await, "unknown tenant");
}

async fn library_import_is_all_or_nothing(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let lib = s
        .create_library(
            t,
            &library("scams", &["wire me", "crypto doubler", "wire me"]),
        )
        .await
        .unwrap();
    assert_eq!(lib.terms, ["crypto doubler", "wire me"]);
    let again = s
        .create_library(t, &library("scams", &[]))
        .await
        .unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict);

    // Duplicates are skipped and counted out.
    let added = s
        .add_terms(
            t,
            "scams",
            &[
                "wire me".into(),
                "re:gift ?card".into(),
                "send btc\tillicit".into(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(added, 2);

    // One bad line (here the 1,500th) and nothing of the import is stored.
    let mut import: Vec<String> = (0..2000).map(|i| format!("term {i}")).collect();
    import[1499] = "two\nlines".into();
    let err = s.add_terms(t, "scams", &import).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest, "{err}");
    assert_eq!(
        s.get_library(t, "scams")
            .await
            .unwrap()
            .unwrap()
            .terms
            .len(),
        4
    );

    // A good large import lands whole.
    import[1499] = "term 1499".into();
    assert_eq!(s.add_terms(t, "scams", &import).await.unwrap(), 2000);
    let listed = s.list_libraries(t).await.unwrap();
    assert_eq!(
        (listed[0].name.as_str(), listed[0].term_count),
        ("scams", 2004)
    );
    assert_eq!(
        s.remove_terms(t, "scams", &["wire me".into(), "absent".into()])
            .await
            .unwrap(),
        1
    );
    s.delete_library(t, "scams").await.unwrap();
    assert_eq!(s.get_library(t, "scams").await.unwrap(), None);
}

async fn bank_import_is_all_or_nothing_across_chunks(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let config = serde_json::json!({"name": "known", "label": "sexual_minors", "kind": "pdq", "threshold": 31});
    let bank = s.create_bank(t, "known", &config).await.unwrap();
    assert_eq!(bank.config, config);
    assert_eq!(
        s.create_bank(t, "known", &config).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    assert_eq!(
        s.create_bank(t, "x", &serde_json::json!([1]))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidRequest
    );
    let first = s
        .add_bank_entries(
            t,
            "known",
            &[NewBankEntry {
                id: Some("case-1".into()),
                ..entry(0xAB)
            }],
        )
        .await
        .unwrap();
    assert_eq!(first[0].hash, "ab".repeat(32));

    // 1,200 entries whose 1,101st repeats an id already in the bank: the database refuses it
    // after two chunks were inserted, and the transaction takes them back.
    let mut import: Vec<NewBankEntry> = (0..1200)
        .map(|i| NewBankEntry {
            id: Some(format!("e{i}")),
            ..entry((i % 250) as u8)
        })
        .collect();
    import[1100].id = Some("case-1".into());
    let err = s.add_bank_entries(t, "known", &import).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert_eq!(s.list_bank_entries(t, "known").await.unwrap().len(), 1);

    // A malformed hash is refused before anything is written.
    import[1100].id = None;
    import[5].hash = "not hex".into();
    let err = s.add_bank_entries(t, "known", &import).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest, "{err}");
    assert_eq!(
        s.get_bank(t, "known").await.unwrap().unwrap().entry_count,
        1
    );

    import[5].hash = "AA".repeat(32);
    assert_eq!(
        s.add_bank_entries(t, "known", &import).await.unwrap().len(),
        1200
    );
    let entries = s.list_bank_entries(t, "known").await.unwrap();
    assert_eq!(entries.len(), 1201);
    assert!(
        entries.iter().any(|e| e.hash == "aa".repeat(32)),
        "hashes are lowercased"
    );
    assert_eq!(s.list_banks(t).await.unwrap()[0].entry_count, 1201);
    let removed = s
        .remove_bank_entries(t, "known", &["case-1".into(), "e0".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(removed, 2);
    s.delete_bank(t, "known").await.unwrap();
    assert_eq!(s.get_bank(t, "known").await.unwrap(), None);
}

async fn a_verdict_round_trips_without_the_content(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let text = "Meet me behind the old mill at midnight, you absolute fuckwit, bring the money";
    let verdict = verdict_for(text, "fuckwit");
    s.record_verdict(t, &verdict).await.unwrap();

    let stored = s.get_verdict(t, &verdict.id).await.unwrap().unwrap();
    assert_eq!(stored.verdict, verdict);
    assert!(stored.recorded_at > 0);

    let rows = db.raw_verdict_rows().await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains("fuckwit"), "the evidence snippet is kept");
    assert!(
        rows[0].contains(&sha256_hex(text)),
        "the content hash is kept"
    );
    for fragment in [text, "behind the old mill", "bring the money"] {
        assert!(
            !rows[0].contains(fragment),
            "the store keeps content: {fragment:?}"
        );
    }
    if let Some(bytes) = db.sqlite_bytes() {
        let needle = "behind the old mill".as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "content is on disk"
        );
    }
}

async fn verdicts_that_could_carry_content_are_refused(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let mut long = plain_verdict(1);
    long.labels[0].evidence[0].matched = Some("x".repeat(65));
    let err = s.record_verdict(t, &long).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest, "{err}");

    let mut nested = plain_verdict(2);
    let mut inner = Evidence::new(EvidenceKind::Term);
    inner.matched = Some("y".repeat(200));
    nested.labels[0].evidence[0].evidence.push(inner);
    assert!(s.record_verdict(t, &nested).await.is_err());

    let mut not_a_hash = plain_verdict(3);
    not_a_hash.content_ref.sha256 = "the text itself".into();
    assert!(s.record_verdict(t, &not_a_hash).await.is_err());
    assert!(s.list_verdicts(t, 10, None).await.unwrap().is_empty());

    assert_not_found(
        s.record_verdict(TenantId(999_999), &plain_verdict(4)).await,
        "tenant",
    );
}

async fn concurrent_verdicts_are_all_acknowledged_and_stored(db: &TestDb) {
    let t = db.store.create_tenant("acme").await.unwrap().id;
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let v = plain_verdict(n);
                store.record_verdict(t, &v).await.map(|()| v.id)
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.push(task.await.unwrap().unwrap());
    }
    acknowledged.sort();
    let stored: Vec<String> = db
        .store
        .list_verdicts(t, 1000, None)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.verdict.id)
        .collect();
    assert_eq!(stored, acknowledged);
}

async fn a_bad_verdict_fails_alone_in_its_batch(db: &TestDb) {
    let t = db.store.create_tenant("acme").await.unwrap().id;
    let first = plain_verdict(0);
    db.store.record_verdict(t, &first).await.unwrap();
    // Sent together so they share batches; one repeats an id already stored.
    let batch: Vec<Verdict> = (1..32).map(plain_verdict).chain([first.clone()]).collect();
    let tasks: Vec<_> = batch
        .into_iter()
        .map(|v| {
            let store = db.store.clone();
            tokio::spawn(async move { store.record_verdict(t, &v).await })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
            conflicts += 1;
        }
    }
    assert_eq!(conflicts, 1);
    assert_eq!(
        db.store.list_verdicts(t, 1000, None).await.unwrap().len(),
        32
    );
}

async fn verdicts_page_in_id_order(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let mut ids = Vec::new();
    for n in 0..25 {
        let v = plain_verdict(n);
        s.record_verdict(t, &v).await.unwrap();
        ids.push(v.id);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_verdicts(t, 10, after.as_deref()).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|v| v.verdict.id.clone());
        seen.extend(page.into_iter().map(|v| v.verdict.id));
    }
    assert_eq!(seen, ids);
    assert_eq!(
        s.list_verdicts(t, 0, None).await.unwrap().len(),
        1,
        "limit is at least 1"
    );
}

async fn data_survives_reopening(db: &TestDb) {
    let t = db.store.create_tenant("acme").await.unwrap().id;
    let key = db
        .store
        .create_key(t, Role::Auditor, "audit")
        .await
        .unwrap();
    db.store
        .put_policy(t, "forum", "name = \"forum\"\nversion = 1\n")
        .await
        .unwrap();
    let v = plain_verdict(7);
    db.store.record_verdict(t, &v).await.unwrap();
    let revision = db.store.revision(t).await.unwrap();
    db.store.close().await;

    let store = db.reopen().await;
    assert_eq!(store.tenant_by_name("acme").await.unwrap().unwrap().id, t);
    let who = store.authenticate(&key.plaintext).await.unwrap().unwrap();
    assert_eq!((who.tenant, who.role), (t, Role::Auditor));
    assert_eq!(
        store
            .get_policy(t, "forum", None)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        store.get_verdict(t, &v.id).await.unwrap().unwrap().verdict,
        v
    );
    assert_eq!(store.revision(t).await.unwrap(), revision);
    // Opening again runs no migration twice.
    store.integrity_check().await.unwrap();
    store.close().await;
}

async fn the_integrity_check_passes(db: &TestDb) {
    let t = db.store.create_tenant("acme").await.unwrap().id;
    db.store.record_verdict(t, &plain_verdict(1)).await.unwrap();
    db.store.integrity_check().await.unwrap();
}

// ---------- jobs and webhook deliveries ----------

/// A minute: long enough that no lease in these tests runs out unless it is meant to.
const LEASE_MS: u64 = 60_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn new_job(tenant: TenantId, input: &[u8]) -> NewJob {
    NewJob {
        tenant,
        kind: JobKind::Video,
        client_id: Some("upload-9".into()),
        policy: Some("forum".into()),
        callback_url: Some("https://hooks.example.com/rampart".into()),
        input: input.to_vec(),
        input_sha256: hex::encode(Sha256::digest(input)),
        max_attempts: 3,
    }
}

fn video_verdict(input: &[u8]) -> Verdict {
    let mut v = plain_verdict(0);
    v.content_type = ContentType::Video;
    v.content_ref.sha256 = hex::encode(Sha256::digest(input));
    v
}

fn delivery(event: &str, job_id: &str) -> NewDelivery {
    NewDelivery {
        url: "https://hooks.example.com/rampart".into(),
        event: event.into(),
        payload: serde_json::json!({"event": event, "job_id": job_id}).to_string(),
    }
}

fn attempt(status: Option<u16>, error: Option<&str>) -> DeliveryAttempt {
    DeliveryAttempt {
        at: now_ms(),
        status,
        error: error.map(str::to_owned),
        duration_ms: 12,
    }
}

async fn sleep_past(ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(ms + 20)).await;
}

async fn a_job_is_claimed_once_and_completes_once(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let input = b"\x00\x00\x00\x18ftypmp42 a small video".to_vec();
    let job = s.create_job(new_job(t, &input)).await.unwrap();
    assert_eq!(
        (job.state, job.attempts, job.input_bytes),
        (JobState::Queued, 0, input.len() as u64)
    );
    assert_eq!(s.get_job(t, &job.id).await.unwrap(), Some(job.clone()));
    assert_eq!(s.pending_jobs(10).await.unwrap(), vec![(job.id.clone(), t)]);

    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    assert_eq!(claimed.input, input);
    assert_eq!(
        (claimed.job.state, claimed.job.attempts),
        (JobState::Running, 1)
    );
    assert!(claimed.job.started_at.is_some());
    // Held by the first claim: no one else gets it, and it is not pending.
    assert!(s.claim_job(&job.id, LEASE_MS).await.unwrap().is_none());
    assert!(s.pending_jobs(10).await.unwrap().is_empty());
    assert!(s
        .claim_job("01NOSUCHJOB0000000000000000", LEASE_MS)
        .await
        .unwrap()
        .is_none());

    assert!(!s
        .renew_job_lease(&job.id, "not-the-lease", LEASE_MS, 0.5)
        .await
        .unwrap());
    assert!(s
        .renew_job_lease(&job.id, &claimed.lease, LEASE_MS, 0.5)
        .await
        .unwrap());
    assert_eq!(s.get_job(t, &job.id).await.unwrap().unwrap().progress, 0.5);
    assert!(s
        .renew_job_lease(&job.id, &claimed.lease, LEASE_MS, f32::NAN)
        .await
        .unwrap());
    assert_eq!(s.get_job(t, &job.id).await.unwrap().unwrap().progress, 0.0);

    let verdict = video_verdict(&input);
    let d = || Some(delivery("job.succeeded", &job.id));
    assert!(!s
        .complete_job(&job.id, "not-the-lease", t, &verdict, d(), None)
        .await
        .unwrap());
    assert!(s
        .complete_job(&job.id, &claimed.lease, t, &verdict, d(), None)
        .await
        .unwrap());
    // Exactly once: the same lease again, a failure after success, a new claim — all refused.
    let mut again = video_verdict(&input);
    again.id = ulid::Ulid::new().to_string();
    assert!(!s
        .complete_job(&job.id, &claimed.lease, t, &again, d(), None)
        .await
        .unwrap());
    assert!(!s
        .fail_job(&job.id, &claimed.lease, "internal", "late", d())
        .await
        .unwrap());
    assert!(!s
        .renew_job_lease(&job.id, &claimed.lease, LEASE_MS, 0.9)
        .await
        .unwrap());
    assert!(s.claim_job(&job.id, LEASE_MS).await.unwrap().is_none());

    let done = s.get_job(t, &job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.verdict_id.as_deref(), Some(verdict.id.as_str()));
    assert_eq!((done.progress, done.attempts), (1.0, 1));
    assert!(done.finished_at.is_some());
    assert_eq!(
        s.get_verdict(t, &verdict.id)
            .await
            .unwrap()
            .unwrap()
            .verdict,
        verdict
    );
    assert_eq!(s.get_verdict(t, &again.id).await.unwrap(), None);
    let deliveries = s.list_deliveries(t, Some(&job.id), None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1, "one delivery, from the one completion");
    assert_eq!(
        (deliveries[0].event.as_str(), deliveries[0].state),
        ("job.succeeded", DeliveryState::Pending)
    );
    assert_eq!(deliveries[0].job_id.as_deref(), Some(job.id.as_str()));
    // The one completion is audited once, by the worker (the system), in its transaction.
    let audited: Vec<_> = s
        .list_audit(t, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|(e, _)| e.action == rampart_store::rampart_audit::Action::VerdictRecorded)
        .map(|(e, _)| (e.actor, e.subject))
        .collect();
    assert_eq!(
        audited,
        [("system".to_owned(), format!("verdict:{}", verdict.id))]
    );
    s.integrity_check().await.unwrap();
}

async fn a_job_with_an_expired_lease_is_reclaimed_and_the_old_claim_is_void(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let input = b"video bytes".to_vec();
    let job = s.create_job(new_job(t, &input)).await.unwrap();
    let first = s.claim_job(&job.id, 1).await.unwrap().unwrap();
    sleep_past(1).await;
    // The first worker is presumed dead: the job is pending again and the next claim wins.
    assert_eq!(s.pending_jobs(10).await.unwrap(), vec![(job.id.clone(), t)]);
    let second = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    assert_ne!(first.lease, second.lease);
    assert_eq!(
        (second.job.attempts, second.input.as_slice()),
        (2, input.as_slice())
    );
    assert_eq!(
        second.job.started_at, first.job.started_at,
        "started_at is the first start"
    );

    let verdict = video_verdict(&input);
    assert!(!s
        .renew_job_lease(&job.id, &first.lease, LEASE_MS, 0.3)
        .await
        .unwrap());
    assert!(!s
        .complete_job(&job.id, &first.lease, t, &verdict, None, None)
        .await
        .unwrap());
    assert!(!s
        .fail_job(&job.id, &first.lease, "internal", "x", None)
        .await
        .unwrap());
    assert_eq!(
        s.get_verdict(t, &verdict.id).await.unwrap(),
        None,
        "the void claim stored nothing"
    );
    assert!(s
        .complete_job(&job.id, &second.lease, t, &verdict, None, None)
        .await
        .unwrap());
    assert_eq!(
        s.get_job(t, &job.id).await.unwrap().unwrap().state,
        JobState::Succeeded
    );
    assert!(s
        .list_deliveries(t, None, None, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn a_job_out_of_attempts_is_claimed_only_to_be_failed_with_its_webhook(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let job = s
        .create_job(NewJob {
            max_attempts: 2,
            ..new_job(t, b"crashes every worker")
        })
        .await
        .unwrap();
    for _ in 0..2 {
        let claimed = s.claim_job(&job.id, 1).await.unwrap().unwrap();
        assert!(!claimed.exhausted);
        assert_eq!(claimed.input, b"crashes every worker");
        sleep_past(1).await;
    }
    // Out of attempts: claimed once more, without an attempt or the input, and only to fail
    // it. A worker that dies then leaves it to the next claim, exhausted again.
    let last = s.claim_job(&job.id, 1).await.unwrap().unwrap();
    assert!(last.exhausted);
    assert!(last.input.is_empty());
    assert_eq!(last.job.attempts, 2);
    assert_eq!(last.job.state, JobState::Running);
    sleep_past(1).await;
    let again = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    assert!(again.exhausted);
    assert_ne!(again.lease, last.lease);
    assert!(
        s.claim_job(&job.id, LEASE_MS).await.unwrap().is_none(),
        "held by the live claim"
    );
    assert!(!s
        .fail_job(&job.id, &last.lease, "internal", "stale claim", None)
        .await
        .unwrap());
    let d = Some(delivery("job.failed", &job.id));
    assert!(s
        .fail_job(
            &job.id,
            &again.lease,
            "internal",
            "gave up after 2 attempts",
            d
        )
        .await
        .unwrap());
    let failed = s.get_job(t, &job.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error_code.as_deref(), Some("internal"));
    assert_eq!(
        failed.error_message.as_deref(),
        Some("gave up after 2 attempts")
    );
    assert_eq!(failed.attempts, 2);
    let deliveries = s.list_deliveries(t, Some(&job.id), None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1, "the failure is sent to the webhook");
    assert_eq!(deliveries[0].event, "job.failed");
    assert!(s.pending_jobs(10).await.unwrap().is_empty());
    assert!(s.claim_job(&job.id, LEASE_MS).await.unwrap().is_none());
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM job_inputs").await, 0);
}

async fn a_failed_job_keeps_its_error_and_its_delivery(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let job = s.create_job(new_job(t, b"not a video")).await.unwrap();
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    let long = "é".repeat(1000); // 2000 bytes
    let bad_code = s
        .fail_job(&job.id, &claimed.lease, "no spaces here", "x", None)
        .await;
    assert_eq!(bad_code.unwrap_err().code(), ErrorCode::InvalidRequest);
    let d = Some(delivery("job.failed", &job.id));
    assert!(s
        .fail_job(&job.id, &claimed.lease, "decode_failed", &long, d.clone())
        .await
        .unwrap());
    assert!(!s
        .fail_job(&job.id, &claimed.lease, "decode_failed", "again", d)
        .await
        .unwrap());
    let failed = s.get_job(t, &job.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error_code.as_deref(), Some("decode_failed"));
    let message = failed.error_message.unwrap();
    assert_eq!(
        message.len(),
        1024,
        "cut to 1024 bytes at a character boundary"
    );
    assert!(long.starts_with(&message));
    assert_eq!(failed.verdict_id, None);
    let deliveries = s.list_deliveries(t, Some(&job.id), None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event, "job.failed");
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM job_inputs").await, 0);
}

async fn a_finished_job_keeps_no_content(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    // 256 KiB of recognisable content, so it spans overflow pages and TOAST chunks.
    let input: Vec<u8> = (0..8192)
        .flat_map(|i| format!("PRIVATE-FRAME-{i:08}-xxxxxxxxxx").into_bytes())
        .collect();
    let needle = b"PRIVATE-FRAME-00004242";
    let job = s.create_job(new_job(t, &input)).await.unwrap();
    let other = s.create_job(new_job(t, b"another upload")).await.unwrap();
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM job_inputs").await, 2);
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    assert_eq!(claimed.input, input);
    let verdict = video_verdict(&input);
    assert!(s
        .complete_job(&job.id, &claimed.lease, t, &verdict, None, None)
        .await
        .unwrap());

    // No row holds the bytes: only the unfinished job's input is left.
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM job_inputs").await, 1);
    let sql = format!(
        "SELECT COUNT(*) FROM job_inputs WHERE job_id = '{}'",
        other.id
    );
    assert_eq!(db.raw_count(&sql).await, 1);
    let stored = serde_json::to_string(&s.get_job(t, &job.id).await.unwrap()).unwrap();
    assert!(!stored.contains("PRIVATE-FRAME"));
    // On SQLite not even a free page of the file keeps them (secure_delete), once the WAL is
    // checkpointed.
    db.checkpoint().await;
    if let Some(bytes) = db.sqlite_bytes() {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the finished job's content is still in the database file"
        );
    }
    s.integrity_check().await.unwrap();
}

async fn bad_jobs_are_refused_before_anything_is_written(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let good = new_job(t, b"bytes");
    let cases: Vec<(&str, NewJob)> = vec![
        (
            "empty input",
            NewJob {
                input: vec![],
                ..good.clone()
            },
        ),
        (
            "hash not hex",
            NewJob {
                input_sha256: "the video".into(),
                ..good.clone()
            },
        ),
        (
            "no attempts",
            NewJob {
                max_attempts: 0,
                ..good.clone()
            },
        ),
        (
            "ftp callback",
            NewJob {
                callback_url: Some("ftp://x/y".into()),
                ..good.clone()
            },
        ),
        (
            "callback too long",
            NewJob {
                callback_url: Some(format!("https://x.example/{}", "a".repeat(2048))),
                ..good.clone()
            },
        ),
        (
            "client id with newline",
            NewJob {
                client_id: Some("a\nb".into()),
                ..good.clone()
            },
        ),
        (
            "client id too long",
            NewJob {
                client_id: Some("c".repeat(257)),
                ..good.clone()
            },
        ),
    ];
    for (what, job) in cases {
        let err = s.create_job(job).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest, "{what}: {err}");
    }
    assert_not_found(
        s.create_job(new_job(TenantId(999_999), b"x")).await,
        "unknown tenant",
    );
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM jobs").await, 0);
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM job_inputs").await, 0);

    // A delivery that is not JSON is refused, and the job stays claimable.
    let job = s.create_job(good).await.unwrap();
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    let not_json = NewDelivery {
        payload: "{oops".into(),
        ..delivery("job.succeeded", &job.id)
    };
    let err = s
        .complete_job(
            &job.id,
            &claimed.lease,
            t,
            &video_verdict(b"bytes"),
            Some(not_json),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest, "{err}");
    assert_eq!(
        s.get_job(t, &job.id).await.unwrap().unwrap().state,
        JobState::Running
    );
}

async fn jobs_list_newest_first_by_page_and_state(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let mut ids = Vec::new();
    for n in 0..5u8 {
        ids.push(s.create_job(new_job(t, &[n; 4])).await.unwrap().id);
    }
    let claimed = s.claim_job(&ids[1], LEASE_MS).await.unwrap().unwrap();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_jobs(t, None, after.as_deref(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|j| j.id.clone());
        seen.extend(page.into_iter().map(|j| j.id));
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let running = s
        .list_jobs(t, Some(JobState::Running), None, 10)
        .await
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].id, claimed.job.id);
    assert_eq!(
        s.list_jobs(t, Some(JobState::Queued), None, 10)
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(s
        .list_jobs(t, Some(JobState::Failed), None, 10)
        .await
        .unwrap()
        .is_empty());
    // Pending jobs come oldest first and page by id.
    let pending: Vec<String> = s
        .pending_jobs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        pending,
        [
            ids[0].clone(),
            ids[2].clone(),
            ids[3].clone(),
            ids[4].clone()
        ]
    );
    let rest = s.pending_jobs_after(Some(&ids[2]), 10).await.unwrap();
    assert_eq!(rest.len(), 2);
}

async fn running_jobs_are_requeued_at_startup(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let job = s.create_job(new_job(t, b"bytes")).await.unwrap();
    let idle = s.create_job(new_job(t, b"more bytes")).await.unwrap();
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    s.close().await;

    let s = db.reopen().await;
    assert_eq!(s.requeue_running_jobs().await.unwrap(), 1);
    let requeued = s.get_job(t, &job.id).await.unwrap().unwrap();
    assert_eq!((requeued.state, requeued.attempts), (JobState::Queued, 1));
    assert_eq!(s.pending_jobs(10).await.unwrap().len(), 2);
    let again = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    assert_eq!(again.job.attempts, 2);
    let verdict = video_verdict(b"bytes");
    assert!(!s
        .complete_job(&job.id, &claimed.lease, t, &verdict, None, None)
        .await
        .unwrap());
    assert!(s
        .complete_job(&job.id, &again.lease, t, &verdict, None, None)
        .await
        .unwrap());
    assert_eq!(
        s.get_job(t, &idle.id).await.unwrap().unwrap().state,
        JobState::Queued
    );
    s.close().await;
}

async fn a_tenant_sees_none_of_another_tenants_jobs_or_deliveries(db: &TestDb) {
    let s = &db.store;
    let a = s.create_tenant("tenant-a").await.unwrap().id;
    let b = s.create_tenant("tenant-b").await.unwrap().id;
    let job = s.create_job(new_job(a, b"a's video")).await.unwrap();
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    // Completing A's job in B's name changes nothing.
    let verdict = video_verdict(b"a's video");
    let d = || Some(delivery("job.succeeded", &job.id));
    assert!(!s
        .complete_job(&job.id, &claimed.lease, b, &verdict, d(), None)
        .await
        .unwrap());
    assert_eq!(s.get_verdict(b, &verdict.id).await.unwrap(), None);
    assert!(s
        .complete_job(&job.id, &claimed.lease, a, &verdict, d(), None)
        .await
        .unwrap());
    s.set_webhook_config(a, Some("https://a.example/hook"), "a-secret")
        .await
        .unwrap();

    assert_eq!(s.get_job(b, &job.id).await.unwrap(), None);
    assert!(s.list_jobs(b, None, None, 100).await.unwrap().is_empty());
    assert!(s
        .list_deliveries(b, None, None, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .list_deliveries(b, Some(&job.id), None, 100)
        .await
        .unwrap()
        .is_empty());
    let delivery_id = s.list_deliveries(a, None, None, 100).await.unwrap()[0]
        .id
        .clone();
    assert_not_found(s.delivery_attempts(b, &delivery_id).await, "attempts");
    assert!(s
        .delivery_attempts(a, &delivery_id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.webhook_config(b).await.unwrap(), None);
    assert_eq!(
        s.get_job(a, &job.id).await.unwrap().unwrap().state,
        JobState::Succeeded
    );
}

async fn deliveries_are_leased_attempted_and_logged(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let job = s.create_job(new_job(t, b"bytes")).await.unwrap();
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    let sent = delivery("job.succeeded", &job.id);
    s.complete_job(
        &job.id,
        &claimed.lease,
        t,
        &video_verdict(b"bytes"),
        Some(sent.clone()),
        None,
    )
    .await
    .unwrap();
    let now = now_ms();

    let due = s.claim_due_deliveries(now, 10, LEASE_MS).await.unwrap();
    assert_eq!(due.len(), 1);
    let first = &due[0];
    assert_eq!(first.payload, sent.payload, "the exact body");
    assert_eq!(
        (first.delivery.url.as_str(), first.delivery.tenant),
        (sent.url.as_str(), t)
    );
    // Leased: no other node gets it, even much later while the lease holds.
    assert!(s
        .claim_due_deliveries(now + 1000, 10, LEASE_MS)
        .await
        .unwrap()
        .is_empty());

    let failure = attempt(Some(503), Some("service unavailable"));
    let id = first.delivery.id.as_str();
    let retry = DeliveryOutcome::RetryAt(now + 5_000);
    assert!(!s
        .record_delivery_attempt(id, "not-the-lease", &failure, retry)
        .await
        .unwrap());
    assert!(s
        .record_delivery_attempt(id, &first.lease, &failure, retry)
        .await
        .unwrap());
    assert!(
        !s.record_delivery_attempt(id, &first.lease, &failure, retry)
            .await
            .unwrap(),
        "lease released"
    );
    let listed = s.list_deliveries(t, None, None, 10).await.unwrap();
    assert_eq!(
        (listed[0].state, listed[0].attempts),
        (DeliveryState::Pending, 1)
    );
    assert_eq!(
        (listed[0].last_status, listed[0].next_attempt_at),
        (Some(503), Some(now + 5_000))
    );

    // Not due before its time; due after it. A lease that runs out frees it for another node.
    assert!(s
        .claim_due_deliveries(now + 4_999, 10, LEASE_MS)
        .await
        .unwrap()
        .is_empty());
    let lapsed = s.claim_due_deliveries(now + 5_000, 10, 1).await.unwrap();
    assert_eq!(lapsed.len(), 1);
    let second = s
        .claim_due_deliveries(now + 5_002, 10, LEASE_MS)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].lease, lapsed[0].lease);
    let ok = attempt(Some(200), None);
    assert!(!s
        .record_delivery_attempt(id, &lapsed[0].lease, &ok, DeliveryOutcome::Delivered)
        .await
        .unwrap());
    assert!(s
        .record_delivery_attempt(id, &second[0].lease, &ok, DeliveryOutcome::Delivered)
        .await
        .unwrap());

    let done = &s.list_deliveries(t, Some(&job.id), None, 10).await.unwrap()[0];
    assert_eq!(
        (done.state, done.attempts, done.last_status),
        (DeliveryState::Delivered, 2, Some(200))
    );
    assert!(done.delivered_at.is_some());
    assert_eq!(done.next_attempt_at, None);
    assert!(s
        .claim_due_deliveries(now + 100_000, 10, LEASE_MS)
        .await
        .unwrap()
        .is_empty());
    let log = s.delivery_attempts(t, id).await.unwrap();
    assert_eq!(log, vec![failure, ok]);

    // Giving up ends a delivery too, and a long error is cut.
    let job2 = s.create_job(new_job(t, b"other")).await.unwrap();
    let c2 = s.claim_job(&job2.id, LEASE_MS).await.unwrap().unwrap();
    s.fail_job(
        &job2.id,
        &c2.lease,
        "decode_failed",
        "bad",
        Some(delivery("job.failed", &job2.id)),
    )
    .await
    .unwrap();
    let due = s
        .claim_due_deliveries(now_ms(), 10, LEASE_MS)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let refused = attempt(None, Some(&"x".repeat(5000)));
    assert!(s
        .record_delivery_attempt(
            &due[0].delivery.id,
            &due[0].lease,
            &refused,
            DeliveryOutcome::GaveUp
        )
        .await
        .unwrap());
    let gave_up = &s
        .list_deliveries(t, Some(&job2.id), None, 10)
        .await
        .unwrap()[0];
    assert_eq!(gave_up.state, DeliveryState::Failed);
    assert_eq!(gave_up.last_error.as_ref().map(String::len), Some(1024));
    assert!(s
        .claim_due_deliveries(now_ms() + 100_000, 10, LEASE_MS)
        .await
        .unwrap()
        .is_empty());
    // Newest first, paged.
    let all = s.list_deliveries(t, None, None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].job_id.as_deref(), Some(job2.id.as_str()));
    let page2 = s
        .list_deliveries(t, None, Some(&all[0].id), 10)
        .await
        .unwrap();
    assert_eq!(page2, all[1..]);
}

async fn the_webhook_config_round_trips(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    assert_eq!(s.webhook_config(t).await.unwrap(), None);
    s.set_webhook_config(t, Some("https://hooks.example.com/a"), "s3cret-value")
        .await
        .unwrap();
    let config = s.webhook_config(t).await.unwrap().unwrap();
    assert_eq!(config.url.as_deref(), Some("https://hooks.example.com/a"));
    assert_eq!(config.secret, "s3cret-value");
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "Debug shows the secret"
    );
    s.set_webhook_config(t, None, "rotated").await.unwrap();
    let config = s.webhook_config(t).await.unwrap().unwrap();
    assert_eq!((config.url, config.secret.as_str()), (None, "rotated"));
    for (url, secret) in [
        (Some("javascript:alert(1)"), "s"),
        (Some("https://ok.example"), ""),
    ] {
        let err = s.set_webhook_config(t, url, secret).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest, "{err}");
    }
    assert_not_found(
        s.set_webhook_config(TenantId(999_999), None, "s").await,
        "tenant",
    );
}

async fn vpdq_entries_round_trip(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    s.create_bank(t, "videos", &serde_json::json!({"kind": "vpdq"}))
        .await
        .unwrap();
    let frame = |q: u8, b: u8| format!("{q:02X}{}", format!("{b:02X}").repeat(32));
    let one = NewBankEntry {
        id: Some("clip-1".into()),
        kind: HashKind::Vpdq,
        hash: frame(100, 0xAB),
        quality: None,
        note: Some("one frame".into()),
    };
    let many = NewBankEntry {
        id: Some("clip-2".into()),
        kind: HashKind::Vpdq,
        hash: (0..500u32).map(|i| frame(90, (i % 256) as u8)).collect(),
        quality: Some(90),
        note: None,
    };
    s.add_bank_entries(t, "videos", &[one.clone(), many.clone()])
        .await
        .unwrap();
    let stored = s.list_bank_entries(t, "videos").await.unwrap();
    assert_eq!(stored.len(), 2);
    let by_id = |id: &str| stored.iter().find(|e| e.id == id).unwrap();
    assert_eq!(by_id("clip-1").hash, one.hash.to_ascii_lowercase());
    assert_eq!(
        (by_id("clip-1").kind, by_id("clip-1").quality),
        (HashKind::Vpdq, None)
    );
    assert_eq!(by_id("clip-2").hash.len(), 500 * 66);
    assert_eq!("vpdq".parse::<HashKind>().unwrap(), HashKind::Vpdq);

    for (what, hash) in [
        ("empty", String::new()),
        ("a part frame", frame(1, 2)[..64].to_owned()),
        ("a frame and a bit", format!("{}00", frame(1, 2))),
        ("not hex", format!("zz{}", &frame(1, 2)[2..])),
    ] {
        let bad = NewBankEntry {
            id: None,
            hash,
            ..one.clone()
        };
        let err = s.add_bank_entries(t, "videos", &[bad]).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest, "{what}: {err}");
    }
    // A PDQ hash is still exactly one 64-digit hash.
    let pdq_as_vpdq = NewBankEntry {
        kind: HashKind::Pdq,
        id: None,
        ..one.clone()
    };
    assert!(s
        .add_bank_entries(t, "videos", &[pdq_as_vpdq])
        .await
        .is_err());
    assert_eq!(s.list_bank_entries(t, "videos").await.unwrap().len(), 2);
}

/// A database written by a schema-1 build (before jobs and vPDQ) migrates to the current schema
/// with its bank entries, their foreign key and every other row intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_sqlite_database_migrates_with_its_bank_entries() {
    const OLD_VERDICT_AT: i64 = 1_700_000_000_000;
    let mut old_verdict = plain_verdict(1);
    old_verdict.content_ref.client_id = Some("old-post".into());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let mut c = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::raw_sql(include_str!("../migrations/sqlite/0001_init.sql"))
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE rampart_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
             INSERT INTO rampart_migrations VALUES (1, 1700000000000);
             INSERT INTO tenants (id, name, created_at, revision) VALUES (7, 'old', 1, 3);
             INSERT INTO banks VALUES (7, 'known', '{\"kind\":\"pdq\"}', 1, 2);
             INSERT INTO bank_entries VALUES
                 (7, 'known', 'e1', 'pdq', '0000000000000000000000000000000000000000000000000000000000000001', 88, 'n1', 10),
                 (7, 'known', 'e2', 'md5', 'd41d8cd98f00b204e9800998ecf8427e', NULL, NULL, 11);",
        )
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO verdicts (tenant_id, id, created_at, content_type, suggestion, \
             content_sha256, pdq, client_id, policy, verdict) \
             VALUES (7, $1, $2, 'text', 'block', $3, NULL, 'old-post', 'default@1', $4)",
        )
        .bind(&old_verdict.id)
        .bind(OLD_VERDICT_AT)
        .bind(&old_verdict.content_ref.sha256)
        .bind(serde_json::to_string(&old_verdict).unwrap())
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }

    let store = rampart_store::open(&url).await.unwrap();
    store.integrity_check().await.unwrap(); // includes the schema version and foreign keys
    let t = TenantId(7);
    assert_eq!(store.revision(t).await.unwrap(), 3);
    let entries = store.list_bank_entries(t, "known").await.unwrap();
    type Row<'a> = (&'a str, HashKind, Option<u8>, Option<&'a str>, i64);
    let got: Vec<Row> = entries
        .iter()
        .map(|e| {
            (
                e.id.as_str(),
                e.kind,
                e.quality,
                e.note.as_deref(),
                e.added_at,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("e1", HashKind::Pdq, Some(88), Some("n1"), 10),
            ("e2", HashKind::Md5, None, None, 11)
        ]
    );
    // The rebuilt table accepts vPDQ and still cascades from its bank.
    let vpdq = NewBankEntry {
        id: Some("v1".into()),
        kind: HashKind::Vpdq,
        hash: "64".to_owned() + &"0f".repeat(32),
        quality: None,
        note: None,
    };
    store.add_bank_entries(t, "known", &[vpdq]).await.unwrap();
    store.delete_bank(t, "known").await.unwrap();
    // An old verdict reads as never reviewed, counts with no flagged labels, and can be
    // appealed; new verdicts queue for review.
    let stored = store
        .get_verdict(t, &old_verdict.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.verdict, stored.review), (old_verdict.clone(), None));
    let counts = store
        .review_counts(t, OLD_VERDICT_AT, OLD_VERDICT_AT + 1)
        .await
        .unwrap();
    let day = OLD_VERDICT_AT / 86_400_000;
    assert_eq!(
        counts.verdicts,
        [(day, "text".into(), "block".into(), String::new(), 1)]
    );
    let appeal = store.open_appeal(t, "old-post", "old news").await.unwrap();
    assert_eq!(appeal.verdict_id, old_verdict.id);
    let queued = store
        .record_verdict_for_review(
            t,
            &plain_verdict(2),
            Some(rampart_store::NewReviewItem {
                reason: rampart_store::ReviewReason::Review,
                priority: 50,
                content: vec![],
            }),
        )
        .await
        .unwrap();
    assert!(queued.is_some());
    store.integrity_check().await.unwrap();
    store.close().await;
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bank_entries")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let fk: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('bank_entries')")
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert_eq!(fk, [("banks".to_owned(),)]);
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM rampart_migrations")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(version, 4, "migrated to the latest schema");
}

// ---------- audit log ----------

use rampart_store::rampart_audit::{Action, BrokenReason, Head, NewEntry};

/// Every entry of the tenant's chain, in seq order.
async fn audit_of(
    s: &Arc<dyn Store>,
    t: TenantId,
) -> Vec<(
    rampart_store::rampart_audit::Entry,
    Option<serde_json::Value>,
)> {
    s.list_audit(t, 0, 1000).await.unwrap()
}

async fn every_change_appends_to_the_tenants_audit_chain(db: &TestDb) {
    let s = &db.store;
    let t = rampart_store::acting_as("cli", s.create_tenant("acme"))
        .await
        .unwrap()
        .id;
    let text = "you are a damn fool";
    let verdict = verdict_for(text, "damn");
    let key_id = rampart_store::acting_as("key:ADMIN1", async {
        let key = s.create_key(t, Role::Moderator, "desk").await.unwrap();
        s.revoke_key(t, &key.key.id).await.unwrap();
        s.revoke_key(t, &key.key.id).await.unwrap(); // already revoked: nothing to record
        s.put_policy(t, "default", "name = 'default'")
            .await
            .unwrap();
        s.create_library(t, &library("scams", &["free money", "wire transfer"]))
            .await
            .unwrap();
        s.add_terms(t, "scams", &["gift card".into()])
            .await
            .unwrap();
        s.remove_terms(t, "scams", &["free money".into()])
            .await
            .unwrap();
        s.delete_library(t, "scams").await.unwrap();
        s.create_bank(t, "csam", &serde_json::json!({"threshold": 31}))
            .await
            .unwrap();
        let added = s.add_bank_entries(t, "csam", &[entry(1)]).await.unwrap();
        s.remove_bank_entries(t, "csam", &[added[0].id.clone()])
            .await
            .unwrap();
        s.delete_bank(t, "csam").await.unwrap();
        s.set_webhook_config(t, Some("https://hooks.example.com/a"), "s3cret-value")
            .await
            .unwrap();
        s.record_verdict(t, &verdict).await.unwrap();
        key.key.id
    })
    .await;
    // Outside any scope, the store writes as the system (a job worker, say).
    s.put_policy(t, "default", "name = 'default'")
        .await
        .unwrap();
    // A refused change records nothing.
    assert!(s.delete_library(t, "nothing-here").await.is_err());

    let chain = audit_of(s, t).await;
    let got: Vec<(u64, &str, Action, &str)> = chain
        .iter()
        .map(|(e, _)| (e.seq, e.actor.as_str(), e.action, e.subject.as_str()))
        .collect();
    let key_subject = format!("key:{key_id}");
    let verdict_subject = format!("verdict:{}", verdict.id);
    let expected: Vec<(u64, &str, Action, &str)> = vec![
        (1, "cli", Action::TenantCreated, "tenant:acme"),
        (2, "key:ADMIN1", Action::KeyCreated, &key_subject),
        (3, "key:ADMIN1", Action::KeyRevoked, &key_subject),
        (4, "key:ADMIN1", Action::PolicyChanged, "policy:default@1"),
        (5, "key:ADMIN1", Action::LibraryChanged, "library:scams"),
        (6, "key:ADMIN1", Action::LibraryChanged, "library:scams"),
        (7, "key:ADMIN1", Action::LibraryChanged, "library:scams"),
        (8, "key:ADMIN1", Action::LibraryChanged, "library:scams"),
        (9, "key:ADMIN1", Action::BankChanged, "bank:csam"),
        (10, "key:ADMIN1", Action::BankChanged, "bank:csam"),
        (11, "key:ADMIN1", Action::BankChanged, "bank:csam"),
        (12, "key:ADMIN1", Action::BankChanged, "bank:csam"),
        (13, "key:ADMIN1", Action::WebhookChanged, "webhook"),
        (14, "key:ADMIN1", Action::VerdictRecorded, &verdict_subject),
        (15, "system", Action::PolicyChanged, "policy:default@2"),
    ];
    assert_eq!(got, expected);
    for (entry, _) in &chain {
        assert_eq!(entry.tenant, "acme");
    }

    // Payloads say what changed, never content or secrets.
    let payload = |seq: usize| chain[seq - 1].1.clone().unwrap();
    assert_eq!(payload(6)["op"], "terms_added");
    assert_eq!(payload(6)["added"], 1);
    assert_eq!(
        payload(14),
        serde_json::json!({
            "verdict_id": verdict.id,
            "suggestion": "block",
            "labels": ["profanity"],
            "policy": "default@1",
            "content_sha256": sha256_hex(text),
        })
    );
    let all = serde_json::to_string(&chain).unwrap();
    assert!(!all.contains(text) && !all.contains("s3cret"), "{all}");

    let report = rampart_store::verify_chain(s.as_ref(), t).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.entries_checked, report.payloads_missing), (15, 0));
    let head = s.audit_head(t).await.unwrap().unwrap();
    assert_eq!(head, chain.last().unwrap().0.head());
    assert_eq!(report.head, Some(head));

    // Paging: after and limit.
    let page = s.list_audit(t, 13, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].0.seq, 14);
}

async fn audit_chains_are_per_tenant_and_survive_concurrent_writers(db: &TestDb) {
    let s = &db.store;
    let a = s.create_tenant("tenant-a").await.unwrap().id;
    let b = s.create_tenant("tenant-b").await.unwrap().id;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = s.clone();
        let t = if i % 2 == 0 { a } else { b };
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                s.put_policy(t, "p", "name = 'p'").await.unwrap();
            } else {
                s.record_verdict(t, &plain_verdict(i)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for (t, name) in [(a, "tenant-a"), (b, "tenant-b")] {
        let chain = audit_of(s, t).await;
        assert_eq!(chain.len(), 31, "{name}: tenant_created + 30 changes");
        assert!(chain.iter().all(|(e, _)| e.tenant == name));
        let report = rampart_store::verify_chain(s.as_ref(), t).await.unwrap();
        assert!(report.is_intact(), "{name}: {report:?}");
        assert_eq!(report.entries_checked, 31);
    }
    assert_eq!(s.audit_head(TenantId(999_999)).await.unwrap(), None);
    assert!(s
        .list_audit(TenantId(999_999), 0, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn a_tampered_audit_entry_is_named_and_a_purged_payload_is_only_missing(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    for n in 0..4 {
        s.record_verdict(t, &plain_verdict(n)).await.unwrap();
    }
    let verify = || async { rampart_store::verify_chain(s.as_ref(), t).await.unwrap() };
    assert!(verify().await.is_intact());

    // A purged payload is missing, not broken.
    db.raw_exec(&format!(
        "UPDATE audit_entries SET payload = NULL WHERE tenant_id = {} AND seq = 2",
        t.0
    ))
    .await;
    let report = verify().await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.entries_checked, report.payloads_missing), (5, 1));

    // An edited payload breaks its entry.
    db.raw_exec(&format!(
        "UPDATE audit_entries SET payload = '{{\"verdict_id\":\"forged\"}}' \
         WHERE tenant_id = {} AND seq = 4",
        t.0
    ))
    .await;
    let broken = verify().await.first_broken.unwrap();
    assert_eq!(
        (broken.seq, broken.reason),
        (4, BrokenReason::PayloadMismatch)
    );

    // An edited entry is named by its seq, before the later payload break.
    db.raw_exec(&format!(
        "UPDATE audit_entries SET actor = 'key:SOMEONE-ELSE' WHERE tenant_id = {} AND seq = 3",
        t.0
    ))
    .await;
    let report = verify().await;
    let broken = report.first_broken.unwrap();
    assert_eq!((broken.seq, broken.reason), (3, BrokenReason::HashMismatch));
    assert_eq!(report.head.map(|h| h.seq), Some(2));

    // A deleted entry leaves a gap.
    db.raw_exec(&format!(
        "DELETE FROM audit_entries WHERE tenant_id = {} AND seq = 1",
        t.0
    ))
    .await;
    let broken = verify().await.first_broken.unwrap();
    assert_eq!(
        (broken.seq, broken.reason),
        (
            1,
            BrokenReason::SeqGap {
                expected: 1,
                found: 2
            }
        )
    );
}

async fn a_published_head_is_found_until_history_is_rewritten(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    s.put_policy(t, "p", "name = 'p'").await.unwrap();
    let published: Head = s
        .audit_head(t)
        .await
        .unwrap()
        .unwrap()
        .to_string()
        .parse()
        .unwrap();
    assert_eq!(published.seq, 2);
    s.put_policy(t, "p", "name = 'p'").await.unwrap();
    let current = rampart_store::check_published_head(s.as_ref(), t, &published)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.seq, 3);

    // Another tenant's head is refused.
    let other = s.create_tenant("globex").await.unwrap().id;
    assert!(
        rampart_store::check_published_head(s.as_ref(), other, &published)
            .await
            .unwrap()
            .is_err()
    );

    // Rewriting the chain from the published seq on (re-hashing is not possible without the
    // library, so the hash itself is replaced) is detected.
    db.raw_exec(&format!(
        "UPDATE audit_entries SET hash = '{}' WHERE tenant_id = {} AND seq = 2",
        "ab".repeat(32),
        t.0
    ))
    .await;
    let err = rampart_store::check_published_head(s.as_ref(), t, &published)
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("seq 2"), "{err}");
}

async fn append_audit_seals_external_events(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let new = NewEntry {
        ts_ms: 1_714_566_896_789,
        tenant: "acme".into(),
        actor: "moderator:ann".into(),
        action: Action::ReviewDecided,
        subject: "review:42".into(),
        payload: serde_json::json!({"decision": "remove", "score": 0.93}),
    };
    let sealed = s.append_audit(&new).await.unwrap();
    assert_eq!(sealed.seq, 2);
    let chain = audit_of(s, t).await;
    assert_eq!(chain[1].0, sealed);
    assert_eq!(chain[1].1.as_ref(), Some(&new.payload));
    assert!(rampart_store::verify_chain(s.as_ref(), t)
        .await
        .unwrap()
        .is_intact());
    let unknown = NewEntry {
        tenant: "nobody".into(),
        ..new
    };
    assert_not_found(s.append_audit(&unknown).await, "tenant");
}

async fn verdicts_list_by_suggestion_and_recording_time(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let other = s.create_tenant("globex").await.unwrap().id;
    let start = now_ms();
    let mut blocked = Vec::new();
    for n in 0..5 {
        let mut v = plain_verdict(n);
        if n == 2 {
            v.suggestion = Suggestion::Review;
        } else {
            blocked.push(v.id.clone());
        }
        s.record_verdict(t, &v).await.unwrap();
    }
    s.record_verdict(other, &plain_verdict(9)).await.unwrap();
    let end = now_ms() + 1;
    let ids = |page: &[rampart_store::StoredVerdict]| -> Vec<String> {
        page.iter().map(|v| v.verdict.id.clone()).collect()
    };
    let all = s
        .list_verdicts_recorded(t, Suggestion::Block, start, end, None, 100)
        .await
        .unwrap();
    let mut expected = blocked.clone();
    let mut got = ids(&all);
    // Recording order is (time, id); within one millisecond ids sort.
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    // Paged by the cursor of the last row.
    let first = s
        .list_verdicts_recorded(t, Suggestion::Block, start, end, None, 2)
        .await
        .unwrap();
    let last = first.last().unwrap();
    let rest = s
        .list_verdicts_recorded(
            t,
            Suggestion::Block,
            start,
            end,
            Some((last.recorded_at, &last.verdict.id)),
            100,
        )
        .await
        .unwrap();
    assert_eq!([ids(&first), ids(&rest)].concat(), ids(&all));
    // Outside the range: nothing.
    assert!(s
        .list_verdicts_recorded(t, Suggestion::Block, end, end + 1000, None, 100)
        .await
        .unwrap()
        .is_empty());
}

// ---------- review queue ----------

use rampart_store::{
    acting_as, Appeal, ClaimRule, ContentPart, ContentPartInfo, NewDecision, NewReviewItem,
    ReviewCursor, ReviewFilter, ReviewItem, ReviewOutcome, ReviewReason, ReviewState,
    VerdictReview, MAX_PARTS, MAX_REASON,
};

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const DAY_MS: u64 = 86_400_000;
/// A few bytes that start like a PNG file.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01 a tiny image";

fn text_part(text: &str) -> ContentPart {
    ContentPart {
        media_type: TEXT_PLAIN.into(),
        t_ms: None,
        data: text.as_bytes().to_vec(),
    }
}

fn image_part(bytes: &[u8]) -> ContentPart {
    ContentPart {
        media_type: "image/png".into(),
        t_ms: None,
        data: bytes.to_vec(),
    }
}

/// A fresh text verdict (automated `block`) with the given client id.
fn verdict_of_client(client_id: &str) -> Verdict {
    let text = format!("post {client_id} {} says damn", ulid::Ulid::new());
    let mut v = verdict_for(&text, "damn");
    v.content_ref.client_id = Some(client_id.into());
    v
}

/// A verdict with the given content type, suggestion and labels (no evidence).
fn labelled(
    content_type: ContentType,
    suggestion: Suggestion,
    labels: &[(Label, Suggestion)],
) -> Verdict {
    let mut v = plain_verdict(0);
    v.content_type = content_type;
    v.suggestion = suggestion;
    v.labels = labels
        .iter()
        .map(|(label, s)| LabelVerdict {
            label: label.clone(),
            score: 0.5,
            suggestion: *s,
            evidence: vec![],
        })
        .collect();
    v
}

/// Records `verdict` with an item of `reason` and `priority` holding its text; the item id.
async fn queue_verdict(
    s: &Arc<dyn Store>,
    t: TenantId,
    verdict: &Verdict,
    reason: ReviewReason,
    priority: u32,
) -> String {
    let item = NewReviewItem {
        reason,
        priority,
        content: vec![text_part(&format!("the content of {}", verdict.id))],
    };
    s.record_verdict_for_review(t, verdict, Some(item))
        .await
        .unwrap()
        .expect("an item id")
}

/// Records a fresh verdict (automated `block`) with an item; the verdict and the item id.
async fn queue(
    s: &Arc<dyn Store>,
    t: TenantId,
    reason: ReviewReason,
    priority: u32,
) -> (Verdict, String) {
    let v = verdict_of_client("post-17");
    let id = queue_verdict(s, t, &v, reason, priority).await;
    (v, id)
}

fn decision(outcome: ReviewOutcome, label: Option<&str>, reason: &str) -> NewDecision {
    NewDecision {
        outcome,
        label: label.map(str::to_owned),
        reason: reason.into(),
    }
}

fn approve() -> NewDecision {
    decision(ReviewOutcome::Approve, None, "fine in context")
}

fn remove() -> NewDecision {
    decision(
        ReviewOutcome::Remove,
        Some("profanity"),
        "insults another user",
    )
}

fn escalate() -> NewDecision {
    decision(ReviewOutcome::Escalate, None, "needs a senior moderator")
}

async fn claim_as(
    s: &Arc<dyn Store>,
    actor: &str,
    t: TenantId,
    id: &str,
    lease_ms: u64,
) -> Result<ReviewItem, StoreError> {
    acting_as(actor, s.claim_review(t, id, lease_ms)).await
}

async fn release_as(
    s: &Arc<dyn Store>,
    actor: &str,
    t: TenantId,
    id: &str,
) -> Result<ReviewItem, StoreError> {
    acting_as(actor, s.release_review(t, id)).await
}

/// Decides as `actor` with a day of retention and no webhook.
async fn decide_as(
    s: &Arc<dyn Store>,
    actor: &str,
    t: TenantId,
    id: &str,
    d: &NewDecision,
    rule: ClaimRule,
) -> Result<ReviewItem, StoreError> {
    acting_as(actor, s.decide_review(t, id, d, rule, DAY_MS, None)).await
}

fn assert_state_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, mentioning: &str) {
    match result {
        Err(StoreError::StateConflict(m)) => assert!(
            m.contains(mentioning),
            "expected a state conflict mentioning {mentioning:?}, got {m:?}"
        ),
        other => panic!("expected a state conflict mentioning {mentioning:?}, got {other:?}"),
    }
}

fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Forbidden(_)) => {}
        other => panic!("{what}: expected forbidden, got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(e) => assert_eq!(e.code(), ErrorCode::InvalidRequest, "{what}: {e}"),
        Ok(v) => panic!("{what}: expected invalid_request, got {v:?}"),
    }
}

fn ids(items: &[ReviewItem]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}

/// The ids of the first page (up to 100) of items matching `filter`.
async fn listed(s: &Arc<dyn Store>, t: TenantId, filter: &ReviewFilter) -> Vec<String> {
    ids(&s.list_review_items(t, filter, None, 100).await.unwrap())
}

/// Every item matching `filter`, page by page of `size`, following the cursor.
async fn paged(s: &Arc<dyn Store>, t: TenantId, filter: &ReviewFilter, size: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<ReviewCursor> = None;
    loop {
        let page = s
            .list_review_items(t, filter, after.as_ref(), size)
            .await
            .unwrap();
        assert!(page.len() <= size as usize, "a page longer than asked");
        let Some(last) = page.last() else {
            break;
        };
        after = Some(ReviewCursor::after(last));
        seen.extend(ids(&page));
    }
    seen
}

fn open_filter() -> ReviewFilter {
    ReviewFilter::default()
}

fn decided_filter() -> ReviewFilter {
    ReviewFilter {
        state: ReviewState::Decided,
        ..ReviewFilter::default()
    }
}

/// The tenant's audit entries of `action`, with their payloads.
async fn audited(
    s: &Arc<dyn Store>,
    t: TenantId,
    action: Action,
) -> Vec<(rampart_store::rampart_audit::Entry, serde_json::Value)> {
    audit_of(s, t)
        .await
        .into_iter()
        .filter(|(e, _)| e.action == action)
        .map(|(e, p)| (e, p.unwrap_or_default()))
        .collect()
}

async fn assert_chain_intact(s: &Arc<dyn Store>, t: TenantId) {
    let report = rampart_store::verify_chain(s.as_ref(), t).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.payloads_missing, 0);
}

async fn a_verdict_queued_for_review_keeps_its_content_in_the_same_transaction(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let text = "you absolute damn fool, see the attached picture";
    let verdict = verdict_for(text, "damn");
    let item = NewReviewItem {
        reason: ReviewReason::Review,
        priority: 70,
        content: vec![text_part(text), image_part(PNG)],
    };
    let id = s
        .record_verdict_for_review(t, &verdict, Some(item.clone()))
        .await
        .unwrap()
        .expect("an item id");

    // The verdict is stored as ever, not yet reviewed.
    let stored = s.get_verdict(t, &verdict.id).await.unwrap().unwrap();
    assert_eq!(stored.verdict, verdict);
    assert_eq!(stored.review, None);

    // The item is there as soon as the verdict is acknowledged: open, unclaimed, undecided.
    let got = s.get_review_item(t, &id).await.unwrap().expect("the item");
    assert_eq!(got.id, id);
    assert_eq!(got.tenant, t);
    assert_eq!(got.verdict_id, verdict.id);
    assert_eq!(got.content_type, "text");
    assert_eq!(got.client_id.as_deref(), Some("post-17"));
    assert_eq!(got.automated, Suggestion::Block);
    assert_eq!(
        (got.reason, got.state, got.escalated, got.priority),
        (ReviewReason::Review, ReviewState::Open, false, 70)
    );
    assert_eq!(got.created_at, stored.recorded_at);
    assert_eq!(got.claim, None);
    assert_eq!(got.appeal, None);
    assert_eq!(got.decision, None);
    assert_eq!(got.reverses, None);
    assert_eq!((got.purge_after, got.purged_at), (None, None));
    assert_eq!(
        got.content,
        vec![
            ContentPartInfo {
                part: 0,
                media_type: TEXT_PLAIN.into(),
                t_ms: None,
                bytes: text.len() as u64,
            },
            ContentPartInfo {
                part: 1,
                media_type: "image/png".into(),
                t_ms: None,
                bytes: PNG.len() as u64,
            },
        ]
    );
    // The moderator gets the exact bytes back, part by part.
    for (n, part) in item.content.iter().enumerate() {
        assert_eq!(
            s.review_content(t, &id, n as u32).await.unwrap().as_ref(),
            Some(part)
        );
    }
    assert_eq!(s.review_content(t, &id, 2).await.unwrap(), None);
    assert!(s.review_history(t, &id).await.unwrap().is_empty());
    assert_eq!(s.review_item_owner(&id).await.unwrap(), Some(t));

    // A verdict recorded without an item queues nothing.
    s.record_verdict(t, &plain_verdict(1)).await.unwrap();
    assert_eq!(
        s.record_verdict_for_review(t, &plain_verdict(2), None)
            .await
            .unwrap(),
        None
    );
    let queue = s
        .list_review_items(t, &open_filter(), None, 100)
        .await
        .unwrap();
    assert_eq!(queue, vec![got.clone()]);
    let verdicts = s.list_verdicts(t, 100, None).await.unwrap();
    assert_eq!(verdicts.len(), 3);
    assert!(verdicts.iter().all(|v| v.review.is_none()));

    // Video frames keep their times; the priority is capped at 100.
    let frames = vec![
        ContentPart {
            media_type: "image/jpeg".into(),
            t_ms: Some(0),
            data: b"frame at zero".to_vec(),
        },
        ContentPart {
            media_type: "image/jpeg".into(),
            t_ms: Some(2_000),
            data: b"frame at two seconds".to_vec(),
        },
    ];
    let video = video_verdict(b"a short video");
    let sampled = NewReviewItem {
        reason: ReviewReason::Sample,
        priority: 250,
        content: frames.clone(),
    };
    let vid = s
        .record_verdict_for_review(t, &video, Some(sampled))
        .await
        .unwrap()
        .unwrap();
    let item = s.get_review_item(t, &vid).await.unwrap().unwrap();
    assert_eq!(
        (item.content_type.as_str(), item.reason, item.priority),
        ("video", ReviewReason::Sample, 100)
    );
    let times: Vec<Option<i64>> = item.content.iter().map(|c| c.t_ms).collect();
    assert_eq!(times, [Some(0), Some(2_000)]);
    assert_eq!(
        s.review_content(t, &vid, 1).await.unwrap(),
        Some(frames[1].clone())
    );

    // Content that breaks the limits is refused, and the verdict with it.
    let too_many = NewReviewItem {
        reason: ReviewReason::Review,
        priority: 1,
        content: vec![text_part("x"); MAX_PARTS + 1],
    };
    let no_type = NewReviewItem {
        reason: ReviewReason::Review,
        priority: 1,
        content: vec![ContentPart {
            media_type: String::new(),
            t_ms: None,
            data: b"x".to_vec(),
        }],
    };
    for (bad, what) in [(too_many, "too many parts"), (no_type, "no media type")] {
        let refused = plain_verdict(3);
        assert_invalid(
            s.record_verdict_for_review(t, &refused, Some(bad)).await,
            what,
        );
        assert_eq!(s.get_verdict(t, &refused.id).await.unwrap(), None, "{what}");
    }
    assert_eq!(listed(s, t, &open_filter()).await.len(), 2);
}

async fn a_completed_job_queues_its_verdict_for_review_in_its_transaction(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let input = b"\x00\x00\x00\x18ftypmp42 a video to review".to_vec();
    let job = s.create_job(new_job(t, &input)).await.unwrap();
    let claimed = s.claim_job(&job.id, LEASE_MS).await.unwrap().unwrap();
    let frame = ContentPart {
        media_type: "image/jpeg".into(),
        t_ms: Some(4_000),
        data: b"the frame that matched".to_vec(),
    };
    let item = || {
        Some(NewReviewItem {
            reason: ReviewReason::Review,
            priority: 80,
            content: vec![frame.clone()],
        })
    };
    let verdict = video_verdict(&input);
    // A stale lease completes nothing and queues nothing.
    assert!(!s
        .complete_job(&job.id, "not-the-lease", t, &verdict, None, item())
        .await
        .unwrap());
    assert!(listed(s, t, &open_filter()).await.is_empty());

    assert!(s
        .complete_job(&job.id, &claimed.lease, t, &verdict, None, item())
        .await
        .unwrap());
    let queued = s
        .list_review_items(t, &open_filter(), None, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    let got = &queued[0];
    assert_eq!(got.verdict_id, verdict.id);
    assert_eq!(
        (got.content_type.as_str(), got.priority, got.automated),
        ("video", 80, Suggestion::Block)
    );
    assert_eq!(
        s.review_content(t, &got.id, 0).await.unwrap(),
        Some(frame.clone())
    );
    // The job's input is gone all the same; only the frame kept for review remains.
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM job_inputs").await, 0);

    // Completing again queues no second item.
    let mut again = video_verdict(&input);
    again.id = ulid::Ulid::new().to_string();
    assert!(!s
        .complete_job(&job.id, &claimed.lease, t, &again, None, item())
        .await
        .unwrap());
    assert_eq!(listed(s, t, &open_filter()).await.len(), 1);
    s.integrity_check().await.unwrap();
}

async fn the_queue_lists_escalated_first_then_by_priority_then_oldest(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let (_, low) = queue(s, t, ReviewReason::Review, 10).await;
    let (_, high) = queue(s, t, ReviewReason::Review, 90).await;
    let (_, mid) = queue(s, t, ReviewReason::Review, 50).await;
    let (_, high_later) = queue(s, t, ReviewReason::Review, 90).await;
    let (_, sample) = queue(s, t, ReviewReason::Sample, 10).await;
    let (_, hot) = queue(s, t, ReviewReason::Review, 30).await;
    let escalated = decide_as(
        s,
        "key:a",
        t,
        &hot,
        &escalate(),
        ClaimRule::UnlessHeldByOther,
    )
    .await
    .unwrap();
    assert!(escalated.escalated);

    let queue_order = vec![
        hot.clone(),
        high.clone(),
        high_later.clone(),
        mid.clone(),
        low.clone(),
        sample.clone(),
    ];
    assert_eq!(listed(s, t, &open_filter()).await, queue_order);

    let oldest_first = ReviewFilter {
        oldest_first: true,
        ..open_filter()
    };
    let creation_order = vec![
        low.clone(),
        high.clone(),
        mid.clone(),
        high_later.clone(),
        sample.clone(),
        hot.clone(),
    ];
    assert_eq!(listed(s, t, &oldest_first).await, creation_order);

    // Filters by reason and by escalation.
    let by_reason = |reason| ReviewFilter {
        reason: Some(reason),
        ..open_filter()
    };
    assert_eq!(
        listed(s, t, &by_reason(ReviewReason::Sample)).await,
        vec![sample.clone()]
    );
    assert_eq!(
        listed(s, t, &by_reason(ReviewReason::Review)).await,
        queue_order[..5]
    );
    assert!(listed(s, t, &by_reason(ReviewReason::Appeal))
        .await
        .is_empty());
    let by_escalation = |escalated| ReviewFilter {
        escalated: Some(escalated),
        ..open_filter()
    };
    assert_eq!(listed(s, t, &by_escalation(true)).await, vec![hot.clone()]);
    assert_eq!(listed(s, t, &by_escalation(false)).await, queue_order[1..]);
    let sample_escalated = ReviewFilter {
        escalated: Some(true),
        ..by_reason(ReviewReason::Sample)
    };
    assert!(listed(s, t, &sample_escalated).await.is_empty());

    // Pages of 2 (and of 1, so a cursor sits on the escalated item) give every item exactly
    // once, in order, in every listing.
    for filter in [
        open_filter(),
        oldest_first.clone(),
        by_escalation(false),
        by_reason(ReviewReason::Review),
    ] {
        let all = listed(s, t, &filter).await;
        for size in [1, 2] {
            assert_eq!(
                paged(s, t, &filter, size).await,
                all,
                "{filter:?} by {size}"
            );
        }
    }

    // A cursor survives the trip through a client.
    let first = s
        .list_review_items(t, &open_filter(), None, 2)
        .await
        .unwrap();
    let text = ReviewCursor::after(first.last().unwrap()).encode();
    let cursor = ReviewCursor::decode(&text).expect("a cursor decodes");
    let next = s
        .list_review_items(t, &open_filter(), Some(&cursor), 2)
        .await
        .unwrap();
    assert_eq!(ids(&next), queue_order[2..4]);

    // Decided items leave the queue and are listed newest decision first.
    decide_as(
        s,
        "key:a",
        t,
        &mid,
        &approve(),
        ClaimRule::UnlessHeldByOther,
    )
    .await
    .unwrap();
    sleep_past(0).await; // a later millisecond for the second decision
    decide_as(s, "key:a", t, &low, &remove(), ClaimRule::UnlessHeldByOther)
        .await
        .unwrap();
    assert_eq!(
        listed(s, t, &open_filter()).await,
        [
            hot.clone(),
            high.clone(),
            high_later.clone(),
            sample.clone()
        ]
    );
    assert_eq!(
        listed(s, t, &decided_filter()).await,
        [low.clone(), mid.clone()]
    );
    assert_eq!(paged(s, t, &decided_filter(), 1).await, [low, mid]);
}

async fn a_claim_is_a_lease_held_by_one_moderator(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let (_, id) = queue(s, t, ReviewReason::Review, 50).await;

    let before = now_ms();
    let mine = acting_as("key:a", async { s.claim_review(t, &id, LEASE_MS).await })
        .await
        .unwrap();
    let claim = mine.claim.clone().expect("a claim");
    assert_eq!(claim.actor, "key:a");
    assert!(claim.until >= before + LEASE_MS as i64, "{claim:?}");
    assert_eq!(mine.claimed_by(now_ms()), Some("key:a"));
    assert_eq!(
        s.get_review_item(t, &id).await.unwrap().unwrap().claim,
        Some(claim.clone())
    );

    // Nobody else may take it or give it up while the lease is live.
    assert_state_conflict(claim_as(s, "key:b", t, &id, LEASE_MS).await, "key:a");
    assert_state_conflict(release_as(s, "key:b", t, &id).await, "no claim");
    // Outside any scope the store acts as the system, which is someone else too.
    assert_state_conflict(s.claim_review(t, &id, LEASE_MS).await, "key:a");

    // The holder renews, then releases: the item is back in the queue, unclaimed.
    let renewed = claim_as(s, "key:a", t, &id, LEASE_MS).await.unwrap();
    assert!(renewed.claim.unwrap().until >= claim.until);
    let released = release_as(s, "key:a", t, &id).await.unwrap();
    assert_eq!(released.claim, None);
    assert_eq!(released.state, ReviewState::Open);
    assert_state_conflict(release_as(s, "key:a", t, &id).await, "no claim");

    // A lease that lapses frees the item for the next moderator.
    claim_as(s, "key:a", t, &id, 50).await.unwrap();
    sleep_past(50).await;
    let lapsed = s.get_review_item(t, &id).await.unwrap().unwrap();
    assert_eq!(lapsed.claimed_by(now_ms()), None);
    let taken = claim_as(s, "key:b", t, &id, LEASE_MS).await.unwrap();
    assert_eq!(taken.claim.unwrap().actor, "key:b");
    assert_state_conflict(release_as(s, "key:a", t, &id).await, "no claim");
    assert_state_conflict(claim_as(s, "key:a", t, &id, LEASE_MS).await, "key:b");

    // Unknown items are not found; decided ones cannot be claimed or released.
    assert_not_found(
        claim_as(s, "key:a", t, "01NOSUCHITEM00000000000000", LEASE_MS).await,
        "claim",
    );
    assert_not_found(
        release_as(s, "key:a", t, "01NOSUCHITEM00000000000000").await,
        "release",
    );
    decide_as(s, "key:b", t, &id, &approve(), ClaimRule::Required)
        .await
        .unwrap();
    assert_state_conflict(claim_as(s, "key:a", t, &id, LEASE_MS).await, "decided");
    assert_state_conflict(release_as(s, "key:b", t, &id).await, "no claim");

    // Every claim and release is audited under its moderator, refusals are not.
    let subject = format!("review:{id}");
    let trail: Vec<(String, Action)> = audit_of(s, t)
        .await
        .into_iter()
        .filter(|(e, _)| matches!(e.action, Action::ReviewClaimed | Action::ReviewReleased))
        .map(|(e, _)| {
            assert_eq!(e.subject, subject);
            (e.actor, e.action)
        })
        .collect();
    let expected: Vec<(String, Action)> = [
        ("key:a", Action::ReviewClaimed),
        ("key:a", Action::ReviewClaimed),
        ("key:a", Action::ReviewReleased),
        ("key:a", Action::ReviewClaimed),
        ("key:b", Action::ReviewClaimed),
    ]
    .into_iter()
    .map(|(a, action)| (a.to_owned(), action))
    .collect();
    assert_eq!(trail, expected);
    assert_chain_intact(s, t).await;
}

async fn a_decision_needs_a_live_claim_and_closes_the_item_once(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let (verdict, id) = queue(s, t, ReviewReason::Review, 50).await;

    // Under ClaimRule::Required: no claim, an expired claim and another's claim all refuse.
    assert_state_conflict(
        decide_as(s, "key:a", t, &id, &approve(), ClaimRule::Required).await,
        "claim this item",
    );
    claim_as(s, "key:a", t, &id, 50).await.unwrap();
    sleep_past(50).await;
    assert_state_conflict(
        decide_as(s, "key:a", t, &id, &approve(), ClaimRule::Required).await,
        "expired",
    );
    claim_as(s, "key:a", t, &id, LEASE_MS).await.unwrap();
    for rule in [ClaimRule::Required, ClaimRule::UnlessHeldByOther] {
        assert_state_conflict(
            decide_as(s, "key:b", t, &id, &approve(), rule).await,
            "key:a",
        );
    }

    // Bad values are refused before anything is written.
    let bad_label = decision(ReviewOutcome::Remove, Some("not a label!"), "spam");
    let long_reason = decision(ReviewOutcome::Approve, None, &"x".repeat(MAX_REASON + 1));
    let control = decision(ReviewOutcome::Approve, None, "bell\u{7}");
    for (bad, what) in [
        (&bad_label, "label"),
        (&long_reason, "reason"),
        (&control, "control"),
    ] {
        assert_invalid(
            decide_as(s, "key:a", t, &id, bad, ClaimRule::Required).await,
            what,
        );
    }
    let not_json = NewDelivery {
        url: "https://hooks.example.com/rampart".into(),
        event: "review.decided".into(),
        payload: "not json".into(),
    };
    assert_invalid(
        acting_as(
            "key:a",
            s.decide_review(
                t,
                &id,
                &approve(),
                ClaimRule::Required,
                DAY_MS,
                Some(not_json),
            ),
        )
        .await,
        "webhook",
    );
    assert!(s.review_history(t, &id).await.unwrap().is_empty());
    let still = s.get_review_item(t, &id).await.unwrap().unwrap();
    assert_eq!(still.state, ReviewState::Open);
    assert_eq!(still.claimed_by(now_ms()), Some("key:a"));

    // With a live claim: decided, recorded, stamped on the verdict, webhook queued, at once.
    let hook = NewDelivery {
        url: "https://hooks.example.com/rampart".into(),
        event: "review.decided".into(),
        payload: serde_json::json!({"event": "review.decided", "item": id}).to_string(),
    };
    let decided = acting_as("key:a", async {
        s.decide_review(
            t,
            &id,
            &approve(),
            ClaimRule::Required,
            DAY_MS,
            Some(hook.clone()),
        )
        .await
    })
    .await
    .unwrap();
    assert_eq!(decided.state, ReviewState::Decided);
    let d = decided.decision.clone().expect("the decision");
    assert_eq!(
        (
            d.outcome,
            d.label.as_deref(),
            d.reason.as_str(),
            d.actor.as_str()
        ),
        (ReviewOutcome::Approve, None, "fine in context", "key:a")
    );
    assert!(d.at >= decided.created_at);
    assert_eq!(decided.claim, None);
    assert_eq!(
        decided.reverses,
        Some(true),
        "approving an automated block reverses it"
    );
    assert_eq!(decided.purge_after, Some(d.at + DAY_MS as i64));
    assert_eq!(decided.purged_at, None);
    assert_eq!(decided.content.len(), 1, "kept for the retention period");
    assert_eq!(
        s.get_review_item(t, &id).await.unwrap(),
        Some(decided.clone())
    );
    assert_eq!(s.review_history(t, &id).await.unwrap(), vec![d.clone()]);

    let review = Some(VerdictReview {
        outcome: ReviewOutcome::Approve,
        at: d.at,
        by: "key:a".into(),
    });
    let stored = s.get_verdict(t, &verdict.id).await.unwrap().unwrap();
    assert_eq!(stored.review, review);
    assert_eq!(
        stored.verdict, verdict,
        "the verdict JSON is never rewritten"
    );
    let listed_verdicts = s.list_verdicts(t, 10, None).await.unwrap();
    assert_eq!(listed_verdicts[0].review, review);

    // Once only: whatever the rule or the moderator.
    for (actor, rule) in [
        ("key:a", ClaimRule::UnlessHeldByOther),
        ("key:b", ClaimRule::Required),
    ] {
        assert_state_conflict(
            decide_as(s, actor, t, &id, &remove(), rule).await,
            "decided",
        );
    }
    assert_eq!(s.review_history(t, &id).await.unwrap().len(), 1);

    // The webhook was queued with the decision, due now and not tied to any job.
    let deliveries = s.list_deliveries(t, None, None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        (
            deliveries[0].event.as_str(),
            deliveries[0].url.as_str(),
            deliveries[0].job_id.as_deref(),
            deliveries[0].state
        ),
        (
            "review.decided",
            hook.url.as_str(),
            None,
            DeliveryState::Pending
        )
    );
    let due = s
        .claim_due_deliveries(now_ms(), 10, LEASE_MS)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].payload, hook.payload);

    // An escalation keeps the item open, flags it and drops the claim; a senior decides it.
    let (_, hard) = queue(s, t, ReviewReason::Review, 40).await;
    claim_as(s, "key:a", t, &hard, LEASE_MS).await.unwrap();
    let up = decide_as(s, "key:a", t, &hard, &escalate(), ClaimRule::Required)
        .await
        .unwrap();
    assert_eq!(
        (
            up.state,
            up.escalated,
            up.claim.clone(),
            up.decision.clone()
        ),
        (ReviewState::Open, true, None, None)
    );
    assert_eq!((up.reverses, up.purge_after), (None, None));
    assert_eq!(up.content.len(), 1);
    claim_as(s, "key:b", t, &hard, LEASE_MS).await.unwrap();
    let removed = decide_as(s, "key:b", t, &hard, &remove(), ClaimRule::Required)
        .await
        .unwrap();
    assert_eq!(removed.state, ReviewState::Decided);
    assert!(removed.escalated, "an escalated item stays marked");
    assert_eq!(
        removed.reverses,
        Some(false),
        "removing an automated block upholds it"
    );
    let final_decision = removed.decision.clone().unwrap();
    assert_eq!(
        (
            final_decision.label.as_deref(),
            final_decision.actor.as_str()
        ),
        (Some("profanity"), "key:b")
    );
    let history = s.review_history(t, &hard).await.unwrap();
    let steps: Vec<(ReviewOutcome, &str, &str)> = history
        .iter()
        .map(|d| (d.outcome, d.actor.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (ReviewOutcome::Escalate, "key:a", "needs a senior moderator"),
            (ReviewOutcome::Remove, "key:b", "insults another user"),
        ]
    );
    assert_eq!(history[1], final_decision);
    assert!(history[0].at <= history[1].at);
    assert_eq!(
        s.list_deliveries(t, None, None, 10).await.unwrap().len(),
        1,
        "no webhook asked for, none queued"
    );

    // ClaimRule::UnlessHeldByOther (bulk): unclaimed items yes, another's live claim no.
    let (_, free) = queue(s, t, ReviewReason::Review, 20).await;
    let (_, held) = queue(s, t, ReviewReason::Review, 20).await;
    claim_as(s, "key:a", t, &held, LEASE_MS).await.unwrap();
    let bulk = decide_as(
        s,
        "key:b",
        t,
        &free,
        &remove(),
        ClaimRule::UnlessHeldByOther,
    )
    .await
    .unwrap();
    assert_eq!(bulk.state, ReviewState::Decided);
    assert_eq!(bulk.decision.unwrap().actor, "key:b");
    assert_state_conflict(
        decide_as(
            s,
            "key:b",
            t,
            &held,
            &approve(),
            ClaimRule::UnlessHeldByOther,
        )
        .await,
        "key:a",
    );
    assert_eq!(
        s.get_review_item(t, &held).await.unwrap().unwrap().state,
        ReviewState::Open
    );
    decide_as(
        s,
        "key:a",
        t,
        &held,
        &approve(),
        ClaimRule::UnlessHeldByOther,
    )
    .await
    .unwrap();
    assert_not_found(
        decide_as(
            s,
            "key:a",
            t,
            "01NOSUCHITEM00000000000000",
            &approve(),
            ClaimRule::UnlessHeldByOther,
        )
        .await,
        "decide",
    );

    // One review_decided entry per decision (the escalation included), by its moderator.
    let decided_by: Vec<(String, serde_json::Value)> = audited(s, t, Action::ReviewDecided)
        .await
        .into_iter()
        .map(|(e, p)| (e.actor, p["outcome"].clone()))
        .collect();
    let expected: Vec<(String, serde_json::Value)> = [
        ("key:a", "approve"),
        ("key:a", "escalate"),
        ("key:b", "remove"),
        ("key:b", "remove"),
        ("key:a", "approve"),
    ]
    .into_iter()
    .map(|(a, o)| (a.to_owned(), serde_json::json!(o)))
    .collect();
    assert_eq!(decided_by, expected);
    assert_chain_intact(s, t).await;
}

async fn an_appeal_reopens_content_for_another_moderator(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let verdict = verdict_of_client("post-1");
    let first = queue_verdict(s, t, &verdict, ReviewReason::Review, 60).await;

    // While the content is in the queue, it cannot be appealed.
    assert_state_conflict(
        s.open_appeal(t, &verdict.id, "too early").await,
        "already in the review queue",
    );
    claim_as(s, "key:a", t, &first, LEASE_MS).await.unwrap();
    decide_as(s, "key:a", t, &first, &remove(), ClaimRule::Required)
        .await
        .unwrap();
    let original = s.get_review_item(t, &first).await.unwrap().unwrap();

    // Unknown content is not found.
    assert_not_found(s.open_appeal(t, "no-such-content", "x").await, "content");
    assert_invalid(s.open_appeal(t, "", "x").await, "empty content id");
    assert_invalid(
        s.open_appeal(t, &verdict.id, &"x".repeat(MAX_REASON + 1))
            .await,
        "long statement",
    );

    // By verdict id: an appeal item the moderator appealed against may not decide.
    let statement = "it was a quote, not an insult";
    let appeal = acting_as("key:user-desk", s.open_appeal(t, &verdict.id, statement))
        .await
        .unwrap();
    assert_ne!(appeal.id, first);
    assert_eq!(
        (
            appeal.reason,
            appeal.state,
            appeal.priority,
            appeal.escalated
        ),
        (ReviewReason::Appeal, ReviewState::Open, 60, false)
    );
    assert_eq!(appeal.verdict_id, verdict.id);
    assert_eq!(appeal.client_id.as_deref(), Some("post-1"));
    assert_eq!(appeal.automated, Suggestion::Block);
    assert_eq!(
        appeal.appeal,
        Some(Appeal {
            of_item: Some(first.clone()),
            statement: statement.into(),
            excluded_actor: Some("key:a".into()),
        })
    );
    assert_eq!(appeal.decision, None);
    // The retained content comes with it.
    assert_eq!(appeal.content, original.content);
    assert!(!appeal.content.is_empty());
    let part = s.review_content(t, &appeal.id, 0).await.unwrap();
    assert!(part.is_some());
    assert_eq!(part, s.review_content(t, &first, 0).await.unwrap());
    assert_eq!(
        listed(
            s,
            t,
            &ReviewFilter {
                reason: Some(ReviewReason::Appeal),
                ..open_filter()
            }
        )
        .await,
        vec![appeal.id.clone()]
    );

    // Now the content is in the queue again: a second appeal conflicts, by id or client id.
    assert_state_conflict(s.open_appeal(t, &verdict.id, "again").await, "already");
    assert_state_conflict(s.open_appeal(t, "post-1", "again").await, "already");

    // The moderator appealed against may neither claim nor decide it, under any rule.
    assert_forbidden(claim_as(s, "key:a", t, &appeal.id, LEASE_MS).await, "claim");
    for rule in [ClaimRule::Required, ClaimRule::UnlessHeldByOther] {
        assert_forbidden(
            decide_as(s, "key:a", t, &appeal.id, &approve(), rule).await,
            "decide",
        );
    }
    // Another moderator reverses the decision.
    claim_as(s, "key:b", t, &appeal.id, LEASE_MS).await.unwrap();
    let upheld = decide_as(s, "key:b", t, &appeal.id, &approve(), ClaimRule::Required)
        .await
        .unwrap();
    assert_eq!(upheld.state, ReviewState::Decided);
    assert_eq!(
        upheld.reverses,
        Some(true),
        "approve after remove reverses it"
    );
    let stored = s.get_verdict(t, &verdict.id).await.unwrap().unwrap();
    assert_eq!(
        stored.review.map(|r| (r.outcome, r.by)),
        Some((ReviewOutcome::Approve, "key:b".to_owned()))
    );
    // The appealed item keeps its own decision.
    assert_eq!(
        s.get_review_item(t, &first).await.unwrap().unwrap(),
        original
    );

    // A second appeal, by client id, is of the appeal's decision and excludes its moderator.
    let again = s
        .open_appeal(t, "post-1", "please look again")
        .await
        .unwrap();
    let of = again.appeal.clone().unwrap();
    assert_eq!(
        (of.of_item.as_deref(), of.excluded_actor.as_deref()),
        (Some(appeal.id.as_str()), Some("key:b"))
    );
    assert_forbidden(claim_as(s, "key:b", t, &again.id, LEASE_MS).await, "claim");
    claim_as(s, "key:a", t, &again.id, LEASE_MS).await.unwrap();
    let kept = decide_as(s, "key:a", t, &again.id, &approve(), ClaimRule::Required)
        .await
        .unwrap();
    assert_eq!(
        kept.reverses,
        Some(false),
        "approve after approve upholds it"
    );

    // By client id: the latest verdict with it. Content never reviewed excludes nobody.
    let older = verdict_of_client("post-2");
    s.record_verdict(t, &older).await.unwrap();
    sleep_past(0).await;
    let newer = verdict_of_client("post-2");
    s.record_verdict(t, &newer).await.unwrap();
    let fresh = s.open_appeal(t, "post-2", "not spam").await.unwrap();
    assert_eq!(fresh.verdict_id, newer.id);
    assert_eq!(
        fresh.appeal,
        Some(Appeal {
            of_item: None,
            statement: "not spam".into(),
            excluded_actor: None,
        })
    );
    assert!(fresh.content.is_empty());
    assert_eq!(fresh.priority, 50);
    let decided = decide_as(
        s,
        "key:a",
        t,
        &fresh.id,
        &approve(),
        ClaimRule::UnlessHeldByOther,
    )
    .await
    .unwrap();
    assert_eq!(
        decided.reverses,
        Some(true),
        "approve of an automated block"
    );

    // The audit chain records the appeals and their decisions; the statement is not in it.
    let opened = audited(s, t, Action::AppealOpened).await;
    assert_eq!(opened.len(), 3);
    assert_eq!(opened[0].0.actor, "key:user-desk");
    assert_eq!(opened[0].0.subject, format!("review:{}", appeal.id));
    assert_eq!(opened[0].1["of_item"], serde_json::json!(first));
    assert_eq!(opened[0].1["excluded_actor"], "key:a");
    let appeal_decided = audited(s, t, Action::AppealDecided).await;
    let outcomes: Vec<(String, serde_json::Value)> = appeal_decided
        .iter()
        .map(|(e, p)| (e.actor.clone(), p["reverses"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("key:b".to_owned(), serde_json::json!(true)),
            ("key:a".to_owned(), serde_json::json!(false)),
            ("key:a".to_owned(), serde_json::json!(true)),
        ]
    );
    let all = serde_json::to_string(&audit_of(s, t).await).unwrap();
    assert!(
        !all.contains(statement),
        "the statement is in the audit log"
    );
    assert_chain_intact(s, t).await;
    s.integrity_check().await.unwrap();
}

async fn decided_content_is_purged_after_retention_and_the_purge_is_audited(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let decide_with_retention = |id: String, retention_ms: u64| async move {
        acting_as(
            "key:a",
            s.decide_review(
                t,
                &id,
                &remove(),
                ClaimRule::UnlessHeldByOther,
                retention_ms,
                None,
            ),
        )
        .await
        .unwrap()
    };
    let (gone_verdict, gone) = queue(s, t, ReviewReason::Review, 50).await;
    let (_, gone_too) = queue(s, t, ReviewReason::Sample, 50).await;
    let (_, kept) = queue(s, t, ReviewReason::Review, 50).await;
    let (open_verdict, open) = queue(s, t, ReviewReason::Review, 50).await;
    decide_with_retention(gone.clone(), 0).await;
    decide_with_retention(gone_too.clone(), 0).await;
    let kept_item = decide_with_retention(kept.clone(), DAY_MS).await;

    let now = now_ms();
    assert_eq!(s.purge_review_content(now, 100).await.unwrap(), 2);
    for id in [&gone, &gone_too] {
        let item = s.get_review_item(t, id).await.unwrap().unwrap();
        assert_eq!(item.purged_at, Some(now));
        assert!(item.content.is_empty(), "content infos after the purge");
        assert_eq!(s.review_content(t, id, 0).await.unwrap(), None);
        assert!(item.decision.is_some(), "the decision itself is kept");
    }
    for id in [&kept, &open] {
        let item = s.get_review_item(t, id).await.unwrap().unwrap();
        assert_eq!(item.purged_at, None);
        assert_eq!(item.content.len(), 1);
        assert!(s.review_content(t, id, 0).await.unwrap().is_some());
    }
    assert_eq!(
        s.purge_review_content(now, 100).await.unwrap(),
        0,
        "nothing else is due"
    );

    // When its retention ends the other decided item goes too; an open item never does.
    let later = kept_item.purge_after.unwrap();
    assert_eq!(s.purge_review_content(later - 1, 100).await.unwrap(), 0);
    assert_eq!(s.purge_review_content(later, 100).await.unwrap(), 1);
    assert_eq!(s.purge_review_content(i64::MAX, 100).await.unwrap(), 0);
    assert_eq!(s.review_content(t, &kept, 0).await.unwrap(), None);
    let still_open = s.get_review_item(t, &open).await.unwrap().unwrap();
    assert_eq!((still_open.purged_at, still_open.content.len()), (None, 1));

    // The limit holds; what it leaves is purged next time.
    let (_, l1) = queue(s, t, ReviewReason::Review, 1).await;
    let (_, l2) = queue(s, t, ReviewReason::Review, 1).await;
    decide_with_retention(l1, 0).await;
    decide_with_retention(l2, 0).await;
    let now = now_ms();
    assert_eq!(s.purge_review_content(now, 1).await.unwrap(), 1);
    assert_eq!(s.purge_review_content(now, 1).await.unwrap(), 1);
    assert_eq!(s.purge_review_content(now, 1).await.unwrap(), 0);

    // One retention_purged entry per purge that removed something, naming its items.
    let purges = audited(s, t, Action::RetentionPurged).await;
    assert_eq!(purges.len(), 4);
    let (entry, payload) = &purges[0];
    assert_eq!(
        (entry.actor.as_str(), entry.subject.as_str()),
        ("system", "review_content")
    );
    let mut named: Vec<String> = serde_json::from_value(payload["items"].clone()).unwrap();
    named.sort();
    let mut expected = vec![gone.clone(), gone_too.clone()];
    expected.sort();
    assert_eq!(named, expected);
    assert_eq!(payload["parts"], 2);
    assert_eq!(purges[1].1["items"], serde_json::json!([kept]));

    // An appeal of purged content has nothing to show, but still points at the decision.
    let appeal = s
        .open_appeal(t, &gone_verdict.id, "please reconsider")
        .await
        .unwrap();
    assert!(appeal.content.is_empty());
    assert_eq!(appeal.appeal.unwrap().of_item, Some(gone));

    assert_chain_intact(s, t).await;
    s.integrity_check().await.unwrap();
    // On SQLite no free page keeps purged content (secure_delete), once the WAL is
    // checkpointed; the open item's content is still there.
    db.checkpoint().await;
    if let Some(bytes) = db.sqlite_bytes() {
        let on_disk = |text: String| bytes.windows(text.len()).any(|w| w == text.as_bytes());
        assert!(!on_disk(format!("the content of {}", gone_verdict.id)));
        assert!(on_disk(format!("the content of {}", open_verdict.id)));
    }
}

async fn a_tenant_sees_none_of_another_tenants_review_items(db: &TestDb) {
    let s = &db.store;
    let a = s.create_tenant("tenant-a").await.unwrap().id;
    let b = s.create_tenant("tenant-b").await.unwrap().id;
    let (verdict, id) = queue(s, a, ReviewReason::Review, 50).await;
    let (decided_verdict, decided) = queue(s, a, ReviewReason::Review, 50).await;
    decide_as(
        s,
        "key:a",
        a,
        &decided,
        &remove(),
        ClaimRule::UnlessHeldByOther,
    )
    .await
    .unwrap();
    let before = s.get_review_item(a, &id).await.unwrap().unwrap();

    // Reads in B's name find nothing.
    assert_eq!(s.get_review_item(b, &id).await.unwrap(), None);
    assert!(listed(s, b, &open_filter()).await.is_empty());
    assert!(listed(s, b, &decided_filter()).await.is_empty());
    assert_eq!(s.review_content(b, &id, 0).await.unwrap(), None);
    assert!(s.review_history(b, &decided).await.unwrap().is_empty());
    let range = (0, now_ms() + 1);
    assert!(s
        .list_review_decisions(b, ReviewOutcome::Remove, range.0, range.1, None, 100)
        .await
        .unwrap()
        .is_empty());
    let counts = s.review_counts(b, range.0, range.1).await.unwrap();
    assert_eq!(counts, rampart_store::ReviewCounts::default());

    // Changes in B's name are not found and change nothing.
    assert_not_found(claim_as(s, "key:b", b, &id, LEASE_MS).await, "claim");
    assert_not_found(release_as(s, "key:b", b, &id).await, "release");
    for rule in [ClaimRule::Required, ClaimRule::UnlessHeldByOther] {
        assert_not_found(
            decide_as(s, "key:b", b, &id, &approve(), rule).await,
            "decide",
        );
    }
    assert_not_found(s.open_appeal(b, &verdict.id, "mine?").await, "appeal by id");
    assert_not_found(
        s.open_appeal(b, &decided_verdict.id, "mine?").await,
        "appeal of decided",
    );
    assert_not_found(
        s.open_appeal(b, "post-17", "mine?").await,
        "appeal by client id",
    );
    assert_eq!(s.get_review_item(a, &id).await.unwrap(), Some(before));
    assert!(s
        .get_review_item(a, &decided)
        .await
        .unwrap()
        .unwrap()
        .decision
        .is_some());
    let b_review: Vec<_> = audit_of(s, b)
        .await
        .into_iter()
        .filter(|(e, _)| e.action != Action::TenantCreated)
        .collect();
    assert!(b_review.is_empty(), "{b_review:?}");

    // Who owns an item is known only to audit the reach across tenants.
    assert_eq!(s.review_item_owner(&id).await.unwrap(), Some(a));
    assert_eq!(
        s.review_item_owner("01NOSUCHITEM00000000000000")
            .await
            .unwrap(),
        None
    );
}

async fn review_counts_and_decisions_sum_up_a_period(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let other = s.create_tenant("globex").await.unwrap().id;
    let start = now_ms();
    use Suggestion::{Block, Pass, Review};

    // A text verdict blocked for profanity (harassment passed): reviewed and removed.
    let v1 = labelled(
        ContentType::Text,
        Block,
        &[(Label::Profanity, Block), (Label::Harassment, Pass)],
    );
    // Two text verdicts suggesting review: one approved, one escalated.
    let v2 = labelled(ContentType::Text, Review, &[(Label::Profanity, Review)]);
    let v3 = labelled(ContentType::Text, Review, &[(Label::Profanity, Review)]);
    // An image blocked on two labels, sampled and approved (a reversal).
    let v4 = labelled(
        ContentType::Image,
        Block,
        &[(Label::Sexual, Block), (Label::Violence, Review)],
    );
    // A text verdict that passed, never queued.
    let v5 = labelled(ContentType::Text, Pass, &[(Label::Profanity, Pass)]);

    let i1 = queue_verdict(s, t, &v1, ReviewReason::Review, 50).await;
    let i2 = queue_verdict(s, t, &v2, ReviewReason::Review, 50).await;
    let i3 = queue_verdict(s, t, &v3, ReviewReason::Review, 50).await;
    let i4 = queue_verdict(s, t, &v4, ReviewReason::Sample, 50).await;
    s.record_verdict(t, &v5).await.unwrap();
    let bulk = ClaimRule::UnlessHeldByOther;
    decide_as(s, "key:a", t, &i1, &remove(), bulk)
        .await
        .unwrap();
    decide_as(s, "key:a", t, &i2, &approve(), bulk)
        .await
        .unwrap();
    decide_as(s, "key:a", t, &i3, &escalate(), bulk)
        .await
        .unwrap();
    decide_as(s, "key:b", t, &i4, &approve(), bulk)
        .await
        .unwrap();
    let appeal = s.open_appeal(t, &v1.id, "a quote").await.unwrap();
    // Another tenant's activity counts for it alone.
    let (_, theirs) = queue(s, other, ReviewReason::Review, 50).await;
    decide_as(s, "key:z", other, &theirs, &approve(), bulk)
        .await
        .unwrap();
    let end = now_ms() + 1;

    let day = |ms: i64| ms.div_euclid(DAY_MS as i64);
    let flags = [
        (&v1, "text", "block", "profanity:block"),
        (&v2, "text", "review", "profanity:review"),
        (&v3, "text", "review", "profanity:review"),
        (&v4, "image", "block", "sexual:block,violence:review"),
        (&v5, "text", "pass", ""),
    ];
    let mut expected_verdicts = std::collections::BTreeMap::new();
    for (v, content_type, suggestion, flagged) in flags {
        let recorded = s.get_verdict(t, &v.id).await.unwrap().unwrap().recorded_at;
        *expected_verdicts
            .entry((
                day(recorded),
                content_type.to_owned(),
                suggestion.to_owned(),
                flagged.to_owned(),
            ))
            .or_insert(0u64) += 1;
    }
    let expected_verdicts: Vec<(i64, String, String, String, u64)> = expected_verdicts
        .into_iter()
        .map(|((d, c, s, f), n)| (d, c, s, f, n))
        .collect();

    let mut expected_decisions = std::collections::BTreeMap::new();
    let mut expected_latencies = Vec::new();
    for (id, reason, reverses) in [
        (&i1, "review", false),
        (&i2, "review", false),
        (&i3, "review", false),
        (&i4, "sample", true),
    ] {
        for d in s.review_history(t, id).await.unwrap() {
            *expected_decisions
                .entry((
                    day(d.at),
                    d.outcome.as_str().to_owned(),
                    reason.to_owned(),
                    reverses && d.outcome != ReviewOutcome::Escalate,
                ))
                .or_insert(0u64) += 1;
        }
        let item = s.get_review_item(t, id).await.unwrap().unwrap();
        if let Some(d) = item.decision {
            expected_latencies.push(d.at - item.created_at);
            assert_eq!(item.reverses, Some(reverses), "{reason}");
        }
    }
    let expected_decisions: Vec<(i64, String, String, bool, u64)> = expected_decisions
        .into_iter()
        .map(|((d, o, r, rev), n)| (d, o, r, rev, n))
        .collect();
    expected_latencies.sort_unstable();

    let counts = s.review_counts(t, start, end).await.unwrap();
    let mut verdicts = counts.verdicts.clone();
    verdicts.sort();
    assert_eq!(verdicts, expected_verdicts);
    assert_eq!(verdicts.iter().map(|v| v.4).sum::<u64>(), 5);
    let mut decisions = counts.decisions.clone();
    decisions.sort();
    assert_eq!(decisions, expected_decisions);
    let by_outcome = |o: &str| -> u64 { decisions.iter().filter(|d| d.1 == o).map(|d| d.4).sum() };
    assert_eq!(
        (
            by_outcome("approve"),
            by_outcome("remove"),
            by_outcome("escalate")
        ),
        (2, 1, 1)
    );
    assert_eq!(
        decisions.iter().filter(|d| d.3).map(|d| d.4).sum::<u64>(),
        1,
        "one reversal: the sampled image"
    );
    let mut latencies = counts.decision_latencies_ms.clone();
    latencies.sort_unstable();
    assert_eq!(latencies, expected_latencies);
    assert_eq!(latencies.len(), 3);
    assert!(latencies.iter().all(|&l| l >= 0));
    assert_eq!(counts.appeals_opened, 1);
    assert_eq!((counts.open_now, counts.escalated_now), (2, 1));

    // Outside the period nothing happened, but what is open now is still open.
    let later = s
        .review_counts(t, end + DAY_MS as i64, end + 2 * DAY_MS as i64)
        .await
        .unwrap();
    assert_eq!(
        later,
        rampart_store::ReviewCounts {
            open_now: 2,
            escalated_now: 1,
            ..Default::default()
        }
    );

    // Statements of reasons: final decisions by outcome, each with its verdict, paged.
    let approvals = s
        .list_review_decisions(t, ReviewOutcome::Approve, start, end, None, 100)
        .await
        .unwrap();
    let approved: Vec<(&str, &str)> = approvals
        .iter()
        .map(|(item, v)| (item.id.as_str(), v.verdict.id.as_str()))
        .collect();
    assert_eq!(
        approved,
        [(i2.as_str(), v2.id.as_str()), (i4.as_str(), v4.id.as_str())]
    );
    let first = s
        .list_review_decisions(t, ReviewOutcome::Approve, start, end, None, 1)
        .await
        .unwrap();
    let cursor = (
        first[0].0.decision.as_ref().unwrap().at,
        first[0].0.id.as_str(),
    );
    let rest = s
        .list_review_decisions(t, ReviewOutcome::Approve, start, end, Some(cursor), 100)
        .await
        .unwrap();
    assert_eq!(rest, approvals[1..]);
    let removals = s
        .list_review_decisions(t, ReviewOutcome::Remove, start, end, None, 100)
        .await
        .unwrap();
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0].0.id, i1);
    assert_eq!(
        removals[0].1.review.as_ref().map(|r| r.outcome),
        Some(ReviewOutcome::Remove)
    );
    assert!(s
        .list_review_decisions(t, ReviewOutcome::Escalate, start, end, None, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(appeal.state, ReviewState::Open);
}

async fn a_console_session_lives_until_it_ends_expires_or_its_key_is_revoked(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let key = s
        .create_key(t, Role::Moderator, "review desk")
        .await
        .unwrap()
        .key;
    let is_hex64 = |v: &str| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit());

    let before = now_ms();
    let (value, session) = acting_as(format!("key:{}", key.id), async {
        s.create_console_session(t, &key.id, LEASE_MS).await
    })
    .await
    .unwrap();
    assert!(is_hex64(&value), "{value}");
    assert!(is_hex64(&session.csrf), "{}", session.csrf);
    assert_ne!(session.csrf, value);
    assert_eq!(
        (
            session.tenant,
            session.key_id.as_str(),
            session.key_name.as_str(),
            session.role
        ),
        (t, key.id.as_str(), "review desk", Role::Moderator)
    );
    assert!(session.expires_at >= before + LEASE_MS as i64);
    assert_eq!(
        s.console_session(&value).await.unwrap(),
        Some(session.clone())
    );

    // Only the exact value opens it; the store keeps its hash, not the value.
    let flipped = format!(
        "{}{}",
        if value.starts_with('0') { '1' } else { '0' },
        &value[1..]
    );
    for wrong in [
        flipped.as_str(),
        &value[..63],
        "not a session",
        "",
        &"z".repeat(64),
        &value.to_uppercase(),
    ] {
        assert_eq!(s.console_session(wrong).await.unwrap(), None, "{wrong:?}");
    }
    if let Some(bytes) = db.sqlite_bytes() {
        let needle = value.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the session value is on disk"
        );
    }

    // Each sign-in is a session of its own; ending one leaves the other.
    let (second, _) = s
        .create_console_session(t, &key.id, LEASE_MS)
        .await
        .unwrap();
    assert_ne!(second, value);
    s.end_console_session(&value).await.unwrap();
    s.end_console_session(&value).await.unwrap(); // idempotent
    s.end_console_session("garbage").await.unwrap();
    assert_eq!(s.console_session(&value).await.unwrap(), None);
    assert!(s.console_session(&second).await.unwrap().is_some());

    // Expired sessions are gone.
    let (instant, _) = s.create_console_session(t, &key.id, 0).await.unwrap();
    assert_eq!(s.console_session(&instant).await.unwrap(), None);
    let (short, _) = s.create_console_session(t, &key.id, 50).await.unwrap();
    sleep_past(50).await;
    assert_eq!(s.console_session(&short).await.unwrap(), None);

    // Revoking the key ends its sessions, and no new one can start.
    s.revoke_key(t, &key.id).await.unwrap();
    assert_eq!(s.console_session(&second).await.unwrap(), None);
    assert_not_found(
        s.create_console_session(t, &key.id, LEASE_MS).await,
        "revoked key",
    );
    // Another tenant's key, or an unknown one, starts nothing either.
    let other = s.create_tenant("globex").await.unwrap().id;
    let theirs = s.create_key(other, Role::Admin, "admin").await.unwrap().key;
    assert_not_found(
        s.create_console_session(t, &theirs.id, LEASE_MS).await,
        "another tenant's key",
    );
    assert_not_found(
        s.create_console_session(t, "0000000000000000", LEASE_MS)
            .await,
        "unknown key",
    );

    // Every sign-in is audited, naming the key and never the session value.
    let signed_in = audited(s, t, Action::ConsoleSignedIn).await;
    assert_eq!(signed_in.len(), 4);
    let subject = format!("key:{}", key.id);
    assert!(signed_in.iter().all(|(e, _)| e.subject == subject));
    assert_eq!(signed_in[0].0.actor, subject);
    assert_eq!(signed_in[0].1["key_id"], serde_json::json!(key.id));
    let all = serde_json::to_string(&audit_of(s, t).await).unwrap();
    assert!(!all.contains(&value) && !all.contains(&session.csrf));
    assert_chain_intact(s, t).await;
}

async fn concurrent_claims_and_decisions_have_one_winner(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    for round in 0..3 {
        // Eight moderators claim one item at once: one holds it, the others are told who.
        let (_, id) = queue(s, t, ReviewReason::Review, 50).await;
        let claims: Vec<_> = (0..8)
            .map(|n| {
                let (s, id) = (s.clone(), id.clone());
                tokio::spawn(async move {
                    acting_as(format!("key:m{n}"), s.claim_review(t, &id, LEASE_MS)).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in claims {
            match task.await.unwrap() {
                Ok(item) => winners.push(item.claim.unwrap().actor),
                Err(StoreError::StateConflict(m)) => assert!(m.contains("claimed by"), "{m}"),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let holder = s.get_review_item(t, &id).await.unwrap().unwrap().claim;
        assert_eq!(holder.map(|c| c.actor), winners.pop());

        // Eight bulk decisions of one unclaimed item at once: one decides it.
        let (_, id) = queue(s, t, ReviewReason::Review, 50).await;
        let decisions: Vec<_> = (0..8)
            .map(|n| {
                let (s, id) = (s.clone(), id.clone());
                tokio::spawn(async move {
                    acting_as(
                        format!("key:m{n}"),
                        s.decide_review(
                            t,
                            &id,
                            &approve(),
                            ClaimRule::UnlessHeldByOther,
                            DAY_MS,
                            None,
                        ),
                    )
                    .await
                })
            })
            .collect();
        let mut decided = 0;
        for task in decisions {
            match task.await.unwrap() {
                Ok(_) => decided += 1,
                Err(StoreError::StateConflict(m)) => assert!(m.contains("decided"), "{m}"),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(decided, 1, "round {round}");
        assert_eq!(s.review_history(t, &id).await.unwrap().len(), 1);

        // Eight appeals of one decided content at once: one item reopens it.
        let appeals: Vec<_> = (0..8)
            .map(|n| {
                let (s, id) = (s.clone(), id.clone());
                tokio::spawn(async move {
                    let verdict = s.get_review_item(t, &id).await.unwrap().unwrap().verdict_id;
                    s.open_appeal(t, &verdict, &format!("appeal {n}")).await
                })
            })
            .collect();
        let mut opened = 0;
        for task in appeals {
            match task.await.unwrap() {
                Ok(_) => opened += 1,
                Err(StoreError::StateConflict(m)) => assert!(m.contains("already"), "{m}"),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(opened, 1, "round {round}");
    }
    assert_chain_intact(s, t).await;
    s.integrity_check().await.unwrap();
}

/// PostgreSQL plans the foreign-key check of `review_content` against `review_items` once per
/// connection; made on a small, never-analysed table that plan can read every review item of
/// the tenant for each row (BENCHMARKS.md). Once a thousand items are queued the writer
/// analyses the review tables, after which the check is planned on the primary key.
async fn the_review_tables_get_statistics_once_a_thousand_items_are_queued(db: &TestDb) {
    let s = &db.store;
    let t = s.create_tenant("acme").await.unwrap().id;
    let Place::Postgres { .. } = &db.place else {
        return; // SQLite plans every statement afresh.
    };
    let analysed = "SELECT count(*) FROM pg_class WHERE oid IN ('review_items'::regclass, \
                    'review_content'::regclass) AND reltuples >= 0";
    assert_eq!(
        db.raw_count(analysed).await,
        0,
        "a new schema has no statistics"
    );
    // Concurrent, so the writer commits them in batches as under load.
    for round in 0..20 {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = Arc::clone(s);
                let verdict = plain_verdict(round * 50 + i);
                tokio::spawn(async move {
                    queue_verdict(&store, t, &verdict, ReviewReason::Review, 50).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
    assert_eq!(
        db.raw_count(analysed).await,
        2,
        "the review tables were not analysed"
    );
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT 1 FROM ONLY review_items x WHERE tenant_id = 1 AND id = 'x' \
         FOR KEY SHARE OF x",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(
        plan.iter().any(|line| line.contains("review_items_pkey")),
        "{plan:?}"
    );
}
