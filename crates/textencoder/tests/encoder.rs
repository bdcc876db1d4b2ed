//! The encoder against its contract: unit vectors, determinism, batch = single, semantic
//! sanity, an independent numpy reference, and hostile inputs (empty, 1 MB).

mod common;

use common::{dot, encoder, max_abs_diff, norm};
use rampart_textencoder::{SentenceEncoder, DIM};

/// First 8 dimensions of reference embeddings from `reference/reference.py` (numpy, float64,
/// no shared code with the crate).
const REFERENCE: [(&str, [f32; 8]); 3] = [
    (
        "A man is playing a guitar.",
        [
            0.021664, -0.004864, -0.009649, -0.063401, -0.167494, 0.004676, 0.080600, -0.024142,
        ],
    ),
    (
        "The stock market fell today.",
        [
            0.051214, 0.015697, 0.070276, 0.069190, -0.004219, 0.017180, -0.023921, 0.032837,
        ],
    ),
    (
        "you are a complete idiot and everyone hates you",
        [
            0.013515, 0.075216, 0.071822, -0.027052, 0.027027, -0.024518, 0.081690, 0.083350,
        ],
    ),
];

/// The reference for [`long_text`] (270 word pieces, cut to 128).
const LONG_REFERENCE: [f32; 8] = [
    0.051379, -0.020373, 0.076425, 0.013825, -0.046977, -0.025717, -0.014825, -0.078480,
];

/// The long sentence of `reference/reference.py`.
fn long_text() -> String {
    vec!["the quick brown fox jumps over the lazy dog"; 30].join(" ")
}

fn assert_matches_reference(text: &str, got: &[f32], want: &[f32; 8]) {
    let diff = max_abs_diff(&got[..8], want);
    assert!(
        diff <= 1e-3,
        "{text:?}: first dims {:?}, reference {want:?} (max diff {diff})",
        &got[..8]
    );
}

#[test]
fn matches_the_numpy_reference() {
    for (text, want) in REFERENCE {
        assert_matches_reference(text, &encoder().embed(text).unwrap(), &want);
    }
}

#[test]
fn long_text_is_cut_to_128_word_pieces_like_the_reference() {
    let text = long_text();
    assert_matches_reference(
        "long text",
        &encoder().embed(&text).unwrap(),
        &LONG_REFERENCE,
    );
    // Anything after the first 126 word pieces is ignored.
    let longer = format!("{text} and then something completely different happens");
    assert_eq!(
        encoder().embed(&longer).unwrap(),
        encoder().embed(&text).unwrap()
    );
}

#[test]
fn embeddings_are_unit_length_and_384_wide() {
    for text in [
        "hello",
        "A man is playing a guitar.",
        "",
        "🙂🙂🙂",
        &long_text(),
    ] {
        let e = encoder().embed(text).unwrap();
        assert_eq!(e.len(), DIM, "{text:?}");
        assert!((norm(&e) - 1.0).abs() < 1e-5, "{text:?}: norm {}", norm(&e));
        assert!(e.iter().all(|v| v.is_finite()), "{text:?}");
    }
}

#[test]
fn embedding_is_deterministic() {
    let text = "Please send me your password and bank details right now";
    let first = encoder().embed(text).unwrap();
    for _ in 0..3 {
        assert_eq!(encoder().embed(text).unwrap(), first);
    }
}

#[test]
fn batch_equals_single_for_mixed_lengths() {
    let long = long_text();
    let mut texts = vec![
        "A man is playing a guitar.",
        "",
        "hi",
        "The stock market fell today, and analysts blamed the unexpected rise in rates.",
        long.as_str(),
        "   ",
        "Someone plays the guitar.",
    ];
    // More than one internal batch of 32, with repeats in different padding contexts.
    let generated: Vec<String> = (0..40)
        .map(|i| format!("message number {i} {}", "word ".repeat(i % 13)))
        .collect();
    texts.extend(generated.iter().map(String::as_str));
    let batch = encoder().embed_batch(&texts).unwrap();
    assert_eq!(batch.len(), texts.len());
    for (text, got) in texts.iter().zip(&batch) {
        let single = encoder().embed(text).unwrap();
        let diff = max_abs_diff(got, &single);
        assert!(
            diff <= 1e-4,
            "{text:?}: batch differs from single by {diff}"
        );
    }
    assert!(encoder().embed_batch(&[]).unwrap().is_empty());
}

#[test]
fn paraphrase_is_closer_than_an_unrelated_sentence() {
    let e = |t: &str| encoder().embed(t).unwrap();
    let guitar = e("A man is playing a guitar.");
    let paraphrase = dot(&guitar, &e("Someone plays the guitar."));
    let unrelated = dot(&guitar, &e("The stock market fell today."));
    assert!(paraphrase > 0.7, "paraphrase cosine {paraphrase}");
    assert!(
        unrelated < paraphrase - 0.3,
        "unrelated cosine {unrelated} vs paraphrase {paraphrase}"
    );
}

#[test]
fn empty_and_whitespace_text_give_the_empty_sentence() {
    let empty = encoder().embed("").unwrap();
    assert!((norm(&empty) - 1.0).abs() < 1e-5);
    for text in [" ", "\n\t  \r\n", "\u{200B}", "\u{0}\u{7}"] {
        let e = encoder().embed(text).unwrap();
        assert!(max_abs_diff(&e, &empty) < 1e-6, "{text:?}");
    }
}

#[test]
fn a_megabyte_of_text_embeds_its_first_word_pieces() {
    let words = "spam offer click here now ".repeat(40_000); // 1 MB
    assert!(words.len() >= 1_000_000);
    let e = encoder().embed(&words).unwrap();
    // 126 word pieces are in the first ~700 bytes; the rest never reaches the tokenizer.
    let head = encoder().embed(&words[..4000]).unwrap();
    assert!(max_abs_diff(&e, &head) < 1e-6);
}

#[test]
fn a_megabyte_without_spaces_is_cheap() {
    let cases = [
        ("one word", "a".repeat(1_000_000)),
        ("punctuation", "a,".repeat(500_000)),
        ("ideographs", "中".repeat(333_334)),
        ("combining marks", format!("a{}", "\u{301}".repeat(500_000))),
        ("control characters", "\u{7}".repeat(1_000_000)),
    ];
    for (what, text) in cases {
        let start = std::time::Instant::now();
        let e = encoder().embed(&text).unwrap();
        let elapsed = start.elapsed();
        assert!((norm(&e) - 1.0).abs() < 1e-5, "{what}");
        // A 128-piece forward pass takes ~20 ms in release builds; tokenising the whole
        // megabyte took 0.6-1.2 s before the text was cut first.
        assert!(elapsed.as_secs_f64() < 0.5, "{what}: {elapsed:?}");
    }
    // Words longer than 100 characters are one [UNK], however long.
    let a = encoder().embed(&"a".repeat(1_000_000)).unwrap();
    let b = encoder().embed(&"b".repeat(500)).unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-6);
}

#[test]
fn name_version_is_pinned() {
    assert_eq!(encoder().name_version(), "all-MiniLM-L6-v2@1");
}

#[test]
fn missing_files_are_named_with_the_setup_script() {
    let dir = std::env::temp_dir().join(format!("rampart-textencoder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    let err = SentenceEncoder::load(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("tokenizer.json"), "{err}");
    assert!(err.contains("./setup.sh"), "{err}");
}

#[test]
fn encoder_is_shared_across_threads() {
    let text = "A man is playing a guitar.";
    let want = encoder().embed(text).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| encoder().embed(text).unwrap()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
}
