//! Times `decode` + PDQ against `decode_jpeg_sampled` + PDQ on the given JPEGs (default: the
//! 1600×1004 test photo, and the 12 MP one when the full fixture set is beside the repository
//! in `../shared/testdata`). Run with `taskset -c 1 cargo run --release --example
//! sampled_timing -p rampart-image -- [FILE…]`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rampart_image::{decode, decode_jpeg_sampled, Limits};

fn stats(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(times[0]), ms(times[times.len() / 2]))
}

fn main() {
    let repo = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..");
    let testdata = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("data/testdata"));
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        let large = "pdq/reg-test-input/exif-rotn/exif-rotn-6.jpg";
        let large = [
            testdata.join(large),
            repo.join("../shared/testdata").join(large),
        ]
        .into_iter()
        .find(|p| p.is_file());
        files = large
            .into_iter()
            .chain([testdata.join("pdq/reg-test-input/dih/bridge-1-original.jpg")])
            .map(|p| p.display().to_string())
            .collect();
    }
    let limits = Limits::default();
    const RUNS: usize = 15;
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        let (mut full, mut fast) = (Vec::new(), Vec::new());
        let (mut a, mut b) = (None, None);
        for _ in 0..RUNS {
            let t = Instant::now();
            let image = decode(&bytes, &limits).expect("decode");
            a = Some(rampart_pdq::hash(&image.pixels()));
            full.push(t.elapsed());
            let t = Instant::now();
            let image = decode_jpeg_sampled(&bytes, &limits)
                .expect("decode")
                .expect("fast path applies");
            b = Some(rampart_pdq::hash(&image.pixels()));
            fast.push(t.elapsed());
        }
        assert_eq!(a, b, "hashes differ");
        let (fmin, fmed) = stats(full);
        let (smin, smed) = stats(fast);
        println!(
            "{file}\n  decode+hash:         min {fmin:7.2} ms  median {fmed:7.2} ms\n  \
             sampled decode+hash: min {smin:7.2} ms  median {smed:7.2} ms  (same hash)"
        );
    }
}
