//! Importing hash lists in the reference tools' text formats.

use rampart_pdq::PdqHash;

use crate::bank::{now_rfc3339, BankError, BankKind, Entry, EntryHash};
use crate::vpdq::VpdqFeature;

/// A text format to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// Each line's form is recognised on its own (see [`accepted_forms`]): whatever
    /// `rampart hash pdq|exact|vpdq` print is taken as is, and so are the reference tools'
    /// outputs and bare hash lists. A vPDQ bank reads the whole text as one video, as
    /// [`ImportFormat::VpdqHashFile`]. Blank lines and `#` comments are ignored.
    Auto,
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
    if format == ImportFormat::VpdqHashFile
        || (format == ImportFormat::Auto && kind == BankKind::Vpdq)
    {
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
        let parsed = if format == ImportFormat::Auto {
            sniff_line(t, kind)
        } else {
            parse_line(t, format, kind).map(|parsed| vec![parsed])
        };
        match parsed {
            Ok(parsed) => {
                for (hash, quality, note) in parsed {
                    let id = ids
                        .generate()
                        .unwrap_or_else(|_| ulid::Ulid::new())
                        .to_string();
                    let entry = Entry {
                        id,
                        hash,
                        quality,
                        note,
                        added: added.clone(),
                    };
                    entries.push((line, entry));
                }
            }
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
        (ImportFormat::Auto, _) => sniff_line(t, kind)?
            .into_iter()
            .next()
            .ok_or_else(|| "no hash on the line".into()),
    }
}

/// The line forms [`ImportFormat::Auto`] accepts for a bank of `kind`, for messages.
pub fn accepted_forms(kind: BankKind) -> &'static str {
    match kind {
        BankKind::Pdq => {
            "a PDQ hash (64 hex digits) alone; `hash,quality[,file]` (`rampart hash pdq`, \
             pdq-photo-hasher); `8 hashes,quality,file` (`rampart hash pdq --dihedral`, the \
             first hash is kept)"
        }
        BankKind::Exact => {
            "an MD5 (32 hex digits) or SHA-256 (64 hex digits) digest alone; \
             `md5,sha256[,file]` (`rampart hash exact`)"
        }
        BankKind::Vpdq => {
            "`frame,quality,hash,timestamp` per frame (`rampart hash vpdq`, vpdq-hash-video), \
             the whole file one video"
        }
    }
}

/// What a bank of `kind` should be made for a hash list, judged from its first line that is
/// not blank or a comment: `md5,…` lines make an exact bank, vPDQ frame lines a vPDQ bank,
/// anything else (PDQ lines, or 64 hex digits, which could also be SHA-256) a PDQ bank.
pub fn sniff_kind(text: &str) -> BankKind {
    let Some(first) = text
        .lines()
        .map(str::trim)
        .find(|t| !t.is_empty() && !t.starts_with('#'))
    else {
        return BankKind::Pdq;
    };
    let fields: Vec<&str> = first.split(',').map(str::trim).collect();
    if is_hex(fields[0], 32) {
        BankKind::Exact
    } else if looks_like_vpdq(&fields) {
        BankKind::Vpdq
    } else {
        BankKind::Pdq
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `frame_number,quality,hash,timestamp`, by its shape.
fn looks_like_vpdq(fields: &[&str]) -> bool {
    fields.len() == 4 && fields[0].parse::<u64>().is_ok() && is_hex(fields[2], 64)
}

fn parse_quality(q: &str) -> Option<u8> {
    q.trim().parse().ok().filter(|&q: &u8| q <= 100)
}

/// One line of [`ImportFormat::Auto`] for a PDQ or exact bank: its entries (an exact line
/// from `rampart hash exact` gives two, MD5 and SHA-256), or why it is not understood.
fn sniff_line(t: &str, kind: BankKind) -> Result<Vec<Parsed>, String> {
    let fields: Vec<&str> = t.split(',').map(str::trim).collect();
    // The file name is everything after the fields before it (it may hold commas).
    let rest = |n: usize| -> Option<String> {
        t.splitn(n + 1, ',')
            .nth(n)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let not_understood = || {
        let shown: String = t.chars().take(80).collect();
        let hint = if looks_like_vpdq(&fields) && kind != BankKind::Vpdq {
            " (a vPDQ frame line: vPDQ lines go into a --kind vpdq bank)"
        } else if kind == BankKind::Pdq && is_hex(fields[0], 32) {
            " (an MD5 digest: digests go into a --kind exact bank)"
        } else if kind == BankKind::Exact && fields.len() > 1 && parse_quality(fields[1]).is_some()
        {
            " (a PDQ line: PDQ hashes go into a --kind pdq bank)"
        } else {
            ""
        };
        format!(
            "not a line a {} bank can import{hint}: {shown:?}; accepted: {}",
            kind_name(kind),
            accepted_forms(kind)
        )
    };
    match kind {
        BankKind::Pdq => {
            let hashes = fields.iter().take_while(|f| is_hex(f, 64)).count();
            let hash = |s: &str| s.parse::<PdqHash>().map(EntryHash::Pdq).ok();
            match (hashes, fields.len()) {
                (1, 1) => Ok(vec![(
                    hash(fields[0]).ok_or_else(not_understood)?,
                    None,
                    None,
                )]),
                (1 | 8, n) if n > hashes => {
                    let q = parse_quality(fields[hashes]).ok_or_else(not_understood)?;
                    let h = hash(fields[0]).ok_or_else(not_understood)?;
                    Ok(vec![(h, Some(q), rest(hashes + 1))])
                }
                _ => Err(not_understood()),
            }
        }
        BankKind::Exact => {
            if fields.len() == 1 && (is_hex(fields[0], 32) || is_hex(fields[0], 64)) {
                let h = if fields[0].len() == 32 {
                    EntryHash::md5(fields[0])
                } else {
                    EntryHash::sha256(fields[0])
                };
                return Ok(vec![(h.map_err(|e| e.to_string())?, None, None)]);
            }
            if fields.len() >= 2 && is_hex(fields[0], 32) && is_hex(fields[1], 64) {
                let note = rest(2);
                let md5 = EntryHash::md5(fields[0]).map_err(|e| e.to_string())?;
                let sha256 = EntryHash::sha256(fields[1]).map_err(|e| e.to_string())?;
                return Ok(vec![(md5, None, note.clone()), (sha256, None, note)]);
            }
            Err(not_understood())
        }
        BankKind::Vpdq => Err("vPDQ hash files are read whole".into()),
    }
}

fn kind_name(kind: BankKind) -> &'static str {
    match kind {
        BankKind::Pdq => "PDQ",
        BankKind::Exact => "exact",
        BankKind::Vpdq => "vPDQ",
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
        let shown: String = t.chars().take(80).collect();
        return Err(format!(
            "not a vPDQ frame line: {shown:?}; accepted: {}",
            accepted_forms(BankKind::Vpdq)
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn auto(text: &str, kind: BankKind) -> Result<Vec<(usize, Entry)>, BankError> {
        parse(text, ImportFormat::Auto, kind, false).map(|(entries, _)| entries)
    }

    #[test]
    fn every_pdq_form_is_recognised_per_line() {
        let dihedral = [H; 8].join(",");
        let text = format!(
            "# rampart hash pdq\n{H},100,/tmp/a, with a comma.jpg\n{H}\n{dihedral},87,b.jpg\n{H},0\n"
        );
        let entries = auto(&text, BankKind::Pdq).unwrap();
        let got: Vec<(usize, Option<u8>, Option<&str>)> = entries
            .iter()
            .map(|(line, e)| (*line, e.quality, e.note.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (2, Some(100), Some("/tmp/a, with a comma.jpg")),
                (3, None, None),
                (4, Some(87), Some("b.jpg")),
                (5, Some(0), None),
            ]
        );
        assert!(entries
            .iter()
            .all(|(_, e)| e.hash == EntryHash::Pdq(H.parse().unwrap())));
    }

    #[test]
    fn an_exact_line_gives_both_digests() {
        let text = format!("{MD5},{SHA},leak.zip\n{MD5}\n{SHA}\n");
        let entries = auto(&text, BankKind::Exact).unwrap();
        let lines: Vec<usize> = entries.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 1, 2, 3]);
        assert_eq!(entries[0].1.hash, EntryHash::md5(MD5).unwrap());
        assert_eq!(entries[1].1.hash, EntryHash::sha256(SHA).unwrap());
        assert_eq!(entries[1].1.note.as_deref(), Some("leak.zip"));
    }

    #[test]
    fn a_line_not_understood_names_its_number_and_the_forms() {
        let err = auto(&format!("{H}\n{H},{H}\n"), BankKind::Pdq).unwrap_err();
        let BankError::BadLine { line, message } = &err else {
            panic!("{err}")
        };
        assert_eq!(*line, 2);
        assert!(message.contains("rampart hash pdq"), "{message}");
        let vpdq = format!("0,100,{H},0.000");
        let err = auto(&vpdq, BankKind::Pdq).unwrap_err().to_string();
        assert!(err.contains("--kind vpdq"), "{err}");
        let err = auto(&format!("{H},100,a.jpg"), BankKind::Exact)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--kind pdq") && err.contains("md5,sha256"),
            "{err}"
        );
        let err = auto(H, BankKind::Vpdq).unwrap_err().to_string();
        assert!(err.contains("frame,quality,hash,timestamp"), "{err}");
    }

    #[test]
    fn a_new_bank_takes_the_kind_of_its_list() {
        assert_eq!(
            sniff_kind(&format!("# x\n\n{MD5},{SHA},a\n")),
            BankKind::Exact
        );
        assert_eq!(sniff_kind(&format!("0,100,{H},0.000\n")), BankKind::Vpdq);
        assert_eq!(sniff_kind(&format!("{H},100,a.jpg\n")), BankKind::Pdq);
        assert_eq!(sniff_kind(H), BankKind::Pdq);
        assert_eq!(sniff_kind(""), BankKind::Pdq);
    }
}
