//! Where `rampart eval image` and `rampart eval speech` find the test fixtures.

use std::path::{Path, PathBuf};

/// The test fixtures: `$RAMPART_TESTDATA`, else the repository's `data/testdata` found walking
/// up from the current directory, else the one beside this crate's sources (a build from a
/// clone). The PDQ and vPDQ fixtures are vendored there; `./setup.sh` makes `media/`.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RAMPART_TESTDATA") {
        return PathBuf::from(dir);
    }
    let is_testdata = |dir: &Path| dir.join("pdq").is_dir();
    if let Ok(mut here) = std::env::current_dir() {
        loop {
            let candidate = here.join("data/testdata");
            if is_testdata(&candidate) {
                return candidate;
            }
            if !here.pop() {
                break;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/testdata")
}
