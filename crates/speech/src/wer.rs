//! Word error rate: how far a transcript is from a reference, in words.
//!
//! Both sides are normalised the same way before comparing, so only differences in the
//! words count: case and punctuation are ignored, hyphens and other separators split words,
//! `%` reads `percent`, `&` reads `and`, and numbers are compared digit by digit (number
//! words zero–nineteen and the tens twenty–ninety become digits, then every run of digits is
//! split into single digits), so "five five five" = "555" = "5-5-5" and "ninety" = "90".

/// Number words that become digits.
const NUMBER_WORDS: [(&str, &str); 28] = [
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("thirteen", "13"),
    ("fourteen", "14"),
    ("fifteen", "15"),
    ("sixteen", "16"),
    ("seventeen", "17"),
    ("eighteen", "18"),
    ("nineteen", "19"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
];

/// The words of `text` as compared by [`word_errors`] (see the module documentation).
pub fn normalise_words(text: &str) -> Vec<String> {
    let lower = text
        .to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .replace('%', " percent ")
        .replace('&', " and ");
    let mut words = Vec::new();
    for raw in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let word = raw.trim_matches('\'');
        if word.is_empty() {
            continue;
        }
        let word = NUMBER_WORDS
            .iter()
            .find(|(name, _)| *name == word)
            .map_or(word, |(_, digits)| digits);
        if word.chars().all(|c| c.is_ascii_digit()) {
            words.extend(word.chars().map(String::from));
        } else {
            words.push(word.to_owned());
        }
    }
    words
}

/// Word-level edit distance between `reference` and `hypothesis` after
/// [`normalise_words`]: `(substitutions + deletions + insertions, words in the reference)`.
/// The word error rate is the first divided by the second.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let reference = normalise_words(reference);
    let hypothesis = normalise_words(hypothesis);
    (edit_distance(&reference, &hypothesis), reference.len())
}

/// Levenshtein distance over words, in O(len(b)) memory.
fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, word_a) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, word_b) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(word_a != word_b);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_punctuation_do_not_count() {
        assert_eq!(
            normalise_words("This is FUCKING ridiculous, what a piece of shit."),
            [
                "this",
                "is",
                "fucking",
                "ridiculous",
                "what",
                "a",
                "piece",
                "of",
                "shit"
            ]
        );
        assert_eq!(word_errors("Hello, world!", "hello world"), (0, 2));
    }

    #[test]
    fn numbers_compare_digit_by_digit() {
        let spoken = "Call me on five five five, one two three, four five six seven.";
        for written in [
            "Call me on 5-5-5-1-2-3-4-5-6-7",
            "call me on 555 123 4567",
            "Call me on 555-123-4567.",
        ] {
            assert_eq!(word_errors(spoken, written), (0, 13), "{written}");
        }
        assert_eq!(normalise_words("ninety percent"), normalise_words("90%"));
        assert_eq!(
            normalise_words("twenty new trees"),
            ["2", "0", "new", "trees"]
        );
    }

    #[test]
    fn apostrophes_stay_inside_words() {
        assert_eq!(
            normalise_words("nine o'clock, 'quoted'"),
            ["9", "o'clock", "quoted"]
        );
        assert_eq!(normalise_words("it\u{2019}s"), ["it's"]);
    }

    #[test]
    fn substitutions_deletions_and_insertions_are_counted() {
        let reference = "I am going to find you and hurt you";
        assert_eq!(
            word_errors(reference, "I am going to find you and hurt you"),
            (0, 9)
        );
        assert_eq!(
            word_errors(reference, "I am going to find you and you"),
            (1, 9)
        ); // deletion
        assert_eq!(
            word_errors(reference, "I'm going to find you and hurt you"),
            (2, 9)
        ); // sub + del
        assert_eq!(
            word_errors(reference, "I am going to find you and hurt you now"),
            (1, 9)
        );
        assert_eq!(
            word_errors(reference, "I am going to bind you and hurt you"),
            (1, 9)
        );
    }

    #[test]
    fn empty_sides() {
        assert_eq!(word_errors("", ""), (0, 0));
        assert_eq!(word_errors("", "[hallucination] words"), (2, 0));
        assert_eq!(word_errors("three words here", ""), (3, 3));
    }
}
