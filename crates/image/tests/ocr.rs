//! OCR on real images: the video fixture's poster ("BANK TEST 01") and a caption rendered by
//! ImageMagick; the text check lets both through.
#![cfg(feature = "ocr")]

use std::path::PathBuf;
use std::process::Command;

use rampart_image::{decode, likely_has_text, Limits, Ocr};

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
}

#[test]
fn reads_the_poster_text_with_word_boxes() {
    let bytes = std::fs::read(testdata().join("media/video/banned-still.png")).unwrap();
    let image = decode(&bytes, &Limits::default()).unwrap();
    assert!(likely_has_text(&image));
    let text = Ocr::new().unwrap().recognise(&image).unwrap();
    // White on a gradient, the B crossed by a white diagonal: "TEST" is always read.
    assert!(text.text.contains("TEST"), "{:?}", text.text);
    let word = text.words.iter().find(|w| w.text == "TEST").unwrap();
    // Drawn at +30+345 (baseline) in 36 pt: the caption sits at the bottom left.
    assert!((100..=220).contains(&word.bbox[0]), "{:?}", word.bbox);
    assert!((300..=345).contains(&word.bbox[1]), "{:?}", word.bbox);
    assert_eq!(text.boxes_for(word.start, word.end), vec![word.bbox]);
}

#[test]
fn reads_a_rendered_spam_caption() {
    let out = std::env::temp_dir().join(format!("rampart-ocr-{}.png", std::process::id()));
    let status = Command::new("/usr/bin/convert")
        .args([
            "-size",
            "640x200",
            "xc:white",
            "-fill",
            "black",
            "-font",
            "DejaVu-Sans",
            "-pointsize",
            "40",
        ])
        .args([
            "-annotate",
            "+20+80",
            "BUY CHEAP PILLS",
            "-annotate",
            "+20+150",
            "AT SPAM DOT EXAMPLE",
        ])
        .arg(&out)
        .status()
        .expect("ImageMagick's /usr/bin/convert (setup.sh installs imagemagick)");
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let image = decode(&bytes, &Limits::default()).unwrap();
    assert!(likely_has_text(&image));
    let ocr = Ocr::new().unwrap();
    let text = ocr.recognise(&image).unwrap();
    assert_eq!(text.text, "BUY CHEAP PILLS\nAT SPAM DOT EXAMPLE");
    // The engine is reused: a second image works too.
    let again = ocr.recognise(&image).unwrap();
    assert_eq!(again, text);
}
