//! Bit-exactness against the reference C++ on the PDQ test data: every PNG row of
//! `expected-lossless.csv` and `expected.csv`, and the dihedral hashes of `expected-dihedral.csv`
//! for the PNGs. (JPEG rows, and the pixel-exact transforms of the bridge photo, need the
//! reference's JPEG decoder: see `rampart-image`'s tests.)

use std::path::{Path, PathBuf};

use rampart_pdq::{hash, hash_dihedral, Layout, PdqHash, Pixels};

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
        .join("pdq")
}

/// Decodes a PNG the way the reference's ImageMagick does for 8-bit files: alpha dropped.
fn load_png(path: &PathBuf) -> (u32, u32, Layout, Vec<u8>) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = (img.width(), img.height());
    match img {
        image::DynamicImage::ImageLuma8(g) => (w, h, Layout::Grey, g.into_raw()),
        image::DynamicImage::ImageLumaA8(_) => (w, h, Layout::Grey, img.to_luma8().into_raw()),
        other => (w, h, Layout::Rgb, other.to_rgb8().into_raw()),
    }
}

fn rows(csv_name: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(testdata().join(csv_name)).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Every PNG under the PDQ folder, as paths relative to it, sorted: each has reference rows.
fn png_files() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "png") {
                let rel = path.strip_prefix(root).unwrap();
                out.push(rel.to_str().unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(&testdata(), &testdata(), &mut out);
    out.sort();
    out
}

fn png_rows(csv_name: &str) -> Vec<Vec<String>> {
    rows(csv_name)
        .into_iter()
        .filter(|r| r[0].ends_with(".png"))
        .collect()
}

#[test]
fn every_png_hash_and_quality_equals_the_reference() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for csv_name in ["expected-lossless.csv", "expected.csv"] {
        for row in png_rows(csv_name) {
            let (w, h, layout, samples) = load_png(&testdata().join(&row[0]));
            let out = hash(&Pixels::new(w, h, layout, &samples).unwrap());
            let want: PdqHash = row[1].parse().unwrap();
            let want_quality: u8 = row[2].parse().unwrap();
            if out.hash != want || out.quality != want_quality {
                failures.push(format!(
                    "{}: got {} q{} want {} q{} (distance {})",
                    row[0],
                    out.hash,
                    out.quality,
                    want,
                    want_quality,
                    out.hash.distance(&want)
                ));
            }
            checked.push(row[0].clone());
        }
    }
    checked.sort();
    assert_eq!(checked, png_files(), "one row per PNG");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dihedral_hashes_equal_the_reference_for_every_png() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for row in png_rows("expected-dihedral.csv") {
        let (w, h, layout, samples) = load_png(&testdata().join(&row[0]));
        let out = hash_dihedral(&Pixels::new(w, h, layout, &samples).unwrap());
        for (k, got) in out.hashes.iter().enumerate() {
            let want: PdqHash = row[1 + k].parse().unwrap();
            if *got != want {
                failures.push(format!(
                    "{} {}: distance {}",
                    row[0],
                    rampart_pdq::DIHEDRAL_NAMES[k],
                    got.distance(&want)
                ));
            }
        }
        assert_eq!(out.quality.to_string(), row[9], "{}", row[0]);
        checked.push(row[0].clone());
    }
    checked.sort();
    assert_eq!(checked, png_files(), "one row per PNG");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tiny_images_hash_to_zero_with_quality_zero() {
    for (w, h) in [(1, 1), (4, 100), (100, 4), (0, 0)] {
        let samples = vec![128u8; w * h * 3];
        let out = hash(&Pixels::new(w as u32, h as u32, Layout::Rgb, &samples).unwrap());
        assert_eq!(out.hash, PdqHash::default());
        assert_eq!(out.quality, 0);
    }
    let samples = vec![7u8; 5 * 5];
    let out = hash(&Pixels::new(5, 5, Layout::Grey, &samples).unwrap());
    assert_eq!(out.quality, 0, "a flat image has no gradients");
}
