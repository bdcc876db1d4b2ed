//! A verdict acknowledged by `record_verdict` survives the process being killed with SIGKILL
//! mid-load, and the SQLite file passes its integrity check afterwards.
//!
//! The test re-runs its own binary as a child that writes verdicts from 32 tasks and prints
//! each acknowledged id; the parent kills it after a while, reopens the file and looks for
//! every printed id.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rampart_types::{ContentRef, ContentType, Suggestion, Verdict};

const CHILD_ENV: &str = "RAMPART_STORE_CRASH_CHILD_DB";

#[test]
fn acknowledged_verdicts_survive_sigkill() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return; // this copy is the child; see `child_writes_until_killed`
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        match lines.next() {
            Some(Ok(line)) => acked.extend(line.strip_prefix("acked ").map(str::to_owned)),
            _ => break,
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    eprintln!("{} verdicts acknowledged before SIGKILL", acked.len());
    assert!(
        acked.len() > 100,
        "the child acknowledged only {} verdicts",
        acked.len()
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = rampart_store::open(db.to_str().unwrap()).await.unwrap();
        store.integrity_check().await.unwrap();
        let tenant = store.tenant_by_name("crash").await.unwrap().unwrap().id;
        for id in &acked {
            assert!(
                store.get_verdict(tenant, id).await.unwrap().is_some(),
                "acknowledged verdict {id} was lost ({} acknowledged)",
                acked.len()
            );
        }
        store.close().await;
    });
}

#[test]
fn child_writes_until_killed() {
    let Some(db) = std::env::var_os(CHILD_ENV) else {
        return; // only meaningful as the child of the test above
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = rampart_store::open(db.to_str().unwrap()).await.unwrap();
        let tenant = store.create_tenant("crash").await.unwrap().id;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        for _ in 0..32 {
            let (store, tx) = (store.clone(), tx.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let v = verdict(n);
                    store.record_verdict(tenant, &v).await.unwrap();
                    if tx.send(v.id).is_err() {
                        return;
                    }
                }
            });
        }
        let mut out = std::io::stdout().lock();
        while let Some(id) = rx.recv().await {
            writeln!(out, "acked {id}").unwrap();
            out.flush().unwrap();
        }
    });
}

fn verdict(n: u64) -> Verdict {
    Verdict {
        id: ulid::Ulid::new().to_string(),
        content_type: ContentType::Text,
        content_ref: ContentRef {
            sha256: format!("{n:064x}"),
            pdq: None,
            client_id: None,
        },
        suggestion: Suggestion::Pass,
        labels: vec![],
        policy: "default@1".into(),
        models: vec![],
        elapsed_ms: 0.1,
    }
}
