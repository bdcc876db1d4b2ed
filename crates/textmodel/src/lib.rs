//! The learned half of text moderation, in two stages.
//!
//! **Stage 1, every message** ([`TextModels`]): linear classifiers over hashed word unigrams and
//! bigrams of the normalised text, calibrated with Platt scaling, stored in a small versioned
//! binary file and inferred in pure Rust in about a microsecond: `text-toxicity` (abusive vs
//! not, reported as `harassment`), `text-hate` (`hate`) and `text-spam` (`spam`).
//!
//! **Stage 2, escalated messages only** ([`heads`]): logistic heads per label over a sentence
//! embedding (all-MiniLM-L6-v2, computed by `rampart-textencoder`). The [`gate`] decides which
//! messages are escalated.
//!
//! Both are trained by `cargo xtask train text` from the repository's corpora (`data/text`) with
//! the fixed splits of [`corpus`] and [`functional`], and measured by [`eval`].
//!
//! Why these models: a linear model over whole words trains in seconds, infers in about a
//! microsecond with no native library, and its weights can be inspected; it does not fire on
//! substrings of innocent words as character n-grams did. The sentence encoder reads meaning
//! (negation, counter-speech, implicit hate) that word counts cannot, at a cost only the few
//! escalated messages pay.
//!
//! Not for: term matching or evasion handling (that is `rampart-text`), or deciding (policy).

pub mod corpus;
pub mod eval;
mod features;
pub mod functional;
pub mod gate;
pub mod heads;
mod model;

pub use features::{FeatureHasher, HashedFeatures};
pub use gate::{Gate, Reason};
pub use heads::{EmbeddingHeads, Head, HEADS_FILE, HEADS_VERSION};
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

/// The highest score of the abuse models among `scores` (every model but spam), 0 when none:
/// the stage-1 score the stage-2 gate and its thresholds read.
pub fn max_abuse_score(scores: &[ModelScore]) -> f32 {
    scores
        .iter()
        .filter(|s| s.label != Label::Spam)
        .map(|s| s.score)
        .fold(0.0, f32::max)
}

/// File names of the stage-1 models in a models dir.
pub const TOXICITY_FILE: &str = "text-toxicity.rmodel";
pub const HATE_FILE: &str = "text-hate.rmodel";
pub const SPAM_FILE: &str = "text-spam.rmodel";
pub const SELF_HARM_FILE: &str = "text-self-harm.rmodel";
/// The learned escalation gate of stage 2 (see [`gate`]).
pub const GATE_FILE: &str = "text-gate.rmodel";

/// The stage-1 text models, sharing one feature extraction per text.
#[derive(Debug, Clone)]
pub struct TextModels {
    pub toxicity: LinearModel,
    pub hate: LinearModel,
    pub spam: LinearModel,
    /// Disclosure of self-harm intent or of ongoing self-harm (the functional suite).
    pub self_harm: LinearModel,
}

impl TextModels {
    /// Loads the stage-1 model files from `dir`.
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
            self_harm: load(SELF_HARM_FILE)?,
        })
    }

    /// Scores `text` (best: the engine's normalised text, as in training) with every model.
    /// Features are extracted once.
    pub fn score(&self, text: &str) -> Vec<ModelScore> {
        HashedFeatures::with_thread_local(text, |features| {
            [
                (&self.toxicity, Label::Harassment),
                (&self.hate, Label::Hate),
                (&self.spam, Label::Spam),
                (&self.self_harm, Label::SelfHarm),
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
