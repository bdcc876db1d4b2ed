//! `rampart scan image` and `rampart hash pdq|exact`.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use rampart_image::{content_hashes, decode_for_pdq, Limits};
use rampart_types::{ErrorCode, Suggestion};

use crate::datadir::DataDir;
use crate::scan::{write_error, write_json};
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

/// One verdict per file, in order; a file that cannot be read gets an error line and the
/// command exits 2 after the others.
pub fn scan_image(data: &Path, args: ImageArgs) -> Result<ExitCode> {
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let moderator = dir.image_moderator(policy)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut worst = Suggestion::Pass;
    let mut failures = 0;
    for file in &args.files {
        let bytes = match read_capped(file, moderator.limits.max_bytes) {
            Ok(bytes) => bytes,
            Err((code, message)) => {
                failures += 1;
                write_error(&mut out, code, &message)?;
                continue;
            }
        };
        match moderator.verdict(&bytes, args.client_id.clone()) {
            Ok(verdict) => {
                worst = worst.max(verdict.suggestion);
                if !write_json(&mut out, &verdict)? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(error) => {
                failures += 1;
                write_error(
                    &mut out,
                    error.code(),
                    &format!("{}: {error}", file.display()),
                )?;
            }
        }
    }
    out.flush().ok();
    if failures > 0 {
        eprintln!("rampart: {failures} file(s) could not be moderated (see the error lines in the output)");
        return Ok(ExitCode::from(2));
    }
    Ok(crate::exit_for(worst, args.fail_on))
}

/// Reads a file, refusing it before reading when it is larger than `max` bytes.
pub fn read_capped(file: &Path, max: usize) -> std::result::Result<Vec<u8>, (ErrorCode, String)> {
    let meta = std::fs::metadata(file).map_err(|e| {
        (
            ErrorCode::InvalidRequest,
            format!("{}: {e}", file.display()),
        )
    })?;
    if !meta.is_file() {
        return Err((
            ErrorCode::InvalidRequest,
            format!("{}: not a file", file.display()),
        ));
    }
    if meta.len() > max as u64 {
        return Err((
            ErrorCode::PayloadTooLarge,
            format!(
                "{}: {} bytes is over the limit of {max} bytes",
                file.display(),
                meta.len()
            ),
        ));
    }
    std::fs::read(file).map_err(|e| {
        (
            ErrorCode::InvalidRequest,
            format!("{}: {e}", file.display()),
        )
    })
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
            let image = decode_for_pdq(&bytes, &limits)
                .map_err(|e| (e.code(), format!("{}: {e}", file.display())))?;
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
                eprintln!("rampart: {}: {message}", code.as_str());
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
