//! End-to-end tests of the image commands: `hash pdq|exact`, `bank add|list|remove|match` and
//! `scan image` on the real binary, with the PDQ fixtures (`data/testdata/pdq`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;

use common::rampart_at as rampart;

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

fn pdq(file: &str) -> String {
    testdata().join("pdq").join(file).display().to_string()
}

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rampart-img-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn expected(csv: &str, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(testdata().join("pdq").join(csv)).unwrap();
    text.lines()
        .find(|l| l.starts_with(&format!("{file},")))
        .unwrap_or_else(|| panic!("{file} not in {csv}"))
        .split(',')
        .map(str::to_owned)
        .collect()
}

#[test]
fn hash_pdq_prints_the_reference_line_for_each_file() {
    let data = data_dir("hash");
    let files = [
        "bridge-mods/shrink-a-lot.jpg",
        "misc-images/modes/CMYK.jpg",
        "lossless/misc-images/wee.jpg.png",
    ];
    let paths: Vec<String> = files.iter().map(|f| pdq(f)).collect();
    let mut args = vec!["hash", "pdq"];
    args.extend(paths.iter().map(String::as_str));
    let out = rampart(&data, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    for ((line, file), path) in lines.iter().zip(files).zip(&paths) {
        let csv = if file.starts_with("lossless") {
            "expected-lossless.csv"
        } else {
            "expected.csv"
        };
        let want = expected(csv, file);
        assert_eq!(line, &format!("{},{},{path}", want[1], want[2]));
    }
}

#[test]
fn hash_pdq_dihedral_prints_the_eight_reference_hashes() {
    let data = data_dir("dih");
    let out = rampart(
        &data,
        &[
            "hash",
            "pdq",
            "--dihedral",
            &pdq("reg-test-input/dih/bridge-1-original.jpg"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let want = expected(
        "expected-dihedral.csv",
        "reg-test-input/dih/bridge-1-original.jpg",
    );
    let got: Vec<String> = stdout(&out).trim().split(',').map(str::to_owned).collect();
    assert_eq!(got[..9], want[1..10]);
}

#[test]
fn hash_exact_prints_md5_and_sha256() {
    let data = data_dir("exact");
    let file = data.join("abc.bin");
    std::fs::write(&file, b"abc").unwrap();
    let out = rampart(&data, &["hash", "exact", file.to_str().unwrap()]);
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "900150983cd24fb0d6963f7d28e17f72,ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad,{}",
            file.display()
        )
    );
}

#[test]
fn a_banked_image_is_blocked_with_hash_evidence_until_removed() {
    let data = data_dir("bank");
    let still = testdata().join("media/video/banned-still.png");
    let still = still.to_str().unwrap();
    let out = rampart(
        &data,
        &["bank", "add", "posters", "--label", "terrorism", still],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entry_id = stdout(&out).trim().to_owned();
    assert_eq!(entry_id.len(), 26, "a ULID: {entry_id}");

    let banks = json_lines(&rampart(&data, &["bank", "list"]));
    assert_eq!(banks.len(), 1);
    assert_eq!(banks[0]["name"], "posters");
    assert_eq!(banks[0]["entries"], 1);
    assert_eq!(banks[0]["threshold"], 31);

    let out = rampart(&data, &["scan", "image", still]);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert_eq!(v["content_type"], "image");
    assert_eq!(v["suggestion"], "block");
    assert_eq!(v["content_ref"]["pdq"].as_str().unwrap().len(), 64);
    let terrorism = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "terrorism")
        .unwrap();
    let ev = &terrorism["evidence"][0];
    assert_eq!(ev["kind"], "hash");
    assert_eq!(ev["bank"], "posters");
    assert_eq!(ev["entry_id"], entry_id.as_str());
    assert_eq!(ev["distance"], 0);

    // An unrelated photo passes the bank.
    let other = rampart(
        &data,
        &[
            "bank",
            "match",
            &pdq("reg-test-input/dih/bridge-1-original.jpg"),
        ],
    );
    assert_eq!(json_lines(&other)[0]["hits"].as_array().unwrap().len(), 0);

    let out = rampart(&data, &["bank", "remove", "posters", &entry_id]);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&rampart(&data, &["scan", "image", still]))[0];
    assert!(
        v["labels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["label"] != "terrorism"),
        "{v}"
    );
}

#[test]
fn a_dihedral_bank_catches_a_rotated_copy() {
    let data = data_dir("dihedral");
    let original = pdq("reg-test-input/dih/bridge-1-original.jpg");
    let rotated = pdq("reg-test-input/dih/bridge-2-rotate-90.jpg");
    let out = rampart(
        &data,
        &[
            "bank",
            "add",
            "known",
            "--label",
            "custom:known",
            "--dihedral",
            &original,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits = &json_lines(&rampart(&data, &["bank", "match", &rotated]))[0]["hits"];
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert!(hits[0]["distance"].as_u64().unwrap() <= 31);
    assert!(hits[0]["dihedral_variant"].as_u64().unwrap() > 0);
    // The same image in a bank without dihedral matching is not found rotated.
    let out = rampart(
        &data,
        &["bank", "add", "plain", "--label", "custom:plain", &original],
    );
    assert_eq!(out.status.code(), Some(0));
    let hits = &json_lines(&rampart(&data, &["bank", "match", &rotated]))[0]["hits"];
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .all(|h| h["bank"] != "plain"),
        "{hits}"
    );
}

#[test]
fn a_reference_hash_list_imports_and_low_quality_hashes_are_not_matched() {
    let data = data_dir("import");
    let haystack = testdata().join("pdq/haystack.txt");
    let out = rampart(
        &data,
        &[
            "bank",
            "add",
            "hay",
            "--label",
            "custom:hay",
            "--hashes",
            haystack.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let banks = json_lines(&rampart(&data, &["bank", "list"]));
    assert_eq!(banks[0]["entries"], 1350);
    assert_eq!(
        json_lines(&rampart(&data, &["bank", "list", "hay"])).len(),
        1350
    );
    // A bad list is refused with its line number, and nothing is added.
    let bad = data.join("bad.txt");
    std::fs::write(&bad, format!("{}\nnot-a-hash\n", "0".repeat(64))).unwrap();
    let out = rampart(
        &data,
        &["bank", "add", "hay", "--hashes", bad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json_lines(&rampart(&data, &["bank", "list"]))[0]["entries"],
        1350
    );
    // small.jpg has quality 0: it is neither added nor matched.
    let out = rampart(
        &data,
        &["bank", "add", "hay", &pdq("misc-images/small.jpg")],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "quality 0 is refused without --force"
    );
}

/// Writes a PNG of a QR code holding `text`, on a white 400×300 canvas.
fn qr_png(path: &Path, text: &str) {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width();
    let colors = code.to_colors();
    let scale = 6;
    let img = image::GrayImage::from_fn(400, 300, |x, y| {
        let (mx, my) = ((x as i64 - 60) / scale, (y as i64 - 40) / scale);
        let dark = x >= 60
            && y >= 40
            && (mx as usize) < n
            && (my as usize) < n
            && colors[my as usize * n + mx as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    img.save(path).unwrap();
}

#[test]
fn a_qr_code_payload_goes_through_the_text_engine_with_its_box() {
    let data = data_dir("qr");
    let file = data.join("qr.png");
    qr_png(
        &file,
        "you stupid fucking idiot, buy followers at www.spam.example",
    );
    let out = rampart(&data, &["scan", "image", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = &json_lines(&out)[0];
    assert_ne!(v["suggestion"], "pass", "{v}");
    let profanity = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "profanity")
        .expect("profanity");
    let ev = &profanity["evidence"][0];
    assert_eq!(ev["kind"], "qr");
    let bbox: Vec<u64> = ev["box"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert!(
        (55..=65).contains(&bbox[0]) && (35..=45).contains(&bbox[1]),
        "{bbox:?}"
    );
    assert_eq!(ev["evidence"][0]["kind"], "term");
    assert!(ev["matched"].as_str().unwrap().contains("fucking"), "{ev}");
}

#[test]
fn text_in_an_image_is_read_and_moderated_with_word_boxes() {
    let data = data_dir("ocr");
    let file = data.join("caption.png");
    let status = Command::new("/usr/bin/convert")
        .args([
            "-size",
            "640x160",
            "xc:white",
            "-fill",
            "black",
            "-font",
            "DejaVu-Sans",
            "-pointsize",
            "36",
        ])
        .args(["-annotate", "+20+90", "you are a fucking idiot"])
        .arg(&file)
        .status()
        .expect("ImageMagick (setup.sh installs imagemagick)");
    assert!(status.success());
    let out = rampart(&data, &["scan", "image", file.to_str().unwrap()]);
    let v = &json_lines(&out)[0];
    assert_ne!(v["suggestion"], "pass", "{v}");
    let profanity = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "profanity")
        .expect("profanity");
    let ev = &profanity["evidence"][0];
    assert_eq!(ev["kind"], "ocr");
    assert_eq!(ev["matched"], "fucking");
    let boxes = ev["boxes"].as_array().unwrap();
    assert_eq!(boxes.len(), 1, "{ev}");
    let x = boxes[0][0].as_u64().unwrap();
    assert!(
        (150..=300).contains(&x),
        "the third word starts about a third of the way in: {boxes:?}"
    );
}

#[test]
fn verdicts_name_the_image_model_when_it_is_installed() {
    // CI fetches the model (scripts/fetch-models.sh via setup.sh): its absence is a failure.
    let data = data_dir("model");
    let out = rampart(
        &data,
        &[
            "scan",
            "image",
            &pdq("reg-test-input/dih/bridge-1-original.jpg"),
        ],
    );
    let v = &json_lines(&out)[0];
    assert!(
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "open-nsfw@1"),
        "{v}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["suggestion"], "pass", "a photo of a bridge: {v}");
}

#[test]
fn bad_files_get_error_lines_and_exit_2_while_good_ones_get_verdicts() {
    let data = data_dir("bad");
    let empty = data.join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let text = data.join("notes.png");
    std::fs::write(&text, b"this is not an image").unwrap();
    let truncated = data.join("cut.jpg");
    let jpeg =
        std::fs::read(testdata().join("pdq/reg-test-input/dih/bridge-1-original.jpg")).unwrap();
    std::fs::write(&truncated, &jpeg[..jpeg.len() / 3]).unwrap();
    let good = pdq("lossless/misc-images/wee.jpg.png");
    let missing = data.join("missing.png");
    let args = [
        "scan",
        "image",
        empty.to_str().unwrap(),
        text.to_str().unwrap(),
        &good,
        truncated.to_str().unwrap(),
        missing.to_str().unwrap(),
    ];
    let out = rampart(&data, &args);
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["error"]["code"], "decode_failed");
    assert_eq!(lines[1]["error"]["code"], "unsupported_media");
    assert_eq!(lines[2]["content_type"], "image");
    assert_eq!(lines[3]["error"]["code"], "decode_failed");
    assert_eq!(lines[4]["error"]["code"], "invalid_request");
    // The hash tool reports the same codes on stderr and keeps going.
    let out = rampart(&data, &["hash", "pdq", empty.to_str().unwrap(), &good]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("decode_failed"));
}
