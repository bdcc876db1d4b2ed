//! The regex prefilter changes what runs, never what is found: every message of the
//! repository's corpora, and variants of them that take its special paths (upper case, other
//! whitespace, stretched letters, letters that fold to ASCII only case-insensitively), gives the
//! same signals (labels, scores, spans, library, rule) with the prefilter as with every regex run
//! on every text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_text::matcher::{Matcher, ScanScratch};
use rampart_text::{builtin_libraries, EvidenceKind};

fn corpus_dir() -> PathBuf {
    rampart_textmodel::corpus::default_corpus_dir()
        .expect("text corpora not found: the repository's data/text (or set RAMPART_CORPUS)")
}

/// Every message of the functional suite (with TOXIGEN), the SMS Spam Collection, the Davidson
/// tweets and the obscenity list's entries.
fn corpus_messages(corpus: &Path) -> Vec<String> {
    let mut messages: Vec<String> = rampart_textmodel::functional::load(corpus)
        .expect("functional suite")
        .into_iter()
        .map(|case| case.text)
        .collect();
    let sms = std::fs::read_to_string(corpus.join("sms-spam/SMSSpamCollection"))
        .expect("SMS Spam Collection");
    messages.extend(
        sms.lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(_, text)| text.to_owned()),
    );
    for (file, column) in [
        ("davidson/labeled_data.csv", 6),
        ("profanity/profanity_en.csv", 0),
    ] {
        let mut reader = csv::Reader::from_path(corpus.join(file)).expect(file);
        for row in reader.records() {
            messages.push(row.expect(file)[column].to_owned());
        }
    }
    messages
}

/// A variant of message `i` that takes one of the prefilter's special paths.
fn variant(i: usize, message: &str) -> String {
    match i % 5 {
        0 => message.to_uppercase(),
        1 => message
            .split(' ')
            .enumerate()
            .map(|(k, word)| match k % 3 {
                0 => format!("{word}\t"),
                1 => format!("{word}\u{00A0}"),
                _ => format!("{word}\n"),
            })
            .collect(),
        2 => message
            .chars()
            .flat_map(|c| std::iter::repeat_n(c, if "aeiou".contains(c) { 4 } else { 1 }))
            .collect(),
        3 => message.replace('k', "\u{212A}").replace('s', "\u{017F}"),
        _ => format!("{message} lol"),
    }
}

#[test]
fn the_prefilter_never_changes_a_hit() {
    let libraries: Vec<_> = builtin_libraries().into_iter().map(Arc::new).collect();
    let filtered = Matcher::build(libraries.clone()).expect("built-in libraries build");
    let unfiltered = Matcher::build(libraries)
        .expect("built-in libraries build")
        .without_regex_prefilter();
    assert!(filtered.regex_count() > 50);
    assert_eq!(
        filtered.always_run_regex_count(),
        0,
        "every built-in regex has required literals"
    );

    let messages = corpus_messages(&corpus_dir());
    assert!(messages.len() > 35_000, "{} messages", messages.len());
    let variants: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| variant(i, m))
        .collect();

    let (mut a, mut b) = (ScanScratch::default(), ScanScratch::default());
    let mut differing = Vec::new();
    let mut with_regex_hits = 0;
    for text in messages.iter().chain(&variants) {
        let with = filtered.scan(text, &[], &mut a);
        let without = unfiltered.scan(text, &[], &mut b);
        if with != without {
            differing.push((text.clone(), with, without));
        } else if with.iter().any(|s| s.evidence.kind == EvidenceKind::Regex) {
            with_regex_hits += 1;
        }
    }
    assert!(
        differing.is_empty(),
        "{} of {} texts differ, first: {:#?}",
        differing.len(),
        messages.len() + variants.len(),
        differing.first()
    );
    // the comparison covers many regex hits, not only texts no regex matches
    assert!(
        with_regex_hits > 2_000,
        "{with_regex_hits} texts with regex hits"
    );
}
