//! Loading the moderation state from a data dir once at start: the text engine (built-in
//! libraries, the data dir's `libraries/*.lib`, the text models when fetched), `policy.toml`
//! (else the default policy), the hash banks and the image detectors. Mirrors the CLI's
//! `datadir.rs`, minus the writing.

use std::fs;
use std::path::{Path, PathBuf};

use rampart_image::Limits;
use rampart_moderate::{ImageDetectors, ImageModerator, TextModerator};
use rampart_policy::Policy;
use rampart_text::library::TermLibrary;
use rampart_text::TextEngine;
use rampart_textmodel::TextModels;

use crate::ServerError;

fn load_error(what: String, error: impl std::fmt::Display) -> ServerError {
    ServerError::Load(format!("{what}: {error}"))
}

/// The custom libraries stored in `data/libraries`, sorted by file name.
fn load_libraries(data: &Path) -> Result<Vec<TermLibrary>, ServerError> {
    let dir = data.join("libraries");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| load_error(format!("reading {}", dir.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lib"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = fs::read_to_string(path)
                .map_err(|e| load_error(format!("reading {}", path.display()), e))?;
            TermLibrary::from_file_string(&text)
                .map_err(|e| load_error(format!("library {}", path.display()), e))
        })
        .collect()
}

/// `data/policy.toml`, else the default policy.
fn load_policy(data: &Path) -> Result<Policy, ServerError> {
    let path = data.join("policy.toml");
    if !path.is_file() {
        return Ok(Policy::default());
    }
    let text = fs::read_to_string(&path)
        .map_err(|e| load_error(format!("reading policy {}", path.display()), e))?;
    Policy::from_toml(&text).map_err(|e| load_error(format!("policy {}", path.display()), e))
}

fn text_engine(data: &Path) -> Result<TextEngine, ServerError> {
    let engine = TextEngine::with_builtin_libraries();
    for library in load_libraries(data)? {
        engine
            .upsert_library(library)
            .map_err(|e| load_error("library".to_string(), e))?;
    }
    let models_dir = rampart_textmodel::default_models_dir();
    match TextModels::load_dir(&models_dir) {
        Ok(models) => engine.set_models(Some(models)),
        Err(error) => tracing::warn!(
            dir = %models_dir.display(),
            %error,
            "text models not loaded; term libraries, PII and ads detectors still run"
        ),
    }
    Ok(engine)
}

fn image_detectors() -> ImageDetectors {
    let mut detectors = ImageDetectors::default();
    let loaded = rampart_imagemodel::ModelPaths::from_env()
        .and_then(|paths| rampart_imagemodel::NsfwModel::from_paths(&paths));
    match loaded {
        Ok(model) => detectors.nsfw = Some(model),
        Err(error) => tracing::warn!(
            %error,
            "image model not loaded; hash banks, QR and OCR still run"
        ),
    }
    #[cfg(feature = "ocr")]
    match rampart_image::Ocr::new() {
        Ok(ocr) => detectors.ocr = Some(ocr),
        Err(error) => tracing::warn!(%error, "OCR not available"),
    }
    detectors
}

/// The image moderator (whose `text` field is the text moderator) for a data dir.
pub fn load_moderator(data: &Path) -> Result<ImageModerator, ServerError> {
    let engine = text_engine(data)?;
    let policy = load_policy(data)?;
    let banks_dir = data.join("banks");
    let banks = rampart_hashbank::BankSet::load(&banks_dir).map_err(|e| {
        load_error(
            format!("loading hash banks from {}", banks_dir.display()),
            e,
        )
    })?;
    Ok(ImageModerator {
        text: TextModerator::new(engine, policy),
        banks,
        detectors: image_detectors(),
        limits: Limits::default(),
    })
}
