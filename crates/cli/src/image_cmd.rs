//! `rampart scan image` and `rampart hash pdq|exact`.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use rampart_image::{content_hashes, decode_for_pdq, Limits};
use rampart_types::ErrorCode;

use crate::datadir::DataDir;
use crate::scan::judge_files;
use crate::FailOn;

#[derive(Args)]
pub struct ImageArgs {
    /// Image files (JPEG, PNG, GIF, WebP, BMP, TIFF; the format is read from the bytes).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A TOML policy file (default: policy.toml in the data dir, else the built-in policy).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Exit 1 when any verdict reaches this level.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// The caller's id for the content, copied into `content_ref.client_id`.
    #[arg(long)]
    client_id: Option<String>,
}

/// One line per file, in order: its verdict (with `file`), or, when it cannot be moderated,
/// an error line (also reported on stderr); the command then exits 2 after the others.
pub fn scan_image(data: &Path, args: ImageArgs) -> Result<ExitCode> {
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let moderator = dir.image_moderator(policy)?;
    judge_files(&args.files, args.fail_on, |file| {
        read_capped(file, moderator.limits.max_bytes).and_then(|bytes| {
            moderator
                .verdict(&bytes, args.client_id.clone())
                .map_err(|e| (e.code(), e.to_string()))
        })
    })
}

/// Reads a file, refusing it before reading when it is larger than `max` bytes. The error's
/// message does not repeat the file name.
pub fn read_capped(file: &Path, max: usize) -> std::result::Result<Vec<u8>, (ErrorCode, String)> {
    let meta = std::fs::metadata(file).map_err(|e| (ErrorCode::InvalidRequest, e.to_string()))?;
    if !meta.is_file() {
        return Err((ErrorCode::InvalidRequest, "not a file".into()));
    }
    if meta.len() > max as u64 {
        return Err((
            ErrorCode::PayloadTooLarge,
            format!("{} bytes is over the limit of {max} bytes", meta.len()),
        ));
    }
    std::fs::read(file).map_err(|e| (ErrorCode::InvalidRequest, e.to_string()))
}

#[derive(Subcommand)]
pub enum HashWhat {
    /// PDQ hashes, one `hash,quality,file` line per image like the reference's
    /// pdq-photo-hasher (with --dihedral: the 8 dihedral hashes, then quality and file).
    Pdq {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the 8 dihedral hashes (original, rotate90, rotate180, rotate270, flipx,
        /// flipy, flipplus1, flipminus1) derived from one DCT.
        #[arg(long)]
        dihedral: bool,
    },
    /// Exact hashes for exact-match banks: `md5,sha256,file` per file.
    Exact {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn hash(what: HashWhat) -> Result<ExitCode> {
    let limits = Limits::default();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failures = 0;
    let (files, dihedral, exact) = match what {
        HashWhat::Pdq { files, dihedral } => (files, dihedral, false),
        HashWhat::Exact { files } => (files, false, true),
    };
    for file in &files {
        let result = read_capped(file, limits.max_bytes).and_then(|bytes| {
            if exact {
                let h = content_hashes(&bytes);
                return Ok(format!("{},{}", h.md5, h.sha256));
            }
            let image = decode_for_pdq(&bytes, &limits).map_err(|e| (e.code(), e.to_string()))?;
            let out = rampart_pdq::hash_dihedral(&image.pixels());
            let hashes: Vec<String> = if dihedral {
                out.hashes.iter().map(|h| h.to_string()).collect()
            } else {
                vec![out.hashes[0].to_string()]
            };
            Ok(format!("{},{}", hashes.join(","), out.quality))
        });
        match result {
            Ok(line) => {
                if writeln!(out, "{line},{}", file.display()).is_err() {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err((code, message)) => {
                failures += 1;
                out.flush().ok();
                eprintln!("rampart: {code}: {}: {message}", file.display());
            }
        }
    }
    out.flush().ok();
    Ok(if failures > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
