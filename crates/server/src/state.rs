//! What every request shares.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use rampart_store::Store;

use crate::auth::{AuthCache, RateLimiter};
use crate::engine::Engines;

/// The state of the whole API, behind one `Arc`.
pub type AppState = Arc<Shared>;

/// Shared by every request.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub engines: Arc<Engines>,
    pub auth: AuthCache,
    /// `None` when rate limiting is off.
    pub limiter: Option<RateLimiter>,
    /// Fetches image URLs and sends webhooks (SSRF-safe).
    pub fetcher: rampart_fetch::Fetcher,
    /// Fetches video and audio URLs (the same rules, a larger size cap).
    pub media_fetcher: rampart_fetch::Fetcher,
    /// Where video and audio jobs wait for a worker.
    pub queue: Arc<dyn rampart_queue::Queue>,
    pub metrics: PrometheusHandle,
    pub limits: Limits,
    /// Bounds how many images are decoded and scored at once (CPU-bound work).
    pub image_slots: tokio::sync::Semaphore,
}

/// Sizes and times the server enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body of the JSON routes (text moderation, libraries, policies…).
    pub json_body: usize,
    /// Largest body of the image routes (raw, multipart), and of a fetched image.
    pub image_body: usize,
    /// Largest body of bulk imports (library terms, bank entries).
    pub import_body: usize,
    /// Largest video or audio file (raw body, multipart, or fetched from a URL).
    pub media_body: usize,
    /// Starts a video or audio job gets before it is failed (1-100; jobs keep the value they
    /// were submitted with).
    pub job_attempts: u32,
    /// A request that takes longer is answered 503 and its work abandoned.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_body: 1 << 20,
            image_body: 32 << 20,
            import_body: 16 << 20,
            media_body: 256 << 20,
            job_attempts: crate::jobs::MAX_ATTEMPTS,
            request_timeout: Duration::from_secs(30),
        }
    }
}
