//! `rampart serve` and `rampart keys create`: thin wrappers over `rampart-server`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rampart_store::Role;

/// `rampart serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address goes to stderr).
    #[arg(long, env = "RAMPART_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Store URL (`sqlite://PATH` or `postgres://…`); default `sqlite://<data>/rampart.db`.
    #[arg(long, env = "RAMPART_STORE")]
    store: Option<String>,
    /// Requests per second allowed per API key (0: no limit); over it, 429 with Retry-After.
    #[arg(long, env = "RAMPART_RATE_LIMIT", default_value_t = 1000)]
    rate_limit: u32,
    /// Burst allowed above --rate-limit (default: twice the rate).
    #[arg(long, env = "RAMPART_RATE_BURST")]
    rate_burst: Option<u32>,
    /// Requests in flight before new ones are shed with 503 and Retry-After.
    #[arg(long, env = "RAMPART_MAX_IN_FLIGHT", default_value_t = 1024)]
    max_in_flight: usize,
    /// Seconds a request may take (body upload included) before it is answered 503.
    #[arg(long, env = "RAMPART_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Seconds a client has to send a request's headers (slow-loris defence).
    #[arg(long, env = "RAMPART_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Largest image body in MiB (raw, multipart or fetched by URL).
    #[arg(long, env = "RAMPART_MAX_IMAGE_MB", default_value_t = 32)]
    max_image_mb: usize,
    /// An address or CIDR that image URLs may point at although it is private or loopback
    /// (e.g. an internal media host); repeat or separate with commas.
    #[arg(long, env = "RAMPART_FETCH_ALLOW", value_delimiter = ',')]
    fetch_allow: Vec<String>,
    /// Largest video or audio file in MiB (raw, multipart or fetched by URL).
    #[arg(long, env = "RAMPART_MAX_MEDIA_MB", default_value_t = 256)]
    max_media_mb: usize,
    /// Starts a video or audio job gets (a file that crashes or outlives its worker every
    /// time) before it is failed with `internal` and its webhook sent; 1-100.
    #[arg(long, env = "RAMPART_JOB_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    job_attempts: u32,
    #[command(flatten)]
    jobs: JobArgs,
}

/// How this node runs video and audio jobs and sends webhooks.
#[derive(Args)]
pub struct JobArgs {
    /// NATS server for scale-out (e.g. nats://127.0.0.1:4222): jobs go through JetStream, and
    /// library, bank and policy changes are broadcast to every node. Default: the in-process
    /// queue over the store.
    #[arg(long, env = "RAMPART_NATS")]
    nats: Option<String>,
    /// The JetStream stream of the job queue (default RAMPART_JOBS); nodes sharing a stream
    /// share their jobs.
    #[arg(long, env = "RAMPART_NATS_STREAM", requires = "nats")]
    nats_stream: Option<String>,
    /// Video and audio jobs this node runs at once (0: none).
    #[arg(long, env = "RAMPART_MEDIA_WORKERS", default_value_t = 1)]
    media_workers: usize,
    /// Jobs of one tenant this node runs at once.
    #[arg(long, env = "RAMPART_JOBS_PER_TENANT", default_value_t = 1)]
    jobs_per_tenant: usize,
    /// Seconds before the first webhook retry; later ones double, up to 10 minutes, with
    /// jitter, for 24 hours.
    #[arg(long, env = "RAMPART_WEBHOOK_RETRY_BASE", default_value_t = 5.0)]
    webhook_retry_base: f64,
    /// Seconds between sweeps that purge review content past its retention period.
    #[arg(long, env = "RAMPART_PURGE_INTERVAL", default_value_t = 60.0)]
    purge_interval: f64,
}

impl JobArgs {
    fn apply(self, config: &mut rampart_server::ServeConfig) -> Result<()> {
        if !(self.webhook_retry_base > 0.0 && self.webhook_retry_base <= 3600.0) {
            return Err(crate::InputError(
                "--webhook-retry-base must lie in (0, 3600] seconds".into(),
            )
            .into());
        }
        config.nats = self.nats;
        config.nats_stream = self.nats_stream;
        config.media_workers = self.media_workers;
        config.jobs_per_tenant = self.jobs_per_tenant.max(1);
        config.webhook_backoff.base = Duration::from_secs_f64(self.webhook_retry_base);
        if !(self.purge_interval >= 0.1 && self.purge_interval <= 86_400.0) {
            return Err(crate::InputError(
                "--purge-interval must lie in [0.1, 86400] seconds".into(),
            )
            .into());
        }
        config.purge_interval = Duration::from_secs_f64(self.purge_interval);
        Ok(())
    }
}

/// `rampart worker`.
#[derive(Args)]
pub struct WorkerArgs {
    /// Store URL (`postgres://…` in scale-out); default `sqlite://<data>/rampart.db`.
    #[arg(long, env = "RAMPART_STORE")]
    store: Option<String>,
    /// Addresses callback URLs may point at although private (as `serve --fetch-allow`).
    #[arg(long, env = "RAMPART_FETCH_ALLOW", value_delimiter = ',')]
    fetch_allow: Vec<String>,
    #[command(flatten)]
    jobs: JobArgs,
}

/// `rampart keys …`.
#[derive(Subcommand)]
pub enum KeysAction {
    /// Create an API key (and the tenant if missing); prints the key alone on stdout.
    Create {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// admin, moderator, submitter or auditor.
        #[arg(long)]
        role: String,
        /// Store URL; default `sqlite://<data>/rampart.db`.
        #[arg(long, env = "RAMPART_STORE")]
        store: Option<String>,
        /// A name to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn serve(data: &Path, args: ServeArgs) -> Result<()> {
    if args.request_timeout == 0 || args.header_timeout == 0 || args.max_in_flight == 0 {
        return Err(crate::InputError(
            "--request-timeout, --header-timeout and --max-in-flight must be positive".into(),
        )
        .into());
    }
    let mut config = rampart_server::ServeConfig::new(args.listen, PathBuf::from(data), args.store);
    config.rate_limit = args.rate_limit;
    config.rate_burst = args.rate_burst.unwrap_or(args.rate_limit.saturating_mul(2));
    config.max_in_flight = args.max_in_flight;
    config.limits.request_timeout = Duration::from_secs(args.request_timeout);
    config.header_timeout = Duration::from_secs(args.header_timeout);
    config.limits.image_body = args.max_image_mb.saturating_mul(1 << 20).max(1);
    config.fetch_allow = args.fetch_allow;
    config.limits.media_body = args.max_media_mb.saturating_mul(1 << 20).max(1);
    config.limits.job_attempts = args.job_attempts;
    args.jobs.apply(&mut config)?;
    runtime()?
        .block_on(rampart_server::serve(config))
        .context("serve")
}

pub fn worker(data: &Path, args: WorkerArgs) -> Result<()> {
    let unused: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut config = rampart_server::ServeConfig::new(unused, PathBuf::from(data), args.store);
    config.fetch_allow = args.fetch_allow;
    args.jobs.apply(&mut config)?;
    if config.media_workers == 0 {
        config.media_workers = 1;
    }
    runtime()?
        .block_on(rampart_server::work(config))
        .context("worker")
}

pub fn keys(data: &Path, action: KeysAction) -> Result<()> {
    match action {
        KeysAction::Create {
            tenant,
            role,
            store,
            name,
        } => {
            let role: Role = role
                .parse()
                .map_err(|_| crate::InputError(format!("unknown role {role:?}")))?;
            let key = runtime()?.block_on(rampart_store::acting_as("cli", async {
                let store = rampart_server::open_store(data, store.as_deref()).await?;
                let key = rampart_server::create_key(store.as_ref(), &tenant, role, &name).await;
                store.close().await;
                key
            }))?;
            println!("{key}");
            Ok(())
        }
    }
}
