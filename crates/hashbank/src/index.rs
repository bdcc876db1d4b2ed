//! Exact Hamming-radius search over 256-bit hashes: [`HammingIndex`].
//!
//! # Method
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space with
//! multi-index hashing", CVPR 2012). The 256 bits are cut into `m` disjoint substrings of
//! `⌊256/m⌋` or `⌈256/m⌉` bits, and each substring gets a table mapping its value to the items
//! having it. Write the query radius as `r = s·m + a` with `0 <= a < m`. If a hash is within `r`
//! of the query, then one of the first `a + 1` substrings is within `s` of the query's, or one of
//! the others is within `s - 1` (otherwise the distances would add up to at least
//! `(a+1)(s+1) + (m-a-1)s = r + 1`). So the search probes, in tables `0..=a`, every key within `s`
//! of the query's substring, and in the other tables every key within `s - 1`; every item found
//! is then checked with a full 256-bit popcount. The result is exact: every stored hash with
//! `distance <= r`, and nothing else. When the probes would cost more than reading everything
//! (a large radius, or a small index), the index is scanned linearly instead.
//!
//! # Layout
//!
//! * **Levels**: a *base* holding the bulk of the items, a *middle* level (at most an eighth of
//!   the base) and a *delta* buffer. Inserts go to the delta, which is scanned linearly, so they
//!   are visible to the very next query. Past 4,096 items the delta is merged into the middle
//!   level (rebuilt: small, so milliseconds), and once the middle level outgrows an eighth of
//!   the base it is merged into the base (a full rebuild, seconds at 10M, but only after
//!   `N/8` inserts). Bulk loads ([`HammingIndex::extend`]) go straight to the base.
//! * **Each level**: codes in a 32-byte-aligned array (one cache line per code, backed by
//!   transparent huge pages where the kernel allows, to spare TLB misses), sorted by item id so
//!   that finding an id for `remove` is a binary search and needs no id map; a tombstone bitset
//!   for deletes (no rebuild; a level is compacted once a quarter of it is dead).
//! * **Tables**: CSR arrays, not hash maps. Table `t` with `w` bits has bucket offsets for
//!   `2^w` keys and `slots`, the positions of the items grouped by substring value (built by a
//!   radix sort). Offsets are a `u32` per block of 256 buckets plus a `u16` per bucket (half of
//!   plain `u32` offsets; plain ones are used if a block ever holds more than 65,535 items). A
//!   probe reads one offset pair and one contiguous run of `slots`.
//! * **Query pipeline**: all probe keys of all tables are listed first; the offsets are
//!   prefetched 32 keys ahead and each non-empty bucket's `slots` run as soon as it is located;
//!   then the candidates are verified with the code 32 candidates ahead being prefetched. This
//!   keeps many cache misses in flight instead of paying them one after another. Candidates
//!   found in several tables are not deduplicated before verification (a random far candidate
//!   rarely shows up twice; a true neighbour does, but its code is then in cache); duplicates
//!   are removed from the short result list instead, which is cheaper than a visited set. No
//!   prefilter is stored beside the ids: at radius 31, a 16- or 32-bit sample of the code
//!   almost never excludes a candidate (a random 32-bit sample differs in ~16 bits), so it
//!   would only add memory.
//! * **Popcount**: the x86-64 baseline has no `POPCNT`, so the search is compiled twice and the
//!   `popcnt` version is picked at run time when the CPU has it.
//!
//! # Choice of `m`
//!
//! For random hashes, the expected number of candidates is
//! `N · Σ_t (keys probed in t) / 2^w_t`, and a probe costs about two cache misses. At radius 31:
//!
//! | m  | bits  | keys probed | candidates at 1M | at 10M | tables at 10M   |
//! |----|-------|-------------|------------------|--------|-----------------|
//! | 16 | 16    | 272         | 4,150            | 41,500 | 640 MB + 4 MB   |
//! | 13 | 19–20 | 1,409       | 1,420            | 14,200 | 520 MB + 23 MB  |
//! | 12 | 21–22 | 2,032       | 730              | 7,300  | 480 MB + 67 MB  |
//! | 11 | 23–24 | 2,866       | 290              | 2,900  | 440 MB + 224 MB |
//!
//! The codes take 320 MB more at 10M, so `m = 11` cannot fit 1 GB, and `m = 16` only just
//! misses (1,003 MB). Measured on the project's 2-core VM (`cargo xtask bench index`, random
//! codes, single query p50): at 1M, `m = 16` 33 µs and `m = 12` 47 µs (the 16-bit offsets stay
//! in cache; the 21–22-bit ones do not); at 10M, `m = 16` 456 µs and `m = 12` 146–213 µs
//! (909 MB), `m = 13` about 1.5× slower than `m = 12`. [`table_count_for`] encodes that
//! choice: 16 tables up to 3M items, 12 beyond. Below [`LINEAR_MAX`] items a level has no
//! tables at all, so a bank of 10 hashes costs a few hundred bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use rampart_pdq::PdqHash;

/// An item's id in a [`HammingIndex`]; chosen by the caller.
pub type ItemId = u32;

/// Below this many items a level has no tables and every query scans it linearly: measured,
/// a scan costs about 1.4 ns per item and a 16-table probe at radius 31 about 3 µs, so they
/// break even near 2,000 items; tables cost a fixed 2 MB (16 × 2^16 offsets), hence a bit more.
pub const LINEAR_MAX: usize = 4_096;

/// The delta buffer is merged into the middle level when it grows past this (a few µs of
/// scanning per query).
const DELTA_LIMIT: usize = 4_096;
/// How far ahead (in items) the query pipeline prefetches.
const PREFETCH_AHEAD: usize = 32;

/// The number of multi-index tables used for a base of `n` items, or `None` for a linear scan.
///
/// `16` tables of 16 bits up to 3 million items, `12` tables of 21–22 bits beyond (see the
/// module documentation for the measurements behind this).
pub fn table_count_for(n: usize) -> Option<usize> {
    if n < LINEAR_MAX {
        None
    } else if n < 3_000_000 {
        Some(16)
    } else {
        Some(12)
    }
}

/// A hash as stored: four limbs in one 32-byte-aligned block, so it never straddles two
/// cache lines.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C, align(32))]
struct Code([u64; 4]);

impl Code {
    fn of(h: &PdqHash) -> Self {
        Code(h.limbs())
    }
}

/// Hamming distance between two codes.
#[inline(always)]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Bits `offset .. offset + width` (`width <= 32`) of a code, as an integer.
#[inline(always)]
fn substring(code: &[u64; 4], offset: u32, width: u32) -> u32 {
    let limb = (offset / 64) as usize;
    let shift = offset % 64;
    let mut v = code[limb] >> shift;
    if shift + width > 64 {
        v |= code[limb + 1] << (64 - shift);
    }
    (v & ((1u64 << width) - 1)) as u32
}

/// Asks the CPU to start loading the cache line holding `p`.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks the kernel to back a large allocation with transparent huge pages, so that random
/// accesses do not miss the TLB on every probe. Call it before the memory is first written.
fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < 4 * HUGE {
            return;
        }
        let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
        let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the vector's allocation; MADV_HUGEPAGE only changes
            // how the kernel backs it, not its contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// Buckets per block of [`Offsets::Narrow`].
const BLOCK_BITS: u32 = 8;

/// Where each bucket's run of slots starts, for keys `0 ..= 2^w` (the last is the end).
enum Offsets {
    /// One `u32` per bucket.
    Wide(Vec<u32>),
    /// One `u32` per block of 256 buckets plus one `u16` per bucket relative to its block:
    /// half the memory, used when no block holds more than 65,535 items.
    Narrow { blocks: Vec<u32>, within: Vec<u16> },
}

impl Offsets {
    fn from_starts(starts: Vec<u32>) -> Offsets {
        let block_start = |k: usize| starts[k >> BLOCK_BITS << BLOCK_BITS];
        let fits = (0..starts.len()).all(|k| starts[k] - block_start(k) <= u32::from(u16::MAX));
        if !fits {
            return Offsets::Wide(starts);
        }
        let blocks: Vec<u32> = starts.iter().step_by(1 << BLOCK_BITS).copied().collect();
        let mut within = Vec::with_capacity(starts.len());
        advise_huge_pages(&within);
        within.extend((0..starts.len()).map(|k| (starts[k] - block_start(k)) as u16));
        Offsets::Narrow { blocks, within }
    }

    #[inline(always)]
    fn start(&self, k: usize) -> u32 {
        match self {
            Offsets::Wide(v) => v[k],
            Offsets::Narrow { blocks, within } => blocks[k >> BLOCK_BITS] + u32::from(within[k]),
        }
    }

    /// Address to prefetch before reading bucket `k`.
    #[inline(always)]
    fn addr(&self, k: usize) -> *const u8 {
        match self {
            Offsets::Wide(v) => v.as_ptr().wrapping_add(k) as *const u8,
            Offsets::Narrow { within, .. } => within.as_ptr().wrapping_add(k) as *const u8,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Offsets::Wide(v) => v.capacity() * 4,
            Offsets::Narrow { blocks, within } => blocks.capacity() * 4 + within.capacity() * 2,
        }
    }
}

/// One substring table in CSR form.
struct Table {
    /// First bit of the substring.
    offset: u32,
    /// Number of bits (at most 24).
    width: u32,
    /// Bucket `k` is `slots[start(k) .. start(k + 1)]`.
    offsets: Offsets,
    /// Base positions, grouped by substring value (ascending within a group).
    slots: Vec<u32>,
}

impl Table {
    /// Groups the slots by substring value with a two-pass LSD radix sort of `(key, slot)`
    /// pairs (cache-friendly, unlike incrementing a counter per item in a 2^w array).
    /// `pairs` and `spare` are work buffers, reused between tables to spare page faults.
    fn build(
        codes: &[Code],
        offset: u32,
        width: u32,
        pairs: &mut Vec<u64>,
        spare: &mut Vec<u64>,
    ) -> Table {
        let buckets = 1usize << width;
        pairs.clear();
        pairs.extend(
            codes
                .iter()
                .enumerate()
                .map(|(slot, c)| u64::from(substring(&c.0, offset, width)) << 32 | slot as u64),
        );
        spare.resize(pairs.len(), 0);
        let low = width / 2;
        radix_pass(pairs, spare, 32, low);
        radix_pass(spare, pairs, 32 + low, width - low);

        let mut slots = Vec::with_capacity(codes.len());
        advise_huge_pages(&slots);
        slots.extend(pairs.iter().map(|&p| p as u32));
        let mut starts = vec![0u32; buckets + 1];
        for &p in pairs.iter() {
            starts[(p >> 32) as usize + 1] += 1;
        }
        for k in 0..buckets {
            starts[k + 1] += starts[k];
        }
        Table {
            offset,
            width,
            offsets: Offsets::from_starts(starts),
            slots,
        }
    }

    fn heap_bytes(&self) -> usize {
        self.offsets.heap_bytes() + self.slots.capacity() * 4
    }
}

/// Stable counting sort of `from` into `to` by bits `shift .. shift + bits` of each value.
fn radix_pass(from: &[u64], to: &mut [u64], shift: u32, bits: u32) {
    let mask = (1u64 << bits) - 1;
    let mut next = vec![0usize; 1 << bits];
    for &v in from {
        next[((v >> shift) & mask) as usize] += 1;
    }
    let mut sum = 0;
    for n in next.iter_mut() {
        let c = *n;
        *n = sum;
        sum += c;
    }
    for &v in from {
        let b = ((v >> shift) & mask) as usize;
        to[next[b]] = v;
        next[b] += 1;
    }
}

/// Splits 256 bits into `m` substrings, the wider ones first.
fn layout(m: usize) -> Vec<(u32, u32)> {
    let narrow = 256 / m as u32;
    let wide = 256 % m as u32;
    let mut offset = 0;
    (0..m as u32)
        .map(|t| {
            let width = if t < wide { narrow + 1 } else { narrow };
            let r = (offset, width);
            offset += width;
            r
        })
        .collect()
}

/// Builds the tables for `codes`, on as many threads as the machine offers.
fn build_tables(codes: &[Code], m: usize) -> Vec<Table> {
    let parts = layout(m);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(m);
    if threads <= 1 || codes.len() < 100_000 {
        let (mut pairs, mut spare) = (Vec::new(), Vec::new());
        return parts
            .iter()
            .map(|&(o, w)| Table::build(codes, o, w, &mut pairs, &mut spare))
            .collect();
    }
    let mut tables: Vec<Option<Table>> = (0..m).map(|_| None).collect();
    std::thread::scope(|scope| {
        let chunks: Vec<_> = tables
            .chunks_mut(m.div_ceil(threads))
            .zip(parts.chunks(m.div_ceil(threads)))
            .collect();
        for (out, parts) in chunks {
            scope.spawn(move || {
                let (mut pairs, mut spare) = (Vec::new(), Vec::new());
                for (slot, &(o, w)) in out.iter_mut().zip(parts) {
                    *slot = Some(Table::build(codes, o, w, &mut pairs, &mut spare));
                }
            });
        }
    });
    tables.into_iter().map(|t| t.expect("built")).collect()
}

/// Number of keys within `radius` of a `width`-bit key.
fn ball_size(width: u32, radius: u32) -> u64 {
    let mut total = 0u64;
    let mut c = 1u64; // C(width, k)
    for k in 0..=radius.min(width) {
        total += c;
        c = c * u64::from(width - k) / u64::from(k + 1);
    }
    total
}

/// Calls `f(key ^ mask)` for every mask of at most `radius` bits within `width` bits.
fn for_each_in_ball(key: u32, width: u32, radius: u32, f: &mut impl FnMut(u32)) {
    fn rec(key: u32, from: u32, width: u32, left: u32, f: &mut impl FnMut(u32)) {
        f(key);
        if left == 0 {
            return;
        }
        for b in from..width {
            rec(key ^ (1 << b), b + 1, width, left - 1, f);
        }
    }
    rec(key, 0, width, radius.min(width), f);
}

/// Reusable per-thread buffers of the query pipeline.
#[derive(Default)]
struct Scratch {
    /// `(table, key)` pairs to probe.
    probes: Vec<(u32, u32)>,
    /// `(table, start, end)` of non-empty buckets.
    runs: Vec<(u32, u32, u32)>,
    /// Base positions to verify.
    candidates: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The immutable-until-merged part of the index.
#[derive(Default)]
struct Base {
    /// Item ids, ascending; position = slot.
    ids: Vec<ItemId>,
    /// Codes by slot.
    codes: Vec<Code>,
    /// Tombstones by slot.
    dead: Vec<u64>,
    /// Number of set tombstones.
    dead_count: usize,
    /// Empty when the base is scanned linearly.
    tables: Vec<Table>,
}

impl Base {
    fn build(ids: Vec<ItemId>, codes: Vec<Code>, tables: Option<usize>) -> Base {
        let tables = match tables {
            Some(m) if !codes.is_empty() => build_tables(&codes, m),
            _ => Vec::new(),
        };
        Base {
            dead: vec![0; ids.len().div_ceil(64)],
            dead_count: 0,
            ids,
            codes,
            tables,
        }
    }

    fn slot_of(&self, id: ItemId) -> Option<usize> {
        let slot = self.ids.binary_search(&id).ok()?;
        (!self.is_dead(slot)).then_some(slot)
    }

    #[inline(always)]
    fn is_dead(&self, slot: usize) -> bool {
        self.dead[slot / 64] >> (slot % 64) & 1 == 1
    }

    fn kill(&mut self, slot: usize) {
        self.dead[slot / 64] |= 1 << (slot % 64);
        self.dead_count += 1;
    }

    fn live(&self) -> usize {
        self.ids.len() - self.dead_count
    }

    /// `(id, code)` of the live items, by id.
    fn live_items(&self) -> impl Iterator<Item = (ItemId, Code)> + '_ {
        (0..self.ids.len())
            .filter(|&s| !self.is_dead(s))
            .map(|s| (self.ids[s], self.codes[s]))
    }

    /// Whether probing the tables at `radius` is expected to beat a linear scan.
    fn use_tables(&self, radius: u32) -> bool {
        if self.tables.is_empty() {
            return false;
        }
        let m = self.tables.len() as u32;
        let (s, a) = (radius / m, radius % m);
        let n = self.codes.len() as f64;
        let mut cost = 0.0;
        for (t, table) in self.tables.iter().enumerate() {
            let r = if t as u32 <= a {
                s
            } else if s == 0 {
                continue;
            } else {
                s - 1
            };
            let keys = ball_size(table.width, r) as f64;
            // A probe is about two cache misses; a candidate is one.
            cost += 2.0 * keys + n * keys / (1u64 << table.width) as f64;
        }
        // A linear scan reads about eight codes in the time of one cache miss.
        cost < n / 8.0
    }

    /// Appends `(id, distance)` of every live item within `radius` (possibly with duplicates).
    #[inline(always)]
    fn search(&self, q: &[u64; 4], radius: u32, out: &mut Vec<(ItemId, u32)>, sc: &mut Scratch) {
        if !self.use_tables(radius) {
            for (slot, c) in self.codes.iter().enumerate() {
                let d = distance(q, &c.0);
                if d <= radius && !self.is_dead(slot) {
                    out.push((self.ids[slot], d));
                }
            }
            return;
        }
        let m = self.tables.len() as u32;
        let (s, a) = (radius / m, radius % m);

        sc.probes.clear();
        for (t, table) in self.tables.iter().enumerate() {
            let r = if t as u32 <= a {
                s
            } else if s == 0 {
                continue;
            } else {
                s - 1
            };
            let key = substring(q, table.offset, table.width);
            let probes = &mut sc.probes;
            for_each_in_ball(key, table.width, r, &mut |k| probes.push((t as u32, k)));
        }

        // Locate the buckets, prefetching offsets ahead and each bucket's slots.
        sc.runs.clear();
        let probes = &sc.probes;
        for i in 0..probes.len() {
            if let Some(&(t, k)) = probes.get(i + PREFETCH_AHEAD) {
                prefetch(self.tables[t as usize].offsets.addr(k as usize));
            }
            let (t, k) = probes[i];
            let table = &self.tables[t as usize];
            let start = table.offsets.start(k as usize);
            let end = table.offsets.start(k as usize + 1);
            if start != end {
                prefetch(table.slots.as_ptr().wrapping_add(start as usize));
                sc.runs.push((t, start, end));
            }
        }

        sc.candidates.clear();
        for &(t, start, end) in &sc.runs {
            sc.candidates
                .extend_from_slice(&self.tables[t as usize].slots[start as usize..end as usize]);
        }

        let cands = &sc.candidates;
        let codes = &self.codes;
        for i in 0..cands.len() {
            if let Some(&ahead) = cands.get(i + PREFETCH_AHEAD) {
                prefetch(codes.as_ptr().wrapping_add(ahead as usize));
            }
            let slot = cands[i] as usize;
            let d = distance(q, &codes[slot].0);
            if d <= radius && !self.is_dead(slot) {
                out.push((self.ids[slot], d));
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4
            + self.codes.capacity() * std::mem::size_of::<Code>()
            + self.dead.capacity() * 8
            + self.tables.iter().map(Table::heap_bytes).sum::<usize>()
    }
}

/// Recent inserts, scanned linearly until merged into the base.
#[derive(Default)]
struct Delta {
    ids: Vec<ItemId>,
    codes: Vec<Code>,
    pos: HashMap<ItemId, usize>,
}

impl Delta {
    fn remove(&mut self, id: ItemId) -> bool {
        let Some(i) = self.pos.remove(&id) else {
            return false;
        };
        self.ids.swap_remove(i);
        self.codes.swap_remove(i);
        if let Some(&moved) = self.ids.get(i) {
            self.pos.insert(moved, i);
        }
        true
    }

    #[inline(always)]
    fn search(&self, q: &[u64; 4], radius: u32, out: &mut Vec<(ItemId, u32)>) {
        for (i, c) in self.codes.iter().enumerate() {
            let d = distance(q, &c.0);
            if d <= radius {
                out.push((self.ids[i], d));
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4
            + self.codes.capacity() * std::mem::size_of::<Code>()
            + self.pos.capacity() * 16
    }
}

/// An exact Hamming-radius index over 256-bit hashes, with incremental inserts and deletes.
///
/// Each item has a caller-chosen [`ItemId`]; inserting an id that is present replaces its
/// hash. Inserts and removals are visible to the very next query. See the module
/// documentation for the method and layout.
///
/// ```
/// use rampart_hashbank::HammingIndex;
/// use rampart_pdq::PdqHash;
///
/// let mut index = HammingIndex::new();
/// index.insert(7, PdqHash::from_limbs([0b1011, 0, 0, 0]));
/// assert_eq!(index.search(&PdqHash::from_limbs([0, 0, 0, 0]), 3), vec![(7, 3)]);
/// assert!(index.search(&PdqHash::from_limbs([0, 0, 0, 0]), 2).is_empty());
/// ```
#[derive(Default)]
pub struct HammingIndex {
    /// The bulk of the items.
    base: Base,
    /// Items merged from the delta since the base was last rebuilt (at most an eighth of it).
    mid: Base,
    /// The latest inserts.
    delta: Delta,
    /// Forced table count (`Some(None)` forces a linear scan); `None` picks by size.
    forced_tables: Option<Option<usize>>,
}

impl std::fmt::Debug for HammingIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HammingIndex")
            .field("len", &self.len())
            .field("base", &self.base.ids.len())
            .field("base_dead", &self.base.dead_count)
            .field("mid", &self.mid.ids.len())
            .field("mid_dead", &self.mid.dead_count)
            .field("delta", &self.delta.ids.len())
            .field("tables", &self.base.tables.len())
            .finish()
    }
}

impl HammingIndex {
    /// An empty index; it allocates nothing until the first insert.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index whose levels always use `tables` multi-index tables (`None`: always a
    /// linear scan) instead of choosing by size with [`table_count_for`]. For tests and
    /// benchmarks: forcing wide tables on the small middle level makes inserts slow.
    ///
    /// # Panics
    ///
    /// If `tables` is not between 11 and 64 (substrings must be 4 to 24 bits wide).
    pub fn with_table_count(tables: Option<usize>) -> Self {
        if let Some(m) = tables {
            assert!((11..=64).contains(&m), "table count {m} is out of 11..=64");
        }
        HammingIndex {
            forced_tables: Some(tables),
            ..Self::default()
        }
    }

    /// An index holding `items`, built in one go (later duplicates of an id win).
    pub fn from_items(items: impl IntoIterator<Item = (ItemId, PdqHash)>) -> Self {
        let mut index = Self::new();
        index.extend(items);
        index
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.base.live() + self.mid.live() + self.delta.ids.len()
    }

    /// Whether the index holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash stored under `id`.
    pub fn get(&self, id: ItemId) -> Option<PdqHash> {
        if let Some(&i) = self.delta.pos.get(&id) {
            return Some(PdqHash::from_limbs(self.delta.codes[i].0));
        }
        for level in [&self.mid, &self.base] {
            if let Some(slot) = level.slot_of(id) {
                return Some(PdqHash::from_limbs(level.codes[slot].0));
            }
        }
        None
    }

    /// Whether `id` is present.
    pub fn contains(&self, id: ItemId) -> bool {
        self.get(id).is_some()
    }

    /// All `(id, hash)` pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (ItemId, PdqHash)> + '_ {
        let delta = self
            .delta
            .ids
            .iter()
            .zip(&self.delta.codes)
            .map(|(&id, c)| (id, PdqHash::from_limbs(c.0)));
        self.base
            .live_items()
            .chain(self.mid.live_items())
            .map(|(id, c)| (id, PdqHash::from_limbs(c.0)))
            .chain(delta)
    }

    /// Inserts `hash` under `id`, replacing the hash `id` had. Returns whether `id` was new.
    pub fn insert(&mut self, id: ItemId, hash: PdqHash) -> bool {
        let fresh = self.put(id, hash);
        if self.delta.ids.len() > DELTA_LIMIT {
            self.flush_delta();
        }
        fresh
    }

    /// Inserts many items, merging at most once at the end (later duplicates of an id win).
    pub fn extend(&mut self, items: impl IntoIterator<Item = (ItemId, PdqHash)>) {
        let mut items = items.into_iter();
        // Small batches go through the delta buffer.
        for (id, hash) in items.by_ref() {
            self.put(id, hash);
            if self.delta.ids.len() > DELTA_LIMIT {
                break;
            }
        }
        if self.delta.ids.len() <= DELTA_LIMIT {
            return;
        }
        // Large ones are merged straight into the base, without the delta's id map.
        let mut bulk: Vec<(ItemId, Code)> = self.take_mid_and_delta();
        bulk.extend(items.map(|(id, h)| (id, Code::of(&h))));
        let base = std::mem::take(&mut self.base);
        self.base = self.rebuild(base, bulk);
    }

    fn put(&mut self, id: ItemId, hash: PdqHash) -> bool {
        if let Some(&i) = self.delta.pos.get(&id) {
            self.delta.codes[i] = Code::of(&hash);
            return false;
        }
        let mut fresh = true;
        for level in [&mut self.mid, &mut self.base] {
            if let Some(slot) = level.slot_of(id) {
                level.kill(slot);
                fresh = false;
            }
        }
        self.delta.pos.insert(id, self.delta.ids.len());
        self.delta.ids.push(id);
        self.delta.codes.push(Code::of(&hash));
        fresh
    }

    /// Removes `id`. Returns whether it was present. Only sets a tombstone (or drops the item
    /// from the delta buffer); a level is compacted once a quarter of it is dead.
    pub fn remove(&mut self, id: ItemId) -> bool {
        if self.delta.remove(id) {
            return true;
        }
        for in_mid in [true, false] {
            let level = if in_mid {
                &mut self.mid
            } else {
                &mut self.base
            };
            let Some(slot) = level.slot_of(id) else {
                continue;
            };
            level.kill(slot);
            if level.dead_count > DELTA_LIMIT && level.dead_count * 4 > level.ids.len() {
                let old = std::mem::take(level);
                let rebuilt = self.rebuild(old, Vec::new());
                *(if in_mid {
                    &mut self.mid
                } else {
                    &mut self.base
                }) = rebuilt;
            }
            return true;
        }
        false
    }

    /// Moves the delta buffer into the middle level, and the middle level into the base once
    /// it exceeds an eighth of it.
    fn flush_delta(&mut self) {
        let delta = self.take_delta();
        let mid = std::mem::take(&mut self.mid);
        self.mid = self.rebuild(mid, delta);
        if self.mid.live() > (self.base.live() / 8).max(LINEAR_MAX) {
            let mid = std::mem::take(&mut self.mid);
            let items = mid.live_items().collect();
            let base = std::mem::take(&mut self.base);
            self.base = self.rebuild(base, items);
        }
    }

    fn take_delta(&mut self) -> Vec<(ItemId, Code)> {
        let delta = std::mem::take(&mut self.delta);
        delta.ids.into_iter().zip(delta.codes).collect()
    }

    /// The middle level's live items followed by the delta's (the two hold different ids).
    fn take_mid_and_delta(&mut self) -> Vec<(ItemId, Code)> {
        let mid = std::mem::take(&mut self.mid);
        let mut items: Vec<(ItemId, Code)> = mid.live_items().collect();
        drop(mid);
        items.extend(self.take_delta());
        items
    }

    /// Merges everything into the base and drops tombstoned items, rebuilding the tables.
    /// Called automatically; public so that a bulk loader can settle the index before
    /// serving.
    pub fn merge(&mut self) {
        let items = self.take_mid_and_delta();
        let base = std::mem::take(&mut self.base);
        self.base = self.rebuild(base, items);
    }

    /// A level holding the live items of `old` and `delta` (in which a later entry for an
    /// id wins, and which wins over `old`).
    fn rebuild(&self, old: Base, mut delta: Vec<(ItemId, Code)>) -> Base {
        // Stable, so that among equal ids the last one stays last; keep only that one.
        delta.sort_by_key(|&(id, _)| id);
        let mut w = 0;
        for r in 0..delta.len() {
            if r + 1 < delta.len() && delta[r + 1].0 == delta[r].0 {
                continue;
            }
            delta[w] = delta[r];
            w += 1;
        }
        delta.truncate(w);

        let n = old.live() + delta.len(); // an upper bound
        let mut ids = Vec::with_capacity(n);
        let mut codes = Vec::with_capacity(n);
        advise_huge_pages(&codes);
        let mut old_items = old.live_items().peekable();
        let mut new = delta.into_iter().peekable();
        loop {
            let take_old = match (old_items.peek(), new.peek()) {
                (Some(o), Some(d)) if o.0 == d.0 => {
                    old_items.next(); // replaced by the delta's entry
                    continue;
                }
                (Some(o), Some(d)) => o.0 < d.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (id, code) = if take_old {
                old_items.next()
            } else {
                new.next()
            }
            .expect("peeked");
            ids.push(id);
            codes.push(code);
        }
        drop(old_items);
        drop(old);
        let tables = match self.forced_tables {
            Some(forced) => forced,
            None => table_count_for(ids.len()),
        };
        Base::build(ids, codes, tables)
    }

    /// Every stored item within `radius` of `query` (`distance <= radius`), as
    /// `(id, distance)` sorted by distance, then id. Exact: nothing is missed.
    pub fn search(&self, query: &PdqHash, radius: u32) -> Vec<(ItemId, u32)> {
        let mut out = Vec::new();
        SCRATCH.with(|sc| self.search_into(query, radius, &mut out, &mut sc.borrow_mut()));
        out
    }

    /// [`search`](Self::search) for each query, reusing the buffers between queries.
    pub fn search_batch(&self, queries: &[PdqHash], radius: u32) -> Vec<Vec<(ItemId, u32)>> {
        SCRATCH.with(|sc| {
            let sc = &mut sc.borrow_mut();
            queries
                .iter()
                .map(|q| {
                    let mut out = Vec::new();
                    self.search_into(q, radius, &mut out, sc);
                    out
                })
                .collect()
        })
    }

    fn search_into(
        &self,
        query: &PdqHash,
        radius: u32,
        out: &mut Vec<(ItemId, u32)>,
        sc: &mut Scratch,
    ) {
        let q = query.limbs();
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU has POPCNT.
                unsafe { self.search_popcnt(&q, radius, out, sc) };
            } else {
                self.search_generic(&q, radius, out, sc);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.search_generic(&q, radius, out, sc);

        out.sort_unstable();
        out.dedup_by_key(|e| e.0);
        out.sort_by_key(|&(id, d)| (d, id));
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn search_popcnt(
        &self,
        q: &[u64; 4],
        radius: u32,
        out: &mut Vec<(ItemId, u32)>,
        sc: &mut Scratch,
    ) {
        self.base.search(q, radius, out, sc);
        self.mid.search(q, radius, out, sc);
        self.delta.search(q, radius, out);
    }

    fn search_generic(
        &self,
        q: &[u64; 4],
        radius: u32,
        out: &mut Vec<(ItemId, u32)>,
        sc: &mut Scratch,
    ) {
        self.base.search(q, radius, out, sc);
        self.mid.search(q, radius, out, sc);
        self.delta.search(q, radius, out);
    }

    /// Heap bytes held (by capacity), not counting allocator overhead or the per-thread
    /// query buffers.
    pub fn heap_bytes(&self) -> usize {
        self.base.heap_bytes() + self.mid.heap_bytes() + self.delta.heap_bytes()
    }

    /// Number of multi-index tables of the base (0 when it is scanned linearly).
    pub fn table_count(&self) -> usize {
        self.base.tables.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_cover_every_bit_once() {
        for m in 11..=64 {
            let parts = layout(m);
            assert_eq!(parts.iter().map(|p| p.1).sum::<u32>(), 256, "m={m}");
            let mut seen = [0u8; 256];
            for &(o, w) in &parts {
                assert!(w <= 24);
                for b in o..o + w {
                    seen[b as usize] += 1;
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "m={m}");
        }
    }

    #[test]
    fn substring_reads_across_limbs() {
        let code = [u64::MAX << 60, 0b1011, 0, 1 << 63];
        assert_eq!(substring(&code, 60, 8), 0b1011_1111);
        assert_eq!(substring(&code, 255, 1), 1);
        assert_eq!(substring(&code, 0, 20), 0);
    }

    #[test]
    fn ball_enumeration_matches_its_size() {
        for (w, r) in [(16, 0), (16, 1), (21, 2), (22, 2), (8, 3), (5, 7)] {
            let mut keys = Vec::new();
            for_each_in_ball(0b101, w, r, &mut |k| keys.push(k));
            assert_eq!(keys.len() as u64, ball_size(w, r));
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len() as u64, ball_size(w, r));
            assert!(keys
                .iter()
                .all(|k| (k ^ 0b101).count_ones() <= r && *k < 1 << w));
        }
    }

    #[test]
    fn small_index_allocates_little() {
        let mut index = HammingIndex::new();
        for i in 0..10u64 {
            index.insert(i as u32, PdqHash::from_limbs([i, i * 3, !i, i << 7]));
        }
        assert_eq!(index.table_count(), 0);
        assert!(index.heap_bytes() < 4096, "{}", index.heap_bytes());
        assert_eq!(
            index.search(&PdqHash::from_limbs([3, 9, !3, 3 << 7]), 0),
            vec![(3, 0)]
        );
    }

    /// One-by-one inserts go through the delta, the middle level and the base; mass removals
    /// compact a level; every step stays exact.
    #[test]
    fn levels_fill_merge_and_compact() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let centre = [next(), next(), next(), next()];
        let mut model: HashMap<ItemId, [u64; 4]> = HashMap::new();
        let mut index = HammingIndex::new();
        let mut saw_mid = false;
        let check = |index: &HammingIndex, model: &HashMap<ItemId, [u64; 4]>| {
            let mut want: Vec<(ItemId, u32)> = model
                .iter()
                .map(|(&id, c)| (id, distance(c, &centre)))
                .filter(|&(_, d)| d <= 40)
                .collect();
            want.sort_by_key(|&(id, d)| (d, id));
            assert_eq!(index.search(&PdqHash::from_limbs(centre), 40), want);
            assert_eq!(index.len(), model.len());
        };
        for i in 0..60_000u32 {
            let mut c = centre;
            for _ in 0..next() % 64 {
                let b = next() % 256;
                c[(b / 64) as usize] ^= 1 << (b % 64);
            }
            let id = i.wrapping_mul(2_654_435_761);
            index.insert(id, PdqHash::from_limbs(c));
            model.insert(id, c);
            saw_mid |= !index.mid.ids.is_empty() && !index.base.ids.is_empty();
            if i % 5_000 == 4_999 {
                check(&index, &model);
            }
        }
        assert!(saw_mid);
        assert!(index.base.ids.len() > 30_000 && !index.base.tables.is_empty());
        // Remove 40% of everything: the base is compacted on the way.
        let ids: Vec<ItemId> = model.keys().copied().collect();
        for (n, id) in ids.iter().enumerate().filter(|(n, _)| n % 5 < 2) {
            assert!(index.remove(*id));
            model.remove(id);
            if n % 4_999 == 0 {
                check(&index, &model);
            }
        }
        assert!(index.base.dead_count * 4 <= index.base.ids.len());
        check(&index, &model);
        index.merge();
        assert_eq!((index.mid.ids.len(), index.delta.ids.len()), (0, 0));
        assert_eq!(index.base.dead_count, 0);
        check(&index, &model);
    }

    #[test]
    fn replacing_and_removing_an_id() {
        let mut index = HammingIndex::new();
        let a = PdqHash::from_limbs([1, 2, 3, 4]);
        let b = PdqHash::from_limbs([!1, 2, 3, 4]);
        assert!(index.insert(5, a));
        index.merge();
        assert!(!index.insert(5, b));
        assert_eq!(index.len(), 1);
        assert_eq!(index.get(5), Some(b));
        assert!(index.search(&a, 10).is_empty());
        assert!(index.remove(5));
        assert!(!index.remove(5));
        assert!(index.is_empty());
        assert!(index.search(&b, 256).is_empty());
    }
}
