//! Prometheus metrics (`GET /metrics`, text format). Label values are route templates, methods,
//! statuses, labels and suggestions — never tenant names, keys or content.
//!
//! - `rampart_http_requests_total{method,route,status}` and
//!   `rampart_http_request_duration_seconds{route}` (histogram)
//! - `rampart_verdicts_total{content_type,suggestion}` and
//!   `rampart_verdict_labels_total{label,suggestion}`
//! - `rampart_store_duration_seconds{op}` (histogram)
//! - `rampart_rate_limited_total`, `rampart_load_shed_total`, `rampart_request_timeouts_total`

use std::time::Instant;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rampart_types::Verdict;

/// Latency buckets, seconds: 100 µs to 30 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first (e.g. by an embedding test);
            // the handle then renders this recorder's (empty) view, which is harmless.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// One request's outcome.
pub fn request(method: &str, route: &str, status: u16, started: Instant) {
    metrics::counter!(
        "rampart_http_requests_total",
        "method" => method.to_string(),
        "route" => route.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("rampart_http_request_duration_seconds", "route" => route.to_string())
        .record(started.elapsed().as_secs_f64());
}

/// One verdict given.
pub fn verdict(verdict: &Verdict) {
    let content_type = match verdict.content_type {
        rampart_types::ContentType::Text => "text",
        rampart_types::ContentType::Image => "image",
        rampart_types::ContentType::Video => "video",
        rampart_types::ContentType::Audio => "audio",
    };
    metrics::counter!(
        "rampart_verdicts_total",
        "content_type" => content_type,
        "suggestion" => verdict.suggestion.as_str()
    )
    .increment(1);
    for label in &verdict.labels {
        // Custom labels are tenant-defined; count them under one name so that one tenant's
        // names don't show in the metrics of all.
        let name = if label.label.as_str().starts_with("custom:") {
            "custom".to_string()
        } else {
            label.label.as_str().to_string()
        };
        metrics::counter!(
            "rampart_verdict_labels_total",
            "label" => name,
            "suggestion" => label.suggestion.as_str()
        )
        .increment(1);
    }
}

/// One store call's latency.
pub fn store_op(op: &'static str, started: Instant) {
    metrics::histogram!("rampart_store_duration_seconds", "op" => op)
        .record(started.elapsed().as_secs_f64());
}
