//! Bank files: one per bank, `<name>.bank.jsonl`. Line 1 is a JSON header with the bank's
//! settings, each further line one entry as JSON, so the files can be read, diffed and
//! edited by hand. Files are replaced atomically: written to a temporary file in the same
//! directory, flushed to disk, renamed over the old one, and the directory flushed, so a crash
//! leaves either the old or the new file, never a truncated one. Every change rewrites the
//! bank's whole file (about 150 bytes per entry), so batch bulk changes
//! (`BankSet::add_entries`, `BankSet::import`) rather than adding entries one by one to a
//! bank of millions.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bank::{BankConfig, BankError, Entry};

/// File name suffix of bank files.
pub const BANK_SUFFIX: &str = ".bank.jsonl";

/// Version of the file format, in the header's `rampart_bank` field.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    rampart_bank: u32,
    #[serde(flatten)]
    config: BankConfig,
}

/// Writes `config` and `entries` to `path`, replacing it atomically.
pub fn write_bank<'a>(
    path: &Path,
    config: &BankConfig,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    let io = |source| BankError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("bank");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        let header = Header {
            rampart_bank: FORMAT_VERSION,
            config: config.clone(),
        };
        serde_json::to_writer(&mut w, &header)?;
        w.write_all(b"\n")?;
        for e in entries {
            serde_json::to_writer(&mut w, e)?;
            w.write_all(b"\n")?;
        }
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (not possible on every platform; best effort).
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Reads a bank file: its settings and its entries with their 1-based line numbers.
pub fn read_bank(path: &Path) -> Result<(BankConfig, Vec<(usize, Entry)>), BankError> {
    let text = std::fs::read_to_string(path).map_err(|source| BankError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |line: usize, message: String| BankError::Corrupt {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, first) = lines
        .next()
        .ok_or_else(|| corrupt(1, "empty file, expected a bank header".into()))?;
    let header: Header =
        serde_json::from_str(first).map_err(|e| corrupt(1, format!("bad bank header: {e}")))?;
    if header.rampart_bank != FORMAT_VERSION {
        return Err(corrupt(
            1,
            format!("unsupported bank format version {}", header.rampart_bank),
        ));
    }
    let mut entries = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry =
            serde_json::from_str(line).map_err(|e| corrupt(n, format!("bad entry: {e}")))?;
        entries.push((n, entry));
    }
    Ok((header.config, entries))
}
