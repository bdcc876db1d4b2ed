//! End-to-end tests of `rampart scan video|audio`, `hash vpdq` and video banks: the real binary
//! on the media fixtures (`data/testdata/media`, made by `./setup.sh`, or
//! `$RAMPART_TESTDATA/media`; its README gives the expected findings and times).

use std::path::PathBuf;
use std::process::Output;

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

fn fixture(rel: &str) -> String {
    let path = testdata().join("media").join(rel);
    assert!(
        path.is_file(),
        "{} missing (./setup.sh makes it: data/testdata/media/README.md)",
        path.display()
    );
    path.display().to_string()
}

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rampart-media-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn verdict(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON verdict on stdout")
}

/// Every (label, evidence) pair of a verdict, nested evidence left inside.
fn evidence(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for label in v["labels"].as_array().unwrap() {
        for ev in label["evidence"].as_array().unwrap() {
            out.push((label["label"].as_str().unwrap().to_string(), ev.clone()));
        }
    }
    out
}

fn within(value: &Value, expected: f64, tolerance: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= tolerance)
}

#[test]
fn the_spoken_threat_in_a_video_is_flagged_at_its_time() {
    let data = data_dir("threat");
    let v = verdict(&rampart(
        &data,
        &["scan", "video", &fixture("video/spoken-threat.mp4")],
    ));
    assert_eq!(v["content_type"], "video");
    assert_ne!(v["suggestion"], "pass", "{v}");
    // Speech audible 5.000–7.986 s (video/README.md).
    let asr: Vec<_> = evidence(&v)
        .into_iter()
        .filter(|(label, e)| {
            e["kind"] == "asr" && ["violence", "harassment"].contains(&label.as_str())
        })
        .collect();
    assert!(!asr.is_empty(), "no asr evidence of a threat: {v}");
    for (_, e) in &asr {
        assert!(within(&e["t_start"], 5.0, 1.0), "{e}");
        assert!(within(&e["t_end"], 7.986, 1.0), "{e}");
    }
    assert!(
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "whisper-tiny.en@1"),
        "{v}"
    );
}

#[test]
fn a_caption_burned_into_a_video_is_flagged_for_its_whole_length() {
    let data = data_dir("caption");
    let v = verdict(&rampart(
        &data,
        &["scan", "video", &fixture("video/burned-text.mp4")],
    ));
    // "BUY CHEAP PILLS" / "AT SPAM DOT EXAMPLE" for the whole 10 s (video/README.md).
    let ocr: Vec<_> = evidence(&v)
        .into_iter()
        .filter(|(label, e)| label == "spam" && e["kind"] == "ocr")
        .collect();
    assert!(!ocr.is_empty(), "no OCR evidence of spam: {v}");
    let term = ocr
        .iter()
        .find(|(_, e)| e["evidence"][0]["kind"] == "term")
        .unwrap_or_else(|| panic!("no matched term: {v}"));
    assert_eq!(term.1["matched"], "CHEAP PILLS", "{v}");
    // One piece of evidence over every sample, merged into one interval.
    assert!(within(&term.1["t_start"], 0.0, 0.01), "{v}");
    assert!(within(&term.1["t_end"], 10.0, 0.05), "{v}");
    assert_ne!(v["suggestion"], "pass", "{v}");
}

#[test]
fn clean_files_pass() {
    let data = data_dir("clean");
    for file in [
        "video/clean-testsrc.mp4",
        "video/clean-testsrc.webm",
        "video/tiny-1frame.mp4",
    ] {
        let v = verdict(&rampart(&data, &["scan", "video", &fixture(file)]));
        assert_eq!(v["suggestion"], "pass", "{file}: {v}");
    }
    let v = verdict(&rampart(
        &data,
        &["scan", "audio", &fixture("speech/clean-weather.wav")],
    ));
    assert_eq!(v["suggestion"], "pass", "{v}");
    let v = verdict(&rampart(
        &data,
        &["scan", "audio", &fixture("speech/silence.wav")],
    ));
    assert_eq!(v["suggestion"], "pass", "{v}");
}

#[test]
fn profanity_in_audio_is_flagged_in_every_container() {
    let data = data_dir("profanity");
    for file in [
        "speech/profanity.wav",
        "speech/profanity.mp3",
        "speech/profanity.opus",
    ] {
        let v = verdict(&rampart(&data, &["scan", "audio", &fixture(file)]));
        assert_eq!(v["content_type"], "audio");
        let found = evidence(&v).into_iter().any(|(label, e)| {
            label == "profanity" && e["kind"] == "asr" && within(&e["t_start"], 0.0, 1.0)
        });
        assert!(found, "{file}: {v}");
    }
}

#[test]
fn corrupt_empty_and_wrong_files_fail_cleanly() {
    let data = data_dir("bad");
    let cases = [
        (
            vec!["scan", "video"],
            fixture("video/corrupt.mp4"),
            "decode_failed",
        ),
        (
            vec!["scan", "audio"],
            fixture("speech/empty.wav"),
            "decode_failed",
        ),
        (
            vec!["scan", "video"],
            fixture("speech/threat.wav"),
            "unsupported_media",
        ),
        (
            vec!["scan", "video"],
            fixture("video/banned-still.png"),
            "unsupported_media",
        ),
    ];
    for (args, file, code) in cases {
        let mut all = args.clone();
        all.push(&file);
        let out = rampart(&data, &all);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{file}: {stdout}");
        let error: Value = serde_json::from_str(stdout.trim()).expect("a JSON error line");
        assert_eq!(error["error"]["code"], code, "{file}: {error}");
        assert_eq!(error["file"], file.as_str(), "{error}");
        assert!(
            error.get("suggestion").is_none(),
            "no verdict for a bad file"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("rampart: {code}: {file}: ")),
            "{stderr}"
        );
    }
    // A cut-off MP3 (3 kB of a 5 s file; speech/README.md) decodes without an error, but its
    // header announces 5 s: no verdict on the 0.65 s that are there.
    let file = fixture("speech/corrupt.mp3");
    let out = rampart(&data, &["scan", "audio", &file]);
    let stdout: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert_eq!(stdout["error"]["code"], "decode_failed", "{stdout}");
}

#[test]
fn a_video_bank_finds_the_banned_clip_inside_a_longer_video() {
    let data = data_dir("vpdq");
    // The vPDQ of the banned-insert video itself, then of the clean one, as reference lines.
    let out = rampart(
        &data,
        &[
            "hash",
            "vpdq",
            "--seconds-per-hash",
            "1",
            &fixture("video/banned-insert.mp4"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20, "one hash a second of a 20 s video");
    for line in &lines {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 4, "frame,quality,hash,timestamp: {line}");
        assert_eq!(cols[2].len(), 64, "{line}");
    }
    let out = rampart(
        &data,
        &[
            "bank",
            "add",
            "banned-clips",
            "--kind",
            "vpdq",
            "--label",
            "terrorism",
            &fixture("video/banned-insert.mp4"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = verdict(&rampart(
        &data,
        &["scan", "video", &fixture("video/banned-insert.mp4")],
    ));
    let hit = evidence(&v)
        .into_iter()
        .any(|(label, e)| label == "terrorism" && e["kind"] == "vpdq");
    assert!(hit, "{v}");
    let v = verdict(&rampart(
        &data,
        &["scan", "video", &fixture("video/clean-testsrc.webm")],
    ));
    assert!(
        !evidence(&v).iter().any(|(_, e)| e["kind"] == "vpdq"),
        "a 5 s clip of the same pattern is not 80 % of the banned video: {v}"
    );
}

#[test]
fn the_speech_evaluation_shows_each_transcript_and_can_score_another_model() {
    // A one-file fixture set: the profanity recording and its reference, linked from the
    // media fixtures (nothing is copied).
    let dir = data_dir("eval-speech");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(fixture("speech/profanity.wav"), dir.join("profanity.wav")).unwrap();
    let reference = "This is fucking ridiculous, what a piece of shit.";
    std::fs::write(
        dir.join("transcripts.csv"),
        format!("file,start_s,end_s,text\nprofanity.wav,0.000,2.916,\"{reference}\"\n"),
    )
    .unwrap();
    let dir_arg = dir.display().to_string();
    let out = rampart(
        &dir,
        &["eval", "speech", "--dir", &dir_arg, "--transcripts"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("  reference:  {reference}")),
        "{stdout}"
    );
    let transcript = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  transcript: "))
        .unwrap_or_else(|| panic!("no transcript line: {stdout}"));
    assert!(transcript.to_lowercase().contains("fucking"), "{stdout}");
    let total = stdout
        .lines()
        .find(|l| l.starts_with("total"))
        .unwrap_or_else(|| panic!("no total line: {stdout}"));
    assert_eq!(total.split_whitespace().nth(1), Some("9"), "{total}");

    // --model names the file to load; a missing one is a clean error, not a fallback.
    let missing = dir.join("no-such-model.bin").display().to_string();
    let out = rampart(
        &dir,
        &["eval", "speech", "--dir", &dir_arg, "--model", &missing],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&missing), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
