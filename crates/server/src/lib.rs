//! The Rampart HTTP API (DESIGN.md §5): `rampart serve`.
//!
//! Routes: `GET /healthz`, `GET /readyz`, `POST /v1/moderate/text`, `POST /v1/moderate/image`,
//! `GET /v1/verdicts/{id}`. Every `/v1` route takes `Authorization: Bearer rk_…`; every error
//! is `{"error": {"code", "message", "field"?}}` with the stable codes of
//! [`rampart_types::ErrorCode`]. Every verdict is recorded in the store before its 200 is sent.
//!
//! The moderation state (text engine, policy, banks, image detectors) is loaded once at start
//! from the data dir and shared behind an `Arc`; moderation runs on the blocking pool. Logs
//! are JSON lines on stderr and never include submitted content.
//!
//! Not for: the command line (the `rampart` binary wraps [`serve`] and [`create_key`]).

mod api;
mod engine;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_store::{Role, Store, StoreError};

pub use api::router;
pub use engine::load_moderator;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened or used.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A library, policy, bank or model in the data dir could not be loaded.
    #[error("loading the data dir: {0}")]
    Load(String),
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
/// call is a no-op.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .try_init();
}

/// Runs the server until SIGTERM or ctrl-c, then finishes in-flight requests and closes the
/// store.
pub async fn serve(config: ServeConfig) -> Result<(), ServerError> {
    init_logging();
    let store = open_store(&config.data, config.store.as_deref()).await?;
    if store.tenant_by_name("default").await?.is_none() {
        let key = create_key(store.as_ref(), "default", Role::Admin, "first-start admin").await?;
        eprintln!("rampart: first start: admin key for tenant 'default' (shown once): {key}");
    }
    let data = config.data.clone();
    let moderator = tokio::task::spawn_blocking(move || load_moderator(&data))
        .await
        .map_err(|e| ServerError::Load(format!("loader panicked: {e}")))??;
    let app = router(api::AppState {
        store: store.clone(),
        moderator: Arc::new(moderator),
    });
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
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|source| ServerError::Io {
            context: "serving".to_string(),
            source,
        });
    tracing::info!("shutting down");
    store.close().await;
    result
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
