//! How much OCR time the text check saves: for every image under the given directories
//! (default: the PDQ and video fixtures in `data/testdata`), time the check, Tesseract on the whole image,
//! and Tesseract on the regions the check found; print the words each read.
//!
//!     cargo run --release -p rampart-image --example ocr_gate [DIR…]

use std::path::{Path, PathBuf};
use std::time::Instant;

use rampart_image::{decode, text_regions, Limits, Ocr, OcrText};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("jpg" | "png" | "gif" | "webp")
        ) {
            out.push(p);
        }
    }
}

/// Words a reader would call words: confidence ≥ 80, three or more letters or digits.
fn real_words(text: &OcrText) -> Vec<&str> {
    text.words
        .iter()
        .filter(|w| w.confidence >= 80.0)
        .map(|w| w.text.as_str())
        .filter(|w| w.chars().filter(|c| c.is_alphanumeric()).count() >= 3)
        .collect()
}

fn main() {
    let testdata = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        });
    let mut dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        dirs = vec![testdata.join("pdq"), testdata.join("media/video")];
    }
    let mut paths = Vec::new();
    for d in &dirs {
        files(d, &mut paths);
    }
    paths.sort();
    let ocr = Ocr::new().expect("tesseract");
    let (mut check_ms, mut whole_ms, mut regions_ms) = (0f64, 0f64, 0f64);
    let (mut images, mut skipped, mut missed) = (0, 0, 0);
    println!(
        "{:<58} {:>4} {:>7} {:>9} {:>8}  whole image | regions (words at confidence ≥ 80)",
        "file", "rgns", "chk ms", "whole ms", "rgn ms"
    );
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let Ok(image) = decode(&bytes, &Limits::default()) else {
            continue;
        };
        images += 1;
        let t = Instant::now();
        let regions = text_regions(&image);
        let c = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let whole = ocr.recognise(&image).unwrap();
        let w = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let in_regions = ocr.recognise_regions(&image, &regions).unwrap();
        let r = t.elapsed().as_secs_f64() * 1e3;
        check_ms += c;
        whole_ms += w;
        regions_ms += r;
        let (whole_words, region_words) = (real_words(&whole), real_words(&in_regions));
        if regions.is_empty() {
            skipped += 1;
            if !whole_words.is_empty() {
                missed += 1;
            }
        }
        let name = path
            .strip_prefix(&testdata)
            .unwrap_or(path)
            .display()
            .to_string();
        println!(
            "{name:<58} {:>4} {c:>7.1} {w:>9.1} {r:>8.1}  {} | {}",
            regions.len(),
            whole_words.join(" "),
            region_words.join(" ")
        );
    }
    println!(
        "\n{images} images: check {check_ms:.0} ms in all ({:.1} ms each); Tesseract on every whole image {whole_ms:.0} ms; \
         check + Tesseract on the regions found {:.0} ms ({:.1} % of it); {skipped} images skipped, \
         {missed} of them with words OCR could read on the whole image",
        check_ms / images as f64,
        check_ms + regions_ms,
        100.0 * (check_ms + regions_ms) / whole_ms.max(1e-9),
    );
}
