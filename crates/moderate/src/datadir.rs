//! Reading a data dir: `libraries/*.lib` (custom term libraries), `banks/*.bank.jsonl` (hash
//! banks) and `policy.toml`, plus the models and OCR engine where installed. The CLI and the
//! server load the same state through this one place.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_hashbank::BankSet;
use rampart_image::Limits;
use rampart_policy::Policy;
use rampart_text::library::TermLibrary;
use rampart_text::TextEngine;
use rampart_textmodel::TextModels;

use crate::{ImageDetectors, ImageModerator, MediaModerator, TextModerator};

/// Something in the data dir could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct LoadError {
    /// What was being read, with its path.
    pub what: String,
    /// Why it failed.
    pub reason: String,
}

fn load_error(what: String) -> impl FnOnce(String) -> LoadError {
    move |reason| LoadError { what, reason }
}

/// A data dir on disk.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data dir at `root` (nothing is read yet).
    pub fn new(root: &Path) -> Self {
        DataDir {
            root: root.to_path_buf(),
        }
    }

    /// Where custom term libraries are kept.
    pub fn libraries_dir(&self) -> PathBuf {
        self.root.join("libraries")
    }

    /// The file of a custom library.
    pub fn library_path(&self, name: &str) -> PathBuf {
        self.libraries_dir().join(format!("{name}.lib"))
    }

    /// The custom libraries stored in the data dir, sorted by name.
    pub fn load_libraries(&self) -> Result<Vec<TermLibrary>, LoadError> {
        let dir = self.libraries_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| load_error(format!("reading {}", dir.display()))(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "lib"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let text = fs::read_to_string(path).map_err(|e| {
                    load_error(format!("reading {}", path.display()))(e.to_string())
                })?;
                TermLibrary::from_file_string(&text)
                    .map_err(|e| load_error(format!("library {}", path.display()))(e.to_string()))
            })
            .collect()
    }

    /// The policy: `explicit` if given, else `policy.toml` in the data dir, else the default.
    pub fn policy(&self, explicit: Option<&Path>) -> Result<Policy, LoadError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = self.root.join("policy.toml");
                if !p.is_file() {
                    return Ok(Policy::default());
                }
                p
            }
        };
        let text = fs::read_to_string(&path)
            .map_err(|e| load_error(format!("reading policy {}", path.display()))(e.to_string()))?;
        Policy::from_toml(&text)
            .map_err(|e| load_error(format!("policy {}", path.display()))(e.to_string()))
    }

    /// A text engine with the built-in libraries, the data dir's libraries and, when they have
    /// been fetched, the text models; `note` hears what is missing.
    pub fn text_engine(&self, note: &mut dyn FnMut(String)) -> Result<TextEngine, LoadError> {
        let engine = TextEngine::with_builtin_libraries();
        for library in self.load_libraries()? {
            let name = library.name.clone();
            engine
                .upsert_library(library)
                .map_err(|e| load_error(format!("library {name}"))(e.to_string()))?;
        }
        let models_dir = rampart_textmodel::default_models_dir();
        match TextModels::load_dir(&models_dir) {
            Ok(models) => engine.set_models(Some(models)),
            Err(error) => note(format!(
                "text models not loaded from {} ({error}); run ./setup.sh to train them. Term libraries, PII and ads detectors still run.",
                models_dir.display()
            )),
        }
        match rampart_text::Stage2::load(&models_dir) {
            Ok(stage2) => engine.set_stage2(Some(std::sync::Arc::new(stage2))),
            Err(error) => note(format!(
                "text stage 2 not loaded from {} ({error}); run ./setup.sh. Messages are judged by stage 1 alone.",
                models_dir.display()
            )),
        }
        Ok(engine)
    }

    /// The hash banks (the `banks/` directory is created if missing).
    pub fn banks(&self) -> Result<BankSet, LoadError> {
        let dir = self.root.join("banks");
        BankSet::load(&dir).map_err(|e| {
            load_error(format!("loading hash banks from {}", dir.display()))(e.to_string())
        })
    }

    /// The image model and OCR engine the caller wants, each where installed; `note` hears
    /// what is missing.
    pub fn image_detectors(
        &self,
        want_model: bool,
        want_ocr: bool,
        note: &mut dyn FnMut(String),
    ) -> ImageDetectors {
        let mut detectors = ImageDetectors::default();
        if want_model {
            let loaded = rampart_imagemodel::ModelPaths::from_env()
                .and_then(|paths| rampart_imagemodel::NsfwModel::from_paths(&paths));
            match loaded {
                Ok(model) => detectors.nsfw = Some(model),
                Err(error) => note(format!(
                    "image model not loaded ({error}); run scripts/fetch-models.sh. Hash banks, QR and OCR still run."
                )),
            }
        }
        #[cfg(feature = "ocr")]
        if want_ocr {
            match rampart_image::Ocr::new() {
                Ok(ocr) => detectors.ocr = Some(ocr),
                Err(error) => note(format!("OCR not available ({error})")),
            }
        }
        #[cfg(not(feature = "ocr"))]
        let _ = want_ocr;
        detectors
    }

    /// Everything an image (and, through its `text` field, a text) needs under `policy`:
    /// engine, banks, and the detectors the policy switches on.
    pub fn image_moderator(
        &self,
        policy: Policy,
        note: &mut dyn FnMut(String),
    ) -> Result<ImageModerator, LoadError> {
        let detectors = self.image_detectors(policy.image.model, policy.image.ocr, note);
        Ok(ImageModerator {
            text: TextModerator::new(self.text_engine(note)?, policy),
            banks: vec![Arc::new(self.banks()?)],
            detectors: Arc::new(detectors),
            limits: Limits::default(),
        })
    }

    /// Everything a video or audio file needs under `policy`: the image moderator for sampled
    /// frames and, when the policy wants speech and it is installed, Whisper.
    pub fn media_moderator(
        &self,
        policy: Policy,
        note: &mut dyn FnMut(String),
    ) -> Result<MediaModerator, LoadError> {
        let speech = if policy.media.speech {
            let path = rampart_textmodel::default_models_dir().join(rampart_speech::MODEL_FILE);
            match rampart_speech::SpeechModel::load(&path) {
                Ok(model) => Some(Arc::new(model)),
                Err(error) => {
                    note(format!(
                        "speech model not loaded from {} ({error}); run scripts/fetch-models.sh. Audio cannot be moderated; videos are moderated without their audio.",
                        path.display()
                    ));
                    None
                }
            }
        } else {
            None
        };
        Ok(MediaModerator {
            image: self.image_moderator(policy, note)?,
            speech,
            video_limits: Default::default(),
            audio_limits: Default::default(),
        })
    }
}
