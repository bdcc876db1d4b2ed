//! What moderates a tenant's content: the data dir's shared base (built-in and data-dir
//! libraries, text models, data-dir banks and policy, image detectors) plus the tenant's own
//! stored libraries, banks and policies, rebuilt when the tenant's store revision moves.
//!
//! Freshness: a write through this server drops the tenant's cached state at once, so the very
//! next request is moderated with the change. A write through another server of a scale-out
//! deployment is seen when the cached revision is next compared with the store's, at most
//! [`REVISION_CHECK`] later.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use rampart_hashbank::{BankConfig, BankSet, Entry, EntryHash};
use rampart_moderate::{DataDir, ImageDetectors, ImageModerator, MediaModerator, TextModerator};
use rampart_policy::Policy;
use rampart_speech::SpeechModel;
use rampart_store::{HashKind, Store, StoreError, TenantId};
use rampart_text::library::{LibraryKind, Severity, TermLibrary};
use rampart_text::TextEngine;
use rampart_textmodel::TextModels;

use crate::ServerError;

/// How stale a tenant's cached state may get before its revision is compared with the store's.
pub const REVISION_CHECK: Duration = Duration::from_secs(1);

/// Why a tenant's moderator could not be had.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request named a policy the tenant does not have.
    #[error("unknown policy '{0}'")]
    UnknownPolicy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something stored could not be compiled (it was validated when written, so this means
    /// the data changed underneath, or a newer build wrote it).
    #[error("stored {what} is invalid: {reason}")]
    Invalid { what: String, reason: String },
}

/// The data dir's part, loaded once at start and shared by every tenant.
struct Base {
    data: PathBuf,
    /// Built-in plus data-dir libraries, for building tenant engines.
    libraries: Vec<TermLibrary>,
    /// The engine of tenants without libraries of their own.
    engine: Arc<TextEngine>,
    models: Option<Arc<TextModels>>,
    /// Stage 2 of the text judgement (sentence encoder and heads), shared like the models.
    stage2: Option<Arc<rampart_text::Stage2>>,
    banks: Arc<BankSet>,
    policy: Policy,
    /// Image model and OCR, loaded on first use by a policy that wants them.
    detectors: OnceLock<Arc<ImageDetectors>>,
    /// Whisper, loaded on first use; `None` when not installed.
    speech: OnceLock<Option<Arc<SpeechModel>>>,
}

/// A tenant's compiled state at one store revision.
pub struct TenantState {
    revision: u64,
    /// Milliseconds since [`Engines::epoch`] of the last revision comparison.
    checked_ms: AtomicU64,
    engine: Arc<TextEngine>,
    banks: Vec<Arc<BankSet>>,
    /// Latest version of each policy the tenant stored, plus the data dir's under its name
    /// unless the tenant stored one of that name.
    moderators: HashMap<String, Arc<TextModerator>>,
    default_policy: String,
}

/// Every tenant's moderators.
pub struct Engines {
    base: Base,
    store: Arc<dyn Store>,
    tenants: RwLock<HashMap<TenantId, Arc<TenantState>>>,
    /// One rebuild at a time, so a burst of requests after a change builds once.
    rebuild: tokio::sync::Mutex<()>,
    /// Bumped by every [`Engines::invalidate`], so a build that raced a write is not trusted.
    generation: AtomicU64,
    epoch: Instant,
    /// Scale-out: where this node announces its writes and hears other nodes'.
    changes: OnceLock<Arc<rampart_queue::ChangeBus>>,
}

impl Engines {
    /// Loads the shared base from the data dir (blocking: call on the blocking pool).
    pub fn load(data: &Path, store: Arc<dyn Store>) -> Result<Self, ServerError> {
        let dir = DataDir::new(data);
        let load = |e: rampart_moderate::LoadError| ServerError::Load(e.to_string());
        let policy = dir.policy(None).map_err(load)?;
        let engine = dir
            .text_engine(&mut |note| tracing::warn!("{note}"))
            .map_err(load)?;
        let libraries = engine
            .libraries()
            .iter()
            .map(|l| TermLibrary::clone(l))
            .collect();
        let models = engine.models();
        let stage2 = engine.stage2();
        let banks = Arc::new(dir.banks().map_err(load)?);
        let base = Base {
            data: data.to_path_buf(),
            libraries,
            engine: Arc::new(engine),
            models,
            stage2,
            banks,
            policy,
            detectors: OnceLock::new(),
            speech: OnceLock::new(),
        };
        let engines = Engines {
            base,
            store,
            tenants: RwLock::new(HashMap::new()),
            rebuild: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            epoch: Instant::now(),
            changes: OnceLock::new(),
        };
        if engines.base.policy.image.model || engines.base.policy.image.ocr {
            engines.detectors();
        }
        Ok(engines)
    }

    /// The image model and OCR engine where installed; the first call loads them (blocking).
    pub fn detectors(&self) -> Arc<ImageDetectors> {
        self.base
            .detectors
            .get_or_init(|| Arc::new(load_detectors(&self.base.data)))
            .clone()
    }

    /// Forgets a tenant's cached state after a write through this node; the next request
    /// rebuilds it from the store. In scale-out the other nodes are told too, so they reload
    /// within moments rather than at their next revision check.
    pub fn invalidate(&self, tenant: TenantId) {
        self.forget(tenant);
        if let Some(bus) = self.changes.get().cloned() {
            tokio::spawn(async move {
                if let Err(error) = bus.publish(tenant, 0).await {
                    tracing::warn!(%error, "broadcasting a change failed; other nodes see it within a second anyway");
                }
            });
        }
    }

    /// Drops a tenant's cached state (a change this node heard about).
    fn forget(&self, tenant: TenantId) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&tenant);
    }

    /// Scale-out: announce this node's writes on `bus`, and drop a tenant's state when another
    /// node announces one.
    pub async fn broadcast_changes(self: &Arc<Self>, bus: rampart_queue::ChangeBus) {
        let bus = Arc::new(bus);
        let mut heard = match bus.subscribe().await {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot subscribe to change broadcasts; relying on the revision check");
                return;
            }
        };
        let _ = self.changes.set(bus);
        let engines = Arc::downgrade(self);
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while let Some((tenant, _revision)) = heard.next().await {
                match engines.upgrade() {
                    Some(engines) => engines.forget(tenant),
                    None => break,
                }
            }
        });
    }

    /// The tenant's state, rebuilt if its store revision moved.
    pub async fn tenant(&self, tenant: TenantId) -> Result<Arc<TenantState>, EngineError> {
        let now = self.now_ms();
        let cached = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .cloned();
        if let Some(state) = &cached {
            let checked = state.checked_ms.load(Ordering::Relaxed);
            if now.saturating_sub(checked) < REVISION_CHECK.as_millis() as u64 {
                return Ok(state.clone());
            }
            if self.store.revision(tenant).await? == state.revision {
                state.checked_ms.store(now, Ordering::Relaxed);
                return Ok(state.clone());
            }
        }
        let _one_at_a_time = self.rebuild.lock().await;
        // Someone may have rebuilt it while we waited.
        if let Some(state) = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
        {
            if cached.as_ref().is_none_or(|old| !Arc::ptr_eq(old, state)) {
                return Ok(state.clone());
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let state = Arc::new(self.build(tenant).await?);
        if self.generation.load(Ordering::Acquire) != generation {
            // A write landed while we read: keep what we built for this request, but make the
            // next one compare revisions (and rebuild if the write was this tenant's).
            state.checked_ms.store(0, Ordering::Relaxed);
        }
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant, state.clone());
        Ok(state)
    }

    /// The text moderator for a request: `policy` is `None` (the tenant's default), a name
    /// (its latest version) or `name@version` (that version, kept readable forever).
    pub async fn text_moderator(
        &self,
        tenant: TenantId,
        policy: Option<&str>,
    ) -> Result<Arc<TextModerator>, EngineError> {
        let state = self.tenant(tenant).await?;
        self.moderator_in(&state, tenant, policy).await
    }

    /// [`Engines::text_moderator`] within an already fetched tenant state.
    async fn moderator_in(
        &self,
        state: &TenantState,
        tenant: TenantId,
        policy: Option<&str>,
    ) -> Result<Arc<TextModerator>, EngineError> {
        let wanted = policy.unwrap_or(&state.default_policy);
        if let Some(m) = state.moderators.get(wanted) {
            return Ok(m.clone());
        }
        let unknown = || EngineError::UnknownPolicy(wanted.to_string());
        let (name, version) = wanted.rsplit_once('@').ok_or_else(unknown)?;
        let version: u32 = version.parse().map_err(|_| unknown())?;
        if let Some(m) = state.moderators.get(name) {
            if m.policy.version == version {
                return Ok(m.clone());
            }
        }
        // The server's own policy stays citable by its id after a tenant stored a policy of
        // the same name (whose versions are numbered above it).
        if name == self.base.policy.name && version == self.base.policy.version {
            return Ok(Arc::new(TextModerator::new(
                state.engine.clone(),
                self.base.policy.clone(),
            )));
        }
        let stored = self
            .store
            .get_policy(tenant, name, Some(version))
            .await?
            .ok_or_else(unknown)?;
        let policy = compile_policy(&stored.toml, name, version)?;
        Ok(Arc::new(TextModerator::new(state.engine.clone(), policy)))
    }

    /// The image moderator for a request (see [`Engines::text_moderator`]); loads the image
    /// detectors first if the policy wants them (blocking: call on the blocking pool or accept
    /// one slow first request).
    pub async fn image_moderator(
        &self,
        tenant: TenantId,
        policy: Option<&str>,
    ) -> Result<ImageModerator, EngineError> {
        let state = self.tenant(tenant).await?;
        let text = self.moderator_in(&state, tenant, policy).await?;
        let settings = &text.policy.image;
        let detectors = if settings.model || settings.ocr {
            match self.base.detectors.get() {
                Some(d) => d.clone(),
                None => {
                    let data = self.base.data.clone();
                    let loaded = tokio::task::spawn_blocking(move || load_detectors(&data))
                        .await
                        .map_err(|e| EngineError::Invalid {
                            what: "image detectors".into(),
                            reason: e.to_string(),
                        })?;
                    let _ = self.base.detectors.set(Arc::new(loaded));
                    self.base.detectors.get().cloned().unwrap_or_default()
                }
            }
        } else {
            Arc::default()
        };
        Ok(ImageModerator {
            text: TextModerator::clone(&text),
            banks: state.banks.clone(),
            detectors,
            limits: rampart_image::Limits::default(),
        })
    }

    /// The video and audio moderator for a job (see [`Engines::image_moderator`]); loads the
    /// speech model on first use (blocking: call from a job worker).
    pub async fn media_moderator(
        &self,
        tenant: TenantId,
        policy: Option<&str>,
    ) -> Result<MediaModerator, EngineError> {
        let image = self.image_moderator(tenant, policy).await?;
        let speech = if image.text.policy.media.speech {
            match self.base.speech.get() {
                Some(model) => model.clone(),
                None => {
                    let loaded = tokio::task::spawn_blocking(load_speech)
                        .await
                        .map_err(|e| EngineError::Invalid {
                            what: "speech model".into(),
                            reason: e.to_string(),
                        })?;
                    let _ = self.base.speech.set(loaded);
                    self.base.speech.get().cloned().flatten()
                }
            }
        } else {
            None
        };
        Ok(MediaModerator {
            image,
            speech,
            video_limits: Default::default(),
            audio_limits: Default::default(),
        })
    }

    /// The data dir's policy, which applies to tenants that stored none of that name.
    pub fn base_policy(&self) -> &Policy {
        &self.base.policy
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    async fn build(&self, tenant: TenantId) -> Result<TenantState, EngineError> {
        let started = Instant::now();
        let revision = self.store.revision(tenant).await?;

        // Libraries: the base's, with the tenant's added (a tenant library replaces a data-dir
        // library of the same name; built-in names are refused when stored).
        let summaries = self.store.list_libraries(tenant).await?;
        let engine = if summaries.is_empty() {
            self.base.engine.clone()
        } else {
            let mut libraries = self.base.libraries.clone();
            for summary in &summaries {
                let Some(stored) = self.store.get_library(tenant, &summary.name).await? else {
                    continue; // deleted meanwhile; the revision moved, so we rebuild again
                };
                let library = compile_library(
                    &stored.name,
                    &stored.kind,
                    &stored.label,
                    &stored.severity,
                    &stored.terms,
                )
                .map_err(|reason| EngineError::Invalid {
                    what: format!("library {}", stored.name),
                    reason,
                })?;
                libraries.retain(|l| l.name != library.name);
                libraries.push(library);
            }
            let engine = TextEngine::new(libraries).map_err(|e| EngineError::Invalid {
                what: "libraries".into(),
                reason: e.to_string(),
            })?;
            engine.set_shared_models(self.base.models.clone());
            engine.set_stage2(self.base.stage2.clone());
            Arc::new(engine)
        };

        // Banks: the data dir's and the tenant's.
        let mut banks = vec![self.base.banks.clone()];
        let stored_banks = self.store.list_banks(tenant).await?;
        if !stored_banks.is_empty() {
            let mut set = BankSet::new();
            for bank in stored_banks {
                let invalid = |reason: String| EngineError::Invalid {
                    what: format!("bank {}", bank.name),
                    reason,
                };
                let config: BankConfig = serde_json::from_value(bank.config.clone())
                    .map_err(|e| invalid(e.to_string()))?;
                set.create_bank(config)
                    .map_err(|e| invalid(e.to_string()))?;
                let entries = self.store.list_bank_entries(tenant, &bank.name).await?;
                let entries = entries
                    .into_iter()
                    .map(|e| bank_entry(&e))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(invalid)?;
                set.add_entries(&bank.name, entries, true)
                    .map_err(|e| invalid(e.to_string()))?;
            }
            banks.push(Arc::new(set));
        }

        // Policies: the latest version of each stored one, plus the data dir's.
        let mut moderators = HashMap::new();
        for stored in self.store.list_policies(tenant).await? {
            let policy = compile_policy(&stored.toml, &stored.name, stored.version)?;
            moderators.insert(
                stored.name.clone(),
                Arc::new(TextModerator::new(engine.clone(), policy)),
            );
        }
        let base_name = self.base.policy.name.clone();
        moderators.entry(base_name.clone()).or_insert_with(|| {
            Arc::new(TextModerator::new(engine.clone(), self.base.policy.clone()))
        });
        // Also reachable by its full id, so `name@version` of a latest version needs no lookup.
        let by_id: Vec<(String, Arc<TextModerator>)> = moderators
            .values()
            .map(|m| (m.policy.id(), m.clone()))
            .collect();
        moderators.extend(by_id);
        tracing::debug!(
            tenant = tenant.0,
            revision,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "tenant state built"
        );
        Ok(TenantState {
            revision,
            checked_ms: AtomicU64::new(self.now_ms()),
            engine,
            banks,
            moderators,
            default_policy: base_name,
        })
    }
}

/// The data dir's image model and OCR engine, each where installed (blocking).
fn load_detectors(data: &Path) -> ImageDetectors {
    DataDir::new(data).image_detectors(true, true, &mut |note| tracing::warn!("{note}"))
}

/// Whisper from the model cache, where `scripts/fetch-models.sh` put it (blocking).
fn load_speech() -> Option<Arc<SpeechModel>> {
    let path = rampart_textmodel::default_models_dir().join(rampart_speech::MODEL_FILE);
    match SpeechModel::load(&path) {
        Ok(model) => Some(Arc::new(model)),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "speech model not loaded; run scripts/fetch-models.sh. Audio jobs fail, videos are moderated without their audio.");
            None
        }
    }
}

/// A stored policy's TOML as a [`Policy`] named and numbered as the store says (the TOML's own
/// `name` and `version`, if any, are overridden).
pub fn compile_policy(toml_source: &str, name: &str, version: u32) -> Result<Policy, EngineError> {
    policy_from_toml(toml_source, name, version).map_err(|reason| EngineError::Invalid {
        what: format!("policy {name}@{version}"),
        reason,
    })
}

/// Parses and validates policy TOML, setting its name and version.
pub fn policy_from_toml(source: &str, name: &str, version: u32) -> Result<Policy, String> {
    let mut table: toml::Table = source
        .parse()
        .map_err(|e: toml::de::Error| format!("policy is not valid TOML: {e}"))?;
    table.insert("name".into(), toml::Value::String(name.to_string()));
    table.insert("version".into(), toml::Value::Integer(i64::from(version)));
    let text = toml::to_string(&table).map_err(|e| e.to_string())?;
    Policy::from_toml(&text).map_err(|e| e.to_string())
}

/// A stored (or about to be stored) library as a [`TermLibrary`]; the error says which line is
/// wrong.
pub fn compile_library(
    name: &str,
    kind: &str,
    label: &str,
    severity: &str,
    terms: &[String],
) -> Result<TermLibrary, String> {
    let kind: LibraryKind = kind
        .parse()
        .map_err(|e: rampart_text::library::LibraryError| e.to_string())?;
    let label: rampart_types::Label = label
        .parse()
        .map_err(|e: rampart_types::UnknownLabel| e.to_string())?;
    let severity: Severity = severity
        .parse()
        .map_err(|e: rampart_text::library::LibraryError| e.to_string())?;
    if terms.iter().any(|t| t.contains('\n') || t.contains('\r')) {
        return Err("a term must not contain a line break".into());
    }
    TermLibrary::parse(name, kind, label, severity, &terms.join("\n")).map_err(|e| e.to_string())
}

fn bank_entry(stored: &rampart_store::BankEntry) -> Result<Entry, String> {
    let hash = match stored.kind {
        HashKind::Pdq => EntryHash::Pdq(stored.hash.parse().map_err(|e| format!("{e:?}"))?),
        HashKind::Md5 => EntryHash::md5(&stored.hash).map_err(|e| e.to_string())?,
        HashKind::Sha256 => EntryHash::sha256(&stored.hash).map_err(|e| e.to_string())?,
        HashKind::Vpdq => EntryHash::Vpdq(
            rampart_hashbank::decode_signature(&stored.hash).map_err(|e| e.to_string())?,
        ),
    };
    let mut entry = Entry::new(hash);
    entry.id = stored.id.clone();
    entry.quality = stored.quality;
    entry.note = stored.note.clone();
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_policy_toml_takes_the_stores_name_and_version() {
        let policy = policy_from_toml(
            "[labels.profanity]\nreview = 0.9\nblock = 0.95\n",
            "forum",
            4,
        )
        .unwrap();
        assert_eq!(policy.id(), "forum@4");
        let policy = policy_from_toml("name = \"other\"\nversion = 9\n", "forum", 2).unwrap();
        assert_eq!(policy.id(), "forum@2");
        assert!(policy_from_toml("[labels.politics]\nreview = 0.5\n", "x", 1).is_err());
        assert!(policy_from_toml("not toml [", "x", 1).is_err());
    }

    #[test]
    fn libraries_compile_or_say_which_line_is_wrong() {
        let lib = compile_library(
            "scams",
            "block",
            "custom:scams",
            "3",
            &["crypto doubler".into(), "re:free\\s+btc".into()],
        )
        .unwrap();
        assert_eq!(lib.terms.len(), 2);
        let err = compile_library("scams", "block", "spam", "2", &["ok".into(), "re:(".into()])
            .unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(compile_library("x", "nope", "spam", "2", &[]).is_err());
        assert!(compile_library("x", "block", "politics", "2", &[]).is_err());
        assert!(compile_library("x", "block", "spam", "2", &["a\nb".into()]).is_err());
    }
}
