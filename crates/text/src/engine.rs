//! [`TextEngine`]: one text in, every text detector's signals out.
//!
//! Holds the compiled term libraries behind an [`ArcSwap`], so a library change builds a new
//! [`Matcher`] off to the side and swaps it in atomically while scans keep running lock-free on
//! the old one.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption};
use rampart_contacts::{ContactDetector, ContactOptions};
use rampart_textmodel::TextModels;
use rampart_types::{ByteSpan, Evidence, EvidenceKind, Signal};

use crate::cascade::{
    chunks, escalating_label, model_text, stage2_signal, Stage2, Stage2Reading, CONFIRM_FROM,
    MAX_ESCALATED_CHUNKS,
};
use crate::library::{LibraryError, TermLibrary};
use crate::matcher::{Matcher, ScanScratch};

/// Texts longer than this are scanned in overlapping windows, so memory stays bounded.
pub const WINDOW_BYTES: usize = 64 * 1024;
/// Overlap between windows: longer than any term, so no term is lost at a window edge.
pub const WINDOW_OVERLAP_BYTES: usize = 4 * 1024;
/// At most this many signals are returned for one text, however long.
pub const MAX_SIGNALS: usize = 1000;

/// The built-in libraries, compiled into the binary.
const BUILTIN_LIBRARIES: &[(&str, &str)] = &[
    (
        "profanity-en",
        include_str!("../libraries/profanity-en.lib"),
    ),
    (
        "harassment-en",
        include_str!("../libraries/harassment-en.lib"),
    ),
    ("threats-en", include_str!("../libraries/threats-en.lib")),
    (
        "self-harm-en",
        include_str!("../libraries/self-harm-en.lib"),
    ),
    ("sexual-en", include_str!("../libraries/sexual-en.lib")),
    ("illicit-en", include_str!("../libraries/illicit-en.lib")),
    ("spam-en", include_str!("../libraries/spam-en.lib")),
    ("ads-en", include_str!("../libraries/ads-en.lib")),
    ("hate-en", include_str!("../libraries/hate-en.lib")),
    ("allow-en", include_str!("../libraries/allow-en.lib")),
];

/// Which detectors run and with what settings; derived from the policy by the caller.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Library names to skip (built-in or custom).
    pub disabled_libraries: Vec<String>,
    /// Run the term libraries.
    pub terms: bool,
    /// Run the statistical models (when loaded).
    pub models: bool,
    /// Run stage 2 (the sentence-encoder heads, when loaded) on escalated messages.
    pub stage2: bool,
    /// Run the PII and ads detectors.
    pub contacts: bool,
    /// Settings of the PII and ads detectors (URL allow-list, phone region).
    pub contact_options: ContactOptions,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            disabled_libraries: Vec::new(),
            terms: true,
            models: true,
            stage2: true,
            contacts: true,
            contact_options: ContactOptions::default(),
        }
    }
}

/// The signals for one text and the models that produced some of them.
#[derive(Debug, Clone, Default)]
pub struct TextScan {
    pub signals: Vec<Signal>,
    /// `name@version` of every model that scored the text.
    pub models: Vec<String>,
}

/// The text engine. `Send + Sync`; share it behind an `Arc`.
pub struct TextEngine {
    matcher: ArcSwap<Matcher>,
    /// Serialises writers; readers never touch it.
    libraries: Mutex<Vec<Arc<TermLibrary>>>,
    models: ArcSwapOption<TextModels>,
    stage2: ArcSwapOption<Stage2>,
    contacts: ContactDetector,
}

thread_local! {
    static SCRATCH: RefCell<ScanScratch> = RefCell::new(ScanScratch::default());
}

impl TextEngine {
    /// An engine with the given libraries and no models.
    pub fn new(libraries: Vec<TermLibrary>) -> Result<Self, LibraryError> {
        let libraries: Vec<Arc<TermLibrary>> = libraries.into_iter().map(Arc::new).collect();
        let matcher = Matcher::build(libraries.clone())?;
        Ok(TextEngine {
            matcher: ArcSwap::from_pointee(matcher),
            libraries: Mutex::new(libraries),
            models: ArcSwapOption::empty(),
            stage2: ArcSwapOption::empty(),
            contacts: ContactDetector::new(),
        })
    }

    /// An engine with the built-in English libraries.
    pub fn with_builtin_libraries() -> Self {
        TextEngine::new(builtin_libraries()).expect("built-in libraries compile (tested)")
    }

    /// Adds a library, or replaces the one with the same name. The very next scan uses it.
    pub fn upsert_library(&self, library: TermLibrary) -> Result<(), LibraryError> {
        let mut libraries = self.libraries.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = libraries.clone();
        next.retain(|l| l.name != library.name);
        next.push(Arc::new(library));
        let matcher = Matcher::build(next.clone())?;
        self.matcher.store(Arc::new(matcher));
        *libraries = next;
        Ok(())
    }

    /// Removes a library by name; returns whether it existed.
    pub fn remove_library(&self, name: &str) -> Result<bool, LibraryError> {
        let mut libraries = self.libraries.lock().unwrap_or_else(|e| e.into_inner());
        let before = libraries.len();
        let next: Vec<_> = libraries
            .iter()
            .filter(|l| l.name != name)
            .cloned()
            .collect();
        if next.len() == before {
            return Ok(false);
        }
        let matcher = Matcher::build(next.clone())?;
        self.matcher.store(Arc::new(matcher));
        *libraries = next;
        Ok(true)
    }

    /// The libraries now in use.
    pub fn libraries(&self) -> Vec<Arc<TermLibrary>> {
        self.matcher.load().libraries().to_vec()
    }

    /// Installs (or removes) the statistical models.
    pub fn set_models(&self, models: Option<TextModels>) {
        self.models.store(models.map(Arc::new));
    }

    /// Installs (or removes) models shared with other engines (one copy in memory).
    pub fn set_shared_models(&self, models: Option<Arc<TextModels>>) {
        self.models.store(models);
    }

    /// The statistical models, when loaded.
    pub fn models(&self) -> Option<Arc<TextModels>> {
        self.models.load_full()
    }

    /// True when statistical models are loaded.
    pub fn has_models(&self) -> bool {
        self.models.load().is_some()
    }

    /// Installs (or removes) stage 2 (the sentence encoder and its heads).
    pub fn set_stage2(&self, stage2: Option<Arc<Stage2>>) {
        self.stage2.store(stage2);
    }

    /// Stage 2, when loaded.
    pub fn stage2(&self) -> Option<Arc<Stage2>> {
        self.stage2.load_full()
    }

    /// Runs every enabled detector on `text`: the term libraries, the PII and ads detectors and
    /// the stage-1 models on every window; then stage 2 on the chunks the gate escalates, whose
    /// heads replace stage 1's harassment and hate scores and confirm or drop the hits of
    /// `confirm` libraries.
    pub fn scan(&self, text: &str, options: &ScanOptions) -> TextScan {
        let mut scan = TextScan::default();
        if text.is_empty() {
            return scan;
        }
        let matcher = self.matcher.load();
        let models = self.models.load();
        let stage2 = if options.models && options.stage2 {
            self.stage2.load_full()
        } else {
            None
        };
        let mut seen: HashSet<(Option<String>, Option<String>, Option<ByteSpan>)> = HashSet::new();
        let mut best_model_scores: Vec<(String, rampart_types::Label, f32, ByteSpan)> = Vec::new();
        let mut readings: Vec<Stage2Reading> = Vec::new();
        // A chunk the gate escalated but the encoder could not read keeps stage 1's judgement.
        let mut unread = false;
        let mut term_signals: Vec<Signal> = Vec::new();
        let run_models = options.models && models.is_some();

        for (offset, window) in windows(text) {
            let mut found = Vec::new();
            let mut window_scores = Vec::new();
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                if options.terms {
                    found.extend(matcher.scan(window, &options.disabled_libraries, &mut scratch));
                } else if run_models {
                    scratch.normalise(window);
                }
                if !run_models {
                    return;
                }
                let Some(models) = models.as_deref() else {
                    return;
                };
                let scratch = &mut *scratch;
                MODEL_TEXT.with(|buffers| {
                    let (model_text_buf, map) = &mut *buffers.borrow_mut();
                    model_text(scratch.normalised(), model_text_buf, map);
                    window_scores = models.score(model_text_buf);
                    if let Some(stage2) = stage2.as_deref() {
                        escalate(
                            stage2,
                            models,
                            offset,
                            scratch.normalised(),
                            model_text_buf,
                            map,
                            &found,
                            &window_scores,
                            &mut readings,
                            &mut unread,
                        );
                    }
                });
            });
            if options.contacts {
                found.extend(self.contacts.detect(window, &options.contact_options));
            }
            for mut signal in found {
                if offset > 0 {
                    shift_span(&mut signal.evidence, text, offset);
                }
                let key = (
                    signal.evidence.library.clone(),
                    signal
                        .evidence
                        .term
                        .clone()
                        .or(signal.evidence.detail.clone()),
                    signal.evidence.span,
                );
                if term_signals.len() < MAX_SIGNALS && seen.insert(key) {
                    term_signals.push(signal);
                }
            }
            let span = ByteSpan::new(offset, offset + window.len());
            for score in window_scores {
                match best_model_scores.iter_mut().find(|b| b.0 == score.model) {
                    Some(best) if best.2 >= score.score => {}
                    Some(best) => *best = (score.model, score.label, score.score, span),
                    None => best_model_scores.push((score.model, score.label, score.score, span)),
                }
            }
        }

        // Hits of confirm libraries stand only where stage 2 agrees (or did not read them).
        let confirm_libraries: Vec<String> = matcher
            .libraries()
            .iter()
            .filter(|l| l.confirm)
            .map(|l| l.name.clone())
            .collect();
        term_signals.retain(|signal| {
            let from_confirm_library = signal
                .evidence
                .library
                .as_ref()
                .is_some_and(|l| confirm_libraries.contains(l));
            if !from_confirm_library {
                return true;
            }
            let Some(span) = signal.evidence.span else {
                return true;
            };
            match readings
                .iter()
                .find(|r| r.span.start <= span.start && span.end <= r.span.end)
            {
                Some(reading) => reading
                    .score_of(&signal.label)
                    .is_none_or(|s| s >= CONFIRM_FROM),
                None => true,
            }
        });
        scan.signals = term_signals;

        let whole = ByteSpan::new(0, text.len());
        let mut stage1_evidence = Vec::new();
        for (model, label, score, span) in best_model_scores {
            let mut evidence = Evidence::new(EvidenceKind::Model);
            evidence.model = Some(model.clone());
            evidence.score = Some(score);
            if span != whole {
                evidence.span = Some(span);
            }
            scan.models.push(model);
            // With stage 2 loaded, a stage-1 score is a reason to escalate, not a judgement:
            // where stage 2 read the text, its heads judge and stage 1's scores go into their
            // evidence; where the gate did not escalate it, the score was below the gate's
            // threshold. Only a score confident enough to stand on its own
            // (`stage1_stands_from`, chosen on the validation split) flags by itself.
            let stands = unread
                || stage2
                    .as_deref()
                    .is_none_or(|s2| score >= s2.stage1_stands_from());
            if label != rampart_types::Label::Spam && !stands {
                evidence.detail = Some("stage1".to_owned());
                stage1_evidence.push(evidence);
                continue;
            }
            scan.signals.push(Signal {
                label,
                score,
                evidence,
                floor: None,
                ceiling: Some(rampart_types::Suggestion::Review),
            });
        }
        if let Some(stage2) = stage2.as_deref().filter(|_| !readings.is_empty()) {
            // Per label, the chunk where its head scored highest.
            let mut best: Vec<(rampart_types::Label, f32, f32, usize)> = Vec::new();
            for (index, reading) in readings.iter().enumerate() {
                for (label, score, probability) in &reading.scores {
                    match best.iter_mut().find(|b| &b.0 == label) {
                        Some(b) if b.1 >= *score => {}
                        Some(b) => *b = (label.clone(), *score, *probability, index),
                        None => best.push((label.clone(), *score, *probability, index)),
                    }
                }
            }
            for (label, score, probability, index) in best {
                let signal = stage2_signal(
                    stage2,
                    &readings[index],
                    &label,
                    score,
                    probability,
                    &stage1_evidence,
                    text,
                );
                scan.signals.push(signal);
            }
            scan.models.push(stage2.encoder_name());
            scan.models.push(stage2.heads_name());
        }
        scan
    }
}

thread_local! {
    static MODEL_TEXT: RefCell<(String, Vec<u32>)> = const { RefCell::new((String::new(), Vec::new())) };
}

/// Stage 2 on one window: the gate on each chunk, the heads on the escalated ones (at most
/// [`MAX_ESCALATED_CHUNKS`] per text, counted in `readings`).
#[allow(clippy::too_many_arguments)]
fn escalate(
    stage2: &Stage2,
    models: &TextModels,
    offset: usize,
    normalised: &crate::normalise::Normalised,
    model_text: &str,
    map: &[u32],
    found: &[Signal],
    window_scores: &[rampart_textmodel::ModelScore],
    readings: &mut Vec<Stage2Reading>,
    unread: &mut bool,
) {
    let parts = chunks(model_text);
    let single = parts.len() == 1;
    for (start, end) in parts {
        if readings.len() >= MAX_ESCALATED_CHUNKS {
            // The rest of the text is not read: stage 1's scores keep their say.
            *unread = true;
            return;
        }
        if start >= end || end > map.len() {
            continue;
        }
        let first = map[start] as usize;
        let last = map[end - 1] as usize + 1;
        let span = normalised.original_span(first, last);
        let chunk = &model_text[start..end];
        let in_chunk = |s: &&Signal| {
            s.evidence
                .span
                .is_some_and(|h| h.start < span.end && span.start < h.end)
        };
        let abuse_term_hit = found
            .iter()
            .filter(in_chunk)
            .any(|s| escalating_label(&s.label));
        let profanity_hit = found
            .iter()
            .filter(in_chunk)
            .any(|s| s.label == rampart_types::Label::Profanity);
        let stage1_max = if single {
            rampart_textmodel::max_abuse_score(window_scores)
        } else {
            rampart_textmodel::max_abuse_score(&models.score(chunk))
        };
        let reasons = stage2.reasons(chunk, abuse_term_hit, profanity_hit, stage1_max);
        if reasons.is_empty() {
            continue;
        }
        let Some(scores) = stage2.read(chunk) else {
            *unread = true;
            continue;
        };
        readings.push(Stage2Reading {
            span: ByteSpan::new(span.start + offset, span.end + offset),
            reasons,
            scores,
        });
    }
}

/// The highest stage-1 score of an abuse model (not spam).
/// The built-in English libraries, parsed.
pub fn builtin_libraries() -> Vec<TermLibrary> {
    BUILTIN_LIBRARIES
        .iter()
        .map(|(file, source)| {
            TermLibrary::from_file_string(source)
                .unwrap_or_else(|e| panic!("built-in library {file} is invalid: {e}"))
        })
        .collect()
}

/// Splits text into overlapping windows on char boundaries; short texts are one window.
///
/// Window size counts *visible* characters: combining marks and invisible format characters
/// add no canonical units, so they cost nothing and never push a word out of its window. A
/// letter buried under 10⁵ combining marks still sits in one window with its neighbours.
fn windows(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        if text.len() - start <= WINDOW_BYTES {
            done = true;
            return Some((start, &text[start..]));
        }
        let mut visible = 0usize;
        let mut overlap_start = None;
        let mut end = text.len();
        for (i, c) in text[start..].char_indices() {
            if visible == WINDOW_BYTES - WINDOW_OVERLAP_BYTES && overlap_start.is_none() {
                overlap_start = Some(start + i);
            }
            if visible == WINDOW_BYTES {
                end = start + i;
                break;
            }
            if counts_as_visible(c) {
                visible += 1;
            }
        }
        let window = (start, &text[start..end]);
        match overlap_start {
            Some(next) if end < text.len() && next > start => start = next,
            _ => done = true,
        }
        Some(window)
    })
}

fn counts_as_visible(c: char) -> bool {
    c.is_ascii()
        || !(unicode_normalization::char::is_combining_mark(c)
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E01EF}'))
}

fn shift_span(evidence: &mut Evidence, text: &str, offset: usize) {
    if let Some(span) = evidence.span {
        let shifted = ByteSpan::new(span.start + offset, span.end + offset);
        *evidence = evidence.clone().with_span(text, shifted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_libraries_parse_and_compile() {
        let engine = TextEngine::with_builtin_libraries();
        assert!(engine.libraries().len() >= 9);
    }

    #[test]
    fn windows_cover_the_text_with_overlap() {
        let text = "é".repeat(100_000);
        let spans: Vec<(usize, usize)> = windows(&text).map(|(o, w)| (o, o + w.len())).collect();
        assert_eq!(spans.first().unwrap().0, 0);
        assert_eq!(spans.last().unwrap().1, text.len());
        for pair in spans.windows(2) {
            assert!(pair[1].0 < pair[0].1, "windows must overlap");
        }
    }

    #[test]
    fn marks_do_not_count_towards_the_window() {
        let text = format!(
            "fu{}ck {}",
            "\u{0301}".repeat(100_000),
            "ab ".repeat(30_000)
        );
        let first = windows(&text).next().unwrap().1;
        assert!(first.contains("ck ab"));
    }
}
