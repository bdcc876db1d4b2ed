//! Loading the Whisper model (a whisper.cpp GGML file) with a header check first, so a
//! wrong or damaged file gives a clean error instead of reaching whisper.cpp's loader.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use whisper_rs::{WhisperContext, WhisperContextParameters};

use crate::{SpeechError, MODEL_FILE};

/// `ggml` in ASCII, read as a little-endian u32: the first word of every whisper.cpp model.
const GGML_MAGIC: u32 = 0x6767_6d6c;
/// Version of this crate's use of the model (decoding settings, windowing, filtering);
/// bump it when a change can alter transcripts, so verdicts can cite what produced them.
const PIPELINE_VERSION: u32 = 1;
/// Magic, 11 hyper-parameters, then the mel filter bank's two dimensions.
const HEADER_WORDS: usize = 1 + 11 + 2;
/// Frequency bins of the mel filter bank (n_fft 400 / 2 + 1).
const MEL_BINS: u32 = 201;

/// A loaded Whisper model: one whisper.cpp context, shared by every [`crate::Transcriber`].
///
/// `Send + Sync`: the context is immutable after loading; each transcriber creates its own
/// decoding state, so many threads can transcribe with one model.
#[derive(Debug)]
pub struct SpeechModel {
    pub(crate) ctx: WhisperContext,
    name_version: String,
}

impl SpeechModel {
    /// Loads a whisper.cpp GGML model file (see `scripts/fetch-models.sh`).
    ///
    /// A missing file gives [`SpeechError::ModelMissing`]; a file that is not a plausible
    /// Whisper GGML model (bad magic, absurd sizes, truncated) gives
    /// [`SpeechError::InvalidModel`]. whisper.cpp's own log lines are silenced.
    pub fn load(path: &Path) -> Result<Self, SpeechError> {
        whisper_rs::install_logging_hooks();
        check_structure(path)?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| {
            SpeechError::InvalidModel {
                path: path.to_path_buf(),
                reason: format!("whisper.cpp refused it ({e})"),
            }
        })?;
        let size = ctx
            .model_type_readable_str_lossy()
            .map(|s| s.into_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let suffix = if ctx.is_multilingual() { "" } else { ".en" };
        let name_version = format!("whisper-{size}{suffix}@{PIPELINE_VERSION}");
        Ok(Self { ctx, name_version })
    }

    /// Model name and version for verdicts, e.g. `whisper-tiny.en@1`: the model size, `.en`
    /// for English-only models, and the version of this crate's decoding pipeline.
    pub fn name_version(&self) -> &str {
        &self.name_version
    }
}

/// `$RAMPART_MODELS/whisper-tiny.en.ggml.bin`, else under `$HOME/.cache/rampart/models`:
/// where `scripts/fetch-models.sh` puts the model.
pub fn default_model_path() -> Result<PathBuf, SpeechError> {
    if let Some(dir) = std::env::var_os("RAMPART_MODELS").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join(MODEL_FILE));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(SpeechError::NoModelsDir)?;
    Ok(PathBuf::from(home)
        .join(".cache/rampart/models")
        .join(MODEL_FILE))
}

/// Walks the file's structure (header, mel filters, vocabulary, tensor headers) without
/// reading the weights, so a file whisper.cpp would misread (truncated, absurd sizes, or no
/// tensors at all, which its loader accepts as an "empty model") is refused here.
fn check_structure(path: &Path) -> Result<(), SpeechError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => SpeechError::ModelMissing {
            path: path.to_path_buf(),
        },
        _ => SpeechError::ModelIo {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let len = file
        .metadata()
        .map_err(|source| SpeechError::ModelIo {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let invalid = |reason: &str| SpeechError::InvalidModel {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let mut reader = ModelReader {
        inner: BufReader::new(file),
        pos: 0,
        len,
    };
    let mut header = [0u32; HEADER_WORDS];
    for word in &mut header {
        *word = reader
            .u32()
            .ok_or_else(|| invalid("shorter than a GGML header"))?;
    }
    if header[0] != GGML_MAGIC {
        return Err(invalid("bad magic (not a whisper.cpp GGML file)"));
    }
    let [n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype] =
        std::array::from_fn(|i| header[1 + i]);
    let within = |v: u32, lo: u32, hi: u32| (lo..=hi).contains(&v);
    let plausible = within(n_vocab, 51_864, 51_866)
        && n_audio_ctx == 1500
        && n_text_ctx == 448
        && within(n_audio_state, 384, 1280)
        && n_audio_state == n_text_state
        && within(n_audio_head, 1, 20)
        && within(n_text_head, 1, 20)
        && within(n_audio_layer, 1, 32)
        && within(n_text_layer, 1, 32)
        && (n_mels == 80 || n_mels == 128)
        && within(ftype, 0, 1);
    if !plausible {
        return Err(invalid(
            "hyper-parameters are not those of an f32/f16 Whisper model",
        ));
    }
    if header[12] != n_mels || header[13] != MEL_BINS {
        return Err(invalid("mel filter bank has the wrong shape"));
    }
    let truncated = || invalid("truncated");
    reader
        .skip(u64::from(n_mels) * u64::from(MEL_BINS) * 4)
        .ok_or_else(truncated)?;
    let n_tokens = reader.u32().ok_or_else(truncated)?;
    if n_tokens > n_vocab {
        return Err(invalid("more tokens than the vocabulary size"));
    }
    for _ in 0..n_tokens {
        let token_len = reader.u32().ok_or_else(truncated)?;
        reader.skip(u64::from(token_len)).ok_or_else(truncated)?;
    }
    let mut tensors = 0u32;
    while reader.pos < reader.len {
        let n_dims = reader.u32().ok_or_else(truncated)?;
        let name_len = reader.u32().ok_or_else(truncated)?;
        let element_size = match reader.u32().ok_or_else(truncated)? {
            0 => 4u64,
            1 => 2,
            _ => return Err(invalid("tensor type is neither f32 nor f16")),
        };
        if !within(n_dims, 1, 4) || !within(name_len, 1, 256) {
            return Err(invalid("tensor header out of range"));
        }
        let mut bytes = element_size;
        for _ in 0..n_dims {
            let dim = reader.u32().ok_or_else(truncated)?;
            bytes = bytes.saturating_mul(u64::from(dim));
        }
        reader
            .skip(u64::from(name_len).saturating_add(bytes))
            .ok_or_else(truncated)?;
        tensors += 1;
    }
    if tensors == 0 {
        return Err(invalid("no tensors"));
    }
    Ok(())
}

/// A bounds-checked little-endian reader over the model file.
struct ModelReader {
    inner: BufReader<File>,
    pos: u64,
    len: u64,
}

impl ModelReader {
    fn u32(&mut self) -> Option<u32> {
        let mut word = [0u8; 4];
        self.inner.read_exact(&mut word).ok()?;
        self.pos += 4;
        Some(u32::from_le_bytes(word))
    }

    /// Skips `n` bytes; `None` if that would run past the end of the file.
    fn skip(&mut self, n: u64) -> Option<()> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.len)?;
        self.inner.seek_relative(i64::try_from(n).ok()?).ok()?;
        self.pos = end;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("rampart-speech-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("write temp file");
        path
    }

    #[test]
    fn missing_file_says_what_to_run() {
        let err = SpeechModel::load(Path::new("/nonexistent/whisper.bin")).unwrap_err();
        assert!(matches!(err, SpeechError::ModelMissing { .. }), "{err}");
        assert!(err.to_string().contains("scripts/fetch-models.sh"));
    }

    #[test]
    fn bad_magic_and_short_files_are_refused() {
        let short = temp_file("short", b"ggml");
        let err = SpeechModel::load(&short).unwrap_err();
        assert!(
            err.to_string().contains("shorter than a GGML header"),
            "{err}"
        );
        let wrong = temp_file("wrong", &[7u8; 200]);
        let err = SpeechModel::load(&wrong).unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        let _ = std::fs::remove_file(short);
        let _ = std::fs::remove_file(wrong);
    }

    #[test]
    fn header_without_tensors_is_refused() {
        let mut bytes = GGML_MAGIC.to_le_bytes().to_vec();
        for v in [51_864u32, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1, 80, 201] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.resize(bytes.len() + 80 * 201 * 4, 0);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        let path = temp_file("empty-model", &bytes);
        let err = SpeechModel::load(&path).unwrap_err();
        assert!(err.to_string().contains("no tensors"), "{err}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn absurd_hyper_parameters_are_refused() {
        let mut bytes = GGML_MAGIC.to_le_bytes().to_vec();
        for v in [u32::MAX; 13] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let path = temp_file("absurd", &bytes);
        let err = SpeechModel::load(&path).unwrap_err();
        assert!(err.to_string().contains("hyper-parameters"), "{err}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn truncated_model_is_refused() {
        let mut bytes = GGML_MAGIC.to_le_bytes().to_vec();
        for v in [51_864u32, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1, 80, 201] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let path = temp_file("truncated", &bytes);
        let err = SpeechModel::load(&path).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let _ = std::fs::remove_file(path);
    }
}
