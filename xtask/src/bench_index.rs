//! `cargo xtask bench index`: Rampart's exact Hamming index (`rampart_hashbank::HammingIndex`)
//! against FAISS on the same random 256-bit codes, radius 31 (`distance <= 31`), one thread.
//!
//! For each size N: N random codes and `queries` queries (seeded; half are a stored code with
//! 0 to 31 random bits flipped, half are random) are written to `<out>/index-<N>-base.u8` and
//! `<out>/index-<N>-queries.u8` as raw 32-byte codes (FAISS's `uint8[n, 32]`; Hamming distance
//! does not depend on bit order as long as both sides read the same bytes), and the exact
//! answer, found by brute force, to `<out>/index-<N>-truth.u32` (`u32` query, `u32` id pairs,
//! little-endian). Then:
//!
//! * Rampart: build time; memory as the index's own accounting of the heap bytes it holds
//!   (`HammingIndex::heap_bytes`, by capacity), with the resident-set growth across the build
//!   (`/proc/self/statm`) in the note; the latter is only meaningful for the first index built in
//!   the process, since later ones reuse memory the allocator kept; single-query latency
//!   p50/p99; batch throughput; and recall against the truth (an extra result would also be
//!   reported, and must not happen).
//! * FAISS, by `xtask/bench/faiss_index.py` in a Python venv at `~/.cache/rampart/venv`
//!   (created, with `faiss-cpu==1.15.1` and `numpy`, if missing): `IndexBinaryMultiHash(256,
//!   16, 16)` with `nflip = 1` (exact at radius 31: 16 chunks of 16 bits, so one chunk is
//!   within 1) and `IndexBinaryFlat(256)`, both `range_search(q, 32)` (FAISS's radius is
//!   strict), `omp_set_num_threads(1)`. Memory is the Python process's resident-set growth.
//!   Brute force is slow at 10M, so the flat index gets fewer single queries there (printed).
//!
//! After the queries, 10,000 more random codes are inserted one by one into Rampart's index,
//! and the mean and worst insert times are noted (the worst includes a merge of the delta
//! buffer).
//!
//! Extra Rampart rows with a forced number of multi-index tables: set
//! `RAMPART_BENCH_TABLES=12,16`. Pin the run to one core for steadier figures
//! (`taskset -c 1`).

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rampart_hashbank::{HammingIndex, PdqHash};

/// Query radius: PDQ's match threshold.
const RADIUS: u32 = 31;

/// One-by-one inserts timed after the queries.
const INSERTS: usize = 10_000;

/// One row of the result table.
struct Row {
    index: String,
    n: usize,
    build_s: f64,
    memory_mb: f64,
    p50_us: f64,
    p99_us: f64,
    batch_qps: f64,
    recall: String,
    note: String,
}

/// SplitMix64, seeded: the same codes on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn hash(&mut self) -> PdqHash {
        PdqHash::from_limbs([self.next(), self.next(), self.next(), self.next()])
    }
}

/// Resident set size of this process, in bytes (Linux; 4 KiB pages).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn write_codes(path: &Path, codes: &[PdqHash]) -> Result<()> {
    let mut bytes = Vec::with_capacity(codes.len() * 32);
    for c in codes {
        bytes.extend_from_slice(&c.to_le_bytes());
    }
    std::fs::write(path, bytes).with_context(|| path.display().to_string())
}

/// Every `(query, id)` with `distance <= RADIUS`, by brute force on all cores.
fn brute_force(base: &[PdqHash], queries: &[PdqHash]) -> Vec<(u32, u32)> {
    fn scan(base: &[PdqHash], first: usize, queries: &[[u64; 4]], out: &mut Vec<(u32, u32)>) {
        for (i, b) in base.iter().enumerate() {
            let b = b.limbs();
            for (qi, q) in queries.iter().enumerate() {
                let d = (b[0] ^ q[0]).count_ones()
                    + (b[1] ^ q[1]).count_ones()
                    + (b[2] ^ q[2]).count_ones()
                    + (b[3] ^ q[3]).count_ones();
                if d <= RADIUS {
                    out.push((qi as u32, (first + i) as u32));
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn scan_popcnt(
        base: &[PdqHash],
        first: usize,
        queries: &[[u64; 4]],
        out: &mut Vec<(u32, u32)>,
    ) {
        scan(base, first, queries, out)
    }

    let qs: Vec<[u64; 4]> = queries.iter().map(PdqHash::limbs).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = base.len().div_ceil(threads).max(1);
    let mut all: Vec<(u32, u32)> = std::thread::scope(|s| {
        let handles: Vec<_> = base
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let qs = &qs;
                s.spawn(move || {
                    let mut out = Vec::new();
                    #[cfg(target_arch = "x86_64")]
                    if std::is_x86_feature_detected!("popcnt") {
                        // SAFETY: the CPU has POPCNT.
                        unsafe { scan_popcnt(part, c * chunk, qs, &mut out) };
                        return out;
                    }
                    scan(part, c * chunk, qs, &mut out);
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("brute force thread"))
            .collect()
    });
    all.sort_unstable();
    all
}

fn percentile(sorted_us: &[f64], p: f64) -> f64 {
    sorted_us[((sorted_us.len() as f64 - 1.0) * p).round() as usize]
}

fn bench_rampart(
    n: usize,
    base: &[PdqHash],
    queries: &[PdqHash],
    truth: &[(u32, u32)],
    tables: Option<usize>,
) -> Row {
    let rss0 = rss_bytes();
    let start = Instant::now();
    let mut index = match tables {
        Some(m) => HammingIndex::with_table_count(Some(m)),
        None => HammingIndex::new(),
    };
    index.extend((0..).zip(base.iter().copied()));
    index.merge();
    let build_s = start.elapsed().as_secs_f64();
    let rss_mb = rss_bytes().saturating_sub(rss0) as f64 / 1e6;

    // Warm-up, then one timed search per query.
    for q in queries.iter().take(100) {
        black_box(index.search(q, RADIUS));
    }
    let mut lat: Vec<f64> = Vec::with_capacity(queries.len());
    let mut found = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        let t = Instant::now();
        let r = index.search(q, RADIUS);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        found.extend(r.into_iter().map(|(id, _)| (qi as u32, id)));
    }
    lat.sort_by(f64::total_cmp);
    let t = Instant::now();
    let batch = index.search_batch(queries, RADIUS);
    let batch_qps = queries.len() as f64 / t.elapsed().as_secs_f64();
    let batch_found: usize = batch.iter().map(Vec::len).sum();

    found.sort_unstable();
    let hits = found
        .iter()
        .filter(|p| truth.binary_search(p).is_ok())
        .count();
    let extra = found.len() - hits;
    let recall = if truth.is_empty() {
        "n/a".to_string()
    } else {
        format!("{:.2}%", 100.0 * hits as f64 / truth.len() as f64)
    };
    let memory_mb = index.heap_bytes() as f64 / 1e6;
    let table_count = index.table_count();

    // Incremental inserts after the bulk build: visible at once, merged in the background of
    // later inserts (delta buffer -> middle level -> base).
    let mut rng = Rng(0x001A_5E27 ^ n as u64);
    let mut worst = 0f64;
    let t = Instant::now();
    for i in 0..INSERTS {
        let ti = Instant::now();
        index.insert((n + i) as u32, rng.hash());
        worst = worst.max(ti.elapsed().as_secs_f64() * 1e6);
    }
    let mean = t.elapsed().as_secs_f64() * 1e6 / INSERTS as f64;
    let mut note = format!(
        "tables {}, RSS +{rss_mb:.0} MB, {INSERTS} inserts: mean {mean:.1} µs, max {worst:.0} µs",
        table_count
    );
    if extra > 0 || batch_found != truth.len() {
        let _ = write!(note, ", EXTRA {extra}, batch found {batch_found}");
    }
    Row {
        index: match tables {
            Some(m) => format!("rampart HammingIndex (m={m})"),
            None => "rampart HammingIndex".into(),
        },
        n,
        build_s,
        memory_mb,
        p50_us: percentile(&lat, 0.5),
        p99_us: percentile(&lat, 0.99),
        batch_qps,
        recall,
        note,
    }
}

/// The Python of the venv with faiss and numpy, set up if missing.
fn faiss_python() -> Result<PathBuf> {
    crate::venv::python_with("faiss, numpy", &["faiss-cpu==1.15.1", "numpy"])
}

/// `xtask/bench/faiss_index.py` in the workspace.
fn faiss_script() -> Result<PathBuf> {
    let p = crate::workspace_root().join("xtask/bench/faiss_index.py");
    if !p.exists() {
        bail!("{} not found", p.display());
    }
    Ok(p)
}

fn bench_faiss(
    python: &Path,
    files: &[PathBuf; 3],
    n: usize,
    flat_single: usize,
    flat_batch: usize,
) -> Result<Vec<Row>> {
    let out = Command::new(python)
        .arg(faiss_script()?)
        .args(files)
        .args([
            n.to_string(),
            flat_single.to_string(),
            flat_batch.to_string(),
        ])
        .env("OMP_NUM_THREADS", "1")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running faiss_index.py")?;
    if !out.status.success() {
        bail!("faiss_index.py failed ({})", out.status);
    }
    let text = String::from_utf8(out.stdout)?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        rows.push(Row {
            index: v["index"].as_str().unwrap_or("?").to_string(),
            n,
            build_s: f("build_s"),
            memory_mb: f("memory_mb"),
            p50_us: f("p50_us"),
            p99_us: f("p99_us"),
            batch_qps: f("batch_qps"),
            recall: format!("{:.2}%", 100.0 * f("recall")),
            note: v["note"].as_str().unwrap_or("").to_string(),
        });
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<42} {:>10} {:>8} {:>10} {:>10} {:>10} {:>11} {:>8}  note",
        "index", "N", "build s", "memory MB", "p50 µs", "p99 µs", "batch q/s", "recall"
    );
    for r in rows {
        println!(
            "{:<42} {:>10} {:>8.2} {:>10.0} {:>10.1} {:>10.1} {:>11.0} {:>8}  {}",
            r.index, r.n, r.build_s, r.memory_mb, r.p50_us, r.p99_us, r.batch_qps, r.recall, r.note
        );
    }
}

/// Runs the benchmark for each size in `sizes` with `queries` queries, writing the code
/// files to `out_dir`, and prints one table comparing Rampart and FAISS.
pub fn bench_index(sizes: &[usize], queries: usize, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| out_dir.display().to_string())?;
    let python = faiss_python()?;
    let forced: Vec<usize> = std::env::var("RAMPART_BENCH_TABLES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for &n in sizes {
        let mut rng = Rng(0x00BE_7C40 ^ n as u64);
        let base: Vec<PdqHash> = (0..n).map(|_| rng.hash()).collect();
        let qs: Vec<PdqHash> = (0..queries)
            .map(|i| {
                if i % 2 == 0 && n > 0 {
                    let mut l = base[(rng.next() % n as u64) as usize].limbs();
                    let flips = rng.next() % u64::from(RADIUS + 1);
                    // Distinct bits, so that the distance is exactly `flips`.
                    let mut mask = [0u64; 4];
                    let mut flipped = 0;
                    while flipped < flips {
                        let b = rng.next() % 256;
                        let (limb, bit) = ((b / 64) as usize, b % 64);
                        if mask[limb] >> bit & 1 == 0 {
                            mask[limb] |= 1 << bit;
                            flipped += 1;
                        }
                    }
                    for (x, m) in l.iter_mut().zip(mask) {
                        *x ^= m;
                    }
                    PdqHash::from_limbs(l)
                } else {
                    rng.hash()
                }
            })
            .collect();
        let stem = out_dir.join(format!("index-{n}"));
        let files = [
            stem.with_extension("base.u8"),
            stem.with_extension("queries.u8"),
            stem.with_extension("truth.u32"),
        ];
        write_codes(&files[0], &base)?;
        write_codes(&files[1], &qs)?;
        let t = Instant::now();
        let truth = brute_force(&base, &qs);
        eprintln!(
            "N={n}: {} true pairs at <= {RADIUS} (brute force {:.1} s)",
            truth.len(),
            t.elapsed().as_secs_f64()
        );
        let mut bytes = Vec::with_capacity(truth.len() * 8);
        for (q, id) in &truth {
            bytes.extend_from_slice(&q.to_le_bytes());
            bytes.extend_from_slice(&id.to_le_bytes());
        }
        std::fs::File::create(&files[2])?.write_all(&bytes)?;

        rows.push(bench_rampart(n, &base, &qs, &truth, None));
        for &m in &forced {
            rows.push(bench_rampart(n, &base, &qs, &truth, Some(m)));
        }
        print_table(&rows[rows.len() - 1 - forced.len()..]);
        drop(base);

        // Brute force is ~N·2 ns per query: keep the flat index's share of the run bounded.
        let flat_single = (queries).min((200_000_000 / n.max(1)).max(50));
        let flat_batch = (queries).min((2_000_000_000 / n.max(1)).max(100));
        let faiss = bench_faiss(&python, &files, n, flat_single, flat_batch)?;
        print_table(&faiss);
        rows.extend(faiss);
    }
    println!("\nAll sizes, radius {RADIUS} (distance <= {RADIUS}), {queries} queries, one thread:");
    print_table(&rows);
    println!(
        "memory: rampart = heap bytes held by the index (its accounting); \
         faiss = resident-set growth of the Python process while adding the codes"
    );
    Ok(())
}
