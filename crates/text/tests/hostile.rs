//! Hostile inputs of issue 3: none may crash, hang or grow memory without bound.
//!
//! Memory bound (stated in ARCHITECTURE.md): a scan holds one window of at most
//! `WINDOW_BYTES` (64 KiB) in normalised form (~24 bytes per input byte, ~1.6 MB) plus at most
//! `MAX_SIGNALS` signals, whatever the length of the text.

use rampart_text::{ScanOptions, TextEngine, MAX_SIGNALS};
use rampart_types::Label;

#[test]
fn a_50_mb_single_line_is_scanned_in_bounded_windows() {
    let engine = TextEngine::with_builtin_libraries();
    let mut text = "lorem ipsum dolor sit amet ".repeat(50 * 1024 * 1024 / 27);
    text.push_str(" and then fuck it");
    let scan = engine.scan(&text, &ScanOptions::default());
    let hit = scan
        .signals
        .iter()
        .find(|s| s.label == Label::Profanity)
        .expect("the term at the very end is found");
    let span = hit.evidence.span.unwrap();
    assert_eq!(&text[span.start..span.end], "fuck");
}

#[test]
fn a_term_across_a_window_edge_is_found_once() {
    let engine = TextEngine::with_builtin_libraries();
    let edge = rampart_text::WINDOW_BYTES - 2;
    let text = format!("{}fuck{}", "ab ".repeat(edge / 3), " cd".repeat(40_000));
    let scan = engine.scan(&text, &ScanOptions::default());
    let hits = scan
        .signals
        .iter()
        .filter(|s| s.label == Label::Profanity && s.evidence.matched.as_deref() == Some("fuck"))
        .count();
    assert_eq!(hits, 1);
}

#[test]
fn a_1_mb_word_without_spaces() {
    let engine = TextEngine::with_builtin_libraries();
    let text = "ab".repeat(512 * 1024);
    let scan = engine.scan(&text, &ScanOptions::default());
    assert!(scan.signals.iter().all(|s| s.label != Label::Profanity));
}

#[test]
fn a_hundred_thousand_combining_marks_on_one_letter() {
    let engine = TextEngine::with_builtin_libraries();
    let text = format!("fu{}ck you", "\u{0301}".repeat(100_000));
    let scan = engine.scan(&text, &ScanOptions::default());
    assert!(!scan.signals.is_empty());
}

#[test]
fn nul_bytes_and_control_characters() {
    let engine = TextEngine::with_builtin_libraries();
    let scan = engine.scan("f\0u\0c\0k \u{1}\u{7f}", &ScanOptions::default());
    assert!(scan.signals.iter().any(|s| s.label == Label::Profanity));
    let only_nul = engine.scan("\0\0\0", &ScanOptions::default());
    assert!(only_nul.signals.is_empty());
}

#[test]
fn empty_text_has_no_signals() {
    let engine = TextEngine::with_builtin_libraries();
    assert!(engine.scan("", &ScanOptions::default()).signals.is_empty());
}

#[test]
fn signal_count_is_capped_however_many_hits() {
    let engine = TextEngine::with_builtin_libraries();
    let text = "fuck shit cunt ".repeat(200_000);
    let scan = engine.scan(&text, &ScanOptions::default());
    assert!(
        scan.signals.len() <= MAX_SIGNALS + 8,
        "{}",
        scan.signals.len()
    );
}

#[test]
fn random_unicode_never_panics_and_spans_stay_on_char_boundaries() {
    use proptest::prelude::*;
    let engine = TextEngine::with_builtin_libraries();
    proptest!(ProptestConfig::with_cases(256), |(text in "\\PC{0,200}")| {
        for signal in engine.scan(&text, &ScanOptions::default()).signals {
            if let Some(span) = signal.evidence.span {
                prop_assert!(span.end <= text.len());
                prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            }
        }
    });
}
