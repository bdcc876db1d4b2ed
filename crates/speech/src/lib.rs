//! Speech recognition for moderation: timed transcripts of audio, so the text engine can
//! judge what was said and the verdict can say *when* it was said.
//!
//! The pipeline is: an energy-based voice activity detector ([`vad`]) finds the voiced
//! stretches; they are grouped into windows of at most ~28 s, each padded by 0.2 s; Whisper
//! (whisper.cpp 1.8.3 through `whisper-rs`, greedy decoding, English) transcribes each
//! window; its segments are shifted by the window's start and non-speech outputs such as
//! `[BLANK_AUDIO]` are dropped. Silence never reaches Whisper, so it costs almost nothing,
//! and segment times are not pulled back by leading silence.
//!
//! [`Transcriber`] is streaming: memory is bounded by one window whatever the audio length.
//! [`wer`] and [`eval`] measure accuracy and speed against reference transcripts.
//!
//! Not here: decoding audio files or resampling (the caller passes mono `f32` at
//! [`SAMPLE_RATE`]), downloading models (`scripts/fetch-models.sh` does that), and any
//! moderation decision.

#![warn(missing_docs)]

pub mod eval;
mod model;
mod transcribe;
pub mod vad;
pub mod wer;

use std::path::PathBuf;

pub use model::{default_model_path, SpeechModel};
pub use transcribe::{transcribe, Segment, TranscribeOptions, TranscribeStats, Transcriber};
pub use vad::VadOptions;

/// The sample rate every function here expects: mono `f32` samples at 16 kHz, as Whisper does.
pub const SAMPLE_RATE: u32 = 16_000;

/// File name of the speech model inside the models directory (`$RAMPART_MODELS`).
pub const MODEL_FILE: &str = "whisper-tiny.en.ggml.bin";

/// Everything that can go wrong while loading the model or transcribing.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// The model file does not exist.
    #[error("speech model not found at {}: run scripts/fetch-models.sh (it writes into $RAMPART_MODELS, default ~/.cache/rampart/models)", path.display())]
    ModelMissing {
        /// Where the model was looked for.
        path: PathBuf,
    },
    /// The model file exists but could not be read.
    #[error("cannot read speech model {}: {source}", path.display())]
    ModelIo {
        /// The model path.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not a whisper.cpp GGML model this crate can load.
    #[error("invalid speech model {}: {reason}: run scripts/fetch-models.sh", path.display())]
    InvalidModel {
        /// The model path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither `RAMPART_MODELS` nor `HOME` is set, so the models directory is unknown.
    #[error("cannot locate the models directory: set RAMPART_MODELS (or HOME) and run scripts/fetch-models.sh")]
    NoModelsDir,
    /// An option is out of range.
    #[error("invalid transcription option: {0}")]
    InvalidOption(&'static str),
    /// whisper.cpp reported a failure.
    #[error("whisper.cpp failed while {stage}: {detail}")]
    Whisper {
        /// What was being done (`"creating a state"`, `"transcribing"` …).
        stage: &'static str,
        /// whisper-rs's description of the error.
        detail: String,
    },
}

impl SpeechError {
    fn whisper(stage: &'static str, error: whisper_rs::WhisperError) -> Self {
        Self::Whisper {
            stage,
            detail: error.to_string(),
        }
    }
}
