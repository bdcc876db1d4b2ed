//! The Rust preprocessing must reproduce the reference (Pillow 13.0.0 + its bundled
//! libjpeg-turbo 3.2.0) byte for byte at every stage; the hashes come from
//! scripts/reference/nsfw_reference.py (tests/fixtures/nsfw-preprocess.csv).
//! Needs only the test data (`data/testdata`), not the model.

mod common;

use common::{decode_like_pillow, fixture_rows, sha256_hex, testdata_dir};

#[test]
fn preprocessing_matches_pillow_stage_by_stage() {
    let dir = testdata_dir();
    let mut failures = Vec::new();
    let rows = fixture_rows("nsfw-preprocess.csv");
    for row in &rows {
        let [file, width, height, rgb_sha, resized_sha, crop_sha, decoded_sha, tensor_sha, tensor_sum] =
            &row[..]
        else {
            panic!("bad row {row:?}");
        };
        let (w, h, rgb) = decode_like_pillow(&dir.join(file));
        assert_eq!(
            (w.to_string(), h.to_string()),
            (width.clone(), height.clone()),
            "{file}"
        );
        let stages = rampart_imagemodel::preprocess_stages(w, h, &rgb).unwrap();
        let tensor = rampart_imagemodel::preprocess(w, h, &rgb).unwrap();
        let tensor_bytes: Vec<u8> = tensor.iter().flat_map(|v| v.to_le_bytes()).collect();
        let sum: f64 = tensor.iter().map(|&v| f64::from(v)).sum();
        let stages = [
            (
                "decoded input (test decoder vs PIL convert)",
                sha256_hex(&rgb),
                rgb_sha,
            ),
            (
                "256x256 bilinear resize",
                sha256_hex(&stages.resized),
                resized_sha,
            ),
            ("224x224 crop", sha256_hex(&stages.crop), crop_sha),
            (
                "JPEG round trip",
                sha256_hex(&stages.jpeg_decoded),
                decoded_sha,
            ),
            ("f32 tensor", sha256_hex(&tensor_bytes), tensor_sha),
        ];
        let first_bad = stages.iter().find(|(_, got, want)| got != *want);
        let sum_ok = format!("{sum:.1}") == *tensor_sum;
        println!(
            "{file}: {}; tensor sum {sum:.1} (reference {tensor_sum})",
            first_bad.map_or("all stages identical".to_owned(), |s| format!(
                "first difference at {}",
                s.0
            ))
        );
        if let Some((stage, _, _)) = first_bad {
            failures.push(format!("{file}: {stage}"));
        } else if !sum_ok {
            failures.push(format!("{file}: tensor sum"));
        }
    }
    assert!(
        failures.is_empty(),
        "preprocessing differs from Pillow: {failures:#?}"
    );
}
