//! Linear text classifiers for moderation: hashed word and character n-grams fed to logistic
//! regression, calibrated with Platt scaling, stored in a small versioned binary file and
//! inferred in pure Rust.
//!
//! Three models make up [`TextModels`]: `text-toxicity` (Davidson et al.: offensive or hate vs
//! neither, reported as `harassment`), `text-hate` (Davidson: hate vs the rest, `hate`) and
//! `text-spam` (SMS Spam Collection, `spam`). They are trained by `cargo xtask train text` from
//! the shared corpora with the fixed split of [`corpus`], and measured by [`eval`].
//!
//! Why this model: a linear model over hashed n-grams is the strongest model that trains in
//! seconds on these corpora, infers in about a microsecond per message with no native library,
//! and whose weights can be inspected; character n-grams make it robust to spelling variation.
//!
//! Not for: term matching or evasion handling (that is `rampart-text`), or deciding (policy).

pub mod corpus;
pub mod eval;
mod features;
mod model;

pub use features::{FeatureHasher, HashedFeatures};
pub use model::{train, LinearModel, ModelError, TrainConfig, MODEL_VERSION};

use std::path::{Path, PathBuf};

use rampart_types::Label;

/// One model's calibrated score for a text.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    /// `name@version`.
    pub model: String,
    pub label: Label,
    /// Calibrated probability in 0..=1.
    pub score: f32,
}

/// File names of the three models in a models dir.
pub const TOXICITY_FILE: &str = "text-toxicity.rmodel";
pub const HATE_FILE: &str = "text-hate.rmodel";
pub const SPAM_FILE: &str = "text-spam.rmodel";

/// The three text models, sharing one feature extraction per text.
#[derive(Debug, Clone)]
pub struct TextModels {
    pub toxicity: LinearModel,
    pub hate: LinearModel,
    pub spam: LinearModel,
}

impl TextModels {
    /// Loads the three model files from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, ModelError> {
        let load = |file: &str| {
            let model = LinearModel::load(&dir.join(file))?;
            if model.version() != MODEL_VERSION {
                return Err(ModelError::Stale {
                    name: model.name().to_owned(),
                    version: model.version(),
                });
            }
            Ok(model)
        };
        Ok(TextModels {
            toxicity: load(TOXICITY_FILE)?,
            hate: load(HATE_FILE)?,
            spam: load(SPAM_FILE)?,
        })
    }

    /// Scores `text` with every model. Features are extracted once.
    pub fn score(&self, text: &str) -> Vec<ModelScore> {
        HashedFeatures::with_thread_local(text, |features| {
            [
                (&self.toxicity, Label::Harassment),
                (&self.hate, Label::Hate),
                (&self.spam, Label::Spam),
            ]
            .into_iter()
            .map(|(model, label)| ModelScore {
                model: model.name_version(),
                label,
                score: model.predict_features(features),
            })
            .collect()
        })
    }
}

/// Where models live: `$RAMPART_MODELS`, else `$HOME/.cache/rampart/models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RAMPART_MODELS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/rampart/models")
}
