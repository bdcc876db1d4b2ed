//! `rampart bank add|list|remove|match` on the data dir's hash banks.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use rampart_hashbank::{BankConfig, BankKind, Entry, EntryHash, ImportFormat, ImportOptions};
use rampart_image::{content_hashes, decode_for_pdq, Limits};
use rampart_types::Label;

use crate::datadir::DataDir;
use crate::image_cmd::read_capped;
use crate::InputError;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    /// PDQ perceptual hashes, matched within a distance.
    Pdq,
    /// MD5 and SHA-256 of files, matched exactly.
    Exact,
    /// vPDQ video signatures (a PDQ hash per second of video), matched by the share of the
    /// entry's frames found in an upload.
    Vpdq,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HashFormat {
    /// One hash per line (64 hex digits for PDQ; 32 or 64 for exact banks).
    List,
    /// The reference pdq-photo-hasher output: `hash,quality,file` per line.
    PdqHasher,
    /// The reference vpdq-hash-video output (`frame,quality,hash,timestamp` per line, as
    /// `rampart hash vpdq` prints): the whole file is one video entry of a vPDQ bank.
    Vpdq,
}

#[derive(Subcommand)]
pub enum BankAction {
    /// Add images (or, with --hashes, a hash list) to a bank, creating it if needed.
    Add {
        /// Bank name: 1-64 of a-z, 0-9, '_' and '-'.
        bank: String,
        /// What a match means (`sexual_minors`, `terrorism`, `custom:<name>` …); required when
        /// the bank is new.
        #[arg(long)]
        label: Option<String>,
        /// Match distance for a new PDQ bank (default 31).
        #[arg(long)]
        threshold: Option<u32>,
        /// Minimum PDQ quality for a new bank (default 50).
        #[arg(long)]
        min_quality: Option<u8>,
        /// Match rotated and mirrored copies too (new PDQ bank).
        #[arg(long)]
        dihedral: bool,
        /// Kind of a new bank.
        #[arg(long, value_enum, default_value = "pdq")]
        kind: KindArg,
        /// A note stored with each entry (default: the file name).
        #[arg(long)]
        note: Option<String>,
        /// Add hashes below the bank's minimum quality.
        #[arg(long)]
        force: bool,
        /// Import hashes from this file instead of hashing images.
        #[arg(long)]
        hashes: Option<PathBuf>,
        /// Format of --hashes.
        #[arg(long, value_enum, default_value = "list")]
        format: HashFormat,
        /// With --hashes: skip bad lines (reported on stderr) instead of refusing the file.
        #[arg(long)]
        lenient: bool,
        /// Images to add.
        files: Vec<PathBuf>,
    },
    /// List banks, or the entries of one bank.
    List { bank: Option<String> },
    /// Remove entries from a bank, or the whole bank with --all.
    Remove {
        bank: String,
        /// Entry ids.
        entries: Vec<String>,
        /// Delete the bank itself with all its entries.
        #[arg(long)]
        all: bool,
    },
    /// Match images against every bank; prints one JSON line per file.
    Match {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(data: &Path, action: BankAction) -> Result<()> {
    let dir = DataDir::new(data);
    let mut banks = dir.banks()?;
    match action {
        BankAction::Add {
            bank,
            label,
            threshold,
            min_quality,
            dihedral,
            kind,
            note,
            force,
            hashes,
            format,
            lenient,
            files,
        } => {
            if hashes.is_none() && files.is_empty() {
                bail!(InputError(
                    "give image or video files, or --hashes FILE".into()
                ));
            }
            if banks.bank(&bank).is_none() {
                let Some(label) = label else {
                    bail!(InputError(format!(
                        "bank '{bank}' is new: give it a --label"
                    )));
                };
                label
                    .parse::<Label>()
                    .map_err(|e| InputError(format!("--label {label}: {e}")))?;
                let mut config = match kind {
                    KindArg::Pdq => BankConfig::pdq(&bank, label),
                    KindArg::Exact => BankConfig::exact(&bank, label),
                    KindArg::Vpdq => BankConfig::vpdq(&bank, label),
                };
                config.threshold = threshold.unwrap_or(config.threshold);
                config.min_quality = min_quality.unwrap_or(config.min_quality);
                config.dihedral = dihedral;
                banks.create_bank(config)?;
                eprintln!("rampart: created bank '{bank}'");
            }
            let bank_kind = banks.bank(&bank).expect("exists").config().kind;
            if let Some(path) = hashes {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let format = match format {
                    HashFormat::List => ImportFormat::HashList,
                    HashFormat::PdqHasher => ImportFormat::PdqPhotoHasher,
                    HashFormat::Vpdq => ImportFormat::VpdqHashFile,
                };
                let report =
                    banks.import(&bank, &text, format, ImportOptions { lenient, force })?;
                for skipped in &report.skipped {
                    eprintln!("rampart: skipped: {skipped}");
                }
                eprintln!("rampart: added {} hash(es) to '{bank}'", report.added);
            }
            let limits = Limits::default();
            let mut entries = Vec::new();
            for file in &files {
                if bank_kind == BankKind::Vpdq {
                    let note = note.clone().unwrap_or_else(|| file.display().to_string());
                    entries.push(crate::media_cmd::video_entry(file)?.with_note(note));
                    continue;
                }
                let bytes = read_capped(file, limits.max_bytes).map_err(|(code, message)| {
                    InputError(format!("{}: {message}", code.as_str()))
                })?;
                let note = note.clone().unwrap_or_else(|| file.display().to_string());
                match bank_kind {
                    BankKind::Pdq => {
                        let image = decode_for_pdq(&bytes, &limits).map_err(|e| {
                            InputError(format!("{}: {}: {e}", e.code().as_str(), file.display()))
                        })?;
                        let out = rampart_pdq::hash(&image.pixels());
                        entries.push(
                            Entry::new(EntryHash::Pdq(out.hash))
                                .with_quality(out.quality)
                                .with_note(note),
                        );
                    }
                    BankKind::Exact => {
                        let h = content_hashes(&bytes);
                        entries.push(Entry::new(EntryHash::md5(&h.md5)?).with_note(note.clone()));
                        entries.push(Entry::new(EntryHash::sha256(&h.sha256)?).with_note(note));
                    }
                    BankKind::Vpdq => unreachable!("video files are hashed above"),
                }
            }
            if !entries.is_empty() {
                let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
                banks.add_entries(&bank, entries, force)?;
                let stdout = io::stdout();
                let mut out = stdout.lock();
                for id in ids {
                    writeln!(out, "{id}")?;
                }
            }
        }
        BankAction::List { bank: None } => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            for b in banks.banks() {
                let c = b.config();
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "name": c.name, "label": c.label, "kind": c.kind, "threshold": c.threshold,
                        "min_quality": c.min_quality, "dihedral": c.dihedral, "entries": b.len(),
                    })
                )?;
            }
        }
        BankAction::List { bank: Some(bank) } => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            for entry in banks.list_entries(&bank)? {
                writeln!(out, "{}", serde_json::to_string(entry)?)?;
            }
        }
        BankAction::Remove { bank, entries, all } => {
            if all {
                if !entries.is_empty() {
                    bail!(InputError(
                        "--all removes the whole bank: give no entry ids".into()
                    ));
                }
                if !banks.delete_bank(&bank)? {
                    bail!(InputError(format!("no bank named '{bank}'")));
                }
                eprintln!("rampart: deleted bank '{bank}'");
            } else {
                if entries.is_empty() {
                    bail!(InputError("give entry ids to remove, or --all".into()));
                }
                let removed = banks.remove_entries(&bank, entries.iter().map(String::as_str))?;
                eprintln!(
                    "rampart: removed {removed} of {} entr(ies) from '{bank}'",
                    entries.len()
                );
                if removed < entries.len() {
                    bail!(InputError(format!(
                        "{} id(s) were not in '{bank}'",
                        entries.len() - removed
                    )));
                }
            }
        }
        BankAction::Match { files } => {
            let limits = Limits::default();
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let mut failures = 0;
            for file in &files {
                let result = read_capped(file, limits.max_bytes).and_then(|bytes| {
                    let image = decode_for_pdq(&bytes, &limits)
                        .map_err(|e| (e.code(), format!("{}: {e}", file.display())))?;
                    Ok((
                        content_hashes(&bytes),
                        rampart_pdq::hash_dihedral(&image.pixels()),
                    ))
                });
                match result {
                    Ok((exact, pdq)) => {
                        let mut hits = banks.match_exact(&exact.md5, &exact.sha256);
                        hits.extend(banks.match_pdq(&pdq.hashes, pdq.quality));
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({
                                "file": file.display().to_string(),
                                "pdq": pdq.hashes[0].to_string(),
                                "quality": pdq.quality,
                                "sha256": exact.sha256,
                                "hits": hits,
                            })
                        )?;
                    }
                    Err((code, message)) => {
                        failures += 1;
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({"error": {"code": code, "message": message}})
                        )?;
                    }
                }
            }
            out.flush()?;
            if failures > 0 {
                bail!(InputError(format!("{failures} file(s) could not be read")));
            }
        }
    }
    Ok(())
}
