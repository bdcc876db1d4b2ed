//! Decode + PDQ against the reference on every file of the PDQ test data: hash and
//! quality bit for bit for every original (JPEGs included, through libjpeg-turbo) and lossless
//! copy, the 8 dihedral hashes of each, and the hashes of the 8 pixel-exact rotations and flips
//! of the bridge photo.

use std::path::{Path, PathBuf};

use rampart_image::{decode, decode_for_pdq, Limits};
use rampart_pdq::{hash, hash_dihedral, Layout, PdqHash, Pixels, DIHEDRAL_NAMES};

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

fn rows(csv_name: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(testdata().join(csv_name)).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Every image under the PDQ folder, as paths relative to it, sorted: each has reference rows.
fn image_files() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "png" || e == "jpg") {
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

fn decoded(file: &str) -> rampart_image::DecodedImage {
    let bytes = std::fs::read(testdata().join(file)).unwrap();
    decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_expected_row_is_bit_identical_quality_included() {
    let mut failures = Vec::new();
    let mut checked = Vec::new();
    for csv_name in ["expected.csv", "expected-lossless.csv"] {
        for row in rows(csv_name) {
            let image = decoded(&row[0]);
            let out = hash(&image.pixels());
            let want: PdqHash = row[1].parse().unwrap();
            if out.hash != want || out.quality.to_string() != row[2] {
                failures.push(format!(
                    "{}: distance {}, quality {} want {}",
                    row[0],
                    out.hash.distance(&want),
                    out.quality,
                    row[2]
                ));
            }
            // The PDQ-only path (sampled JPEG decode above 4 MP) gives the same bits.
            let bytes = std::fs::read(testdata().join(&row[0])).unwrap();
            let fast = hash(&decode_for_pdq(&bytes, &Limits::default()).unwrap().pixels());
            if fast != out {
                failures.push(format!("{}: decode_for_pdq differs", row[0]));
            }
            checked.push(row[0].clone());
        }
    }
    checked.sort();
    assert_eq!(checked, image_files(), "one row per image");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_dihedral_row_is_bit_identical() {
    let mut failures = Vec::new();
    let table = rows("expected-dihedral.csv");
    let mut files: Vec<String> = table.iter().map(|row| row[0].clone()).collect();
    files.sort();
    assert_eq!(files, image_files(), "one row per image");
    for row in table {
        let out = hash_dihedral(&decoded(&row[0]).pixels());
        for (k, got) in out.hashes.iter().enumerate() {
            let want: PdqHash = row[1 + k].parse().unwrap();
            if *got != want {
                failures.push(format!(
                    "{} {}: distance {}",
                    row[0],
                    DIHEDRAL_NAMES[k],
                    got.distance(&want)
                ));
            }
        }
        if out.quality.to_string() != row[9] {
            failures.push(format!(
                "{}: quality {} want {}",
                row[0], out.quality, row[9]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// For output pixel (x, y), the source pixel it copies.
type SourcePixel = dyn Fn(usize, usize) -> (usize, usize);

/// The reference hashed the 8 rotations and flips of the bridge photo's decoded pixels
/// (`expected-lossless-transforms.csv`); libjpeg-turbo decodes the JPEG to those same pixels.
#[test]
fn pixel_exact_transforms_of_bridge_hash_as_the_reference() {
    let image = decoded("reg-test-input/dih/bridge-1-original.jpg");
    assert_eq!(image.layout, Layout::Rgb);
    let (w, h) = (image.width as usize, image.height as usize);
    let px = |x: usize, y: usize| &image.samples[(y * w + x) * 3..(y * w + x) * 3 + 3];
    for row in rows("expected-lossless-transforms.csv") {
        // (output width, output height, source pixel of output (x, y))
        let map: (usize, usize, Box<SourcePixel>) = match row[0].as_str() {
            "original" => (w, h, Box::new(|x, y| (x, y))),
            "rotate90" => (h, w, Box::new(move |x, y| (w - 1 - y, x))),
            "rotate180" => (w, h, Box::new(move |x, y| (w - 1 - x, h - 1 - y))),
            "rotate270" => (h, w, Box::new(move |x, y| (y, h - 1 - x))),
            "flipx" => (w, h, Box::new(move |x, y| (x, h - 1 - y))),
            "flipy" => (w, h, Box::new(move |x, y| (w - 1 - x, y))),
            "flipplus1" => (h, w, Box::new(|x, y| (y, x))),
            "flipminus1" => (h, w, Box::new(move |x, y| (w - 1 - y, h - 1 - x))),
            other => panic!("unknown transform {other}"),
        };
        let (ow, oh, src) = map;
        let mut out = Vec::with_capacity(ow * oh * 3);
        for y in 0..oh {
            for x in 0..ow {
                let (sx, sy) = src(x, y);
                out.extend_from_slice(px(sx, sy));
            }
        }
        let got = hash(&Pixels::new(ow as u32, oh as u32, Layout::Rgb, &out).unwrap());
        let want: PdqHash = row[2].parse().unwrap();
        assert_eq!(got.hash, want, "{} ({})", row[0], row[1]);
        assert_eq!(got.quality.to_string(), row[3], "{}", row[0]);
    }
}
