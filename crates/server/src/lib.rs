//! The Rampart HTTP API (`docs/API.md`): `rampart serve`.
//!
//! Routes (see `GET /openapi.json`, generated from the handlers): moderation of text and
//! images, verdicts, API keys, term libraries, hash banks, versioned policies, plus
//! `/healthz`, `/readyz`, `/metrics`. Every `/v1` route takes `Authorization: Bearer rk_…`;
//! every error is `{"error": {"code", "message", "field"?}}` with the stable codes of
//! [`rampart_types::ErrorCode`]. Every verdict is committed to the store before its 200 is
//! sent, and stored under data minimisation (hashes, verdict, evidence snippets; no content).
//!
//! # Shape
//!
//! - [`engine`]: the data dir's shared detectors plus each tenant's stored libraries, banks and
//!   policies, compiled once per store revision and dropped on every local write.
//! - [`auth`]: bearer keys through a 1-second cache, per-key rate limits, roles.
//! - `routes`: the handlers, the router and its layers, the OpenAPI document.
//! - [`serve`]: the accept loop (hyper, HTTP/1.1) with a header-read timeout against slow
//!   clients, a connection cap, load shedding and graceful shutdown.
//!
//! Logs are JSON lines on stderr, one per request with its request id, and never include
//! submitted content, queries or headers.
//!
//! Not for: the command line (the `rampart` binary wraps [`serve`] and [`create_key`]).

pub mod auth;
pub mod console;
pub mod engine;
pub mod error;
mod jobs;
mod metrics;
pub mod review;
mod routes;
pub mod state;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rampart_store::{Role, Store, StoreError};

pub use routes::{router, ApiDoc};
pub use state::{AppState, Limits, Shared};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened or used.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A library, policy, bank or model in the data dir could not be loaded.
    #[error("loading the data dir: {0}")]
    Load(String),
    /// A setting is unusable.
    #[error("config: {0}")]
    Config(String),
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// What `rampart serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free one (the bound address goes to stderr).
    pub listen: SocketAddr,
    /// The local data dir (libraries, policy, banks, and the SQLite file by default).
    pub data: PathBuf,
    /// Store URL; `None` means `sqlite://<data>/rampart.db`.
    pub store: Option<String>,
    /// Body sizes and the request timeout.
    pub limits: Limits,
    /// Requests per second per key (0: no limit) and the burst allowed above it.
    pub rate_limit: u32,
    pub rate_burst: u32,
    /// Requests in flight over the whole server before new ones are shed with 503.
    pub max_in_flight: usize,
    /// Open connections before new ones wait in the listen backlog.
    pub max_connections: usize,
    /// A client must send a request's headers within this time (slow-loris defence).
    pub header_timeout: Duration,
    /// Addresses image URLs may point at despite being private (e.g. an internal media host).
    pub fetch_allow: Vec<String>,
    /// How long in-flight requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// NATS server for scale-out (`nats://host:4222`): jobs go through JetStream and library,
    /// bank and policy changes are broadcast to every node. `None`: the in-process queue.
    pub nats: Option<String>,
    /// The JetStream stream of the job queue (default `RAMPART_JOBS`); nodes that share one
    /// share their jobs. Another name gives an independent queue (its subjects are
    /// `rampart.<name in lower case>.<tenant>`), e.g. for tests against a shared server.
    pub nats_stream: Option<String>,
    /// Video and audio jobs this node runs at once (0: none, e.g. an API-only node).
    pub media_workers: usize,
    /// Jobs of one tenant this node runs at once, so one tenant's long videos cannot starve
    /// the others.
    pub jobs_per_tenant: usize,
    /// Webhook retry schedule.
    pub webhook_backoff: rampart_webhook::Backoff,
    /// Time between sweeps of review content past its retention period.
    pub purge_interval: Duration,
}

impl ServeConfig {
    /// Defaults for everything but where to listen and what to serve.
    pub fn new(listen: SocketAddr, data: PathBuf, store: Option<String>) -> Self {
        ServeConfig {
            listen,
            data,
            store,
            limits: Limits::default(),
            rate_limit: 0,
            rate_burst: 0,
            max_in_flight: 1024,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            fetch_allow: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            nats: None,
            nats_stream: None,
            media_workers: 1,
            jobs_per_tenant: 1,
            webhook_backoff: rampart_webhook::Backoff::default(),
            purge_interval: review::PURGE_EVERY,
        }
    }
}

/// The store URL for a data dir and an optional explicit URL.
pub fn store_url(data: &Path, explicit: Option<&str>) -> String {
    match explicit {
        Some(url) => url.to_string(),
        None => format!("sqlite://{}", data.join("rampart.db").display()),
    }
}

/// Opens the store, creating the data dir first when the store lives in it.
pub async fn open_store(
    data: &Path,
    explicit: Option<&str>,
) -> Result<Arc<dyn Store>, ServerError> {
    if explicit.is_none() {
        std::fs::create_dir_all(data).map_err(|source| ServerError::Io {
            context: format!("creating {}", data.display()),
            source,
        })?;
    }
    Ok(rampart_store::open(&store_url(data, explicit)).await?)
}

/// Creates a key for `tenant` (creating the tenant if missing) and returns its plaintext.
pub async fn create_key(
    store: &dyn Store,
    tenant: &str,
    role: Role,
    name: &str,
) -> Result<String, ServerError> {
    let tenant = match store.tenant_by_name(tenant).await? {
        Some(t) => t,
        None => match store.create_tenant(tenant).await {
            Ok(t) => t,
            // Created concurrently by someone else.
            Err(StoreError::Conflict(_)) => store
                .tenant_by_name(tenant)
                .await?
                .ok_or_else(|| ServerError::Load(format!("tenant {tenant} vanished")))?,
            Err(e) => return Err(e.into()),
        },
    };
    Ok(store.create_key(tenant.id, role, name).await?.plaintext)
}

/// Installs the JSON log subscriber on stderr (`RUST_LOG` filters, default `info`); a second
/// call is a no-op. Lines are written by a background thread (requests never wait on a
/// `write(2)` to stderr) that blocks rather than drops when it falls behind; keep the guard
/// until exit, dropping it flushes.
pub fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // Buffered: the worker writes whatever is queued, then flushes when the queue is empty,
        // so a busy server makes one write(2) per burst of lines instead of one per line.
        .finish(std::io::BufWriter::with_capacity(
            64 << 10,
            std::io::stderr(),
        ));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_current_span(true)
        .with_span_list(false)
        .try_init();
    guard
}

/// Builds the shared state: store, engines, caches, limiter, fetcher, metrics.
pub async fn build_state(
    config: &ServeConfig,
    store: Arc<dyn Store>,
    queue: Arc<dyn rampart_queue::Queue>,
) -> Result<AppState, ServerError> {
    let data = config.data.clone();
    let engine_store = store.clone();
    let engines = tokio::task::spawn_blocking(move || engine::Engines::load(&data, engine_store))
        .await
        .map_err(|e| ServerError::Load(format!("loader panicked: {e}")))??;
    let allow = config
        .fetch_allow
        .iter()
        .map(|a| parse_net(a))
        .collect::<Result<Vec<_>, _>>()?;
    let fetcher = rampart_fetch::Fetcher::new(rampart_fetch::FetchConfig {
        max_bytes: config.limits.image_body as u64,
        allow: allow.clone(),
        ..Default::default()
    })
    .map_err(|e| ServerError::Config(e.to_string()))?;
    let media_fetcher = rampart_fetch::Fetcher::new(rampart_fetch::FetchConfig {
        max_bytes: config.limits.media_body as u64,
        timeout: Duration::from_secs(25),
        allow,
        ..Default::default()
    })
    .map_err(|e| ServerError::Config(e.to_string()))?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(Arc::new(Shared {
        store,
        engines: Arc::new(engines),
        auth: auth::AuthCache::new(),
        limiter: auth::RateLimiter::new(config.rate_limit, config.rate_burst),
        fetcher,
        media_fetcher,
        queue,
        metrics: metrics::install(),
        limits: config.limits.clone(),
        image_slots: tokio::sync::Semaphore::new(cores * 2),
    }))
}

/// `10.0.0.0/8`, `192.168.1.7` (a single address) or `::1`.
fn parse_net(text: &str) -> Result<rampart_fetch::IpNet, ServerError> {
    let bad = || ServerError::Config(format!("--fetch-allow {text:?}: use an address or CIDR"));
    if let Ok(net) = text.parse::<rampart_fetch::IpNet>() {
        return Ok(net);
    }
    let ip: std::net::IpAddr = text.parse().map_err(|_| bad())?;
    Ok(rampart_fetch::IpNet::from(ip))
}

/// Runs the server until SIGTERM or ctrl-c, then stops accepting, lets in-flight requests
/// finish (up to the grace period) and closes the store.
pub async fn serve(config: ServeConfig) -> Result<(), ServerError> {
    let _flush_logs_on_exit = init_logging();
    let store = open_store(&config.data, config.store.as_deref()).await?;
    if store.tenant_by_name("default").await?.is_none() {
        let key = create_key(store.as_ref(), "default", Role::Admin, "first-start admin").await?;
        eprintln!("rampart: first start: admin key for tenant 'default' (shown once): {key}");
    }
    let queue = open_queue(&config, store.clone()).await?;
    let state = build_state(&config, store.clone(), queue).await?;
    start_background(&config, &state).await?;
    let app = router(state, config.max_in_flight);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Io {
            context: format!("binding {}", config.listen),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| ServerError::Io {
        context: "local address".to_string(),
        source,
    })?;
    eprintln!("rampart: listening on http://{bound}");
    tracing::info!(addr = %bound, backend = ?store.backend(), "listening");

    let service = TowerToHyperService::new(app);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .keep_alive(true);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(config.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; dropping the remaining connections");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The job queue: JetStream when `nats` is set, else the in-process queue over the store
/// (which re-queues, at start, every job a killed process left unfinished).
async fn open_queue(
    config: &ServeConfig,
    store: Arc<dyn Store>,
) -> Result<Arc<dyn rampart_queue::Queue>, ServerError> {
    let per_tenant = config.jobs_per_tenant.max(1);
    Ok(match &config.nats {
        Some(url) => {
            let mut options = rampart_queue::NatsOptions {
                per_tenant,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            };
            if let Some(stream) = &config.nats_stream {
                let ok = !stream.is_empty()
                    && stream.len() <= 64
                    && stream
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err(ServerError::Config(format!(
                        "NATS stream name '{stream}': use 1 to 64 of A-Z a-z 0-9 _ -"
                    )));
                }
                options.stream = stream.clone();
                options.subject_prefix = format!("rampart.{}", stream.to_ascii_lowercase());
            }
            let queue = rampart_queue::NatsQueue::connect_with(url, options)
                .await
                .map_err(|e| ServerError::Config(format!("NATS {url}: {e}")))?;
            tokio::spawn(jobs::republish_forever(queue.clone(), store));
            queue
        }
        None => rampart_queue::InProcessQueue::start(store, per_tenant)
            .await
            .map_err(|e| ServerError::Config(format!("job queue: {e}")))?,
    })
}

/// Job workers, the webhook dispatcher, the retention sweeper and, in scale-out, the change
/// broadcast.
async fn start_background(config: &ServeConfig, state: &AppState) -> Result<(), ServerError> {
    jobs::start(
        state.clone(),
        config.media_workers,
        config.data.join("spool"),
        config.webhook_backoff,
    );
    // Content kept for review goes when its retention period ends (every node sweeps; the
    // store's per-item update makes a double purge harmless).
    tokio::spawn(review::purge_forever(state.clone(), config.purge_interval));
    if let Some(url) = &config.nats {
        let bus = rampart_queue::ChangeBus::connect(url)
            .await
            .map_err(|e| ServerError::Config(format!("NATS {url}: {e}")))?;
        state.engines.broadcast_changes(bus).await;
    }
    Ok(())
}

/// `rampart worker`: runs video and audio jobs from NATS JetStream and sends webhooks, with no
/// HTTP listener, until SIGTERM or ctrl-c.
pub async fn work(config: ServeConfig) -> Result<(), ServerError> {
    let _flush_logs_on_exit = init_logging();
    if config.nats.is_none() {
        return Err(ServerError::Config(
            "rampart worker needs --nats (in embedded mode `rampart serve` runs the jobs)".into(),
        ));
    }
    let store = open_store(&config.data, config.store.as_deref()).await?;
    let queue = open_queue(&config, store.clone()).await?;
    let state = build_state(&config, store.clone(), queue).await?;
    start_background(&config, &state).await?;
    eprintln!("rampart: worker running ({} at once)", config.media_workers);
    shutdown_signal().await;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
