//! The two-stage text judgement: what the models read, which messages stage 2 reads, and how its
//! heads' scores become signals.
//!
//! Stage 1 (every message, microseconds): the term libraries and the linear models of
//! `rampart-textmodel` over [`model_text`]. Stage 2 (escalated messages only, milliseconds): the
//! sentence encoder of `rampart-textencoder` and the label heads over its embedding. The
//! [`Gate`] decides who is escalated; long texts are read in chunks of at most
//! [`CHUNK_WORDS`] words, and at most [`MAX_ESCALATED_CHUNKS`] chunks of one text are escalated,
//! so the cost of a text is bounded whatever its length.

use std::path::Path;

use rampart_textencoder::SentenceEncoder;
use rampart_textmodel::{EmbeddingHeads, Gate, LinearModel, Reason, GATE_FILE, HEADS_FILE};
use rampart_types::{ByteSpan, Evidence, EvidenceKind, Label, Signal};

use crate::normalise::Normalised;

/// Words per stage-2 chunk (the encoder reads at most 128 word pieces).
pub const CHUNK_WORDS: usize = 48;
/// At most this many chunks of one text go to stage 2.
pub const MAX_ESCALATED_CHUNKS: usize = 8;
/// A hit of a `confirm` library stands only when the stage-2 head of its label scores at least
/// this (on the policy-facing scale, where 0.4 is the head's operating point). Lower than the
/// review threshold: the term and the model agreeing is stronger evidence than either alone.
pub const CONFIRM_FROM: f32 = 0.2;

/// The factor on stage 2's hate and harassment scores in a chunk with a counter-speech frame.
pub const COUNTER_SPEECH_FACTOR: f32 = 0.5;

/// Why stage 2 could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Stage2Error {
    #[error("sentence encoder: {0}")]
    Encoder(String),
    #[error("stage-2 heads: {0}")]
    Heads(String),
    #[error("the learned gate: {0}")]
    Gate(String),
    #[error("the heads were trained on {trained} but the encoder is {loaded}: run ./setup.sh to retrain")]
    EncoderMismatch { trained: String, loaded: String },
}

/// Stage 2: the sentence encoder, its heads and the gate. `Send + Sync`.
pub struct Stage2 {
    encoder: SentenceEncoder,
    heads: EmbeddingHeads,
    gate: Gate,
}

impl std::fmt::Debug for Stage2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stage2")
            .field("heads", &self.heads.name_version())
            .field("encoder", &self.encoder.name_version())
            .finish()
    }
}

/// One chunk that stage 2 read.
#[derive(Debug, Clone)]
pub struct Stage2Reading {
    /// Byte range of the chunk in the scanned text.
    pub span: ByteSpan,
    pub reasons: Vec<Reason>,
    /// (label, policy-facing score, calibrated probability) per head.
    pub scores: Vec<(Label, f32, f32)>,
}

impl Stage2Reading {
    /// The policy-facing score of `label`'s head, if there is one.
    pub fn score_of(&self, label: &Label) -> Option<f32> {
        self.scores
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, s, _)| *s)
    }
}

impl Stage2 {
    /// Stage 2 from its parts; `learned_gate` is required when the heads name a threshold for
    /// it (`gate_from`).
    pub fn new(
        encoder: SentenceEncoder,
        heads: EmbeddingHeads,
        learned_gate: Option<LinearModel>,
    ) -> Result<Self, Stage2Error> {
        if heads.encoder != encoder.name_version() {
            return Err(Stage2Error::EncoderMismatch {
                trained: heads.encoder,
                loaded: encoder.name_version(),
            });
        }
        let mut gate = match heads.escalate_from {
            Some(score) => Gate::english().with_uncertain_from(score),
            None => Gate::english(),
        };
        match (heads.gate_from, learned_gate) {
            (Some(from), Some(model)) => gate = gate.with_learned(model, from),
            (Some(_), None) => {
                return Err(Stage2Error::Gate(format!(
                    "the heads name a threshold for {GATE_FILE} but none was given: run ./setup.sh"
                )))
            }
            (None, _) => {}
        }
        Ok(Stage2 {
            encoder,
            heads,
            gate,
        })
    }

    /// Loads the encoder (`<models>/all-minilm-l6-v2/`, with the fine-tuned top layers of
    /// `<models>/text-encoder-tuned.safetensors` when present), the heads
    /// (`<models>/text-heads.json`) and the learned gate (`<models>/text-gate.rmodel`) when
    /// the heads were trained with one.
    pub fn load(models_dir: &Path) -> Result<Self, Stage2Error> {
        let encoder = SentenceEncoder::load_for_stage2(models_dir)
            .map_err(|e| Stage2Error::Encoder(e.to_string()))?;
        let heads_path = models_dir.join(HEADS_FILE);
        let heads = EmbeddingHeads::load(&heads_path).map_err(|e| {
            Stage2Error::Heads(format!(
                "{} ({e}); run ./setup.sh to train them",
                heads_path.display()
            ))
        })?;
        let learned_gate = match heads.gate_from {
            Some(_) => {
                let path = models_dir.join(GATE_FILE);
                Some(LinearModel::load(&path).map_err(|e| {
                    Stage2Error::Gate(format!(
                        "{} ({e}); run ./setup.sh to train it",
                        path.display()
                    ))
                })?)
            }
            None => None,
        };
        Stage2::new(encoder, heads, learned_gate)
    }

    /// A stage-1 score at or above this stands on its own (beside the heads' scores where
    /// stage 2 read the message); below it a stage-1 score only escalates (above 1: never).
    pub fn stage1_stands_from(&self) -> f32 {
        self.heads.stage1_stands_from.unwrap_or(f32::INFINITY)
    }

    /// `name@version` of the heads.
    pub fn heads_name(&self) -> String {
        self.heads.name_version()
    }

    /// `name@version` of the encoder.
    pub fn encoder_name(&self) -> String {
        self.encoder.name_version()
    }

    /// The gate's reasons to escalate a chunk.
    pub fn reasons(
        &self,
        chunk: &str,
        abuse_term_hit: bool,
        profanity_hit: bool,
        stage1_max: f32,
    ) -> Vec<Reason> {
        self.gate
            .reasons(chunk, abuse_term_hit, profanity_hit, stage1_max)
    }

    /// The learned gate's score for a chunk of model text, when stage 2 has a learned gate.
    pub fn learned_gate_score(&self, chunk: &str) -> Option<f32> {
        self.gate.learned_score(chunk)
    }

    /// The heads' scores for a chunk of model text; `None` when the encoder fails (the text
    /// then keeps its stage-1 judgement). In a chunk with a counter-speech frame (condemning or
    /// quoting a claim) the hate and harassment scores count half: the heads read the quoted
    /// claim as much as its condemnation, so they need twice the evidence there.
    pub fn read(&self, chunk: &str) -> Option<Vec<(Label, f32, f32)>> {
        let embedding = self.encoder.embed(chunk).ok()?;
        let mut scores = self.heads.scores(&embedding);
        if self.gate.counter_speech(chunk) {
            for (label, score, _) in &mut scores {
                if matches!(label, Label::Hate | Label::Harassment) {
                    *score *= COUNTER_SPEECH_FACTOR;
                }
            }
        }
        Some(scores)
    }
}

/// The labels whose term hits escalate a message to stage 2 (profanity escalates only in a
/// message that addresses someone; the gate decides).
pub fn escalating_label(label: &Label) -> bool {
    matches!(
        label,
        Label::Harassment | Label::Hate | Label::Violence | Label::SelfHarm | Label::Sexual
    )
}

/// The text the models read, built from the normaliser's output: evasion undone and lower-cased
/// as for the term libraries, but with only stretched letters (runs of three or more) folded,
/// so `fuuuuck` reads `fuck` while `good` stays `good`. `map` receives, for every byte of
/// `out`, the index of the normalised unit it came from.
pub fn model_text(normalised: &Normalised, out: &mut String, map: &mut Vec<u32>) {
    out.clear();
    map.clear();
    for (i, unit) in normalised.units().iter().enumerate() {
        let repeat = if unit.ch.is_alphabetic() && unit.run == 2 {
            2
        } else {
            1
        };
        for _ in 0..repeat {
            out.push(unit.ch);
            map.extend(std::iter::repeat_n(i as u32, unit.ch.len_utf8()));
        }
    }
}

/// Splits model text into chunks of at most [`CHUNK_WORDS`] words, preferring to end a chunk at
/// a sentence end. Yields byte ranges of the model text. A text of up to `CHUNK_WORDS` words is
/// one chunk.
pub fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut words = 0usize;
    let mut in_word = false;
    let mut last_sentence_end: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let word_char = c.is_alphanumeric();
        if word_char && !in_word {
            words += 1;
            if words > CHUNK_WORDS {
                let end = last_sentence_end.filter(|&e| e > start).unwrap_or(i);
                out.push((start, end));
                start = end;
                words = text[start..i]
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .count()
                    + 1;
                last_sentence_end = None;
            }
        }
        in_word = word_char;
        if matches!(c, '.' | '!' | '?' | '\n') {
            last_sentence_end = Some(i + c.len_utf8());
        }
    }
    if start < text.len() && text[start..].chars().any(char::is_alphanumeric) {
        out.push((start, text.len()));
    }
    out
}

/// The stage-2 signal of one head on one chunk: model evidence naming both stages.
pub fn stage2_signal(
    stage2: &Stage2,
    reading: &Stage2Reading,
    label: &Label,
    score: f32,
    probability: f32,
    stage1: &[Evidence],
    text: &str,
) -> Signal {
    let mut evidence = Evidence::new(EvidenceKind::Model);
    if reading.span != ByteSpan::new(0, text.len()) {
        evidence = evidence.with_span(text, reading.span);
    }
    evidence.model = Some(stage2.heads_name());
    evidence.score = Some(probability);
    let reasons: Vec<&str> = reading.reasons.iter().map(|r| r.as_str()).collect();
    evidence.detail = Some(format!(
        "stage2 encoder={} escalated_by={}",
        stage2.encoder_name(),
        reasons.join("+")
    ));
    evidence.evidence = stage1.to_vec();
    Signal {
        label: label.clone(),
        score,
        evidence,
        floor: None,
        ceiling: Some(rampart_types::Suggestion::Review),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::Normaliser;

    #[test]
    fn model_text_folds_stretched_letters_but_keeps_doubled_ones() {
        let n = Normaliser::new().normalise("Good f.u.c.k.i.n.g sh1t, fuuuuck");
        let (mut out, mut map) = (String::new(), Vec::new());
        model_text(&n, &mut out, &mut map);
        assert!(out.starts_with("good "), "{out}");
        assert!(out.contains("shit"), "{out}");
        assert!(out.ends_with("fuck"), "{out}");
        assert_eq!(map.len(), out.len());
    }

    #[test]
    fn short_texts_are_one_chunk_and_long_ones_split_at_sentences() {
        assert_eq!(chunks("hello there"), vec![(0, 11)]);
        assert!(chunks("  ... ").is_empty());
        let sentence = "one two three four five six seven eight nine ten. ";
        let text = sentence.repeat(12);
        let parts = chunks(&text);
        assert!(parts.len() >= 3, "{parts:?}");
        for (s, e) in &parts {
            let words = text[*s..*e].split_whitespace().count();
            assert!(words <= CHUNK_WORDS, "{words}");
        }
        assert_eq!(parts.first().unwrap().0, 0);
        assert_eq!(parts.last().unwrap().1, text.len());
        for pair in parts.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "chunks tile the text");
            assert!(text[..pair[0].1].ends_with('.'), "ends at a sentence");
        }
        // One word-less run of 10^5 letters is one chunk, not 10^5.
        assert_eq!(chunks(&"x".repeat(100_000)).len(), 1);
    }
}
