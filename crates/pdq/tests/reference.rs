//! Bit-exactness against the reference C++ on the shared PDQ test data: every PNG row of
//! `expected-lossless.csv` and `expected.csv`, and the dihedral hashes of `expected-dihedral.csv`
//! for the PNGs. (JPEG rows need the reference's JPEG decoder: see `rampart-image`'s tests.)

use std::path::PathBuf;

use rampart_pdq::{hash, hash_dihedral, Layout, PdqHash, Pixels};

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
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

fn png_rows(csv_name: &str) -> Vec<Vec<String>> {
    rows(csv_name)
        .into_iter()
        .filter(|r| r[0].ends_with(".png"))
        .collect()
}

#[test]
fn every_png_hash_and_quality_equals_the_reference() {
    let mut checked = 0;
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
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} PNG rows found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dihedral_hashes_equal_the_reference_for_every_png() {
    let mut checked = 0;
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
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} PNG rows found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// For output pixel (x, y), the source pixel it copies.
type SourcePixel = dyn Fn(usize, usize) -> (usize, usize);

#[test]
fn pixel_exact_transforms_of_bridge_hash_as_the_reference() {
    let (w, h, layout, samples) =
        load_png(&testdata().join("lossless/reg-test-input/dih/bridge-1-original.jpg.png"));
    assert_eq!(layout, Layout::Rgb);
    let (w, h) = (w as usize, h as usize);
    let px = |x: usize, y: usize| &samples[(y * w + x) * 3..(y * w + x) * 3 + 3];
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
