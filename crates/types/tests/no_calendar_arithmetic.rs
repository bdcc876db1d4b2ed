//! Calendar arithmetic and RFC 3339 come from the `time` crate (issue 17, item 7): no crate
//! carries its own days-from-civil / civil-from-days / leap-year helpers again.

use std::fs;
use std::path::{Path, PathBuf};

/// Names and constants of hand-written Gregorian calendar code, split so that this file
/// does not match itself.
const FORBIDDEN: [[&str; 2]; 5] = [
    ["days_from", "_civil"],
    ["civil_from", "_days"],
    ["is_", "leap"],
    ["719", "_468"],
    ["7194", "68"],
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_hand_written_calendar_helpers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "fuzz", "bench", "e2e"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.iter().any(|f| f.ends_with("crates/types/src/lib.rs")),
        "the workspace's sources were not found under {}",
        root.display()
    );
    let mut found = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            for [a, b] in FORBIDDEN {
                let word = format!("{a}{b}");
                if line.contains(&word) {
                    found.push(format!("{}:{}: {word}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "hand-written calendar arithmetic; use the `time` crate instead:\n{}",
        found.join("\n")
    );
}
