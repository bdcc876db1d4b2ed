//! vPDQ hashing against Meta's reference hashes of the ThreatExchange sample videos
//! (`data/testdata/vpdq/`), checked the way the reference's own `regtest.py` +
//! `match-hashes-byline` check a rebuild: line by line, with a distance tolerance.

use std::path::PathBuf;

use rampart_media::video::VideoLimits;
use rampart_media::vpdq::{self, VpdqFrame, VpdqOptions};
use rampart_media::MediaError;

/// The sample videos kept in the repository (an SD one and an HD one with many low-quality
/// frames); the two chair videos' reference hashes are kept for the matching tests only.
const SAMPLES: [&str; 2] = ["pattern-sd-grey-bar", "doorknob-hd-no-bar"];

/// regtest.py: lines where either quality is below this are not compared.
const MIN_QUALITY: u8 = 50;
/// regtest.py: compared lines match when the distance is below this.
const DISTANCE_BELOW: u32 = 31;

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
        .join("vpdq")
}

fn fixture(relative: &str) -> PathBuf {
    let path = testdata().join(relative);
    assert!(
        path.is_file(),
        "missing fixture {} (data/testdata/vpdq/README.md lists them; or set RAMPART_TESTDATA)",
        path.display()
    );
    path
}

fn reference_hashes(name: &str) -> Vec<VpdqFrame> {
    let path = fixture(&format!("sample-hashes/{name}.txt"));
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    vpdq::parse_hash_file(&text).expect("the reference hash file parses")
}

fn hash(name: &str, opts: &VpdqOptions) -> Vec<VpdqFrame> {
    let path = fixture(&format!("sample-videos/{name}.mp4"));
    vpdq::hash_video(&path, opts, &VideoLimits::default())
        .unwrap_or_else(|e| panic!("hashing {name}: {e}"))
}

/// What `match-hashes-byline` reports for two hash lists of the same frames.
struct ByLine {
    compared: usize,
    matched: usize,
    max_distance: u32,
}

/// Line by line: same frame numbers and printed timestamps on every line; on lines where both
/// qualities are at least 50, count distances below 31.
fn by_line(name: &str, ours: &[VpdqFrame], reference: &[VpdqFrame]) -> ByLine {
    assert_eq!(ours.len(), reference.len(), "{name}: line count");
    let mut result = ByLine {
        compared: 0,
        matched: 0,
        max_distance: 0,
    };
    for (a, b) in ours.iter().zip(reference) {
        assert_eq!(a.frame_number, b.frame_number, "{name}: frame numbers");
        let (line_a, line_b) = (vpdq::format_line(a), vpdq::format_line(b));
        assert_eq!(
            line_a.rsplit(',').next(),
            line_b.rsplit(',').next(),
            "{name}: timestamp of frame {}",
            a.frame_number
        );
        if a.quality < MIN_QUALITY || b.quality < MIN_QUALITY {
            continue;
        }
        let d = a.hash.distance(&b.hash);
        result.compared += 1;
        result.matched += usize::from(d < DISTANCE_BELOW);
        result.max_distance = result.max_distance.max(d);
    }
    result
}

#[test]
fn every_frame_matches_the_reference_hashes_line_by_line() {
    for name in SAMPLES {
        let reference = reference_hashes(name);
        let ours = hash(name, &VpdqOptions::default());
        for (i, f) in ours.iter().enumerate() {
            assert_eq!(f.frame_number, i as u64, "{name}: frames run 0, 1, 2 …");
        }
        let r = by_line(name, &ours, &reference);
        let identical = ours
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a.hash == b.hash && a.quality == b.quality)
            .count();
        let pct = 100.0 * r.matched as f64 / r.compared.max(1) as f64;
        println!(
            "{name}: {pct:.3} Percentage matches ({} of {} compared lines), max distance {}, \
             {identical} of {} lines identical",
            r.matched,
            r.compared,
            r.max_distance,
            ours.len()
        );
        assert!(
            r.compared > 0,
            "{name}: no line had quality >= 50 on both sides"
        );
        assert_eq!(r.matched, r.compared, "{name}: {pct:.3} % of lines match");
    }
}

#[test]
fn one_hash_per_second_gives_every_thirtieth_reference_frame() {
    let opts = VpdqOptions {
        seconds_per_hash: 1.0,
        ..VpdqOptions::default()
    };
    for name in SAMPLES {
        // The samples are 30 fps, so -r 1 keeps frames 0, 30, 60 …
        let reference: Vec<VpdqFrame> = reference_hashes(name)
            .into_iter()
            .filter(|f| f.frame_number % 30 == 0)
            .collect();
        let ours = hash(name, &opts);
        let r = by_line(name, &ours, &reference);
        println!(
            "{name} -r 1: {} frames, {} of {} compared lines match, max distance {}",
            ours.len(),
            r.matched,
            r.compared,
            r.max_distance
        );
        assert_eq!(r.matched, r.compared, "{name}");
    }
}

#[test]
fn downsampling_hashes_every_frame_at_the_requested_size() {
    let name = "pattern-sd-grey-bar";
    let native = hash(name, &VpdqOptions::default());
    let small = hash(
        name,
        &VpdqOptions {
            downsample: Some(128),
            ..VpdqOptions::default()
        },
    );
    assert_eq!(small.len(), native.len());
    let differing = native
        .iter()
        .zip(&small)
        .filter(|(a, b)| a.hash != b.hash)
        .count();
    let compared: Vec<u32> = native
        .iter()
        .zip(&small)
        .filter(|(a, b)| a.quality >= MIN_QUALITY && b.quality >= MIN_QUALITY)
        .map(|(a, b)| a.hash.distance(&b.hash))
        .collect();
    let close = compared.iter().filter(|&&d| d < DISTANCE_BELOW).count();
    println!(
        "{name} -s 128: {differing} of {} hashes differ from native, {close} of {} within 30",
        small.len(),
        compared.len()
    );
    assert!(differing > 0, "-s 128 must rescale the frames");
    // Measured: 205 of 206 (max 36); a 128x128 rescale changes hashes but keeps them close.
    assert!(
        close * 10 >= compared.len() * 9,
        "a 128x128 rescale must mostly hash close to native"
    );
}

#[test]
fn files_that_are_not_videos_are_refused_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    let text = dir.path().join("text.mp4");
    std::fs::write(&text, b"this is not a video, only some text\n".repeat(100)).expect("write");
    let opts = VpdqOptions::default();
    let limits = VideoLimits::default();

    let missing = vpdq::hash_video(&dir.path().join("missing.mp4"), &opts, &limits);
    assert!(matches!(missing, Err(MediaError::Io(_))), "{missing:?}");
    let empty = vpdq::hash_video(&empty, &opts, &limits);
    assert!(matches!(empty, Err(MediaError::Empty)), "{empty:?}");
    let text = vpdq::hash_video(&text, &opts, &limits);
    assert!(
        matches!(
            text,
            Err(MediaError::Unsupported(_) | MediaError::Decode(_))
        ),
        "{text:?}"
    );
    let reference = fixture("sample-hashes/pattern-sd-grey-bar.txt");
    let hashes = vpdq::hash_video(&reference, &opts, &limits);
    assert!(
        hashes.is_err(),
        "a hash text file is not a video: {hashes:?}"
    );
}

#[test]
fn limits_stop_hashing_early() {
    let path = fixture("sample-videos/pattern-sd-grey-bar.mp4");
    let opts = VpdqOptions::default();
    let frames = VideoLimits {
        max_decoded_frames: 10,
        ..VideoLimits::default()
    };
    let r = vpdq::hash_video(&path, &opts, &frames);
    assert!(
        matches!(r, Err(MediaError::TooManyFrames { max: 10 })),
        "{r:?}"
    );
    let pixels = VideoLimits {
        max_pixels: 480 * 720 - 1,
        ..VideoLimits::default()
    };
    let r = vpdq::hash_video(&path, &opts, &pixels);
    assert!(matches!(r, Err(MediaError::TooLarge { .. })), "{r:?}");
    let duration = VideoLimits {
        max_duration_s: 2.0,
        ..VideoLimits::default()
    };
    let r = vpdq::hash_video(&path, &opts, &duration);
    assert!(matches!(r, Err(MediaError::TooLong { .. })), "{r:?}");
}

#[test]
fn corrupt_and_one_frame_videos_hash_what_decodes() {
    let media = testdata().join("../media/video");
    let path = |name: &str| {
        let p = media.join(name);
        assert!(
            p.is_file(),
            "missing fixture {} (run ./setup.sh: data/testdata/media/README.md)",
            p.display()
        );
        p
    };
    let opts = VpdqOptions::default();
    let limits = VideoLimits::default();
    let one = vpdq::hash_video(&path("tiny-1frame.mp4"), &opts, &limits).expect("one frame");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].frame_number, 0);
    let corrupt = vpdq::hash_video(&path("corrupt.mp4"), &opts, &limits)
        .expect("the frames before the damage decode");
    println!("corrupt.mp4: {} frames hashed", corrupt.len());
    assert!(!corrupt.is_empty());
    for (i, f) in corrupt.iter().enumerate() {
        assert_eq!(f.frame_number, i as u64);
    }
}
