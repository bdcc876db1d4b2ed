//! Shared helpers for the integration tests: the encoder, loaded once per test binary.

#![allow(dead_code)]

use std::sync::OnceLock;

use rampart_textencoder::{default_dir, SentenceEncoder};

/// The encoder from `$RAMPART_MODELS/all-minilm-l6-v2`; FAILS (never skips) when the model
/// files are missing: `./setup.sh` (scripts/fetch-models.sh) puts them there.
pub fn encoder() -> &'static SentenceEncoder {
    static ENCODER: OnceLock<SentenceEncoder> = OnceLock::new();
    ENCODER.get_or_init(|| {
        let dir = default_dir().unwrap_or_else(|e| panic!("{e}"));
        SentenceEncoder::load(&dir)
            .unwrap_or_else(|e| panic!("all-MiniLM-L6-v2 not loadable from {}: {e}", dir.display()))
    })
}

/// Dot product (the cosine of two unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Euclidean length.
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Largest absolute difference between two vectors of the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
