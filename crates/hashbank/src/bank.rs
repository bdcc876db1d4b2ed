//! Hash banks: named, labelled sets of known hashes, and the [`BankSet`] that matches against
//! all of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rampart_pdq::PdqHash;
use serde::{Deserialize, Serialize};

use crate::index::HammingIndex;
use crate::store;
use crate::vpdq::{self, FrameTable, VpdqFeature};

/// PDQ's recommended match threshold: a match is `distance <= 31`.
pub const DEFAULT_THRESHOLD: u32 = 31;
/// PDQ's recommended minimum quality: hashes of quality 49 or less are unreliable.
pub const DEFAULT_MIN_QUALITY: u8 = 50;
/// Default share of a bank video's frames that must be found in an upload for a vPDQ match
/// (the vPDQ README's example threshold).
pub const DEFAULT_VPDQ_MATCH_PCT: f64 = 80.0;

/// What a bank holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BankKind {
    /// PDQ hashes, matched within a Hamming distance.
    Pdq,
    /// MD5 or SHA-256 digests of files, matched exactly.
    Exact,
    /// vPDQ video signatures (a PDQ hash per frame), matched by the share of frames found.
    Vpdq,
}

/// A bank's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BankConfig {
    /// Unique name; also the file name, so 1 to 64 of `a-z 0-9 _ -`.
    pub name: String,
    /// What a match means, e.g. `sexual_minors`, `terrorism`, `custom:<name>` (validated by
    /// the caller).
    pub label: String,
    /// PDQ, exact digests or vPDQ.
    pub kind: BankKind,
    /// A PDQ entry matches when `distance <= threshold`; in a vPDQ bank, two frames match
    /// when their distance is at most this.
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    /// Query hashes below this quality are not matched, and entries below it are refused
    /// unless forced. In a vPDQ bank, frames below it are left out on both sides.
    #[serde(default = "default_min_quality")]
    pub min_quality: u8,
    /// Match any of the (up to 8) dihedral variants of the query hash, not only the first.
    #[serde(default)]
    pub dihedral: bool,
    /// vPDQ banks: an entry matches an uploaded video when at least this percentage (0–100)
    /// of the entry's frames are found in it, so a banned clip is found inside a longer
    /// video. Ignored by other kinds.
    #[serde(default = "default_vpdq_match_pct")]
    pub vpdq_match_pct: f64,
}

fn default_threshold() -> u32 {
    DEFAULT_THRESHOLD
}

fn default_min_quality() -> u8 {
    DEFAULT_MIN_QUALITY
}

fn default_vpdq_match_pct() -> f64 {
    DEFAULT_VPDQ_MATCH_PCT
}

impl BankConfig {
    /// A PDQ bank with the default threshold and minimum quality, without dihedral matching.
    pub fn pdq(name: impl Into<String>, label: impl Into<String>) -> Self {
        BankConfig {
            name: name.into(),
            label: label.into(),
            kind: BankKind::Pdq,
            threshold: DEFAULT_THRESHOLD,
            min_quality: DEFAULT_MIN_QUALITY,
            dihedral: false,
            vpdq_match_pct: DEFAULT_VPDQ_MATCH_PCT,
        }
    }

    /// An exact-digest bank.
    pub fn exact(name: impl Into<String>, label: impl Into<String>) -> Self {
        BankConfig {
            kind: BankKind::Exact,
            ..Self::pdq(name, label)
        }
    }

    /// A vPDQ (video) bank: frames match at distance 31 or less, frames below quality 50 are
    /// left out, and an entry matches when 80 % of its frames are found in the upload.
    pub fn vpdq(name: impl Into<String>, label: impl Into<String>) -> Self {
        BankConfig {
            kind: BankKind::Vpdq,
            ..Self::pdq(name, label)
        }
    }

    fn validate(&self) -> Result<(), BankError> {
        let ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(BankError::InvalidName(self.name.clone()));
        }
        if self.label.is_empty() {
            return Err(BankError::InvalidLabel(self.name.clone()));
        }
        if self.threshold > PdqHash::BITS {
            return Err(BankError::InvalidThreshold(self.threshold));
        }
        if !(0.0..=100.0).contains(&self.vpdq_match_pct) {
            return Err(BankError::InvalidMatchPct(self.vpdq_match_pct));
        }
        Ok(())
    }
}

/// The hash an entry stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryHash {
    /// A PDQ hash.
    Pdq(PdqHash),
    /// An MD5 digest, 32 lowercase hex digits.
    Md5(String),
    /// A SHA-256 digest, 64 lowercase hex digits.
    Sha256(String),
    /// A vPDQ video signature: each hashed frame's PDQ hash and quality, stored as one
    /// string in [`vpdq::encode_signature`]'s form.
    Vpdq(#[serde(with = "vpdq::signature_serde")] Vec<VpdqFeature>),
}

impl EntryHash {
    /// An MD5 digest from hex (any case), checked.
    pub fn md5(hex: &str) -> Result<Self, BankError> {
        Ok(EntryHash::Md5(digest_hex(hex, 32)?))
    }

    /// A SHA-256 digest from hex (any case), checked.
    pub fn sha256(hex: &str) -> Result<Self, BankError> {
        Ok(EntryHash::Sha256(digest_hex(hex, 64)?))
    }

    fn kind(&self) -> BankKind {
        match self {
            EntryHash::Pdq(_) => BankKind::Pdq,
            EntryHash::Md5(_) | EntryHash::Sha256(_) => BankKind::Exact,
            EntryHash::Vpdq(_) => BankKind::Vpdq,
        }
    }

    /// Key of an exact digest in a bank's map.
    fn exact_key(&self) -> Option<String> {
        match self {
            EntryHash::Pdq(_) | EntryHash::Vpdq(_) => None,
            EntryHash::Md5(h) => Some(format!("md5:{h}")),
            EntryHash::Sha256(h) => Some(format!("sha256:{h}")),
        }
    }
}

fn digest_hex(hex: &str, len: usize) -> Result<String, BankError> {
    let t = hex.trim();
    if t.len() != len || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BankError::InvalidDigest(t.chars().take(80).collect()));
    }
    Ok(t.to_ascii_lowercase())
}

/// One known hash in a bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique within the bank: a ULID when generated, or given by the user.
    pub id: String,
    /// The hash, stored as `"pdq"`, `"md5"`, `"sha256"` or `"vpdq"` beside the other fields.
    #[serde(flatten)]
    pub hash: EntryHash,
    /// The PDQ quality of the hash, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// Where the hash came from (a file name, a case number...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was added, RFC 3339 (UTC).
    pub added: String,
}

impl Entry {
    /// An entry with a fresh ULID as id, added now.
    pub fn new(hash: EntryHash) -> Self {
        Entry {
            id: ulid::Ulid::new().to_string(),
            hash,
            quality: None,
            note: None,
            added: now_rfc3339(),
        }
    }

    /// The same entry with `quality` set.
    pub fn with_quality(mut self, quality: u8) -> Self {
        self.quality = Some(quality);
        self
    }

    /// The same entry with `note` set.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// The current time in RFC 3339, UTC, to the second.
pub fn now_rfc3339() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// One bank matched by a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankHit {
    /// Bank name.
    pub bank: String,
    /// The bank's label.
    pub label: String,
    /// The matching entry.
    pub entry_id: String,
    /// Hamming distance (0 for exact digests).
    pub distance: u32,
    /// The entry's note.
    pub note: Option<String>,
    /// For dihedral banks, which of the query hashes matched (the closest one).
    pub dihedral_variant: Option<usize>,
}

/// One video-bank entry matched by a query video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpdqHit {
    /// Bank name.
    pub bank: String,
    /// The matching entry.
    pub entry_id: String,
    /// The bank's label.
    pub label: String,
    /// Percentage of the query video's used frames found in the entry.
    pub query_pct: f64,
    /// Percentage of the entry's used frames found in the query video (what the bank's
    /// `vpdq_match_pct` is compared with).
    pub compared_pct: f64,
    /// Indices into the query's frames of those that matched the entry, ascending (where in
    /// the upload the banned video is).
    pub matched_query: Vec<usize>,
    /// The entry's note.
    pub note: Option<String>,
}

/// Errors of banks and bank files.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// A bank name that is not 1 to 64 of `a-z 0-9 _ -`.
    #[error("invalid bank name {0:?}: use 1 to 64 of a-z, 0-9, '_' and '-'")]
    InvalidName(String),
    /// A bank without a label.
    #[error("bank {0:?} has an empty label")]
    InvalidLabel(String),
    /// A threshold above 256.
    #[error("threshold {0} is above 256")]
    InvalidThreshold(u32),
    /// A vPDQ match percentage outside 0–100.
    #[error("vpdq_match_pct {0} is not a percentage from 0 to 100")]
    InvalidMatchPct(f64),
    /// A vPDQ signature that is not whole frames of quality + hash hex.
    #[error("invalid vPDQ signature: {0}")]
    InvalidSignature(String),
    /// A vPDQ bank with more frames than its index can number (about 4 billion).
    #[error("bank {0:?} is full")]
    BankFull(String),
    /// A digest that is not hex of the right length.
    #[error("not an MD5 (32 hex digits) or SHA-256 (64 hex digits) digest: {0:?}")]
    InvalidDigest(String),
    /// No bank of that name.
    #[error("no bank named {0:?}")]
    UnknownBank(String),
    /// A bank of that name exists already.
    #[error("a bank named {0:?} exists already")]
    BankExists(String),
    /// An entry id used twice in a bank.
    #[error("bank {bank:?} has an entry {id:?} already")]
    DuplicateEntry {
        /// Bank name.
        bank: String,
        /// Entry id.
        id: String,
    },
    /// A PDQ hash added to an exact bank or a digest added to a PDQ bank.
    #[error("bank {bank:?} holds {kind:?} hashes")]
    WrongKind {
        /// Bank name.
        bank: String,
        /// What the bank holds.
        kind: BankKind,
    },
    /// An entry below the bank's minimum quality, not forced.
    #[error("quality {quality} is below the bank's minimum of {min} (force to add anyway)")]
    LowQuality {
        /// The entry's quality.
        quality: u8,
        /// The bank's minimum.
        min: u8,
    },
    /// A bad line in an import.
    #[error("line {line}: {message}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An entry made from a named input (e.g. the file it was hashed from) that the bank
    /// refused.
    #[error("{origin}: {message}")]
    Refused {
        /// Where the entry came from.
        origin: String,
        /// Why it was refused.
        message: String,
    },
    /// A bank file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A bank file that is not valid.
    #[error("{}:{line}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A named, labelled set of PDQ hashes or exact digests.
#[derive(Debug)]
pub struct HashBank {
    config: BankConfig,
    /// Entries by id.
    entries: BTreeMap<String, (u32, Entry)>,
    /// Entry ids by index key.
    keys: HashMap<u32, String>,
    next_key: u32,
    /// PDQ entries by key.
    index: HammingIndex,
    /// Exact entries: `md5:<hex>` or `sha256:<hex>` to keys.
    exact: HashMap<String, Vec<u32>>,
    /// vPDQ banks: which entry each frame in `index` belongs to (there, index ids are frame
    /// ids, not entry keys).
    frames: FrameTable,
}

impl HashBank {
    /// An empty bank.
    pub fn new(config: BankConfig) -> Result<Self, BankError> {
        config.validate()?;
        Ok(HashBank {
            config,
            entries: BTreeMap::new(),
            keys: HashMap::new(),
            next_key: 0,
            index: HammingIndex::new(),
            exact: HashMap::new(),
            frames: FrameTable::default(),
        })
    }

    /// The bank's settings.
    pub fn config(&self) -> &BankConfig {
        &self.config
    }

    /// The bank's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the bank has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with id `id`.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id).map(|(_, e)| e)
    }

    /// All entries, by id (so ULIDs come in the order they were made).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().map(|(_, e)| e)
    }

    /// Adds an entry. Refused when its id is taken, its kind is not the bank's, or its quality
    /// is below the bank's minimum and `force` is not set.
    pub fn add(&mut self, entry: Entry, force: bool) -> Result<(), BankError> {
        let mut pending = Vec::new();
        self.add_deferred(entry, force, &mut pending)?;
        self.index.extend(pending);
        Ok(())
    }

    /// [`add`](Self::add), except that a PDQ hash (or a vPDQ entry's frames) is pushed to
    /// `pending` for the caller to index in one go with [`settle`](Self::settle) (one index
    /// merge per batch, not one per few thousand entries).
    fn add_deferred(
        &mut self,
        entry: Entry,
        force: bool,
        pending: &mut Vec<(u32, PdqHash)>,
    ) -> Result<(), BankError> {
        if entry.hash.kind() != self.config.kind {
            return Err(BankError::WrongKind {
                bank: self.config.name.clone(),
                kind: self.config.kind,
            });
        }
        if let Some(q) = entry.quality {
            if q < self.config.min_quality && !force {
                return Err(BankError::LowQuality {
                    quality: q,
                    min: self.config.min_quality,
                });
            }
        }
        if self.entries.contains_key(&entry.id) {
            return Err(BankError::DuplicateEntry {
                bank: self.config.name.clone(),
                id: entry.id,
            });
        }
        let used = match &entry.hash {
            EntryHash::Vpdq(frames) => self.usable_frames(frames, force)?,
            _ => Vec::new(),
        };
        let key = self.next_key;
        self.next_key += 1;
        match &entry.hash {
            EntryHash::Pdq(h) => pending.push((key, *h)),
            EntryHash::Vpdq(_) => {
                let table = &mut self.frames;
                let first = table.next;
                table.next = u32::try_from(used.len())
                    .ok()
                    .and_then(|n| first.checked_add(n))
                    .ok_or_else(|| BankError::BankFull(self.config.name.clone()))?;
                let ids: Vec<u32> = (first..table.next).collect();
                for (&id, hash) in ids.iter().zip(used) {
                    table.owner.insert(id, key);
                    pending.push((id, hash));
                }
                table.frames.insert(key, ids);
            }
            other => {
                let k = other.exact_key().expect("exact");
                self.exact.entry(k).or_default().push(key);
            }
        }
        self.keys.insert(key, entry.id.clone());
        self.entries.insert(entry.id.clone(), (key, entry));
        Ok(())
    }

    /// The frames of a vPDQ entry that take part in matching (distinct hashes of sufficient
    /// quality). None is refused unless forced: such an entry could never match.
    fn usable_frames(
        &self,
        frames: &[VpdqFeature],
        force: bool,
    ) -> Result<Vec<PdqHash>, BankError> {
        let used = vpdq::used_frames(frames, self.config.min_quality);
        if used.is_empty() && !force {
            return Err(BankError::LowQuality {
                quality: frames.iter().map(|f| f.quality).max().unwrap_or(0),
                min: self.config.min_quality,
            });
        }
        Ok(used)
    }

    /// Removes the entry `id`; returns it if it was there.
    pub fn remove(&mut self, id: &str) -> Option<Entry> {
        let (key, entry) = self.entries.remove(id)?;
        self.keys.remove(&key);
        match &entry.hash {
            EntryHash::Pdq(_) => {
                self.index.remove(key);
            }
            EntryHash::Vpdq(_) => {
                for frame in self.frames.frames.remove(&key).unwrap_or_default() {
                    self.frames.owner.remove(&frame);
                    self.index.remove(frame);
                }
            }
            other => {
                let k = other.exact_key().expect("exact");
                if let Some(v) = self.exact.get_mut(&k) {
                    v.retain(|&x| x != key);
                    if v.is_empty() {
                        self.exact.remove(&k);
                    }
                }
            }
        }
        Some(entry)
    }

    /// Indexes the hashes of a batch added with `add_deferred`.
    fn settle(&mut self, pending: Vec<(u32, PdqHash)>) {
        self.index.extend(pending);
    }

    fn hit(&self, key: u32, distance: u32, variant: Option<usize>) -> BankHit {
        let id = &self.keys[&key];
        let (_, entry) = &self.entries[id];
        BankHit {
            bank: self.config.name.clone(),
            label: self.config.label.clone(),
            entry_id: id.clone(),
            distance,
            note: entry.note.clone(),
            dihedral_variant: variant,
        }
    }

    /// PDQ matches: `hashes[0]` is the query's hash, the others (up to 7) its dihedral
    /// variants, only used when the bank is dihedral. Nothing matches when `quality` is below
    /// the bank's minimum. One hit per entry, from its closest variant.
    pub fn match_pdq(&self, hashes: &[PdqHash], quality: u8) -> Vec<BankHit> {
        if self.config.kind != BankKind::Pdq
            || quality < self.config.min_quality
            || hashes.is_empty()
            || self.index.is_empty()
        {
            return Vec::new();
        }
        let variants = if self.config.dihedral {
            &hashes[..hashes.len().min(8)]
        } else {
            &hashes[..1]
        };
        let mut best: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
        for (v, found) in self
            .index
            .search_batch(variants, self.config.threshold)
            .into_iter()
            .enumerate()
        {
            for (key, d) in found {
                let e = best.entry(key).or_insert((d, v));
                if d < e.0 {
                    *e = (d, v);
                }
            }
        }
        let dihedral = self.config.dihedral;
        best.into_iter()
            .map(|(key, (d, v))| self.hit(key, d, dihedral.then_some(v)))
            .collect()
    }

    /// vPDQ matches of a video's frames (`query`, in video order): every entry with at least
    /// [`BankConfig::vpdq_match_pct`] % of its used frames within the bank's threshold of a
    /// used query frame, and at least one frame matched. Same rule as
    /// [`vpdq::match_vpdq`], computed with one index search per distinct query frame
    /// instead of comparing the query with each entry. Sorted by entry id.
    pub fn match_vpdq(&self, query: &[VpdqFeature]) -> Vec<VpdqHit> {
        if self.config.kind != BankKind::Vpdq || self.index.is_empty() {
            return Vec::new();
        }
        let q = vpdq::used_frames(query, self.config.min_quality);
        // Entry key → (its matched frame ids, the used query frames that matched it).
        let mut found: BTreeMap<u32, (HashSet<u32>, HashSet<usize>)> = BTreeMap::new();
        for (qi, hits) in self
            .index
            .search_batch(&q, self.config.threshold)
            .into_iter()
            .enumerate()
        {
            for (frame, _) in hits {
                if let Some(&key) = self.frames.owner.get(&frame) {
                    let (frames, queries) = found.entry(key).or_default();
                    frames.insert(frame);
                    queries.insert(qi);
                }
            }
        }
        let mut hits = Vec::new();
        for (key, (frames, queries)) in found {
            let total = self.frames.frames.get(&key).map_or(0, Vec::len);
            let compared_pct = vpdq::percent(frames.len(), total);
            if compared_pct < self.config.vpdq_match_pct {
                continue;
            }
            let Some((id, entry)) = self
                .keys
                .get(&key)
                .and_then(|id| self.entries.get(id).map(|(_, e)| (id, e)))
            else {
                continue;
            };
            let matched: HashSet<PdqHash> = queries.iter().map(|&qi| q[qi]).collect();
            hits.push(VpdqHit {
                bank: self.config.name.clone(),
                entry_id: id.clone(),
                label: self.config.label.clone(),
                query_pct: vpdq::percent(queries.len(), q.len()),
                compared_pct,
                matched_query: vpdq::matched_indices(query, self.config.min_quality, &matched),
                note: entry.note.clone(),
            });
        }
        hits.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
        hits
    }

    /// Exact matches of a file's digests (hex, any case; an empty string is ignored).
    pub fn match_exact(&self, md5_hex: &str, sha256_hex: &str) -> Vec<BankHit> {
        let mut hits = Vec::new();
        let keys = [("md5", md5_hex.trim()), ("sha256", sha256_hex.trim())];
        for k in keys
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(alg, h)| format!("{alg}:{}", h.to_ascii_lowercase()))
        {
            for &key in self.exact.get(&k).into_iter().flatten() {
                hits.push(self.hit(key, 0, None));
            }
        }
        hits
    }

    /// Writes the bank to `path` atomically (see [`store::write_bank`]).
    pub fn save(&self, path: &Path) -> Result<(), BankError> {
        store::write_bank(path, &self.config, self.entries())
    }

    /// Reads a bank file (see [`store::read_bank`]).
    pub fn load(path: &Path) -> Result<Self, BankError> {
        let (config, entries) = store::read_bank(path)?;
        let corrupt = |line: usize, message: String| BankError::Corrupt {
            path: path.to_path_buf(),
            line,
            message,
        };
        let mut bank = HashBank::new(config).map_err(|e| corrupt(1, e.to_string()))?;
        let mut pending = Vec::new();
        for (line, entry) in entries {
            bank.add_deferred(entry, true, &mut pending)
                .map_err(|e| corrupt(line, e.to_string()))?;
        }
        bank.settle(pending);
        Ok(bank)
    }
}

/// Entries to add to a bank in one go ([`BankSet::add_batch`]), each with where it came from
/// for messages.
#[derive(Debug, Default)]
pub struct Batch {
    /// Entries parsed from a hash list, each with its 1-based line number.
    pub lines: Vec<(usize, Entry)>,
    /// Other entries, each with a name (e.g. the file it was hashed from).
    pub named: Vec<(String, Entry)>,
}

/// Several banks, matched together, optionally kept in a directory (one file per bank).
#[derive(Debug, Default)]
pub struct BankSet {
    banks: BTreeMap<String, HashBank>,
    dir: Option<PathBuf>,
}

impl BankSet {
    /// An empty set kept in memory only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `*.bank.jsonl` file of `dir` (created if missing); later changes are
    /// saved there. A bad file is an error naming the file and line. Temporary files left by
    /// a crash during a save are deleted (the bank file itself is intact).
    pub fn load(dir: &Path) -> Result<Self, BankError> {
        let io = |source| BankError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        for e in std::fs::read_dir(dir).map_err(io)?.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(".bank.jsonl.tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(store::BANK_SUFFIX) && !n.starts_with('.'))
            })
            .collect();
        paths.sort();
        let mut banks = BTreeMap::new();
        for path in paths {
            let bank = HashBank::load(&path)?;
            let expected = format!("{}{}", bank.name(), store::BANK_SUFFIX);
            if path.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
                return Err(BankError::Corrupt {
                    path,
                    line: 1,
                    message: format!(
                        "the bank is named {:?}, so its file should be {expected}",
                        bank.name()
                    ),
                });
            }
            banks.insert(bank.name().to_string(), bank);
        }
        Ok(BankSet {
            banks,
            dir: Some(dir.to_path_buf()),
        })
    }

    /// The directory the banks are kept in, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The bank named `name`.
    pub fn bank(&self, name: &str) -> Option<&HashBank> {
        self.banks.get(name)
    }

    /// All banks, by name.
    pub fn banks(&self) -> impl Iterator<Item = &HashBank> {
        self.banks.values()
    }

    fn path_of(&self, name: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{name}{}", store::BANK_SUFFIX)))
    }

    fn save(&self, name: &str) -> Result<(), BankError> {
        match (self.path_of(name), self.banks.get(name)) {
            (Some(path), Some(bank)) => bank.save(&path),
            _ => Ok(()),
        }
    }

    fn bank_mut(&mut self, name: &str) -> Result<&mut HashBank, BankError> {
        self.banks
            .get_mut(name)
            .ok_or_else(|| BankError::UnknownBank(name.to_string()))
    }

    /// Creates an empty bank (and its file).
    pub fn create_bank(&mut self, config: BankConfig) -> Result<(), BankError> {
        if self.banks.contains_key(&config.name) {
            return Err(BankError::BankExists(config.name));
        }
        let bank = HashBank::new(config)?;
        let name = bank.name().to_string();
        self.banks.insert(name.clone(), bank);
        if let Err(e) = self.save(&name) {
            self.banks.remove(&name);
            return Err(e);
        }
        Ok(())
    }

    /// Deletes a bank and its file; returns whether it existed.
    pub fn delete_bank(&mut self, name: &str) -> Result<bool, BankError> {
        if self.banks.remove(name).is_none() {
            return Ok(false);
        }
        if let Some(path) = self.path_of(name) {
            std::fs::remove_file(&path).map_err(|source| BankError::Io { path, source })?;
        }
        Ok(true)
    }

    /// Adds entries to a bank, all or none, then saves it once.
    pub fn add_entries(
        &mut self,
        bank: &str,
        entries: impl IntoIterator<Item = Entry>,
        force: bool,
    ) -> Result<(), BankError> {
        let b = self.bank_mut(bank)?;
        let mut added: Vec<String> = Vec::new();
        let mut pending = Vec::new();
        for entry in entries {
            let id = entry.id.clone();
            if let Err(e) = b.add_deferred(entry, force, &mut pending) {
                for id in &added {
                    b.remove(id);
                }
                return Err(e);
            }
            added.push(id);
        }
        b.settle(pending);
        self.save(bank)
    }

    /// Removes entries by id, then saves the bank once; returns how many were there.
    pub fn remove_entries<'a>(
        &mut self,
        bank: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<usize, BankError> {
        let b = self.bank_mut(bank)?;
        let removed = ids.into_iter().filter(|id| b.remove(id).is_some()).count();
        if removed > 0 {
            self.save(bank)?;
        }
        Ok(removed)
    }

    /// The entries of a bank, by id.
    pub fn list_entries(&self, bank: &str) -> Result<Vec<&Entry>, BankError> {
        let b = self
            .banks
            .get(bank)
            .ok_or_else(|| BankError::UnknownBank(bank.to_string()))?;
        Ok(b.entries().collect())
    }

    /// Imports a text list into a bank (see [`crate::import`]); good lines are added even
    /// when `lenient` skips bad ones. Returns what was added and skipped.
    pub fn import(
        &mut self,
        bank: &str,
        text: &str,
        format: crate::import::ImportFormat,
        options: crate::import::ImportOptions,
    ) -> Result<crate::import::ImportReport, BankError> {
        let kind = self.bank_mut(bank)?.config.kind;
        let (lines, mut report) = crate::import::parse(text, format, kind, options.lenient)?;
        let batch = Batch {
            lines,
            named: Vec::new(),
        };
        let added = self.add_batch(bank, None, batch, options)?;
        report.added = added.added;
        report.skipped.extend(added.skipped);
        Ok(report)
    }

    /// Adds a batch to the bank `bank`, first creating it from `create` when given: all or
    /// nothing, saved once. When an entry is refused the bank is left as it was, and a bank
    /// this call was to create is not created. With `options.lenient`, a refused import line
    /// is skipped and reported instead; a named entry never is.
    pub fn add_batch(
        &mut self,
        bank: &str,
        create: Option<BankConfig>,
        batch: Batch,
        options: crate::import::ImportOptions,
    ) -> Result<crate::import::ImportReport, BankError> {
        let created = match create {
            Some(config) => {
                if config.name != bank {
                    return Err(BankError::InvalidName(config.name));
                }
                if self.banks.contains_key(bank) {
                    return Err(BankError::BankExists(config.name));
                }
                self.banks.insert(bank.to_string(), HashBank::new(config)?);
                true
            }
            None => false,
        };
        let result = self.fill(bank, batch, options);
        if result.is_err() && created {
            self.banks.remove(bank);
        }
        result
    }

    /// [`add_batch`](Self::add_batch) on a bank that exists (maybe only in memory so far).
    fn fill(
        &mut self,
        bank: &str,
        batch: Batch,
        options: crate::import::ImportOptions,
    ) -> Result<crate::import::ImportReport, BankError> {
        let b = self.bank_mut(bank)?;
        let mut report = crate::import::ImportReport::default();
        let mut added = Vec::new();
        let mut pending = Vec::new();
        let lines = batch.lines.into_iter().map(|(line, e)| (Err(line), e));
        let named = batch.named.into_iter().map(|(name, e)| (Ok(name), e));
        // `Err(line)` for an import line, `Ok(name)` for a named entry.
        for (origin, entry) in lines.chain(named) {
            let id = entry.id.clone();
            let Err(e) = b.add_deferred(entry, options.force, &mut pending) else {
                added.push(id);
                continue;
            };
            let message = e.to_string();
            match origin {
                Err(line) if options.lenient => {
                    report.skipped.push(BankError::BadLine { line, message });
                    continue;
                }
                _ => {}
            }
            let refused = match origin {
                Err(line) => BankError::BadLine { line, message },
                Ok(origin) => BankError::Refused { origin, message },
            };
            for id in &added {
                b.remove(id);
            }
            return Err(refused);
        }
        report.added = added.len();
        b.settle(pending);
        if let Err(e) = self.save(bank) {
            let b = self.bank_mut(bank)?;
            for id in &added {
                b.remove(id);
            }
            return Err(e);
        }
        Ok(report)
    }

    /// PDQ matches in every PDQ bank: `hashes` is the query's hash, optionally followed by its
    /// 7 other dihedral variants (used by dihedral banks). Sorted by distance, bank, entry.
    pub fn match_pdq(&self, hashes: &[PdqHash], quality: u8) -> Vec<BankHit> {
        let mut hits: Vec<BankHit> = self
            .banks
            .values()
            .flat_map(|b| b.match_pdq(hashes, quality))
            .collect();
        hits.sort_by(|a, b| {
            (a.distance, &a.bank, &a.entry_id).cmp(&(b.distance, &b.bank, &b.entry_id))
        });
        hits
    }

    /// vPDQ matches of a video's frames (`query`, in video order) in every vPDQ bank (see
    /// [`HashBank::match_vpdq`]). Sorted by the share of the entry found (highest first),
    /// then bank, entry.
    pub fn match_vpdq(&self, query: &[VpdqFeature]) -> Vec<VpdqHit> {
        let mut hits: Vec<VpdqHit> = self
            .banks
            .values()
            .flat_map(|b| b.match_vpdq(query))
            .collect();
        hits.sort_by(|a, b| {
            b.compared_pct
                .total_cmp(&a.compared_pct)
                .then_with(|| (&a.bank, &a.entry_id).cmp(&(&b.bank, &b.entry_id)))
        });
        hits
    }

    /// Exact matches of a file's MD5 and SHA-256 (hex, any case; an empty string is
    /// ignored) in every exact bank. Sorted by bank, entry.
    pub fn match_exact(&self, md5_hex: &str, sha256_hex: &str) -> Vec<BankHit> {
        let mut hits: Vec<BankHit> = self
            .banks
            .values()
            .filter(|b| b.config.kind == BankKind::Exact)
            .flat_map(|b| b.match_exact(md5_hex, sha256_hex))
            .collect();
        hits.sort_by(|a, b| (&a.bank, &a.entry_id).cmp(&(&b.bank, &b.entry_id)));
        hits.dedup_by(|a, b| a.bank == b.bank && a.entry_id == b.entry_id);
        hits
    }
}
