//! Decode + PDQ against the reference on every file of the shared PDQ test data: hash and
//! quality bit for bit for all 40 originals (JPEGs included, through libjpeg-turbo) and 17
//! lossless copies, and the 8 dihedral hashes of all 57.

use std::path::PathBuf;

use rampart_image::{decode, decode_for_pdq, Limits};
use rampart_pdq::{hash, hash_dihedral, PdqHash, DIHEDRAL_NAMES};

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
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

fn decoded(file: &str) -> rampart_image::DecodedImage {
    let bytes = std::fs::read(testdata().join(file)).unwrap();
    decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_expected_row_is_bit_identical_quality_included() {
    let mut failures = Vec::new();
    let mut checked = 0;
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
            checked += 1;
        }
    }
    assert_eq!(checked, 57);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_dihedral_row_is_bit_identical() {
    let mut failures = Vec::new();
    let table = rows("expected-dihedral.csv");
    assert_eq!(table.len(), 57);
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
