//! Measures persisted verdict writes: verdicts/s and the latency of `record_verdict`, with 16
//! and 128 concurrent tokio tasks, on SQLite (a temporary file) and on PostgreSQL
//! (`DATABASE_URL`, in a throw-away schema; skipped when unset).
//!
//! `cargo run --release -p rampart-store --example verdict_writes [VERDICTS_PER_RUN]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_store::{Store, TenantId};
use rampart_types::{
    ByteSpan, ContentRef, ContentType, Evidence, EvidenceKind, Label, LabelVerdict, Suggestion,
    Verdict,
};
use sqlx::Connection;

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench("sqlite", &url, total).await;

        match std::env::var("DATABASE_URL") {
            Ok(admin_url) => {
                let schema = format!("bench_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                bench("postgres", &url, total).await;
                sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
            }
            Err(_) => println!("postgres: skipped (DATABASE_URL is not set)"),
        }
    });
}

async fn bench(backend: &str, url: &str, total: usize) {
    let store = rampart_store::open(url).await.unwrap();
    let tenant = store.create_tenant("bench").await.unwrap().id;
    for tasks in [16, 128] {
        let (elapsed, mut latencies) = run(&store, tenant, tasks, total).await;
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
        println!(
            "{backend:8} {tasks:3} tasks: {:7.0} verdicts/s, record_verdict p50 {:6.2} ms, \
             p99 {:6.2} ms, max {:6.2} ms ({total} verdicts)",
            total as f64 / elapsed.as_secs_f64(),
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(*latencies.last().unwrap()),
        );
    }
    store.integrity_check().await.unwrap();
    store.close().await;
}

async fn run(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    tasks: usize,
    total: usize,
) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(total / tasks + 1);
                for n in (task..total).step_by(tasks) {
                    let verdict = sample_verdict(n);
                    let t = Instant::now();
                    store.record_verdict(tenant, &verdict).await.unwrap();
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for h in handles {
        latencies.extend(h.await.unwrap());
    }
    (start.elapsed(), latencies)
}

/// A typical text verdict: one label, two pieces of evidence (about 600 bytes of JSON).
fn sample_verdict(n: usize) -> Verdict {
    let text = format!("message {n}: you are a f\u{200b}cking idiot, visit spam.example");
    let evidence = |matched: &str, library: &str| {
        let start = text.find(matched).unwrap();
        let mut e = Evidence::new(EvidenceKind::Term)
            .with_span(&text, ByteSpan::new(start, start + matched.len()));
        e.library = Some(library.into());
        e.term = Some(matched.replace('\u{200b}', ""));
        e
    };
    Verdict {
        id: ulid::Ulid::new().to_string(),
        content_type: ContentType::Text,
        content_ref: ContentRef {
            sha256: format!("{:064x}", n),
            pdq: None,
            client_id: Some(format!("msg-{n}")),
        },
        suggestion: Suggestion::Block,
        labels: vec![LabelVerdict {
            label: Label::Profanity,
            score: 0.97,
            suggestion: Suggestion::Block,
            evidence: vec![
                evidence("f\u{200b}cking", "builtin:profanity-en"),
                evidence("idiot", "builtin:insults-en"),
            ],
        }],
        policy: "default@1".into(),
        models: vec!["spam-en@3".into()],
        elapsed_ms: 0.21,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
