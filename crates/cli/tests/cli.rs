//! End-to-end tests: the real `rampart` binary, its stdout JSON and its exit codes.

mod common;

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

/// `rampart --data DATA ARGS…`, with `stdin` (or nothing) as its standard input.
fn rampart(data: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    common::rampart_stdin(data, args, stdin.unwrap_or_default())
}

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rampart-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn verdict(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON verdict ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn an_evasive_insult_is_blocked_with_evidence_at_original_bytes() {
    let data = data_dir("evasive");
    let text = "you are a f\u{200b}u\u{0441}king idiot, see www.spam.example";
    let out = rampart(&data, &["scan", "text", text], None);
    assert_eq!(out.status.code(), Some(0));
    let v = verdict(&out);
    assert_ne!(v["suggestion"], "pass");
    assert_eq!(v["content_type"], "text");
    assert!(v["policy"].as_str().unwrap().contains('@'));
    assert_eq!(v["content_ref"]["sha256"].as_str().unwrap().len(), 64);
    let mut saw_profanity = false;
    for label in v["labels"].as_array().unwrap() {
        for ev in label["evidence"].as_array().unwrap() {
            if let (Some(span), Some(matched)) = (ev["span"].as_array(), ev["matched"].as_str()) {
                let (a, b) = (
                    span[0].as_u64().unwrap() as usize,
                    span[1].as_u64().unwrap() as usize,
                );
                assert_eq!(&text.as_bytes()[a..b], matched.as_bytes());
            }
        }
        if label["label"] == "profanity" {
            saw_profanity = true;
            let tricks = label["evidence"][0]["tricks"].to_string();
            assert!(
                tricks.contains("zero_width") && tricks.contains("confusable"),
                "{tricks}"
            );
        }
    }
    assert!(saw_profanity, "{v}");
}

#[test]
fn jsonl_gives_one_verdict_per_line_including_empty_and_huge_lines() {
    let data = data_dir("jsonl");
    let input = format!("hello there\n\nwhat the f.u.c.k\n{}\n", "a".repeat(100_000));
    let out = rampart(
        &data,
        &["scan", "text", "--jsonl", "-"],
        Some(input.as_bytes()),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["suggestion"], "pass");
    assert_eq!(lines[1]["suggestion"], "pass");
    assert_ne!(lines[2]["suggestion"], "pass");
}

#[test]
fn invalid_utf8_exits_2_with_the_byte_offset() {
    let data = data_dir("utf8");
    let out = rampart(&data, &["scan", "text", "-"], Some(b"abc \xff\xfe def"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("byte 4"), "{err}");
    assert!(out.stdout.is_empty());

    let lossy = rampart(
        &data,
        &["scan", "text", "--lossy", "-"],
        Some(b"abc \xff\xfe def"),
    );
    assert_eq!(lossy.status.code(), Some(0));
}

#[test]
fn invalid_utf8_in_jsonl_gets_an_error_line_and_the_rest_is_scanned() {
    let data = data_dir("utf8-jsonl");
    let out = rampart(
        &data,
        &["scan", "text", "--jsonl"],
        Some(b"fine\nbad \xff\nfuck you\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["error"]["code"], "invalid_request");
    assert_eq!(lines[2]["suggestion"], "block");
}

#[test]
fn fail_on_sets_the_exit_code() {
    let data = data_dir("fail-on");
    let blocked = rampart(
        &data,
        &["scan", "text", "--fail-on", "block", "fuck you"],
        None,
    );
    assert_eq!(blocked.status.code(), Some(1));
    let clean = rampart(
        &data,
        &["scan", "text", "--fail-on", "block", "good morning"],
        None,
    );
    assert_eq!(clean.status.code(), Some(0));
    let review = rampart(
        &data,
        &["scan", "text", "--fail-on", "review", "you are an idiot"],
        None,
    );
    assert_eq!(review.status.code(), Some(1));
}

#[test]
fn empty_input_passes_and_nul_bytes_are_fine() {
    let data = data_dir("empty");
    let out = rampart(&data, &["scan", "text", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(verdict(&out)["suggestion"], "pass");
    let nul = rampart(&data, &["scan", "text", "-"], Some(b"f\0u\0c\0k\0 you"));
    assert_eq!(nul.status.code(), Some(0));
    assert_ne!(verdict(&nul)["suggestion"], "pass");
}

#[test]
fn a_custom_library_is_used_and_listed() {
    let data = data_dir("library");
    let terms = data.with_extension("terms");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&terms, "gift cards & wire\nre:\\bbit\\.ly/\\w+\n").unwrap();
    let add = rampart(
        &data,
        &[
            "library",
            "add",
            "scams",
            "--kind",
            "block",
            "--label",
            "custom:scams",
            terms.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        add.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let out = rampart(&data, &["scan", "text", "send gift cards by wire"], None);
    let v = verdict(&out);
    assert_eq!(v["suggestion"], "block");
    assert_eq!(v["labels"][0]["label"], "custom:scams");
    let list = rampart(&data, &["library", "list"], None);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(
        listing.contains("scams") && listing.contains("builtin:profanity-en"),
        "{listing}"
    );
}

#[test]
fn a_bad_library_is_refused_and_nothing_is_stored() {
    let data = data_dir("bad-library");
    let terms = data.with_extension("bad");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&terms, "ok\nre:(\\w{1,100}){1,100}\n").unwrap();
    let add = rampart(
        &data,
        &["library", "add", "evil", terms.to_str().unwrap()],
        None,
    );
    assert_eq!(add.status.code(), Some(2));
    let err = String::from_utf8_lossy(&add.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(!data.join("libraries/evil.lib").exists());
}

#[test]
fn a_policy_file_changes_the_decision_and_is_cited() {
    let data = data_dir("policy");
    std::fs::create_dir_all(&data).unwrap();
    let policy = data.join("strict.toml");
    std::fs::write(
        &policy,
        "name = \"strict\"\nversion = 7\n[labels.profanity]\nreview = 0.1\nblock = 0.2\n",
    )
    .unwrap();
    let out = rampart(
        &data,
        &[
            "scan",
            "text",
            "--policy",
            policy.to_str().unwrap(),
            "oh shit",
        ],
        None,
    );
    let v = verdict(&out);
    assert_eq!(v["policy"], "strict@7");
    assert_eq!(v["suggestion"], "block");

    std::fs::write(
        &policy,
        "name = \"strict\"\nversion = 7\n[labels.politics]\nreview = 0.1\n",
    )
    .unwrap();
    let bad = rampart(
        &data,
        &["scan", "text", "--policy", policy.to_str().unwrap(), "hi"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    let data = data_dir("usage");
    let out = rampart(&data, &["scan", "text", "--fail-on", "maybe", "x"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = rampart(&data, &["scan", "text", "--jsonl", "not-stdin"], None);
    assert_eq!(out.status.code(), Some(2));
}
