//! `rampart library add|list|remove` on the local data dir.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use rampart_text::library::{LibraryKind, Severity, TermLibrary};
use rampart_text::TextEngine;
use rampart_types::Label;

use crate::datadir::DataDir;
use crate::InputError;

#[derive(Subcommand)]
pub enum LibraryAction {
    /// Add a library from a file of terms (one rule per line: word, multi word phrase, a & b,
    /// a ~ b, re:regex; see the README), or replace the library of the same name.
    Add {
        /// Library name: 1-64 characters of [a-z0-9_.-].
        name: String,
        /// block, review, flag (scored by severity) or allow.
        #[arg(long, default_value = "block")]
        kind: String,
        /// Label of the library's hits (default: custom:<name>).
        #[arg(long)]
        label: Option<String>,
        /// Severity 1-3 or mild, strong, severe.
        #[arg(long, default_value = "strong")]
        severity: String,
        /// The term file.
        file: PathBuf,
    },
    /// List built-in and data-dir libraries.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a library from the data dir.
    Remove { name: String },
}

pub fn run(data: &Path, action: LibraryAction) -> Result<()> {
    let dir = DataDir::new(data);
    match action {
        LibraryAction::Add {
            name,
            kind,
            label,
            severity,
            file,
        } => {
            if name.starts_with("builtin:") {
                return Err(InputError(
                    "library names starting with 'builtin:' are reserved".into(),
                )
                .into());
            }
            let kind: LibraryKind = kind.parse().map_err(|e| InputError(format!("{e}")))?;
            let label: Label = match label {
                Some(l) => l.parse().map_err(|e| InputError(format!("{e}")))?,
                None => format!("custom:{}", name.replace(['.', ':'], "-"))
                    .parse()
                    .map_err(|e| InputError(format!("{e}")))?,
            };
            let severity: Severity = severity.parse().map_err(|e| InputError(format!("{e}")))?;
            let source = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let source = String::from_utf8(source).map_err(|e| {
                InputError(format!(
                    "{}: invalid UTF-8 at byte {}",
                    file.display(),
                    e.utf8_error().valid_up_to()
                ))
            })?;
            let library = TermLibrary::parse(&name, kind, label, severity, &source)
                .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
            // Compile once before saving, so a library that cannot be used is never stored.
            TextEngine::new(vec![library.clone()])
                .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
            let path = dir.save_library(&library)?;
            eprintln!(
                "rampart: library {} saved to {} ({} terms)",
                library.name,
                path.display(),
                library.terms.len()
            );
        }
        LibraryAction::List { json } => {
            let mut rows: Vec<(String, &'static str, TermLibrary)> =
                rampart_text::builtin_libraries()
                    .into_iter()
                    .map(|l| (l.name.clone(), "builtin", l))
                    .collect();
            rows.extend(
                dir.load_libraries()?
                    .into_iter()
                    .map(|l| (l.name.clone(), "data", l)),
            );
            for (name, source, lib) in rows {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"name": name, "source": source, "kind": lib.kind.as_str(), "label": lib.label, "terms": lib.terms.len()})
                    );
                } else {
                    println!(
                        "{name:<28} {source:<8} {:<7} {:<16} {:>6} terms",
                        lib.kind.as_str(),
                        lib.label.as_str(),
                        lib.terms.len()
                    );
                }
            }
        }
        LibraryAction::Remove { name } => {
            let path = dir.library_path(&name);
            if !path.is_file() {
                bail!(InputError(format!(
                    "no library named '{name}' in {}",
                    data.display()
                )));
            }
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            eprintln!("rampart: library {name} removed");
        }
    }
    Ok(())
}
