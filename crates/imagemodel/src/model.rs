//! Loading and running the ONNX model.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use crate::{ModelError, INPUT_SIDE, MODEL_FILE, MODEL_SIZE, ORT_LIBRARY_FILE};

/// Name of the model's input tensor.
const INPUT_NAME: &str = "input:0";
/// Name of the model's output tensor (softmax over [safe, nsfw]).
const OUTPUT_NAME: &str = "outputs";

/// Where the model file and the ONNX Runtime library are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// The ONNX model (`open-nsfw.onnx`).
    pub model: PathBuf,
    /// The ONNX Runtime shared library (`libonnxruntime.so.1.32.0`).
    pub ort_library: PathBuf,
}

impl ModelPaths {
    /// The layout written by `scripts/fetch-models.sh` under `dir`:
    /// `dir/open-nsfw.onnx` and `dir/onnxruntime/libonnxruntime.so.1.32.0`.
    pub fn from_dir(dir: &Path) -> Self {
        Self {
            model: dir.join(MODEL_FILE),
            ort_library: dir.join(ORT_LIBRARY_FILE),
        }
    }

    /// The models directory: `$RAMPART_MODELS`, else `$HOME/.cache/rampart/models`.
    pub fn default_dir() -> Result<PathBuf, ModelError> {
        if let Some(dir) = std::env::var_os("RAMPART_MODELS").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or(ModelError::NoModelsDir)?;
        Ok(PathBuf::from(home).join(".cache/rampart/models"))
    }

    /// [`ModelPaths::from_dir`] of [`ModelPaths::default_dir`].
    pub fn from_env() -> Result<Self, ModelError> {
        Ok(Self::from_dir(&Self::default_dir()?))
    }

    /// Checks that both files exist and the model has the pinned size.
    pub fn check(&self) -> Result<(), ModelError> {
        if !self.ort_library.is_file() {
            return Err(ModelError::MissingFile {
                what: "ONNX Runtime library",
                path: self.ort_library.clone(),
            });
        }
        let meta = std::fs::metadata(&self.model).map_err(|_| ModelError::MissingFile {
            what: "Open NSFW model",
            path: self.model.clone(),
        })?;
        if meta.len() != MODEL_SIZE {
            return Err(ModelError::WrongModelFile {
                path: self.model.clone(),
                size: meta.len(),
                expected: MODEL_SIZE,
            });
        }
        Ok(())
    }
}

/// Session options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsfwOptions {
    /// ONNX Runtime intra-op threads (default 1, as the reference scores were computed).
    pub intra_threads: usize,
    /// ONNX Runtime inter-op threads (default 1).
    pub inter_threads: usize,
}

impl Default for NsfwOptions {
    fn default() -> Self {
        Self {
            intra_threads: 1,
            inter_threads: 1,
        }
    }
}

/// The process-wide ONNX Runtime environment. `ort` allows only one per process and loads
/// the library once: the first successful load wins, later loads reuse it (whatever path
/// they name).
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

fn environment(ort_library: &Path) -> Result<Environment, ModelError> {
    let mut env = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(env) = env.as_ref() {
        return Ok(env.clone());
    }
    let rt = |e: &dyn std::fmt::Display| {
        ModelError::Runtime(format!("loading {}: {e}", ort_library.display()))
    };
    let built = ort::init_from(ort_library)
        .map_err(|e| rt(&e))?
        .with_name("rampart-imagemodel")
        .with_telemetry(false)
        .build()
        .map_err(|e| rt(&e))?;
    *env = Some(built.clone());
    Ok(built)
}

/// The Open NSFW classifier.
///
/// Thread safety: `NsfwModel` is `Send + Sync`; [`NsfwModel::score_rgb`] takes `&self`.
/// Preprocessing runs in the caller's thread without locking; the ONNX Runtime session sits
/// behind a `Mutex`, so one model runs one inference at a time. For parallel inference load
/// one `NsfwModel` per worker (they share the process's ONNX Runtime environment; each
/// session holds its own copy of the weights, about 25 MB).
pub struct NsfwModel {
    session: Mutex<Session>,
}

impl std::fmt::Debug for NsfwModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsfwModel").finish_non_exhaustive()
    }
}

impl NsfwModel {
    /// Loads the model with default options (1 intra-op and 1 inter-op thread).
    pub fn load(model_path: &Path, ort_lib_path: &Path) -> Result<Self, ModelError> {
        Self::load_with(
            &ModelPaths {
                model: model_path.to_path_buf(),
                ort_library: ort_lib_path.to_path_buf(),
            },
            NsfwOptions::default(),
        )
    }

    /// Loads the model from `paths` with default options.
    pub fn from_paths(paths: &ModelPaths) -> Result<Self, ModelError> {
        Self::load_with(paths, NsfwOptions::default())
    }

    /// Loads the model. Missing files give [`ModelError::MissingFile`], which tells the user
    /// to run `scripts/fetch-models.sh`.
    pub fn load_with(paths: &ModelPaths, options: NsfwOptions) -> Result<Self, ModelError> {
        paths.check()?;
        let env = environment(&paths.ort_library)?;
        let rt = |e: &dyn std::fmt::Display| {
            ModelError::Runtime(format!("loading {}: {e}", paths.model.display()))
        };
        let session = Session::builder(&env)
            .map_err(|e| rt(&e))?
            .with_intra_threads(options.intra_threads.max(1))
            .map_err(|e| rt(&e))?
            .with_inter_threads(options.inter_threads.max(1))
            .map_err(|e| rt(&e))?
            .commit_from_file(&paths.model)
            .map_err(|e| rt(&e))?;
        let inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        if inputs != [INPUT_NAME] || outputs != [OUTPUT_NAME] {
            return Err(ModelError::Signature(format!(
                "inputs {inputs:?}, outputs {outputs:?}; expected [{INPUT_NAME:?}], [{OUTPUT_NAME:?}]"
            )));
        }
        Ok(Self {
            session: Mutex::new(session),
        })
    }

    /// Runs the model on an already preprocessed input (see [`crate::preprocess`]) and returns
    /// the NSFW probability (index 1 of the softmax output).
    pub fn score_tensor(&self, input: Vec<f32>) -> Result<f32, ModelError> {
        if input.len() != crate::INPUT_LEN {
            return Err(ModelError::InvalidImage(format!(
                "input tensor has {} values, expected {}",
                input.len(),
                crate::INPUT_LEN
            )));
        }
        let rt = |e: ort::Error| ModelError::Runtime(e.to_string());
        let x = Tensor::from_array(([1usize, INPUT_SIDE, INPUT_SIDE, 3], input)).map_err(rt)?;
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let out = session.run(ort::inputs![INPUT_NAME => x]).map_err(rt)?;
        let (shape, probs) = out[OUTPUT_NAME].try_extract_tensor::<f32>().map_err(rt)?;
        if shape.iter().copied().collect::<Vec<i64>>() != [1, 2] || probs.len() != 2 {
            return Err(ModelError::Signature(format!(
                "output shape {shape:?}, expected [1, 2]"
            )));
        }
        Ok(probs[1])
    }

    /// Scores a decoded image: tightly packed RGB8, row-major, `width * height * 3` bytes
    /// (alpha already dropped). Returns the probability of sexual content in 0..=1.
    pub fn score_rgb(&self, width: u32, height: u32, rgb: &[u8]) -> Result<f32, ModelError> {
        let input = crate::preprocess(width, height, rgb)?;
        self.score_tensor(input)
    }
}
