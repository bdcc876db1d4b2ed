//! The shared corpora and their fixed train/validation/test split.
//!
//! The split of a message is a function of its text alone (FNV-1a of the bytes, mod 100: 0–69
//! train, 70–79 validation, 80–99 test), so it never changes between runs or machines, and a
//! message repeated in the corpus (the SMS collection has 403 repeats) always lands in the same
//! split: no test message is also a training message.

use std::path::{Path, PathBuf};

/// Which part of a corpus an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Validation,
    Test,
}

/// The split of a message.
pub fn split_of(text: &str) -> Split {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    match h % 100 {
        0..=69 => Split::Train,
        70..=79 => Split::Validation,
        _ => Split::Test,
    }
}

/// Why a corpus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
}

/// A Davidson et al. tweet: class 0 hate speech, 1 offensive, 2 neither.
#[derive(Debug, Clone)]
pub struct Tweet {
    pub text: String,
    pub class: u8,
}

/// An SMS and whether it is spam.
#[derive(Debug, Clone)]
pub struct Sms {
    pub text: String,
    pub spam: bool,
}

/// Reads `sms-spam/SMSSpamCollection` (tab-separated `ham|spam<TAB>text`).
pub fn load_sms(corpus_dir: &Path) -> Result<Vec<Sms>, CorpusError> {
    let path = corpus_dir.join("sms-spam/SMSSpamCollection");
    let text = std::fs::read_to_string(&path).map_err(|e| CorpusError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(label, text)| Sms {
            text: text.to_owned(),
            spam: label == "spam",
        })
        .collect())
}

/// Reads `davidson/labeled_data.csv` (quoted CSV with multi-line fields).
pub fn load_davidson(corpus_dir: &Path) -> Result<Vec<Tweet>, CorpusError> {
    let path = corpus_dir.join("davidson/labeled_data.csv");
    let err = |reason: String| CorpusError::Read {
        path: path.display().to_string(),
        reason,
    };
    let mut reader = csv::Reader::from_path(&path).map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| err(e.to_string()))?;
        let class: u8 = row
            .get(5)
            .unwrap_or_default()
            .parse()
            .map_err(|_| err("bad class column".into()))?;
        out.push(Tweet {
            text: row.get(6).unwrap_or_default().to_owned(),
            class,
        });
    }
    Ok(out)
}

/// A 64-bit fingerprint of the corpus files (FNV-1a of their bytes), recorded in model files.
pub fn fingerprint(corpus_dir: &Path) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut files: Vec<PathBuf> = ["sms-spam/SMSSpamCollection", "davidson/labeled_data.csv"]
        .iter()
        .map(|f| corpus_dir.join(f))
        .collect();
    files.extend(crate::functional::files(corpus_dir));
    for file in files {
        for b in std::fs::read(file).unwrap_or_default() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The text corpora: `$RAMPART_CORPUS`, else the repository's `data/text` found walking up
/// from the current directory, else the one beside this crate's sources (a build from a clone).
/// Every file the models train and evaluate on is vendored there with its provenance.
pub fn default_corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RAMPART_CORPUS") {
        return Some(PathBuf::from(dir));
    }
    let is_corpus = |dir: &Path| dir.join("davidson").is_dir() && dir.join("functional").is_dir();
    if let Ok(mut here) = std::env::current_dir() {
        loop {
            let candidate = here.join("data/text");
            if is_corpus(&candidate) {
                return Some(candidate);
            }
            if !here.pop() {
                break;
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/text");
    is_corpus(&built).then_some(built)
}

/// The binary task data for one model, split: (train, validation, test).
pub type Task = (Vec<Example>, Vec<Example>, Vec<Example>);

/// A text and whether it is a positive example.
pub type Example = (String, bool);

fn split_task(examples: impl Iterator<Item = Example>) -> Task {
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for (text, y) in examples {
        match split_of(&text) {
            Split::Train => tr.push((text, y)),
            Split::Validation => va.push((text, y)),
            Split::Test => te.push((text, y)),
        }
    }
    (tr, va, te)
}

/// Spam vs ham on the SMS collection.
pub fn spam_task(corpus_dir: &Path) -> Result<Task, CorpusError> {
    Ok(split_task(
        load_sms(corpus_dir)?.into_iter().map(|s| (s.text, s.spam)),
    ))
}

/// Offensive or hate (classes 0, 1) vs neither (2) on Davidson.
pub fn toxicity_task(corpus_dir: &Path) -> Result<Task, CorpusError> {
    Ok(split_task(
        load_davidson(corpus_dir)?
            .into_iter()
            .map(|t| (t.text, t.class != 2)),
    ))
}

/// Ordinary messages, all negative: the SMS collection's ham. Added to the Davidson tasks'
/// train and validation splits (never their test split) so the toxicity and hate models see
/// everyday text that is not tweets; their test split measures cross-domain false positives.
pub fn ham_task(corpus_dir: &Path) -> Result<Task, CorpusError> {
    Ok(split_task(
        load_sms(corpus_dir)?
            .into_iter()
            .filter(|s| !s.spam)
            .map(|s| (s.text, false)),
    ))
}

/// `task` with `extra`'s train and validation examples appended; the test split is `task`'s.
pub fn with_extra_negatives(mut task: Task, extra: &Task) -> Task {
    task.0.extend(extra.0.iter().cloned());
    task.1.extend(extra.1.iter().cloned());
    task
}

/// Hate (class 0) vs the rest on Davidson.
pub fn hate_task(corpus_dir: &Path) -> Result<Task, CorpusError> {
    Ok(split_task(
        load_davidson(corpus_dir)?
            .into_iter()
            .map(|t| (t.text, t.class == 0)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_fixed_and_depends_on_text_only() {
        assert_eq!(split_of("hello"), split_of("hello"));
        let counts = (0..10_000).fold([0usize; 3], |mut acc, i| {
            acc[split_of(&format!("message {i}")) as usize] += 1;
            acc
        });
        assert!((6_500..7_500).contains(&counts[0]), "{counts:?}");
        assert!((1_700..2_300).contains(&counts[2]), "{counts:?}");
    }
}
