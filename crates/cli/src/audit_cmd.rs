//! `rampart audit verify|head|check-head`: the audit chain of a tenant, read straight from the
//! store (no server needed).
//!
//! Exit codes: 0 the chain is intact (or contains the published head), 1 it is broken (or the
//! head is not in it), 2 usage or input errors.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rampart_store::rampart_audit::{AuditError, Head};
use rampart_store::{Store, TenantId};
use serde_json::json;

/// Where the chain is.
#[derive(Args)]
pub struct ChainArgs {
    /// Store URL (`sqlite://PATH` or `postgres://…`); default `sqlite://<data>/rampart.db`.
    #[arg(long, env = "RAMPART_STORE")]
    store: Option<String>,
}

/// `rampart audit …`.
#[derive(Subcommand)]
pub enum AuditAction {
    /// Walk the tenant's whole chain and print a JSON report naming the first broken link;
    /// exit 1 if it is broken.
    Verify {
        /// Tenant name.
        #[arg(long, default_value = "default")]
        tenant: String,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Print the chain's head as the one line to publish
    /// (`rampart-audit-head v1 tenant=… seq=… hash=… ts=…`).
    Head {
        /// Tenant name.
        #[arg(long, default_value = "default")]
        tenant: String,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Prove the chain still contains a head published earlier (the tenant is the line's);
    /// exit 1 if it does not: history was rewritten or cut back.
    CheckHead {
        /// The published line, as `rampart audit head` printed it.
        line: String,
        #[command(flatten)]
        chain: ChainArgs,
    },
}

pub fn run(data: &Path, action: AuditAction) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(rampart_store::acting_as("cli", async {
        let store_url = match &action {
            AuditAction::Verify { chain, .. }
            | AuditAction::Head { chain, .. }
            | AuditAction::CheckHead { chain, .. } => chain.store.as_deref(),
        };
        // Parse the line before touching the store: a bad line is a usage error.
        let published = match &action {
            AuditAction::CheckHead { line, .. } => Some(
                line.parse::<Head>()
                    .map_err(|e| crate::InputError(e.to_string()))?,
            ),
            _ => None,
        };
        let store = rampart_server::open_store(data, store_url).await?;
        let outcome = act(store.as_ref(), &action, published.as_ref()).await;
        store.close().await;
        outcome
    }))
}

async fn act(
    store: &dyn Store,
    action: &AuditAction,
    published: Option<&Head>,
) -> Result<ExitCode> {
    match action {
        AuditAction::Verify { tenant, .. } => {
            let id = tenant_id(store, tenant).await?;
            let report = rampart_store::verify_chain(store, id).await?;
            let broken = report.first_broken.as_ref().map(|b| {
                json!({
                    "seq": b.seq,
                    "reason": b.reason,
                    "message": format!("entry {}: {}", b.seq, b.reason),
                })
            });
            let out = json!({
                "tenant": tenant,
                "intact": report.is_intact(),
                "entries_checked": report.entries_checked,
                "payloads_missing": report.payloads_missing,
                "head": report.head.as_ref().map(|h| json!({
                    "seq": h.seq, "hash": h.hash, "ts_ms": h.ts_ms, "line": h.to_string(),
                })),
                "first_broken": broken,
            });
            println!("{out}");
            if let Some(b) = &report.first_broken {
                eprintln!(
                    "rampart: audit chain of {tenant} is broken at seq {}: {}",
                    b.seq, b.reason
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::Head { tenant, .. } => {
            let id = tenant_id(store, tenant).await?;
            let head = store.audit_head(id).await?.ok_or_else(|| {
                crate::InputError(format!("the audit chain of {tenant} is empty"))
            })?;
            println!("{head}");
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::CheckHead { .. } => {
            let published = published.expect("parsed before opening the store");
            let id = tenant_id(store, &published.tenant).await?;
            match rampart_store::check_published_head(store, id, published).await? {
                Ok(current) => {
                    println!(
                        "{}",
                        json!({
                            "contains_published_head": true,
                            "published_seq": published.seq,
                            "current": current.to_string(),
                        })
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(
                    e @ (AuditError::ChainBroken(_)
                    | AuditError::HeadNotReached { .. }
                    | AuditError::HeadMismatch { .. }),
                ) => {
                    println!(
                        "{}",
                        json!({
                            "contains_published_head": false,
                            "published_seq": published.seq,
                            "reason": e.to_string(),
                        })
                    );
                    eprintln!("rampart: {e}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(crate::InputError(e.to_string()).into()),
            }
        }
    }
}

async fn tenant_id(store: &dyn Store, name: &str) -> Result<TenantId> {
    Ok(store
        .tenant_by_name(name)
        .await?
        .ok_or_else(|| crate::InputError(format!("no tenant {name:?} in the store")))?
        .id)
}
