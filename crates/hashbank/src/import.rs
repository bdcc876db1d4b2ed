//! Importing hash lists in the reference tools' text formats.

use rampart_pdq::PdqHash;

use crate::bank::{now_rfc3339, BankError, BankKind, Entry, EntryHash};
use crate::vpdq::VpdqFeature;

/// A text format to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// One hash per line: 64 hex digits for PDQ (the reference's `haystack.txt` form), or 32
    /// (MD5) or 64 (SHA-256) hex digits for exact banks. Blank lines and lines starting with
    /// `#` are ignored.
    HashList,
    /// The reference `pdq-photo-hasher` output: `hash,quality,filename` per line; the file
    /// name becomes the entry's note. Blank lines and `#` comments are ignored.
    PdqPhotoHasher,
    /// The reference `vpdq-hash-video` output, `frame_number,quality,hash,timestamp` per
    /// line, for vPDQ banks: the whole text is ONE entry (one video), its frames in file
    /// order. Blank lines and `#` comments are ignored.
    VpdqHashFile,
}

/// How strict an import is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Skip and report bad lines instead of failing the whole import.
    pub lenient: bool,
    /// Add entries below the bank's minimum quality.
    pub force: bool,
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Entries added.
    pub added: usize,
    /// Lines skipped (only when lenient), each a [`BankError::BadLine`].
    pub skipped: Vec<BankError>,
}

/// Parses `text` into entries for a bank of `kind`, with their 1-based line numbers. Bad
/// lines fail the parse, or are reported in the returned report when `lenient`.
pub fn parse(
    text: &str,
    format: ImportFormat,
    kind: BankKind,
    lenient: bool,
) -> Result<(Vec<(usize, Entry)>, ImportReport), BankError> {
    if format == ImportFormat::VpdqHashFile {
        return parse_vpdq_hash_file(text, kind, lenient);
    }
    let mut ids = ulid::Generator::new();
    let added = now_rfc3339();
    let mut entries = Vec::new();
    let mut report = ImportReport::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let parsed = parse_line(t, format, kind).map(|(hash, quality, note)| {
            let id = ids
                .generate()
                .unwrap_or_else(|_| ulid::Ulid::new())
                .to_string();
            Entry {
                id,
                hash,
                quality,
                note,
                added: added.clone(),
            }
        });
        match parsed {
            Ok(entry) => entries.push((line, entry)),
            Err(message) if lenient => report.skipped.push(BankError::BadLine { line, message }),
            Err(message) => return Err(BankError::BadLine { line, message }),
        }
    }
    Ok((entries, report))
}

type Parsed = (EntryHash, Option<u8>, Option<String>);

fn parse_line(t: &str, format: ImportFormat, kind: BankKind) -> Result<Parsed, String> {
    match (format, kind) {
        (ImportFormat::HashList, BankKind::Pdq) => Ok((pdq(t)?, None, None)),
        (ImportFormat::HashList, BankKind::Exact) => {
            let h = match t.len() {
                32 => EntryHash::md5(t),
                _ => EntryHash::sha256(t),
            };
            Ok((h.map_err(|e| e.to_string())?, None, None))
        }
        (ImportFormat::PdqPhotoHasher, BankKind::Pdq) => {
            let mut fields = t.splitn(3, ',');
            let hash = pdq(fields.next().unwrap_or(""))?;
            let q = fields.next().ok_or("expected hash,quality,filename")?;
            let quality: u8 = q
                .trim()
                .parse()
                .ok()
                .filter(|&q: &u8| q <= 100)
                .ok_or_else(|| format!("quality {q:?} is not an integer from 0 to 100"))?;
            let note = fields
                .next()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from);
            Ok((hash, Some(quality), note))
        }
        (ImportFormat::PdqPhotoHasher, _) => Err(format!(
            "pdq-photo-hasher output holds PDQ hashes, but this bank holds {kind:?} hashes"
        )),
        (ImportFormat::HashList, BankKind::Vpdq) => {
            Err("a vPDQ bank takes whole videos: import a vpdq-hash-video file".into())
        }
        (ImportFormat::VpdqHashFile, _) => Err("vpdq-hash-video files are read whole".into()),
    }
}

/// A `vpdq-hash-video` file as one vPDQ entry.
fn parse_vpdq_hash_file(
    text: &str,
    kind: BankKind,
    lenient: bool,
) -> Result<(Vec<(usize, Entry)>, ImportReport), BankError> {
    if kind != BankKind::Vpdq {
        return Err(BankError::BadLine {
            line: 1,
            message: format!("a vpdq-hash-video file is for vPDQ banks, not {kind:?} banks"),
        });
    }
    let mut frames = Vec::new();
    let mut report = ImportReport::default();
    let mut first_line = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match vpdq_line(t) {
            Ok(frame) => {
                first_line.get_or_insert(line);
                frames.push(frame);
            }
            Err(message) if lenient => report.skipped.push(BankError::BadLine { line, message }),
            Err(message) => return Err(BankError::BadLine { line, message }),
        }
    }
    let Some(line) = first_line else {
        return Err(BankError::BadLine {
            line: 1,
            message: "no frame lines (frame_number,quality,hash,timestamp)".into(),
        });
    };
    let entry = Entry {
        id: ulid::Ulid::new().to_string(),
        hash: EntryHash::Vpdq(frames),
        quality: None,
        note: None,
        added: now_rfc3339(),
    };
    Ok((vec![(line, entry)], report))
}

/// One `frame_number,quality,hash,timestamp` line; frame number and timestamp are checked
/// but not kept (matching does not use them).
fn vpdq_line(t: &str) -> Result<VpdqFeature, String> {
    let fields: Vec<&str> = t.split(',').map(str::trim).collect();
    let [frame_number, quality, hash, timestamp] = fields[..] else {
        return Err("expected frame_number,quality,hash,timestamp".into());
    };
    frame_number
        .parse::<u64>()
        .map_err(|_| format!("frame number {frame_number:?} is not a whole number"))?;
    let quality = quality
        .parse()
        .ok()
        .filter(|&q: &u8| q <= 100)
        .ok_or_else(|| format!("quality {quality:?} is not an integer from 0 to 100"))?;
    let hash = hash.parse::<PdqHash>().map_err(|e| e.to_string())?;
    timestamp
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("timestamp {timestamp:?} is not a number of seconds"))?;
    Ok(VpdqFeature { hash, quality })
}

fn pdq(s: &str) -> Result<EntryHash, String> {
    s.trim()
        .parse::<PdqHash>()
        .map(EntryHash::Pdq)
        .map_err(|e| e.to_string())
}
