//! `rampart hash pdq|exact|vpdq` output goes into `rampart bank add --hashes` as is, and the
//! next scan of the same file matches the bank; a line that is not understood is refused with
//! its number and the accepted forms; a failed `bank add` changes nothing (issue 17). The real
//! binary on the PDQ fixtures (`data/testdata/pdq`) and the media fixtures
//! (`data/testdata/media`, made by `./setup.sh`).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;

use common::{rampart_at as rampart, temp_dir, testdata};

fn image() -> String {
    testdata()
        .join("pdq/reg-test-input/dih/bridge-1-original.jpg")
        .display()
        .to_string()
}

fn video() -> String {
    let path = testdata().join("media/video/burned-text.mp4");
    assert!(path.is_file(), "{} missing (./setup.sh)", path.display());
    path.display().to_string()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `rampart hash ARGS… > FILE`.
fn hash_into(data: &Path, args: &[&str], file: &Path) {
    let mut all = vec!["hash"];
    all.extend_from_slice(args);
    std::fs::write(file, ok(&rampart(data, &all))).unwrap();
}

/// Banks as `bank list` prints them, by name.
fn banks(data: &Path) -> Vec<(String, u64)> {
    ok(&rampart(data, &["bank", "list"]))
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["name"].as_str().unwrap().to_string(),
                v["entries"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The kinds of evidence from `bank` in a verdict.
fn bank_evidence(v: &Value, bank: &str) -> Vec<String> {
    let mut kinds = Vec::new();
    for label in v["labels"].as_array().unwrap() {
        for ev in label["evidence"].as_array().unwrap() {
            if ev["bank"] == bank {
                kinds.push(ev["kind"].as_str().unwrap().to_string());
            }
        }
    }
    kinds
}

fn scan(data: &Path, what: &str, file: &str) -> Value {
    serde_json::from_str(ok(&rampart(data, &["scan", what, file])).trim()).unwrap()
}

fn add_list(data: &Path, bank: &str, list: &Path) -> Output {
    let list = list.to_str().unwrap();
    rampart(
        data,
        &[
            "bank",
            "add",
            bank,
            "--label",
            "terrorism",
            "--hashes",
            list,
        ],
    )
}

#[test]
fn every_hash_format_round_trips_into_a_bank_that_matches() {
    let dir = temp_dir("formats");
    let data = dir.0.join("data");
    let list = |name: &str| -> PathBuf { dir.0.join(name) };
    let image = image();

    // hash pdq: `hash,quality,file`.
    hash_into(&data, &["pdq", &image], &list("pdq.csv"));
    ok(&add_list(&data, "from-pdq", &list("pdq.csv")));
    // hash pdq --dihedral: 8 hashes, quality, file.
    hash_into(&data, &["pdq", "--dihedral", &image], &list("dihedral.csv"));
    ok(&add_list(&data, "from-dihedral", &list("dihedral.csv")));
    // A bare hash list (the first column).
    let text = std::fs::read_to_string(list("pdq.csv")).unwrap();
    std::fs::write(list("bare.txt"), format!("{}\n", &text[..64])).unwrap();
    ok(&add_list(&data, "from-bare", &list("bare.txt")));
    // hash exact: `md5,sha256,file`; the new bank is an exact bank without --kind.
    hash_into(&data, &["exact", &image], &list("exact.csv"));
    ok(&add_list(&data, "from-exact", &list("exact.csv")));

    let kinds: Vec<(String, String)> = ok(&rampart(&data, &["bank", "list"]))
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["name"].as_str().unwrap().into(),
                v["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("from-exact".into(), "exact".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("from-pdq".into(), "pdq".into())),
        "{kinds:?}"
    );
    // The file name from the list is the entry's note.
    let entries = ok(&rampart(&data, &["bank", "list", "from-pdq"]));
    assert!(entries.contains("bridge-1-original.jpg"), "{entries}");
    assert_eq!(
        banks(&data)
            .into_iter()
            .find(|(n, _)| n == "from-exact")
            .unwrap()
            .1,
        2,
        "MD5 and SHA-256"
    );

    let v = scan(&data, "image", &image);
    assert_eq!(v["file"], image.as_str());
    assert_eq!(v["suggestion"], "block", "{v}");
    for bank in ["from-pdq", "from-dihedral", "from-bare"] {
        assert_eq!(bank_evidence(&v, bank), ["hash"], "{bank}: {v}");
    }
    assert!(
        bank_evidence(&v, "from-exact").contains(&"exact_hash".to_string()),
        "{v}"
    );

    // hash vpdq: `frame,quality,hash,timestamp`; the new bank is a vPDQ bank without --kind.
    let video = video();
    hash_into(&data, &["vpdq", &video], &list("video.vpdq"));
    ok(&add_list(&data, "from-vpdq", &list("video.vpdq")));
    let v = scan(&data, "video", &video);
    assert_eq!(v["file"], video.as_str());
    assert_eq!(bank_evidence(&v, "from-vpdq"), ["vpdq"], "{v}");
}

#[test]
fn a_line_that_is_not_understood_is_refused_with_its_number_and_the_forms() {
    let dir = temp_dir("formats-bad");
    let data = dir.0.join("data");
    let image = image();
    let good = dir.0.join("pdq.csv");
    hash_into(&data, &["pdq", &image], &good);
    let mut text = std::fs::read_to_string(&good).unwrap();
    text.push_str("# a comment\n\nnot a hash,42\n");
    let bad = dir.0.join("bad.csv");
    std::fs::write(&bad, &text).unwrap();

    let out = add_list(&data, "known", &bad);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("line 4"), "{err}");
    assert!(
        err.contains("hash,quality"),
        "names the accepted forms: {err}"
    );
    assert!(err.contains("rampart hash pdq"), "{err}");
    assert!(banks(&data).is_empty(), "no bank left behind");

    // A vPDQ line offered to a PDQ bank says where it belongs.
    let video = dir.0.join("video.vpdq");
    std::fs::write(&video, format!("0,100,{},0.000\n", "f".repeat(64))).unwrap();
    let out = rampart(
        &data,
        &[
            "bank",
            "add",
            "stills",
            "--kind",
            "pdq",
            "--label",
            "terrorism",
            "--hashes",
            video.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--kind vpdq"), "{}", stderr(&out));

    // --lenient skips the bad line (reported) and adds the rest.
    let out = rampart(
        &data,
        &[
            "bank",
            "add",
            "known",
            "--label",
            "terrorism",
            "--lenient",
            "--hashes",
            bad.to_str().unwrap(),
        ],
    );
    ok(&out);
    assert!(stderr(&out).contains("skipped: line 4"), "{}", stderr(&out));
    assert_eq!(banks(&data), [("known".to_string(), 1)]);
}

#[test]
fn a_failed_bank_add_leaves_no_bank_behind_and_changes_nothing() {
    let dir = temp_dir("formats-atomic");
    let data = dir.0.join("data");
    let image = image();
    let corrupt = dir.0.join("cut.jpg");
    let bytes = std::fs::read(&image).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 3]).unwrap();
    let corrupt = corrupt.to_str().unwrap();
    let bad_list = dir.0.join("bad.txt");
    std::fs::write(&bad_list, "nonsense\n").unwrap();
    let bad_list = bad_list.to_str().unwrap();
    let low_quality = testdata().join("pdq/misc-images/small.jpg");
    let low_quality = low_quality.to_str().unwrap();
    let good_list = dir.0.join("pdq.csv");
    hash_into(&data, &["pdq", &image], &good_list);
    let good_list = good_list.to_str().unwrap();

    let failures: [&[&str]; 4] = [
        // A good image, then a cut-off one.
        &[
            "bank",
            "add",
            "new",
            "--label",
            "terrorism",
            &image,
            corrupt,
        ],
        // A hash list that is not one.
        &[
            "bank",
            "add",
            "new",
            "--label",
            "terrorism",
            "--hashes",
            bad_list,
        ],
        // A good list, then a bad image.
        &[
            "bank",
            "add",
            "new",
            "--label",
            "terrorism",
            "--hashes",
            good_list,
            corrupt,
        ],
        // An image below the bank's minimum quality (small.jpg has quality 0).
        &["bank", "add", "new", "--label", "terrorism", low_quality],
    ];
    for args in failures {
        let out = rampart(&data, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(banks(&data).is_empty(), "{args:?} left a bank behind");
        let files: Vec<_> = std::fs::read_dir(data.join("banks"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(files.is_empty(), "{args:?} left {files:?}");
    }
    let out = rampart(
        &data,
        &["bank", "add", "new", "--label", "terrorism", corrupt],
    );
    assert!(stderr(&out).contains("decode_failed"), "{}", stderr(&out));
    assert!(stderr(&out).contains("cut.jpg"), "{}", stderr(&out));

    // An existing bank is left as it was.
    ok(&rampart(
        &data,
        &["bank", "add", "old", "--label", "terrorism", &image],
    ));
    let before = ok(&rampart(&data, &["bank", "list", "old"]));
    for args in [
        vec!["bank", "add", "old", "--hashes", good_list, corrupt],
        vec!["bank", "add", "old", &image, low_quality],
    ] {
        let out = rampart(&data, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            ok(&rampart(&data, &["bank", "list", "old"])),
            before,
            "{args:?}"
        );
    }
}
