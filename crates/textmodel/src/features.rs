//! Feature hashing: word unigrams and bigrams (plus a few punctuation and number-shape
//! features), each hashed with FNV-1a into 2^18 signed buckets.
//!
//! Why whole words only: character n-grams inside words were the measured cause of most model
//! false positives (`Dickens`, `bitter`, `shuttlecock` share n-grams with insults); without them
//! the model's flags on Scunthorpe-style sentences fell from 13 to 3 of 110 (MODELS.md). Evasive
//! spellings are undone before the features by the text engine's normaliser, which the engine
//! runs anyway for the term libraries, so the model sees `fuck` where the user wrote `f.u.c.k`.

use std::cell::RefCell;

/// Number of hash bits; 2^18 buckets.
pub const DIM_BITS: u32 = 18;
const DIM_MASK: u32 = (1 << DIM_BITS) - 1;
/// At most this many features are taken from one text (the first ones), bounding work.
const MAX_FEATURES: usize = 20_000;

/// The hashed features of one text: bucket indices with a sign in the top bit.
#[derive(Debug, Default, Clone)]
pub struct HashedFeatures {
    pub(crate) indices: Vec<u32>,
}

/// Turns text into [`HashedFeatures`].
#[derive(Debug, Default, Clone, Copy)]
pub struct FeatureHasher;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(seed: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h = FNV_OFFSET ^ seed;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    // Final avalanche so low bits depend on every byte.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

fn bucket(hash: u64) -> u32 {
    let index = (hash as u32) & DIM_MASK;
    let sign = ((hash >> 63) as u32) << 31;
    index | sign
}

/// `text` without URLs and `@handles`, and with HTML character references (`&amp;`,
/// `&#8220;`) blanked. The tweets the toxicity model learns from carry links and mentions
/// mostly in offensive examples, and SMS spam carries links: a link or a handle says nothing
/// about tone, and whether a link is an ad is the ads detector's call, not the models'.
fn placeholders(text: &str) -> std::borrow::Cow<'_, str> {
    let is_link = |t: &str| {
        let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
        lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
            || (t.starts_with('@') && t.len() > 1)
    };
    let has_entity = |t: &str| {
        ["&#", "&amp;", "&gt;", "&lt;", "&quot;"]
            .iter()
            .any(|e| t.contains(e))
    };
    if !text.split_whitespace().any(|t| is_link(t) || has_entity(t)) {
        return text.into();
    }
    let kept: Vec<String> = text
        .split_whitespace()
        .filter(|t| !is_link(t))
        .map(|t| {
            if has_entity(t) {
                strip_entities(t)
            } else {
                t.to_owned()
            }
        })
        .collect();
    kept.join(" ").into()
}

/// `token` without HTML character references (`&amp;` `&#8220;` …).
fn strip_entities(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut rest = token;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match tail.find(';') {
            Some(end)
                if end <= 9
                    && tail[1..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '#') =>
            {
                out.push(' ');
                rest = &tail[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl HashedFeatures {
    /// Extracts features of `text` into `self`, reusing its buffer.
    pub fn extract(&mut self, text: &str) {
        self.indices.clear();
        let cleaned = placeholders(text);
        let text: &str = &cleaned;
        let mut word = String::with_capacity(32);
        let mut previous_word_hash: Option<u64> = None;
        let mut chars = text.chars().peekable();
        while chars.peek().is_some() && self.indices.len() < MAX_FEATURES {
            word.clear();
            for c in chars.by_ref() {
                if c.is_alphanumeric() || c == '\'' {
                    word.extend(c.to_lowercase());
                } else if !word.is_empty() {
                    break;
                } else if !c.is_whitespace()
                    && c.is_ascii_punctuation()
                    && matches!(c, '!' | '?' | '$' | '£' | '€' | '%')
                {
                    self.indices.push(bucket(fnv(7, [c as u8])));
                }
            }
            if word.is_empty() {
                continue;
            }
            let word_hash = fnv(1, word.bytes());
            self.indices.push(bucket(word_hash));
            if let Some(prev) = previous_word_hash {
                self.indices.push(bucket(fnv(
                    2,
                    prev.to_le_bytes()
                        .into_iter()
                        .chain(word_hash.to_le_bytes()),
                )));
            }
            previous_word_hash = Some(word_hash);
            if word.chars().all(|c| c.is_ascii_digit()) {
                // Numbers: one shape feature by length instead of the digits themselves.
                self.indices
                    .push(bucket(fnv(3, [word.len().min(20) as u8])));
            }
        }
    }

    /// Runs `f` with the features of `text`, extracted into a per-thread buffer.
    pub fn with_thread_local<R>(text: &str, f: impl FnOnce(&HashedFeatures) -> R) -> R {
        thread_local! {
            static BUFFER: RefCell<HashedFeatures> = RefCell::new(HashedFeatures::default());
        }
        BUFFER.with(|buffer| {
            let mut features = buffer.borrow_mut();
            features.extract(text);
            f(&features)
        })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True when the text had no features.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// (bucket, value) pairs; values are ±1/√n so each text has unit L2 norm (before collisions).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, f32)> + '_ {
        let scale = 1.0 / (self.indices.len().max(1) as f32).sqrt();
        self.indices.iter().map(move |&i| {
            let sign = if i >> 31 == 1 { -scale } else { scale };
            ((i & DIM_MASK) as usize, sign)
        })
    }
}

impl FeatureHasher {
    /// The features of `text`.
    pub fn features(self, text: &str) -> HashedFeatures {
        let mut f = HashedFeatures::default();
        f.extract(text);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_deterministic_and_case_insensitive() {
        let a = FeatureHasher.features("Free ENTRY now!");
        let b = FeatureHasher.features("free entry now!");
        assert_eq!(a.indices, b.indices);
        assert!(!a.is_empty());
    }

    #[test]
    fn links_handles_and_entities_are_left_out() {
        assert_eq!(placeholders("see https://spam.example/buy now"), "see now");
        assert_eq!(
            placeholders("@bob WWW.x.org &#8220;hi&#8221; a&amp;b"),
            " hi  a b"
        );
        assert_eq!(placeholders("plain text & more"), "plain text & more");
        let a = FeatureHasher.features("look http://t.co/abc");
        let b = FeatureHasher.features("look https://evil.example/zzz");
        assert_eq!(a.indices, b.indices, "links add no features");
    }

    #[test]
    fn features_are_bounded_for_huge_inputs() {
        let f = FeatureHasher.features(&"word ".repeat(1_000_000));
        assert!(f.len() <= MAX_FEATURES + 32);
        let f = FeatureHasher.features(&"x".repeat(1_000_000));
        assert!(f.len() < 5);
    }
}
