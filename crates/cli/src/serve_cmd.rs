//! `rampart serve` and `rampart keys create`: thin wrappers over `rampart-server`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    let config = rampart_server::ServeConfig {
        listen: args.listen,
        data: PathBuf::from(data),
        store: args.store,
    };
    runtime()?
        .block_on(rampart_server::serve(config))
        .context("serve")
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
            let key = runtime()?.block_on(async {
                let store = rampart_server::open_store(data, store.as_deref()).await?;
                let key = rampart_server::create_key(store.as_ref(), &tenant, role, &name).await;
                store.close().await;
                key
            })?;
            println!("{key}");
            Ok(())
        }
    }
}
