//! `cargo xtask bench pdq`: the per-image time of `rampart hash pdq` work (decode included)
//! against the `pdqhash` PyPI package with Pillow decoding, side by side in one run on the
//! same files, one thread.
//!
//! Inputs, under `$RAMPART_TESTDATA/pdq` (default the repository's `data/testdata/pdq`):
//! `reg-test-input/labelme-subset/q0122.jpg` (256×256), `reg-test-input/dih/bridge-1-original.jpg`
//! (1600×1004) and `reg-test-input/exif-rotn/exif-rotn-6.jpg` (4032×3024, 12 MP), and their
//! lossless PNG copies `lossless/<same path>.png` where they exist. The repository's trimmed
//! copy lacks the 12 MP photo and the large lossless copies: they are read from the full fixture
//! set beside the repository (`../shared/testdata/pdq`) when it is there, else left out.
//!
//! * Rampart, in process: "decode+hash" is `std::fs::read` + [`rampart_image::decode`] (default
//!   limits) + [`rampart_pdq::hash`] per iteration; "hash only" is `rampart_pdq::hash` on the
//!   already decoded image; "decode only" is read + decode. For images over 512 px the hash is
//!   also timed on the image already squashed to 512×512 by the reference's nearest-neighbour
//!   rule, which splits "hash only" into the pre-resize gather from the big buffer and the rest
//!   (luma of 512², blur, decimation, DCT).
//! * The `rampart` CLI, as a whole process (`rampart hash pdq FILE`, which computes the 8
//!   dihedral hashes), 1 warm-up and 5 timed runs per input, for context. The binary is
//!   `$RAMPART_BIN`, else `$CARGO_TARGET_DIR/release/rampart`, else `rampart` beside this
//!   executable, else `target/release/rampart` in the workspace; the column is skipped when
//!   none exists. Build it first with `cargo build --release -p rampart-cli`.
//! * pdqhash 0.2.8 + Pillow, by `xtask/bench/pdqhash_bench.py` in the venv at
//!   `~/.cache/rampart/venv` (pdqhash, Pillow and numpy installed if missing), run under
//!   `taskset -c 1` when taskset exists. Two variants: with the reference's 512×512
//!   nearest-neighbour pre-resize emulated (numpy indexing, `floor(x·W/512)`; Pillow's own
//!   `NEAREST` samples pixel centres and picks other pixels), which is bit-exact with the
//!   reference, and on the full image, as a naive user would call it.
//!
//! Each timing is `N` iterations after 2 warm-ups (N = 200 for images of ≤ 512², 20 up to
//! 2 MP, 10 above); min and median are printed, p99 (nearest rank) where N ≥ 100. The file
//! read is inside the "decode" timings on both sides (from the page cache).
//!
//! The reference C++ figures are quoted constants, not measured: the README's "Performance
//! anchor" table (`pdq-photo-hasher` decoding through an ImageMagick `convert` subprocess) and
//! the note that the reference built with in-process libjpeg takes about 1.8 / 19 / 81 ms.
//!
//! Run pinned to one core: `taskset -c 1 cargo xtask bench pdq`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rampart_image::{decode_for_pdq, DecodedImage, Limits};
use rampart_pdq::{Layout, PdqHash, Pixels};

/// The three JPEGs, relative to the `pdq` test-data folder.
const INPUTS: [&str; 3] = [
    "reg-test-input/labelme-subset/q0122.jpg",
    "reg-test-input/dih/bridge-1-original.jpg",
    "reg-test-input/exif-rotn/exif-rotn-6.jpg",
];

/// Warm-up iterations before every timed loop.
const WARMUP: usize = 2;
/// Timed runs of the CLI process per input (after one warm-up).
const CLI_RUNS: usize = 5;

/// Reference C++ figures, quoted (not measured): end-to-end per image through ImageMagick
/// `convert`, the README's "hash" split (luma + PDQ after the pre-resize), and the in-process
/// libjpeg build. Indexed like [`INPUTS`].
const QUOTED_JPEG_E2E: [&str; 3] = ["11.6–12.4", "45–50", "212–219"];
const QUOTED_JPEG_HASH: [&str; 3] = ["0.95", "4.3", "4.3"];
const QUOTED_LIBJPEG: [&str; 3] = ["1.8", "19", "81"];
const QUOTED_PNG_E2E: [&str; 3] = ["12.4–13.8", "79–81", "365–368"];

/// One input file.
struct Input {
    /// Index into [`INPUTS`].
    which: usize,
    /// `jpg` or `png`.
    kind: &'static str,
    path: PathBuf,
    /// The reference's hash, from `expected.csv` / `expected-lossless.csv`.
    expected: Option<PdqHash>,
}

/// Rampart's figures for one input, sorted samples in ms.
struct RampartRun {
    width: u32,
    height: u32,
    n: usize,
    hash: PdqHash,
    quality: u8,
    total: Vec<f64>,
    decode: Vec<f64>,
    hash_only: Vec<f64>,
    /// `rampart_pdq::hash` on the image already squashed to 512×512, for images over 512 px.
    hash_512: Option<Vec<f64>>,
}

/// pdqhash + Pillow figures for one input, sorted samples in ms.
struct PyRun {
    nn_hash: PdqHash,
    nn_quality: u8,
    full_hash: PdqHash,
    pillow_nearest_matches: Option<bool>,
    decode: Vec<f64>,
    nn_total: Vec<f64>,
    nn_hash_only: Vec<f64>,
    full_total: Vec<f64>,
    full_hash_only: Vec<f64>,
}

/// Runs the benchmark on the inputs found in `testdata` (test-data folders, or their `pdq`
/// subfolders; the first that holds a file wins) and prints the table. The `rampart` binary
/// for the process column: see the module docs.
pub fn bench_pdq(testdata: &[PathBuf]) -> Result<()> {
    bench_pdq_with(testdata, None)
}

/// [`bench_pdq`] with an explicit `rampart` binary for the process column.
pub fn bench_pdq_with(testdata: &[PathBuf], rampart_bin: Option<&Path>) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: xtask is a debug build; run `cargo xtask bench pdq` (release)");
    }
    let pdq_dirs: Vec<PathBuf> = testdata.iter().filter_map(|d| pdq_dir(d)).collect();
    if pdq_dirs.is_empty() {
        bail!(
            "{} not found under {:?} (or their pdq/ folders; set RAMPART_TESTDATA)",
            INPUTS[0],
            testdata
        );
    }
    let inputs = inputs(&pdq_dirs)?;
    let rampart_bin = rampart_bin.map(Path::to_path_buf).or_else(find_rampart_bin);
    match &rampart_bin {
        Some(p) => eprintln!("rampart CLI: {}", p.display()),
        None => eprintln!("rampart CLI not found (set RAMPART_BIN): the process column is skipped"),
    }

    let mut rampart = Vec::new();
    for input in &inputs {
        eprintln!("rampart: {}", input.path.display());
        rampart.push(bench_rampart(&input.path)?);
    }
    let mut cli = Vec::new();
    for (input, r) in inputs.iter().zip(&rampart) {
        cli.push(match &rampart_bin {
            Some(bin) => Some(bench_cli(bin, &input.path, &r.hash)?),
            None => None,
        });
    }
    let python = pdqhash_python()?;
    eprintln!("pdqhash + Pillow ({})", python.display());
    let (py, versions) = bench_pdqhash(&python, &inputs, &rampart)?;

    print!("{}", report(&inputs, &rampart, &cli, &py, &versions));
    let mismatched: Vec<String> = inputs
        .iter()
        .zip(&rampart)
        .zip(&py)
        .filter(|((_, r), p)| r.hash != p.nn_hash || r.quality != p.nn_quality)
        .map(|((i, _), _)| i.path.display().to_string())
        .collect();
    if !mismatched.is_empty() {
        bail!(
            "Rampart's hash differs from pdqhash with the pre-resize emulated on: {}",
            mismatched.join(", ")
        );
    }
    Ok(())
}

/// `testdata/pdq`, or `testdata` itself if it is the `pdq` folder.
fn pdq_dir(testdata: &Path) -> Option<PathBuf> {
    [testdata.join("pdq"), testdata.to_path_buf()]
        .into_iter()
        .find(|dir| dir.join(INPUTS[0]).is_file())
}

/// The JPEGs and the PNGs that exist in one of `pdq_dirs`, JPEGs first, each with its
/// reference hash. Only the first two JPEGs are required (the repository has them).
fn inputs(pdq_dirs: &[PathBuf]) -> Result<Vec<Input>> {
    let expected: Vec<(String, PdqHash)> =
        pdq_dirs.iter().flat_map(|d| expected_hashes(d)).collect();
    let mut out = Vec::new();
    for (kind, prefix, suffix) in [("jpg", "", ""), ("png", "lossless/", ".png")] {
        for (which, rel) in INPUTS.iter().enumerate() {
            let key = format!("{prefix}{rel}{suffix}");
            let Some(path) = pdq_dirs.iter().map(|d| d.join(&key)).find(|p| p.is_file()) else {
                if kind == "jpg" && which < 2 {
                    bail!("{key} is missing from {pdq_dirs:?}");
                }
                if kind == "jpg" {
                    eprintln!(
                        "{key} is not in {pdq_dirs:?} (only the full fixture set has it): left out"
                    );
                }
                continue;
            };
            out.push(Input {
                which,
                kind,
                path,
                expected: expected.iter().find(|(f, _)| *f == key).map(|(_, h)| *h),
            });
        }
    }
    Ok(out)
}

/// `(file, hash)` rows of `expected.csv` and `expected-lossless.csv` (missing files skipped).
fn expected_hashes(pdq_dir: &Path) -> Vec<(String, PdqHash)> {
    let mut out = Vec::new();
    for name in ["expected.csv", "expected-lossless.csv"] {
        let Ok(text) = std::fs::read_to_string(pdq_dir.join(name)) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut fields = line.split(',');
            if let (Some(file), Some(hash)) = (fields.next(), fields.next()) {
                if let Ok(h) = hash.parse() {
                    out.push((file.to_string(), h));
                }
            }
        }
    }
    out
}

/// Iterations for an image of `pixels` pixels.
fn iterations(pixels: u64) -> usize {
    if pixels <= 512 * 512 {
        200
    } else if pixels <= 2_000_000 {
        20
    } else {
        10
    }
}

/// `n` timed runs of `f` after [`WARMUP`] untimed ones, sorted, in ms.
fn time_n<T>(n: usize, mut f: impl FnMut() -> T) -> Vec<f64> {
    for _ in 0..WARMUP {
        black_box(f());
    }
    let mut out: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn read_and_decode(path: &Path) -> Result<DecodedImage> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_for_pdq(&bytes, &Limits::default())
        .with_context(|| format!("decoding {}", path.display()))
}

fn bench_rampart(path: &Path) -> Result<RampartRun> {
    let image = read_and_decode(path)?;
    let out = rampart_pdq::hash(&image.pixels());
    let n = iterations(image.width as u64 * image.height as u64);
    let total = time_n(n, || {
        let image = read_and_decode(path).expect("decoded once already");
        rampart_pdq::hash(&image.pixels())
    });
    let decode = time_n(n, || read_and_decode(path).expect("decoded once already"));
    let pixels = image.pixels();
    let hash_only = time_n(n, || rampart_pdq::hash(&pixels));
    let hash_512 = nn_512(&image).map(|small| {
        let small = Pixels::new(512, 512, image.layout, &small).expect("512×512 samples");
        assert_eq!(
            rampart_pdq::hash(&small),
            out,
            "hashing the pre-resized copy gives the same hash"
        );
        time_n(n, || rampart_pdq::hash(&small))
    });
    Ok(RampartRun {
        width: image.width,
        height: image.height,
        n,
        hash: out.hash,
        quality: out.quality,
        total,
        decode,
        hash_only,
        hash_512,
    })
}

/// The reference's pre-resize of images with a side over 512: 512×512 by nearest neighbour,
/// `dst(x, y) = src(x·W/512, y·H/512)`. `None` for images that are not resized.
fn nn_512(image: &DecodedImage) -> Option<Vec<u8>> {
    let (w, h) = (image.width as usize, image.height as usize);
    if w <= 512 && h <= 512 {
        return None;
    }
    let c = match image.layout {
        Layout::Grey => 1,
        _ => 3,
    };
    let mut out = Vec::with_capacity(512 * 512 * c);
    for y in 0..512 {
        let row = &image.samples[(y * h / 512) * w * c..][..w * c];
        for x in 0..512 {
            let sx = x * w / 512;
            out.extend_from_slice(&row[sx * c..sx * c + c]);
        }
    }
    Some(out)
}

/// Wall time of whole `rampart hash pdq FILE` processes, sorted, in ms.
fn bench_cli(bin: &Path, file: &Path, expected: &PdqHash) -> Result<Vec<f64>> {
    let run = || -> Result<f64> {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(["hash", "pdq"])
            .arg(file)
            .output()
            .with_context(|| format!("running {}", bin.display()))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            bail!(
                "{} hash pdq {} failed ({}): {}",
                bin.display(),
                file.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if !text.starts_with(&expected.to_string()) {
            bail!(
                "{} hash pdq {} printed {}, the library gives {expected}",
                bin.display(),
                file.display(),
                text.trim()
            );
        }
        Ok(ms)
    };
    run()?;
    let mut out = (0..CLI_RUNS).map(|_| run()).collect::<Result<Vec<_>>>()?;
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// `$RAMPART_BIN`, `$CARGO_TARGET_DIR/release/rampart`, `rampart` beside this executable (or
/// in `../release` from it), `target/release/rampart` in the workspace: the first that exists.
fn find_rampart_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RAMPART_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("release/rampart"));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join("rampart"));
            candidates.push(dir.join("../release/rampart"));
            candidates.push(dir.join("../../release/rampart"));
        }
    }
    candidates.push(crate::workspace_root().join("target/release/rampart"));
    candidates.into_iter().find(|p| p.is_file())
}

/// The Python of the venv with pdqhash, Pillow and numpy, set up if missing.
fn pdqhash_python() -> Result<PathBuf> {
    crate::venv::python_with(
        "pdqhash, PIL, numpy",
        &["pdqhash==0.2.8", "pillow", "numpy"],
    )
}

/// `xtask/bench/pdqhash_bench.py` in the workspace.
fn pdqhash_script() -> Result<PathBuf> {
    let p = crate::workspace_root().join("xtask/bench/pdqhash_bench.py");
    if !p.exists() {
        bail!("{} not found", p.display());
    }
    Ok(p)
}

fn taskset_available() -> bool {
    Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the Python peer on every input with Rampart's iteration counts. Returns one result per
/// input and the versions line.
fn bench_pdqhash(
    python: &Path,
    inputs: &[Input],
    rampart: &[RampartRun],
) -> Result<(Vec<PyRun>, String)> {
    let script = pdqhash_script()?;
    let mut cmd = if taskset_available() {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(python);
        c
    } else {
        Command::new(python)
    };
    cmd.arg(&script);
    for (input, r) in inputs.iter().zip(rampart) {
        cmd.arg(format!("{}:{}", r.n, input.path.display()));
    }
    let out = cmd
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running pdqhash_bench.py")?;
    if !out.status.success() {
        bail!("pdqhash_bench.py failed ({})", out.status);
    }
    let text = String::from_utf8(out.stdout)?;
    let mut runs = Vec::new();
    let mut versions = String::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let Some(vs) = v.get("versions").and_then(|v| v.as_object()) {
            versions = vs
                .iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ");
            continue;
        }
        let samples = |k: &str| -> Vec<f64> {
            v[k].as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default()
        };
        let hash = |k: &str| -> Result<PdqHash> {
            v[k].as_str()
                .context("missing hash")?
                .parse()
                .map_err(|e| anyhow::anyhow!("{k}: {e:?}"))
        };
        runs.push(PyRun {
            nn_hash: hash("nn_hash_hex")?,
            nn_quality: v["nn_quality"].as_u64().unwrap_or(0) as u8,
            full_hash: hash("full_hash_hex")?,
            pillow_nearest_matches: v["pillow_nearest_matches_reference"].as_bool(),
            decode: samples("decode"),
            nn_total: samples("nn_total"),
            nn_hash_only: samples("nn_hash"),
            full_total: samples("full_total"),
            full_hash_only: samples("full_hash"),
        });
    }
    if runs.len() != inputs.len() {
        bail!(
            "pdqhash_bench.py gave {} results for {} inputs",
            runs.len(),
            inputs.len()
        );
    }
    Ok((runs, versions))
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// "min / median".
fn min_med(s: &[f64]) -> String {
    format!("{} / {}", ms(percentile(s, 0.0)), ms(percentile(s, 0.5)))
}

fn input_name(input: &Input) -> String {
    let file = INPUTS[input.which].rsplit('/').next().unwrap_or("?");
    match input.kind {
        "png" => format!("{file}.png (lossless)"),
        _ => file.to_string(),
    }
}

fn report(
    inputs: &[Input],
    rampart: &[RampartRun],
    cli: &[Option<Vec<f64>>],
    py: &[PyRun],
    versions: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nPDQ per image, one thread, ms as min / median over N iterations (decode includes the \
         file read from the page cache)\n"
    );
    let _ = writeln!(
        s,
        "| input | size | rampart decode+hash min/median ms | rampart hash-only | \
         pdqhash+Pillow (NN 512 emulated) | pdqhash+Pillow full image | reference C++ (quoted) \
         | hash equal? |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for ((input, r), p) in inputs.iter().zip(rampart).zip(py) {
        let quoted = match input.kind {
            "png" => format!("{} via convert", QUOTED_PNG_E2E[input.which]),
            _ => format!(
                "{} via convert (hash {}); ≈{} libjpeg in-process",
                QUOTED_JPEG_E2E[input.which],
                QUOTED_JPEG_HASH[input.which],
                QUOTED_LIBJPEG[input.which]
            ),
        };
        let d_nn = r.hash.distance(&p.nn_hash);
        let mut equal = if d_nn == 0 && r.quality == p.nn_quality {
            "yes".to_string()
        } else {
            format!("NO: {d_nn} bits, quality {} vs {}", r.quality, p.nn_quality)
        };
        if let Some(e) = input.expected {
            let _ = write!(equal, "; reference d={}", r.hash.distance(&e));
        }
        let _ = write!(
            equal,
            "; full-image pdqhash d={}",
            r.hash.distance(&p.full_hash)
        );
        let _ = writeln!(
            s,
            "| {} | {}×{} | {} | {} | {} (hash {}) | {} (hash {}) | {} | {} |",
            input_name(input),
            r.width,
            r.height,
            min_med(&r.total),
            min_med(&r.hash_only),
            min_med(&p.nn_total),
            min_med(&p.nn_hash_only),
            min_med(&p.full_total),
            min_med(&p.full_hash_only),
            quoted,
            equal
        );
    }
    let _ = writeln!(
        s,
        "\nreference C++ figures are QUOTED, not measured: data/testdata/pdq/README.md \
         \"Performance anchor\" (pdq-photo-hasher decoding through an ImageMagick `convert` \
         subprocess, end to end; \"hash\" = luma + PDQ after the pre-resize) and the note that \
         the reference built with in-process libjpeg takes about 1.8 / 19 / 81 ms."
    );

    let _ = writeln!(s, "\nDetail (ms; p99 by nearest rank where N ≥ 100)\n");
    let _ = writeln!(
        s,
        "| input | N | rampart decode only | Pillow decode only | rampart hash on 512² copy | \
         rampart p99 | pdqhash NN p99 | rampart CLI process min / median | median speed-up vs \
         pdqhash NN |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for (((input, r), p), c) in inputs.iter().zip(rampart).zip(py).zip(cli) {
        let p99 = |v: &[f64]| {
            if r.n >= 100 {
                ms(percentile(v, 0.99))
            } else {
                "–".to_string()
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2}× |",
            input_name(input),
            r.n,
            min_med(&r.decode),
            min_med(&p.decode),
            r.hash_512.as_deref().map_or("–".to_string(), min_med),
            p99(&r.total),
            p99(&p.nn_total),
            c.as_deref().map_or("skipped".to_string(), min_med),
            percentile(&p.nn_total, 0.5) / percentile(&r.total, 0.5),
        );
    }

    let _ = writeln!(
        s,
        "\nWhere the time goes (minimum of each loop in ms: the least disturbed by other load; \
         parts are separate loops, so they need not add up exactly)\n"
    );
    for ((input, r), p) in inputs.iter().zip(rampart).zip(py) {
        let min = |v: &[f64]| percentile(v, 0.0);
        let (total, dec, hash) = (min(&r.total), min(&r.decode), min(&r.hash_only));
        let mut line = format!(
            "- {}: rampart {} = decode {} ({:.0}%) + hash {}",
            input_name(input),
            ms(total),
            ms(dec),
            100.0 * dec / total,
            ms(hash)
        );
        if let Some(h512) = r.hash_512.as_deref() {
            let h512 = min(h512);
            let _ = write!(
                line,
                " [pre-resize gather from the full buffer ≈{} + luma/blur/decimate/DCT on 512² {}]",
                ms((hash - h512).max(0.0)),
                ms(h512)
            );
        }
        let _ = write!(
            line,
            "; pdqhash NN {} = Pillow decode {} + resize/luma/hash {}",
            ms(min(&p.nn_total)),
            ms(min(&p.decode)),
            ms(min(&p.nn_hash_only))
        );
        if let Some(m) = p.pillow_nearest_matches {
            let _ = write!(
                line,
                "; Pillow resize(NEAREST) {} the reference's pixels",
                if m { "picks" } else { "does NOT pick" }
            );
        }
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(
        s,
        "\nHashes (Rampart must be distance 0 from pdqhash with the pre-resize emulated):"
    );
    for ((input, r), p) in inputs.iter().zip(rampart).zip(py) {
        let _ = writeln!(
            s,
            "- {}: rampart {} q{}, pdqhash NN {} q{} (d={}), pdqhash full image {} (d={})",
            input_name(input),
            r.hash,
            r.quality,
            p.nn_hash,
            p.nn_quality,
            r.hash.distance(&p.nn_hash),
            p.full_hash,
            r.hash.distance(&p.full_hash)
        );
    }
    let _ = writeln!(s, "\nPython peer: {versions}");
    s
}
