//! Shared helpers for the integration tests: fixture CSVs, the test data, and an image
//! decoder that reproduces PIL's `Image.open(f).convert("RGB")` for the fixture images.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rampart_imagemodel::ModelPaths;

/// `$RAMPART_TESTDATA`, default the repository's `data/testdata`; panics with a clear message if
/// absent.
pub fn testdata_dir() -> PathBuf {
    let dir = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        });
    assert!(
        dir.is_dir(),
        "test data not found at {} (the repository's data/testdata, or RAMPART_TESTDATA)",
        dir.display()
    );
    dir
}

/// The model files; FAILS (never skips) when they are missing.
pub fn model_paths() -> ModelPaths {
    let paths = ModelPaths::from_env().expect("models directory");
    if let Err(e) = paths.check() {
        panic!("model files missing: {e}");
    }
    paths
}

/// Rows of a fixture CSV (header skipped), split on commas (the fixtures have no quoting).
pub fn fixture_rows(name: &str) -> Vec<Vec<String>> {
    let path = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures")
    .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert!(!rows.is_empty(), "{} has no rows", path.display());
    rows
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// PIL's `MULDIV255`: a*b/255 rounded, in integers.
fn muldiv255(a: i32, b: i32) -> i32 {
    let t = a * b + 128;
    ((t >> 8) + t) >> 8
}

/// Decodes `path` to (width, height, RGB8) like `Image.open(path).convert("RGB")` in
/// Pillow 13 (no EXIF rotation), for the kinds of files in the fixtures.
pub fn decode_like_pillow(path: &Path) -> (u32, u32, Vec<u8>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if data.starts_with(&[0xFF, 0xD8]) {
        decode_jpeg(&data)
    } else {
        decode_png(&data)
    }
}

fn decode_jpeg(data: &[u8]) -> (u32, u32, Vec<u8>) {
    let header = turbojpeg::read_header(data).expect("JPEG header");
    let (w, h) = (header.width, header.height);
    let rgb = match header.colorspace {
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK => {
            // Pillow reads CMYK JPEGs as "CMYK;I" (Adobe convention: stored inverted), then
            // converts CMYK -> RGB with R = 255 - K - MULDIV255(C, 255 - K) per channel.
            let img =
                turbojpeg::decompress(data, turbojpeg::PixelFormat::CMYK).expect("CMYK decode");
            let mut rgb = Vec::with_capacity(w * h * 3);
            for row in img.pixels.chunks_exact(img.pitch) {
                for px in row[..w * 4].chunks_exact(4) {
                    let (c, m, y, k) = (
                        255 - i32::from(px[0]),
                        255 - i32::from(px[1]),
                        255 - i32::from(px[2]),
                        255 - i32::from(px[3]),
                    );
                    let nk = 255 - k;
                    for v in [c, m, y] {
                        rgb.push((nk - muldiv255(v, nk)).clamp(0, 255) as u8);
                    }
                }
            }
            rgb
        }
        _ => {
            // Greyscale JPEGs come out replicated, as PIL's L -> RGB.
            let img =
                turbojpeg::decompress(data, turbojpeg::PixelFormat::RGB).expect("JPEG decode");
            let mut rgb = Vec::with_capacity(w * h * 3);
            for row in img.pixels.chunks_exact(img.pitch) {
                rgb.extend_from_slice(&row[..w * 3]);
            }
            rgb
        }
    };
    (w as u32, h as u32, rgb)
}

fn decode_png(data: &[u8]) -> (u32, u32, Vec<u8>) {
    use image::DynamicImage as D;
    let img =
        image::load_from_memory_with_format(data, image::ImageFormat::Png).expect("PNG decode");
    let (w, h) = (img.width(), img.height());
    let rgb = match img {
        // Palette PNGs are expanded by the decoder (PIL: palette lookup); alpha is dropped
        // (PIL's RGBA -> RGB and LA -> RGB ignore alpha); grey is replicated.
        D::ImageRgb8(i) => i.into_raw(),
        D::ImageRgba8(i) => i
            .into_raw()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        D::ImageLuma8(i) => i.into_raw().iter().flat_map(|&v| [v, v, v]).collect(),
        D::ImageLumaA8(i) => i
            .into_raw()
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0]])
            .collect(),
        // PIL reads 16-bit RGB(A) PNGs as 8-bit by keeping the high byte.
        D::ImageRgb16(i) => i.into_raw().iter().map(|&v| (v >> 8) as u8).collect(),
        D::ImageRgba16(i) => i
            .into_raw()
            .chunks_exact(4)
            .flat_map(|p| [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
            .collect(),
        other => panic!(
            "PNG pixel type {:?} not handled by the test decoder",
            other.color()
        ),
    };
    (w, h, rgb)
}
