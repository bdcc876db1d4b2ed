//! The local data dir: `libraries/*.lib` (custom term libraries), `banks/*.bank.jsonl` (hash
//! banks) and `policy.toml`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rampart_policy::Policy;
use rampart_text::library::TermLibrary;
use rampart_text::TextEngine;
use rampart_textmodel::TextModels;

/// Paths inside a data dir.
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        DataDir {
            root: root.to_path_buf(),
        }
    }

    pub fn libraries_dir(&self) -> PathBuf {
        self.root.join("libraries")
    }

    /// The file of a custom library.
    pub fn library_path(&self, name: &str) -> PathBuf {
        self.libraries_dir().join(format!("{name}.lib"))
    }

    /// The custom libraries stored in the data dir, sorted by name.
    pub fn load_libraries(&self) -> Result<Vec<TermLibrary>> {
        let dir = self.libraries_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "lib"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let text = fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                TermLibrary::from_file_string(&text)
                    .with_context(|| format!("library {}", path.display()))
            })
            .collect()
    }

    /// Writes a library atomically (temporary file, then rename), so a crash never leaves half a file.
    pub fn save_library(&self, library: &TermLibrary) -> Result<PathBuf> {
        let dir = self.libraries_dir();
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = self.library_path(&library.name);
        let tmp = dir.join(format!(".{}.tmp", library.name));
        fs::write(&tmp, library.to_file_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(path)
    }

    /// The policy: `--policy FILE` if given, else `policy.toml` in the data dir, else the default.
    pub fn policy(&self, explicit: Option<&Path>) -> Result<Policy> {
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
            .with_context(|| format!("reading policy {}", path.display()))?;
        Policy::from_toml(&text).with_context(|| format!("policy {}", path.display()))
    }

    /// A text engine with the built-in libraries, the data dir's libraries and, when they have
    /// been fetched, the text models.
    pub fn text_engine(&self) -> Result<TextEngine> {
        let engine = TextEngine::with_builtin_libraries();
        for library in self.load_libraries()? {
            engine.upsert_library(library)?;
        }
        let models_dir = rampart_textmodel::default_models_dir();
        match TextModels::load_dir(&models_dir) {
            Ok(models) => engine.set_models(Some(models)),
            Err(error) => eprintln!(
                "rampart: note: text models not loaded from {} ({error}); run ./setup.sh to train them. Term libraries, PII and ads detectors still run.",
                models_dir.display()
            ),
        }
        Ok(engine)
    }

    /// The hash banks (the `banks/` directory is created if missing).
    pub fn banks(&self) -> Result<rampart_hashbank::BankSet> {
        let dir = self.root.join("banks");
        rampart_hashbank::BankSet::load(&dir)
            .with_context(|| format!("loading hash banks from {}", dir.display()))
    }

    /// The image model and OCR engine, each where installed; a missing one is noted on stderr.
    pub fn image_detectors(
        &self,
        want_model: bool,
        want_ocr: bool,
    ) -> rampart_moderate::ImageDetectors {
        let mut detectors = rampart_moderate::ImageDetectors::default();
        if want_model {
            let loaded = rampart_imagemodel::ModelPaths::from_env()
                .and_then(|paths| rampart_imagemodel::NsfwModel::from_paths(&paths));
            match loaded {
                Ok(model) => detectors.nsfw = Some(model),
                Err(error) => eprintln!(
                    "rampart: note: image model not loaded ({error}); run scripts/fetch-models.sh. Hash banks, QR and OCR still run."
                ),
            }
        }
        #[cfg(feature = "ocr")]
        if want_ocr {
            match rampart_image::Ocr::new() {
                Ok(ocr) => detectors.ocr = Some(ocr),
                Err(error) => eprintln!("rampart: note: OCR not available ({error})"),
            }
        }
        #[cfg(not(feature = "ocr"))]
        let _ = want_ocr;
        detectors
    }
}
