//! How much OCR time the text-likelihood check saves: for every image under the given
//! directories (default: the shared PDQ and video fixtures), time the check and Tesseract,
//! and print what the check decided next to what OCR found.
//!
//!     cargo run --release -p rampart-image --example ocr_gate [DIR…]

use std::path::PathBuf;
use std::time::Instant;

use rampart_image::{decode, likely_has_text, Limits, Ocr};

fn files(dir: &PathBuf, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| ["jpg", "png", "gif", "webp"].contains(&x.to_str().unwrap_or("")))
        {
            out.push(p);
        }
    }
}

fn main() {
    let testdata = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        });
    let dirs: Vec<PathBuf> = match std::env::args()
        .skip(1)
        .map(PathBuf::from)
        .collect::<Vec<_>>()
    {
        d if d.is_empty() => vec![testdata.join("pdq"), testdata.join("media/video")],
        d => d,
    };
    let mut paths = Vec::new();
    for d in &dirs {
        files(d, &mut paths);
    }
    paths.sort();
    let ocr = Ocr::new().expect("tesseract");
    let (mut gate_ms, mut ocr_ms, mut skipped_ms) = (0f64, 0f64, 0f64);
    let (mut skipped, mut missed) = (0, 0);
    println!(
        "{:<60} {:>6} {:>8} {:>9} words",
        "file", "gate", "gate ms", "OCR ms"
    );
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let Ok(image) = decode(&bytes, &Limits::default()) else {
            continue;
        };
        let t = Instant::now();
        let gate = likely_has_text(&image);
        let g = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let text = ocr.recognise(&image).unwrap();
        let o = t.elapsed().as_secs_f64() * 1e3;
        gate_ms += g;
        ocr_ms += o;
        let words: Vec<&str> = text
            .words
            .iter()
            .filter(|w| w.confidence >= 80.0)
            .map(|w| w.text.as_str())
            .collect();
        if !gate {
            skipped += 1;
            skipped_ms += o;
            if !words.is_empty() {
                missed += 1;
            }
        }
        let name = path
            .strip_prefix(&testdata)
            .unwrap_or(path)
            .display()
            .to_string();
        println!(
            "{name:<60} {:>6} {g:>8.1} {o:>9.1} {}",
            if gate { "ocr" } else { "skip" },
            words.join(" ")
        );
    }
    println!(
        "\n{} images: check {:.1} ms in all ({:.2} ms each); OCR on all {:.0} ms; skipped {} images whose OCR took {:.0} ms ({:.0} % of OCR time); skipped images where OCR read words at confidence ≥ 80: {}",
        paths.len(), gate_ms, gate_ms / paths.len() as f64, ocr_ms, skipped, skipped_ms, 100.0 * skipped_ms / ocr_ms.max(1e-9), missed
    );
}
