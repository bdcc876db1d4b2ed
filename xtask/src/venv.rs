//! The Python venv the benchmarks run their peers in (`~/.cache/rampart/venv`), with packages
//! from PyPI installed on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The venv's Python, after making sure `imports` (a Python import list such as
/// `"faiss, numpy"`) work, installing `packages` with pip when they do not.
pub fn python_with(imports: &str, packages: &[&str]) -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let venv = PathBuf::from(home).join(".cache/rampart/venv");
    let python = venv.join("bin/python");
    let works = |p: &Path| {
        Command::new(p)
            .args(["-c", &format!("import {imports}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.exists() && works(&python) {
        return Ok(python);
    }
    if !python.exists() {
        eprintln!("creating {}", venv.display());
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("running python3 -m venv")?;
        if !st.success() {
            bail!("python3 -m venv {} failed", venv.display());
        }
    }
    eprintln!("installing {} into {}", packages.join(", "), venv.display());
    let st = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .args(packages)
        .status()
        .context("running pip")?;
    if !st.success() || !works(&python) {
        bail!(
            "could not install {} into {}",
            packages.join(", "),
            venv.display()
        );
    }
    Ok(python)
}
