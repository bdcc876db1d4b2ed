//! The English dictionary behind the matcher's guard: the evasion rules (repetition, plural
//! suffix, leetspeak) may widen a term to catch `fuuuck` or `sh1t`, but never so far that a real
//! word of the language (`assess`, `Cummings`, `Cox`) becomes a term.
//!
//! The word list is SCOWL's, from Debian's `wamerican` package, trimmed to lowercase ASCII
//! letters (see `data/README.md` for provenance and `data/LICENSE-SCOWL` for its licence). It
//! is compiled in and indexed once, on first use.

use std::sync::OnceLock;

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// The trimmed word list: sorted, one lowercase ASCII word a line.
const WORDS: &str = include_str!("../data/words-en.txt");

fn words() -> &'static [&'static str] {
    static INDEX: OnceLock<Vec<&'static str>> = OnceLock::new();
    INDEX.get_or_init(|| WORDS.lines().collect())
}

/// True when `word` (lowercase ASCII letters) is in the English word list.
pub fn is_english_word(word: &str) -> bool {
    !word.is_empty() && words().binary_search(&word).is_ok()
}

/// True when `token`, a word as written in the original text, is a dictionary word once only
/// case and diacritics are undone (`Cummings`, `Dickens`, `Atatürk`). Apostrophes are ignored
/// and a possessive `'s` is dropped (`Dickens's`). Anything else that is not a letter (digits,
/// leet symbols, invisible characters, look-alikes from other scripts) makes it a non-word:
/// `sh1t`, `a$$hole` and `f\u{200B}uck` are evasions, not vocabulary.
pub fn is_english_token(token: &str) -> bool {
    let mut folded = String::with_capacity(token.len());
    for c in token.chars() {
        if c == '\'' || c == '\u{2019}' {
            folded.push('\'');
            continue;
        }
        let mut ok = true;
        decompose_canonical(c, |d| {
            if is_combining_mark(d) {
                return;
            }
            let lower = d.to_ascii_lowercase();
            if lower.is_ascii_lowercase() {
                folded.push(lower);
            } else {
                ok = false;
            }
        });
        if !ok {
            return false;
        }
    }
    let base = folded.strip_suffix("'s").unwrap_or(&folded);
    let word: String = base.chars().filter(|&c| c != '\'').collect();
    is_english_word(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_lowercase_ascii_without_duplicates() {
        let words = words();
        assert!(words.len() > 70_000);
        assert!(words.windows(2).all(|w| w[0] < w[1]));
        assert!(words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn proper_nouns_and_ordinary_words_are_words() {
        for word in [
            "assess", "cummings", "dickens", "hancock", "sussex", "cox", "class",
        ] {
            assert!(is_english_word(word), "{word}");
        }
        assert!(!is_english_word("fuuuck"));
        assert!(!is_english_word(""));
    }

    #[test]
    fn tokens_fold_case_and_diacritics_only() {
        let rows = [
            ("Cummings", true),
            ("ASSESS", true),
            ("Dickens's", true),
            ("Atatürk", true),
            ("don’t", true),
            ("fuuuuck", false),
            ("sh1t", false),
            ("a$$hole", false),
            ("f\u{200B}uck", false),
            ("сox", false),    // Cyrillic с: a look-alike is not undone here
            ("ｃｏｘ", false), // fullwidth is an evasion, not a diacritic
        ];
        for (token, expected) in rows {
            assert_eq!(is_english_token(token), expected, "{token:?}");
        }
    }
}
