//! `rampart bank add|list|remove|match` on the data dir's hash banks.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use rampart_hashbank::{
    BankConfig, BankError, BankKind, BankSet, Batch, Entry, EntryHash, ImportFormat, ImportOptions,
};
use rampart_image::{content_hashes, decode_for_pdq, Limits};
use rampart_types::Label;

use crate::datadir::DataDir;
use crate::image_cmd::read_capped;
use crate::scan::{report_failure, Input};
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
    /// Each line as it comes: whatever `rampart hash pdq|exact|vpdq` print, the reference
    /// tools' outputs, or bare hashes (the forms are listed when a line is not understood).
    Auto,
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
    Add(AddArgs),
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

/// The arguments of `bank add`.
#[derive(Args)]
pub struct AddArgs {
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
    /// Kind of a new bank (default: what the --hashes list holds, else pdq; a list of
    /// bare 64-digit hashes is taken for PDQ: give --kind exact for SHA-256 digests).
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
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
    #[arg(long, value_enum, default_value = "auto")]
    format: HashFormat,
    /// With --hashes: skip bad lines (reported on stderr) instead of refusing the file.
    #[arg(long)]
    lenient: bool,
    /// Images to add.
    files: Vec<PathBuf>,
}

/// `bank add`: every input is read, hashed and parsed first, then all entries are added in
/// one step (`BankSet::add_batch`), so a failure anywhere leaves the data dir as it was, with
/// no new, empty bank.
fn add(banks: &mut BankSet, args: AddArgs) -> Result<()> {
    let AddArgs { bank, note, .. } = &args;
    if args.hashes.is_none() && args.files.is_empty() {
        bail!(InputError(
            "give image or video files, or --hashes FILE".into()
        ));
    }
    let hash_text = match &args.hashes {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| InputError(format!("invalid_request: {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let (create, kind) = match banks.bank(bank) {
        Some(existing) => (None, existing.config().kind),
        None => {
            let Some(label) = &args.label else {
                bail!(InputError(format!(
                    "bank '{bank}' is new: give it a --label"
                )));
            };
            label
                .parse::<Label>()
                .map_err(|e| InputError(format!("--label {label}: {e}")))?;
            // A new bank holds what the hash list holds, unless told otherwise.
            let kind = match (args.kind, &hash_text) {
                (Some(KindArg::Pdq), _) | (None, None) => BankKind::Pdq,
                (Some(KindArg::Exact), _) => BankKind::Exact,
                (Some(KindArg::Vpdq), _) => BankKind::Vpdq,
                (None, Some(text)) => rampart_hashbank::import::sniff_kind(text),
            };
            let mut config = match kind {
                BankKind::Pdq => BankConfig::pdq(bank, label),
                BankKind::Exact => BankConfig::exact(bank, label),
                BankKind::Vpdq => BankConfig::vpdq(bank, label),
            };
            config.threshold = args.threshold.unwrap_or(config.threshold);
            config.min_quality = args.min_quality.unwrap_or(config.min_quality);
            config.dihedral = args.dihedral;
            (Some(config), kind)
        }
    };
    let mut batch = Batch::default();
    let mut skipped = Vec::new();
    if let (Some(text), Some(path)) = (&hash_text, &args.hashes) {
        let format = match args.format {
            HashFormat::Auto => ImportFormat::Auto,
            HashFormat::List => ImportFormat::HashList,
            HashFormat::PdqHasher => ImportFormat::PdqPhotoHasher,
            HashFormat::Vpdq => ImportFormat::VpdqHashFile,
        };
        let (lines, report) = rampart_hashbank::import::parse(text, format, kind, args.lenient)
            .map_err(|e| InputError(format!("invalid_request: {}: {e}", path.display())))?;
        batch.lines = lines;
        if kind == BankKind::Vpdq {
            // The whole list is one video: its note is the given one, else the list's name.
            let list_note = note.clone().unwrap_or_else(|| path.display().to_string());
            for (_, entry) in &mut batch.lines {
                entry.note.get_or_insert_with(|| list_note.clone());
            }
        }
        skipped = report.skipped;
    }
    let limits = Limits::default();
    for file in &args.files {
        let name = file.display().to_string();
        let note = note.clone().unwrap_or_else(|| name.clone());
        if kind == BankKind::Vpdq {
            let entry = crate::media_cmd::video_entry(file)?.with_note(note);
            batch.named.push((name, entry));
            continue;
        }
        let bytes = read_capped(file, limits.max_bytes)
            .map_err(|(code, message)| InputError(format!("{code}: {name}: {message}")))?;
        match kind {
            BankKind::Pdq => {
                let image = decode_for_pdq(&bytes, &limits).map_err(|e| {
                    InputError(format!("{}: {}: {e}", e.code().as_str(), file.display()))
                })?;
                let out = rampart_pdq::hash(&image.pixels());
                let entry = Entry::new(EntryHash::Pdq(out.hash))
                    .with_quality(out.quality)
                    .with_note(note);
                batch.named.push((name, entry));
            }
            BankKind::Exact => {
                let h = content_hashes(&bytes);
                let md5 = Entry::new(EntryHash::md5(&h.md5)?).with_note(note.clone());
                let sha256 = Entry::new(EntryHash::sha256(&h.sha256)?).with_note(note);
                batch.named.push((name.clone(), md5));
                batch.named.push((name, sha256));
            }
            BankKind::Vpdq => unreachable!("video files are hashed above"),
        }
    }
    let ids: Vec<String> = batch.named.iter().map(|(_, e)| e.id.clone()).collect();
    let options = ImportOptions {
        lenient: args.lenient,
        force: args.force,
    };
    let created = create.is_some();
    let report =
        banks
            .add_batch(bank, create, batch, options)
            .map_err(|e| match (&e, &args.hashes) {
                (BankError::BadLine { .. }, Some(path)) => {
                    InputError(format!("invalid_request: {}: {e}", path.display()))
                }
                _ => InputError(format!("bank '{bank}': {e}")),
            })?;
    if created {
        eprintln!("rampart: created bank '{bank}'");
    }
    for skipped in skipped.iter().chain(&report.skipped) {
        eprintln!("rampart: skipped: {skipped}");
    }
    if args.hashes.is_some() {
        let from_list = report.added.saturating_sub(ids.len());
        eprintln!("rampart: added {from_list} hash(es) from the list to '{bank}'");
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for id in ids {
        writeln!(out, "{id}")?;
    }
    Ok(())
}

pub fn run(data: &Path, action: BankAction) -> Result<()> {
    let dir = DataDir::new(data);
    let mut banks = dir.banks()?;
    match action {
        BankAction::Add(args) => add(&mut banks, args)?,
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
                    let image =
                        decode_for_pdq(&bytes, &limits).map_err(|e| (e.code(), e.to_string()))?;
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
                        report_failure(&mut out, Input::File(file), code, &message)?;
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
