//! The part of a text that decides its first word pieces, found before tokenisation so that a
//! megabyte of text costs no more than a sentence.
//!
//! It mirrors how BERT's tokenizer (`BertNormalizer` with clean-up, CJK spacing, accent
//! stripping and lowercasing, then `BertPreTokenizer`, then WordPiece) splits text into words:
//!
//! - a new word always starts at kept whitespace, at punctuation and at a CJK ideograph, whatever
//!   surrounds it (control characters are deleted, so they join their neighbours);
//! - every word with at least one character that survives normalisation gives at least one word
//!   piece, so once `max_words` words are complete the first `max_words` pieces are known and the
//!   rest of the text cannot change them;
//! - a word of more than `max_word_chars` characters is the single piece `[UNK]` whatever else
//!   it holds, so a longer word is shortened to `max_word_chars + 1` surviving characters.
//!
//! The word pieces of the prefix are therefore the first pieces of the whole text, except that
//! only the first [`MAX_SCANNED_BYTES`] of the text are read: text whose first words need more
//! (pathological input, such as tens of kilobytes of combining marks) is cut there.

use std::borrow::Cow;

use unicode_categories::UnicodeCategories;

/// The most text read to find the prefix (and so the most the tokenizer ever sees).
pub(crate) const MAX_SCANNED_BYTES: usize = 64 * 1024;

/// Whether BERT's tokenizer starts a new word at `c` whatever surrounds it: whitespace that
/// survives clean-up (becomes a space), punctuation (isolated), CJK ideographs (spaced).
fn starts_word(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        // Deleted by the clean-up, including the control characters counted as whitespace.
        _ if c.is_other() => false,
        _ => c.is_whitespace() || c.is_ascii_punctuation() || c.is_punctuation() || is_cjk(c),
    }
}

/// Whether `c` leaves at least one character after normalisation (clean-up deletes NUL, U+FFFD
/// and other/control characters; accent stripping deletes non-spacing marks).
fn survives(c: char) -> bool {
    !(c == '\0' || c == '\u{FFFD}' || c.is_other() || c.is_mark_nonspacing())
}

/// The "Chinese character" ranges of BertNormalizer (tokenizers' `is_chinese_char`).
fn is_cjk(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// The prefix of `text` whose tokenisation starts with the same `max_words` word pieces as the
/// whole text (see the module doc), with over-long words shortened. Borrowed unless a word
/// was shortened.
pub(crate) fn word_piece_prefix(
    text: &str,
    max_words: usize,
    max_word_chars: usize,
) -> Cow<'_, str> {
    let mut words = 0usize;
    // Surviving characters of the current word so far (0: not in a word).
    let mut in_word = 0usize;
    // Once a word has been shortened, the text from `copied` on is copied char by char.
    let mut shortened: Option<String> = None;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() > MAX_SCANNED_BYTES {
            end = i;
            break;
        }
        let keep = if starts_word(c) {
            in_word = 0;
            if words >= max_words {
                end = i;
                break;
            }
            if !c.is_whitespace() {
                words += 1; // punctuation or ideograph: a word of its own
            }
            true
        } else if survives(c) {
            if in_word == 0 {
                if words >= max_words {
                    end = i;
                    break;
                }
                words += 1;
            }
            in_word += 1;
            in_word <= max_word_chars + 1
        } else {
            // Deleted by normalisation; inside a shortened word it can go too.
            in_word <= max_word_chars + 1
        };
        match (&mut shortened, keep) {
            (Some(out), true) => out.push(c),
            (None, false) => shortened = Some(text[..i].to_owned()),
            _ => {}
        }
    }
    match shortened {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(&text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(text: &str, words: usize) -> Cow<'_, str> {
        word_piece_prefix(text, words, 5)
    }

    #[test]
    fn short_text_is_returned_whole_and_borrowed() {
        for text in ["", "   ", "hello world", "a, b. c!"] {
            assert!(matches!(prefix(text, 10), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn stops_before_the_word_after_the_last_one_needed() {
        assert_eq!(prefix("one two three four", 2), "one two");
        assert_eq!(prefix("one,two three", 2), "one,");
        assert_eq!(prefix("a 中文 b", 2), "a 中");
    }

    #[test]
    fn control_characters_and_marks_stay_inside_their_word() {
        // NUL is deleted by the normaliser, so "ab\0cd" is one word.
        assert_eq!(prefix("ab\0cd ef gh", 2), "ab\0cd ef");
        // Vertical tab is whitespace to Rust but a deleted control character to BERT.
        assert_eq!(prefix("ab\u{B}cd ef gh", 2), "ab\u{B}cd ef");
        assert_eq!(prefix("e\u{301}x y z", 1), "e\u{301}x");
    }

    #[test]
    fn long_words_are_shortened_to_one_more_than_the_limit() {
        assert_eq!(prefix("abcdefghij klm", 5), "abcdef klm");
        assert_eq!(prefix("abcdefghij klm", 1), "abcdef");
        // Marks after the cut of a shortened word go as well.
        assert_eq!(prefix("abcdefg\u{301}h k", 5), "abcdef k");
    }

    #[test]
    fn reads_at_most_the_scan_budget() {
        let marks = format!("a{}", "\u{301}".repeat(MAX_SCANNED_BYTES));
        let p = prefix(&marks, 10);
        assert!(p.len() <= MAX_SCANNED_BYTES);
        assert!(marks.is_char_boundary(p.len()));
        let unk = "z".repeat(1_000_000);
        assert_eq!(prefix(&unk, 10), "zzzzzz");
    }

    #[test]
    fn classifies_characters_like_the_bert_tokenizer() {
        for c in [
            ' ', '\t', '\n', '\r', '\u{A0}', '\u{3000}', ',', '¿', '—', '「', '中', '\u{F900}',
        ] {
            assert!(starts_word(c), "{c:?} starts a word");
        }
        for c in [
            'a', 'Z', '9', 'é', 'ß', '\u{301}', '\u{B}', '\u{C}', '\u{85}', '\u{200B}', '\0', 'カ',
            '한',
        ] {
            assert!(!starts_word(c), "{c:?} does not start a word");
        }
        for c in ['\0', '\u{FFFD}', '\u{7}', '\u{200B}', '\u{301}', '\u{E000}'] {
            assert!(!survives(c), "{c:?} is deleted");
        }
        for c in ['a', 'é', '€', '🙂', 'カ'] {
            assert!(survives(c), "{c:?} survives");
        }
    }
}
