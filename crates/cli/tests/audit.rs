//! End to end: the audit chain through the real binary, on SQLite and on PostgreSQL. Changes
//! made over HTTP land in the chain under the key that made them; `GET /v1/audit/verify` and
//! `rampart audit verify` agree it is intact; an entry edited behind the store's back (raw SQL)
//! is named by its seq by both, and a head published before the edit is no longer found.
//!
//! Statements of reasons come out of the same run: one per blocked verdict, each valid by the
//! DSA Transparency Database's rules, as JSON and as CSV.
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

    statements_of_reasons(&api, &admin, &auditor, &submitter);
    terminate(&mut server);
}

/// `YYYY-MM-DD` of today plus `offset` days (UTC).
fn day(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    rampart_dsa::Date::from_unix_days(now / 86_400_000 + offset)
        .unwrap()
        .as_str()
        .to_owned()
}

fn statements_of_reasons(api: &Api, admin: &str, auditor: &str, submitter: &str) {
    // The library made above blocks this; a plain greeting passes.
    let blocked = api.moderate_text(admin, "please wire the money today");
    assert_eq!(blocked["suggestion"], "block", "{blocked}");
    let passed = api.moderate_text(admin, "good morning, neighbours");
    assert_eq!(passed["suggestion"], "pass", "{passed}");
    let verdicts = ok(&api.get(admin, "/v1/verdicts?limit=1000"), 200);
    let mut block_ids: Vec<String> = verdicts["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["suggestion"] == "block")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    block_ids.sort();

    let range = format!("from={}&to={}", day(-1), day(1));
    let report = ok(&api.get(auditor, &format!("/v1/reports/dsa?{range}")), 200);
    assert_eq!(report["skipped"], 0, "{report}");
    let statements = report["statements"].as_array().unwrap();
    let mut puids: Vec<String> = statements
        .iter()
        .map(|s| s["puid"].as_str().unwrap().to_string())
        .collect();
    puids.sort();
    assert_eq!(
        puids, block_ids,
        "one statement per blocked verdict: {report}"
    );
    for s in statements {
        let statement: rampart_dsa::Statement = serde_json::from_value(s.clone())
            .unwrap_or_else(|e| panic!("not a statement ({e}): {s}"));
        rampart_dsa::validate(&statement)
            .unwrap_or_else(|v| panic!("invalid statement {v:?}: {s}"));
        assert_eq!(s["automated_decision"], "AUTOMATED_DECISION_FULLY", "{s}");
    }
    assert!(
        !report.to_string().contains("wire the money today"),
        "{report}"
    );

    // CSV: the database's header, one record per statement.
    let csv = api.get(auditor, &format!("/v1/reports/dsa?{range}&format=csv"));
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.body.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, rampart_dsa::CSV_COLUMNS);
    assert_eq!(reader.records().count(), statements.len());

    // Paging.
    let first = ok(
        &api.get(auditor, &format!("/v1/reports/dsa?{range}&limit=1")),
        200,
    );
    if block_ids.len() > 1 {
        let next = first["next"].as_str().unwrap();
        let rest = ok(
            &api.get(auditor, &format!("/v1/reports/dsa?{range}&after={next}")),
            200,
        );
        assert_eq!(
            rest["statements"].as_array().unwrap().len(),
            block_ids.len() - 1
        );
    }

    // Refused: bad dates, too long a range, an unknown format, the wrong role.
    invalid(
        &api.get(auditor, "/v1/reports/dsa?from=2026-02-30&to=2026-03-01"),
        "from",
    );
    invalid(
        &api.get(auditor, "/v1/reports/dsa?from=2024-01-01&to=2025-06-01"),
        "to",
    );
    invalid(
        &api.get(auditor, "/v1/reports/dsa?from=2025-01-02&to=2025-01-01"),
        "to",
    );
    invalid(
        &api.get(auditor, &format!("/v1/reports/dsa?{range}&format=xml")),
        "format",
    );
    invalid(
        &api.get(auditor, &format!("/v1/reports/dsa?{range}&after=junk")),
        "after",
    );
    err(
        &api.get(submitter, &format!("/v1/reports/dsa?{range}")),
        403,
        "forbidden",
    );
}

#[test]
fn audit_on_sqlite() {
    let dir = temp_dir("audit-sqlite");
    let backend = sqlite_backend(dir.0.clone());
    chain_is_audited_verified_and_tampering_is_named(&backend);
}

#[test]
fn audit_on_postgres() {
    let dir = temp_dir("audit-pg");
    let backend = pg_backend(dir.0.clone(), "audit");
    chain_is_audited_verified_and_tampering_is_named(&backend);
    drop_pg(&backend);
}
