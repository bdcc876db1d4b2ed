//! The local data dir: reading goes through `rampart_moderate::DataDir` (shared with the
//! server); the CLI adds writing libraries and notes missing detectors on stderr.

use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rampart_policy::Policy;
use rampart_text::library::TermLibrary;
use rampart_text::TextEngine;

/// A data dir, read through the shared loader.
pub struct DataDir {
    inner: rampart_moderate::DataDir,
}

impl Deref for DataDir {
    type Target = rampart_moderate::DataDir;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

/// Prints a loader's note about a missing component.
fn note_on_stderr(note: String) {
    eprintln!("rampart: note: {note}");
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        DataDir {
            inner: rampart_moderate::DataDir::new(root),
        }
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
        Ok(self.inner.policy(explicit)?)
    }

    /// A text engine with the built-in libraries, the data dir's libraries and, when they have
    /// been fetched, the text models.
    pub fn text_engine(&self) -> Result<TextEngine> {
        Ok(self.inner.text_engine(&mut note_on_stderr)?)
    }

    /// The image model and OCR engine, each where installed; a missing one is noted on stderr.
    pub fn image_detectors(
        &self,
        want_model: bool,
        want_ocr: bool,
    ) -> rampart_moderate::ImageDetectors {
        self.inner
            .image_detectors(want_model, want_ocr, &mut note_on_stderr)
    }

    /// Everything `scan image` needs under `policy`.
    pub fn image_moderator(&self, policy: Policy) -> Result<rampart_moderate::ImageModerator> {
        Ok(self.inner.image_moderator(policy, &mut note_on_stderr)?)
    }

    /// Everything `scan video` and `scan audio` need under `policy`.
    pub fn media_moderator(&self, policy: Policy) -> Result<rampart_moderate::MediaModerator> {
        Ok(self.inner.media_moderator(policy, &mut note_on_stderr)?)
    }
}
