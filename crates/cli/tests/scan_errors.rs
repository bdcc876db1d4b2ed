//! Every `rampart scan` command on inputs it cannot judge — corrupt, truncated, empty and
//! unsupported — on the real binary (issue 17, "errors are errors"): each gets its stable
//! error code on stderr and, for files, one error line with the file name in the output, exit
//! status 2, and never a verdict (so never a `pass`). In a run of several files the others are
//! still judged and each verdict names its file.
//!
//! The inputs are made here from the PDQ fixtures (`data/testdata/pdq`) and the media fixtures
//! (`data/testdata/media`, made by `./setup.sh`).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;

use common::{rampart_at, rampart_stdin, temp_dir, testdata, TempDir};

/// One bad input and the code it must get.
struct Case {
    what: &'static str,
    file: PathBuf,
    code: &'static str,
}

/// Deterministic noise (xorshift64*), so a failure can be reproduced.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = testdata().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (./setup.sh makes the media fixtures)",
            path.display()
        )
    })
}

/// `bytes` with the middle third replaced by noise: a valid header, garbage inside.
fn garbled(mut bytes: Vec<u8>) -> Vec<u8> {
    let (start, end) = (bytes.len() / 3, bytes.len() * 2 / 3);
    bytes[start..end].copy_from_slice(&noise(end - start, 7));
    bytes
}

/// The first third of `bytes`: a file cut off.
fn cut(bytes: Vec<u8>) -> Vec<u8> {
    bytes[..bytes.len() / 3].to_vec()
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.0.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// No verdict anywhere in the output: no `suggestion`, so certainly no `pass`.
#[track_caller]
fn no_verdict(out: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("suggestion") && !stdout.contains("\"pass\""),
        "{what}: a verdict for an input that could not be judged: {stdout}"
    );
}

/// Runs `scan <command> FILE` on each case alone, then on all of them after a good file.
fn check_files(command: &str, data: &Path, good: &Path, cases: &[Case]) {
    for case in cases {
        let file = case.file.to_str().unwrap();
        let out = rampart_at(data, &["scan", command, file]);
        let what = format!("scan {command} {} ({})", case.what, case.file.display());
        no_verdict(&out, &what);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("rampart: {}: {file}: ", case.code)),
            "{what}: stderr should name the code {} and the file: {err}",
            case.code
        );
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{what}: one error line: {lines:?}");
        assert_eq!(lines[0]["error"]["code"], case.code, "{what}: {}", lines[0]);
        assert_eq!(lines[0]["file"], file, "{what}: {}", lines[0]);
    }

    // Several files: one line each, in order; the good one is still judged, with its name.
    let mut args = vec!["scan", command, good.to_str().unwrap()];
    args.extend(cases.iter().map(|c| c.file.to_str().unwrap()));
    let out = rampart_at(data, &args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), cases.len() + 1, "{lines:?}");
    assert_eq!(lines[0]["file"], good.to_str().unwrap(), "{}", lines[0]);
    assert!(lines[0]["suggestion"].is_string(), "{}", lines[0]);
    assert!(lines[0].get("error").is_none(), "{}", lines[0]);
    for (case, line) in cases.iter().zip(&lines[1..]) {
        assert_eq!(line["file"], case.file.to_str().unwrap(), "{line}");
        assert_eq!(line["error"]["code"], case.code, "{}: {line}", case.what);
        assert!(line.get("suggestion").is_none(), "{line}");
    }
    let err = stderr(&out);
    for case in cases {
        let file = case.file.to_str().unwrap();
        assert!(
            err.contains(&format!("rampart: {}: {file}: ", case.code)),
            "{err}"
        );
    }
}

#[test]
fn scan_image_reports_every_bad_file_as_an_error() {
    let dir = temp_dir("scan-errors-image");
    let jpeg = fixture("pdq/reg-test-input/dih/bridge-1-original.jpg");
    let cases = [
        Case {
            what: "corrupt",
            file: write(&dir, "garbled.jpg", &garbled(jpeg.clone())),
            code: "decode_failed",
        },
        Case {
            what: "truncated",
            file: write(&dir, "cut.jpg", &cut(jpeg)),
            code: "decode_failed",
        },
        Case {
            what: "empty",
            file: write(&dir, "empty.jpg", b""),
            code: "decode_failed",
        },
        Case {
            what: "random bytes",
            file: write(&dir, "noise.jpg", &noise(20_000, 1)),
            code: "unsupported_media",
        },
        Case {
            what: "text named .png",
            file: write(&dir, "notes.png", b"this is not an image\n"),
            code: "unsupported_media",
        },
        Case {
            what: "missing",
            file: dir.0.join("missing.png"),
            code: "invalid_request",
        },
    ];
    let good = testdata().join("pdq/lossless/misc-images/wee.jpg.png");
    check_files("image", &dir.0.join("data"), &good, &cases);
}

#[test]
fn scan_video_reports_every_bad_file_as_an_error() {
    let dir = temp_dir("scan-errors-video");
    let clip = fixture("media/video/clean-testsrc.mp4");
    let cases = [
        Case {
            what: "corrupt",
            file: write(&dir, "garbled.mp4", &garbled(clip.clone())),
            code: "decode_failed",
        },
        Case {
            what: "truncated",
            file: write(&dir, "cut.mp4", &cut(clip)),
            code: "decode_failed",
        },
        Case {
            what: "empty",
            file: write(&dir, "empty.mp4", b""),
            code: "decode_failed",
        },
        Case {
            what: "random bytes",
            file: write(&dir, "noise.mp4", &noise(50_000, 2)),
            code: "unsupported_media",
        },
        Case {
            what: "audio only",
            file: write(&dir, "voice.mp4", &fixture("media/speech/threat.wav")),
            code: "unsupported_media",
        },
    ];
    let good = testdata().join("media/video/tiny-1frame.mp4");
    check_files("video", &dir.0.join("data"), &good, &cases);
}

#[test]
fn scan_audio_reports_every_bad_file_as_an_error() {
    let dir = temp_dir("scan-errors-audio");
    let mp3 = fixture("media/speech/spam-pills.mp3");
    let cases = [
        Case {
            what: "corrupt",
            file: write(&dir, "garbled.mp3", &garbled(mp3.clone())),
            code: "decode_failed",
        },
        Case {
            what: "truncated",
            file: write(&dir, "cut.mp3", &cut(mp3)),
            code: "decode_failed",
        },
        Case {
            what: "empty",
            file: write(&dir, "empty.mp3", b""),
            code: "decode_failed",
        },
        Case {
            what: "random bytes",
            file: write(&dir, "noise.mp3", &noise(50_000, 3)),
            code: "unsupported_media",
        },
        Case {
            what: "silent video",
            file: write(&dir, "silent.mp3", &fixture("media/video/tiny-1frame.mp4")),
            code: "unsupported_media",
        },
    ];
    let good = testdata().join("media/speech/silence.wav");
    check_files("audio", &dir.0.join("data"), &good, &cases);
}

/// Text has no files: bad input is bytes that are not UTF-8. An empty text is a valid
/// message (it passes, tests/cli.rs), so it is not among the failures here.
#[test]
fn scan_text_reports_every_bad_input_as_an_error() {
    let dir = temp_dir("scan-errors-text");
    let data = dir.0.join("data");
    let jpeg = fixture("pdq/reg-test-input/dih/bridge-1-original.jpg");
    let cases: [(&str, Vec<u8>); 3] = [
        ("corrupt", b"hello \xff\xfe world".to_vec()),
        ("truncated", "café".as_bytes()[..4].to_vec()),
        ("binary", jpeg[..4096].to_vec()),
    ];
    for (what, bytes) in &cases {
        let out = rampart_stdin(&data, &["scan", "text", "-"], bytes);
        no_verdict(&out, what);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("rampart: invalid_request: invalid UTF-8 at byte"),
            "{what}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
    }

    // --jsonl: one error line per bad input line, naming the line; the others are judged.
    let mut input = b"good morning\n".to_vec();
    for (_, bytes) in &cases[..2] {
        input.extend_from_slice(bytes);
        input.push(b'\n');
    }
    input.extend_from_slice(b"fuck you\n");
    let out = rampart_stdin(&data, &["scan", "text", "--jsonl"], &input);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["suggestion"], "pass");
    for (n, line) in [(2, &lines[1]), (3, &lines[2])] {
        assert_eq!(line["line"], n, "{line}");
        assert_eq!(line["error"]["code"], "invalid_request", "{line}");
        assert!(line.get("suggestion").is_none(), "{line}");
        assert!(
            stderr(&out).contains(&format!(
                "rampart: invalid_request: line {n}: invalid UTF-8"
            )),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(lines[3]["suggestion"], "block");
}
