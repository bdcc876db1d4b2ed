//! End to end: the audit chain through the real binary, on SQLite and on PostgreSQL. Changes
//! made over HTTP land in the chain under the key that made them; `GET /v1/audit/verify` and
//! `rampart audit verify` agree it is intact; an entry edited behind the store's back (raw SQL)
//! is named by its seq by both, and a head published before the edit is no longer found.
//!
//! Needs `DATABASE_URL`, `psql` and `sqlite3`; fails, never skips, without them.

mod common;

use std::process::Command;

use common::*;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// Runs `rampart audit …` against the backend: exit code, stdout, stderr.
fn audit_cli(backend: &Backend, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data").arg(&backend.data).arg("audit").args(args);
    if let Some(url) = &backend.store {
        cmd.args(["--store", url]);
    }
    let out = cmd
        .env_remove("RAMPART_STORE")
        .output()
        .expect("run rampart audit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs one SQL statement on the backend's database, bypassing the store.
fn raw_sql(backend: &Backend, sql: &str) {
    match &backend.store {
        Some(url) => psql(url, sql),
        None => {
            let db = backend.data.join("rampart.db");
            let out = Command::new("sqlite3")
                .args(["-cmd", ".timeout 5000"])
                .arg(&db)
                .arg(sql)
                .output()
                .expect("sqlite3 must be installed for this test");
            assert!(
                out.status.success(),
                "sqlite3 {sql}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The `<id>` of `rk_<id>_<secret>`.
fn key_id(key: &str) -> &str {
    key.split('_').nth(1).unwrap()
}

fn chain_is_audited_verified_and_tampering_is_named(backend: &Backend) {
    let mut server = start(backend, &[]);
    let admin = server.admin_key.clone().expect("first start prints a key");
    let api = Api { addr: server.addr };
    let auditor = cli_key(backend, "default", "auditor");
    let submitter = cli_key(backend, "default", "submitter");

    let verdict = api.moderate_text(&admin, "you are a damn fool");
    let verdict_id = verdict["id"].as_str().unwrap().to_string();
    ok(
        &api.post(
            &admin,
            "/v1/libraries",
            &json!({"name": "scams", "kind": "block", "label": "spam", "terms": ["wire the money"]}),
        ),
        201,
    );

    // Who did what, in order.
    let page = ok(&api.get(&auditor, "/v1/audit?limit=1000"), 200);
    let entries = page["entries"].as_array().unwrap();
    let summary: Vec<(u64, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let by_admin = format!("key:{}", key_id(&admin));
    let expected: Vec<(u64, String, String)> = [
        (1, "system", "tenant_created"),
        (2, "system", "key_created"),
        (3, "cli", "key_created"),
        (4, "cli", "key_created"),
        (5, by_admin.as_str(), "verdict_recorded"),
        (6, by_admin.as_str(), "library_changed"),
    ]
    .iter()
    .map(|(s, a, k)| (*s, a.to_string(), k.to_string()))
    .collect();
    assert_eq!(summary, expected, "{page}");
    let recorded = &entries[4];
    assert_eq!(recorded["subject"], format!("verdict:{verdict_id}"));
    assert_eq!(recorded["payload"]["suggestion"], verdict["suggestion"]);
    assert!(
        !page.to_string().contains("damn fool"),
        "content in the audit log: {page}"
    );
    // Paging.
    let first = ok(&api.get(&auditor, "/v1/audit?limit=2"), 200);
    assert_eq!(first["next"], 2, "{first}");
    let second = ok(&api.get(&auditor, "/v1/audit?after=2&limit=2"), 200);
    assert_eq!(second["entries"][0]["seq"], 3, "{second}");
    invalid(&api.get(&auditor, "/v1/audit?limit=0"), "limit");
    invalid(&api.get(&auditor, "/v1/audit?bogus=1"), "bogus");
    err(&api.get(&submitter, "/v1/audit"), 403, "forbidden");
    err(&api.get(&submitter, "/v1/audit/verify"), 403, "forbidden");

    // Intact, by both routes.
    let report = ok(&api.get(&auditor, "/v1/audit/verify"), 200);
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["entries_checked"], 6, "{report}");
    assert!(report.get("first_broken").is_none(), "{report}");
    let (code, stdout, stderr) = audit_cli(backend, &["verify"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let cli_report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cli_report["intact"], true, "{cli_report}");
    assert_eq!(cli_report["entries_checked"], 6);

    // The head to publish: the route (which does not append) and the CLI agree.
    let head = ok(&api.get(&auditor, "/v1/audit/head"), 200);
    assert_eq!(head["seq"], 6, "{head}");
    let line = head["line"].as_str().unwrap().to_string();
    assert!(
        line.starts_with("rampart-audit-head v1 tenant=default seq=6 hash="),
        "{line}"
    );
    let (code, stdout, _) = audit_cli(backend, &["head"]);
    assert_eq!((code, stdout.trim()), (0, line.as_str()));
    let (code, stdout, stderr) = audit_cli(backend, &["check-head", &line]);
    assert_eq!(code, 0, "{stdout} {stderr}");

    // Someone with database access edits the verdict's entry.
    raw_sql(
        backend,
        "UPDATE audit_entries SET subject = 'verdict:00000000000000000000000000' \
         WHERE tenant = 'default' AND seq = 5",
    );
    let (code, stdout, stderr) = audit_cli(backend, &["verify"]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    let cli_report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cli_report["intact"], false, "{cli_report}");
    assert_eq!(cli_report["first_broken"]["seq"], 5, "{cli_report}");
    assert_eq!(
        cli_report["first_broken"]["reason"]["kind"],
        "hash_mismatch"
    );
    assert!(stderr.contains("seq 5"), "{stderr}");
    let report = ok(&api.get(&auditor, "/v1/audit/verify"), 200);
    assert_eq!(report["intact"], false, "{report}");
    assert_eq!(report["first_broken"]["seq"], 5, "{report}");
    assert_eq!(report["head"]["seq"], 4, "{report}");
    // The head published before the edit is no longer in the chain.
    let (code, stdout, stderr) = audit_cli(backend, &["check-head", &line]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(
        stdout.contains("\"contains_published_head\":false"),
        "{stdout}"
    );

    // Usage errors exit 2.
    let (code, _, stderr) = audit_cli(backend, &["check-head", "not a head line"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = audit_cli(backend, &["verify", "--tenant", "nobody"]);
    assert_eq!(code, 2, "{stderr}");

    terminate(&mut server);
}

#[test]
fn audit_on_sqlite() {
    let dir = temp_dir("audit-sqlite");
    let backend = Backend {
        data: dir.0.clone(),
        store: None,
        pg: None,
    };
    chain_is_audited_verified_and_tampering_is_named(&backend);
}

#[test]
fn audit_on_postgres() {
    let dir = temp_dir("audit-pg");
    let backend = pg_backend(dir.0.clone(), "audit");
    chain_is_audited_verified_and_tampering_is_named(&backend);
    drop_pg(&backend);
}
