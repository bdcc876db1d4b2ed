//! Policies: the only place where detector signals become a suggestion.
//!
//! A [`Policy`] has a name and a version (verdicts cite `name@version`), per-label `review` and
//! `block` thresholds, and the settings that say which detectors run on text. Policies are
//! written in TOML:
//!
//! ```toml
//! name = "forum"
//! version = 3
//!
//! [labels.profanity]
//! review = 0.5
//! block = 0.9
//!
//! [labels.ads]
//! enabled = false
//!
//! [text]
//! allowed_domains = ["example.org"]
//! phone_region = "GB"
//! disabled_libraries = ["builtin:spam-en"]
//! models = true
//!
//! [image]
//! ocr = false
//! bank_thresholds = { known-spam = 20 }
//! ```
//!
//! Not for: detecting anything. A policy change never needs a detector change.

use std::collections::BTreeMap;

use rampart_types::{Label, LabelVerdict, Signal, Suggestion};
use serde::{Deserialize, Serialize};

/// At most this many pieces of evidence are kept per label in a verdict (strongest first).
pub const MAX_EVIDENCE_PER_LABEL: usize = 20;

/// Score cut-offs for one label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// From this score on, the label suggests `review`.
    pub review: f32,
    /// From this score on, the label suggests `block`.
    pub block: f32,
    /// Labels scoring below this are left out of the verdict (noise from models).
    #[serde(default = "default_report")]
    pub report: f32,
    /// A disabled label is dropped from verdicts entirely.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_report() -> f32 {
    0.2
}

fn yes() -> bool {
    true
}

/// Partial thresholds as written in a policy file; missing fields keep the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    pub review: Option<f32>,
    pub block: Option<f32>,
    pub report: Option<f32>,
    pub enabled: Option<bool>,
}

/// Which text detectors run, and their settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextSettings {
    /// Hosts (and their subdomains) whose URLs do not count as ads.
    pub allowed_domains: Vec<String>,
    /// ISO 3166 region for phone numbers written without a country code (e.g. `GB`).
    pub phone_region: Option<String>,
    /// Term libraries to skip (e.g. `builtin:spam-en`).
    pub disabled_libraries: Vec<String>,
    /// Run the term libraries.
    pub terms: bool,
    /// Run the statistical text models.
    pub models: bool,
    /// Run stage 2 of the text judgement (the sentence-encoder heads) on the messages the gate
    /// escalates; off leaves stage 1 (term libraries and linear models) alone.
    pub stage2: bool,
    /// Let a text model's score alone reach `block`. Off by default: a model score can reach
    /// review; blocking takes a term library's hit (which stage 2 may have confirmed).
    pub models_block: bool,
    /// Run the PII and ads detectors.
    pub contacts: bool,
}

impl Default for TextSettings {
    fn default() -> Self {
        TextSettings {
            allowed_domains: Vec::new(),
            phone_region: None,
            disabled_libraries: Vec::new(),
            terms: true,
            models: true,
            stage2: true,
            models_block: false,
            contacts: true,
        }
    }
}

/// Which image detectors run, and their settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageSettings {
    /// Match PDQ and exact hashes against the hash banks.
    pub banks: bool,
    /// Score with the image classifier (sexual content).
    pub model: bool,
    /// Decode QR codes and moderate their payload as text.
    pub qr: bool,
    /// Recognise text in images (when the cheap text check says there may be some) and
    /// moderate it.
    pub ocr: bool,
    /// Per-bank distance thresholds that override the bank's own (bank name → 0..=255).
    pub bank_thresholds: BTreeMap<String, u32>,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            banks: true,
            model: true,
            qr: true,
            ocr: true,
            bank_thresholds: BTreeMap::new(),
        }
    }
}

/// How videos and audio are taken apart before the image and text detectors see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSettings {
    /// Seconds between sampled video frames (each sampled frame is moderated like an image).
    pub frame_interval_s: f64,
    /// Also sample a frame wherever the picture changes abruptly (a cut), so a short insert
    /// between two samples is not missed.
    pub scene_changes: bool,
    /// Match the sampled frames' hashes as a whole (vPDQ) against video banks.
    pub vpdq: bool,
    /// Recognise speech in audio and in videos' audio tracks and moderate it as text.
    pub speech: bool,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            frame_interval_s: 1.0,
            scene_changes: true,
            vpdq: true,
            speech: true,
        }
    }
}

/// What goes to the human-review queue, and how long content kept for it stays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSettings {
    /// Queue verdicts whose suggestion is `review` (keep this on unless nobody reviews).
    pub queue_review: bool,
    /// Fraction (0–1) of automated `pass` verdicts also queued, as a quality check.
    pub sample_pass: f64,
    /// Fraction (0–1) of automated `block` verdicts also queued, as a quality check.
    pub sample_block: f64,
    /// Keep the submitted content for the moderator while an item is open (text, image,
    /// video frames at the evidence); off leaves only hashes and evidence snippets.
    pub keep_content: bool,
    /// Hours the kept content stays after the item is decided, then it is purged (audited).
    pub retention_hours: f64,
    /// Minutes a moderator's claim on an item lasts before it returns to the queue.
    pub claim_minutes: f64,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            queue_review: true,
            sample_pass: 0.0,
            sample_block: 0.0,
            keep_content: true,
            retention_hours: 72.0,
            claim_minutes: 15.0,
        }
    }
}

/// A versioned moderation policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub version: u32,
    #[serde(default)]
    pub labels: BTreeMap<String, ThresholdOverride>,
    #[serde(default)]
    pub text: TextSettings,
    #[serde(default)]
    pub image: ImageSettings,
    #[serde(default)]
    pub media: MediaSettings,
    #[serde(default)]
    pub review: ReviewSettings,
}

/// Why a policy was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("policy names unknown label '{0}'")]
    UnknownLabel(String),
    #[error("label '{label}': {reason}")]
    BadThresholds { label: String, reason: String },
    #[error("policy name '{0}' must be 1-64 characters of [a-zA-Z0-9_-]")]
    BadName(String),
    #[error("media.frame_interval_s must lie in 0.04..=60 seconds, not {0}")]
    BadFrameInterval(f64),
    #[error("review.{field} must lie in {range}, not {value}")]
    BadReviewSetting {
        field: &'static str,
        range: &'static str,
        value: f64,
    },
}

/// The suggestion for a whole piece of content and for each of its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub suggestion: Suggestion,
    pub labels: Vec<LabelVerdict>,
}

/// The built-in default thresholds of a label.
pub fn default_thresholds(label: &Label) -> Thresholds {
    let (review, block) = match label {
        // Hash-bank matches only; any hit blocks.
        Label::SexualMinors => (0.01, 0.01),
        Label::Terrorism | Label::Violence => (0.4, 0.8),
        Label::Hate | Label::Harassment => (0.4, 0.8),
        Label::Profanity => (0.4, 0.8),
        Label::Sexual => (0.4, 0.85),
        // Self-harm content is routed to people, never blocked by default.
        Label::SelfHarm => (0.4, 1.01),
        Label::Illicit => (0.4, 0.85),
        // Spam model scores are calibrated; 0.5 is its precision/recall balance.
        Label::Spam => (0.5, 0.95),
        Label::Ads => (0.6, 1.01),
        Label::Pii => (0.6, 1.01),
        Label::Custom(_) => (0.4, 0.8),
    };
    Thresholds {
        review,
        block,
        report: default_report(),
        enabled: true,
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "default".to_owned(),
            version: 1,
            labels: BTreeMap::new(),
            text: TextSettings::default(),
            image: ImageSettings::default(),
            media: MediaSettings::default(),
            review: ReviewSettings::default(),
        }
    }
}

impl Policy {
    /// Parses and validates a TOML policy.
    pub fn from_toml(source: &str) -> Result<Self, PolicyError> {
        let policy: Policy = toml::from_str(source)?;
        policy.validate()?;
        Ok(policy)
    }

    /// The TOML form of this policy.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// `name@version`, as cited in verdicts.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Checks names, labels and threshold ranges.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(PolicyError::BadName(self.name.clone()));
        }
        let interval = self.media.frame_interval_s;
        if !(0.04..=60.0).contains(&interval) {
            return Err(PolicyError::BadFrameInterval(interval));
        }
        let r = &self.review;
        for (field, value, range, ok) in [
            (
                "sample_pass",
                r.sample_pass,
                "0..=1",
                (0.0..=1.0).contains(&r.sample_pass),
            ),
            (
                "sample_block",
                r.sample_block,
                "0..=1",
                (0.0..=1.0).contains(&r.sample_block),
            ),
            (
                "retention_hours",
                r.retention_hours,
                "0..=8784 hours (a leap year)",
                (0.0..=8784.0).contains(&r.retention_hours),
            ),
            (
                "claim_minutes",
                r.claim_minutes,
                "1..=1440 minutes",
                (1.0..=1440.0).contains(&r.claim_minutes),
            ),
        ] {
            if !ok {
                return Err(PolicyError::BadReviewSetting {
                    field,
                    range,
                    value,
                });
            }
        }
        for name in self.labels.keys() {
            let label: Label = name
                .parse()
                .map_err(|_| PolicyError::UnknownLabel(name.clone()))?;
            let t = self.thresholds(&label);
            let in_range = |v: f32| (0.0..=1.01).contains(&v);
            if !in_range(t.review) || !in_range(t.block) || !in_range(t.report) {
                return Err(PolicyError::BadThresholds {
                    label: name.clone(),
                    reason: "thresholds must lie in 0..=1 (1.01 means never)".to_owned(),
                });
            }
            if t.review > t.block {
                return Err(PolicyError::BadThresholds {
                    label: name.clone(),
                    reason: format!("review ({}) is above block ({})", t.review, t.block),
                });
            }
        }
        Ok(())
    }

    /// The effective thresholds of a label: the defaults with this policy's overrides.
    pub fn thresholds(&self, label: &Label) -> Thresholds {
        let mut t = default_thresholds(label);
        if let Some(o) = self.labels.get(label.as_str()) {
            t.review = o.review.unwrap_or(t.review);
            t.block = o.block.unwrap_or(t.block);
            t.report = o.report.unwrap_or(t.report);
            t.enabled = o.enabled.unwrap_or(t.enabled);
        }
        t
    }

    /// Turns signals into per-label verdicts and an overall suggestion.
    ///
    /// A label's score is the highest score among its signals; its suggestion is the stricter of
    /// what the thresholds say and the strongest library floor among its signals. The overall
    /// suggestion is the strictest label suggestion. Labels are ordered strictest first.
    pub fn decide(&self, signals: Vec<Signal>) -> Decision {
        let mut by_label: BTreeMap<Label, Vec<Signal>> = BTreeMap::new();
        for signal in signals {
            by_label
                .entry(signal.label.clone())
                .or_default()
                .push(signal);
        }
        let mut labels = Vec::new();
        for (label, mut signals) in by_label {
            let t = self.thresholds(&label);
            if !t.enabled {
                continue;
            }
            signals.sort_by(|a, b| b.score.total_cmp(&a.score));
            let score = signals[0].score.clamp(0.0, 1.0);
            let floor = signals.iter().filter_map(|s| s.floor).max();
            if score < t.report && floor.is_none() {
                continue;
            }
            let of_score = |score: f32| {
                if score >= t.block {
                    Suggestion::Block
                } else if score >= t.review {
                    Suggestion::Review
                } else {
                    Suggestion::Pass
                }
            };
            // Each signal suggests what its score says, limited by its ceiling (a text model's
            // score alone reaches review unless the policy lets models block).
            let by_threshold = signals
                .iter()
                .map(|s| {
                    let own = of_score(s.score.clamp(0.0, 1.0));
                    match s.ceiling {
                        Some(ceiling) if !self.text.models_block => own.min(ceiling),
                        _ => own,
                    }
                })
                .max()
                .unwrap_or(Suggestion::Pass);
            let suggestion = by_threshold.max(floor.unwrap_or(Suggestion::Pass));
            let evidence = signals
                .into_iter()
                .take(MAX_EVIDENCE_PER_LABEL)
                .map(|s| s.evidence)
                .collect();
            labels.push(LabelVerdict {
                label,
                score: (score * 10_000.0).round() / 10_000.0,
                suggestion,
                evidence,
            });
        }
        labels.sort_by(|a, b| {
            b.suggestion
                .cmp(&a.suggestion)
                .then(b.score.total_cmp(&a.score))
        });
        let suggestion = labels
            .iter()
            .map(|l| l.suggestion)
            .max()
            .unwrap_or(Suggestion::Pass);
        Decision { suggestion, labels }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_types::{Evidence, EvidenceKind};

    fn signal(label: Label, score: f32, floor: Option<Suggestion>) -> Signal {
        Signal {
            label,
            score,
            evidence: Evidence::new(EvidenceKind::Term),
            floor,
            ceiling: None,
        }
    }

    #[test]
    fn a_model_score_alone_reaches_review_unless_the_policy_lets_models_block() {
        let model = Signal {
            ceiling: Some(Suggestion::Review),
            ..signal(Label::Hate, 0.97, None)
        };
        let d = Policy::default().decide(vec![model.clone()]);
        assert_eq!(d.suggestion, Suggestion::Review);
        assert_eq!(d.labels[0].score, 0.97, "the score is reported as it is");
        let d = Policy::default().decide(vec![model.clone(), signal(Label::Hate, 0.99, None)]);
        assert_eq!(d.suggestion, Suggestion::Block, "a term hit still blocks");
        let mut lifted = Policy::default();
        lifted.text.models_block = true;
        assert_eq!(lifted.decide(vec![model]).suggestion, Suggestion::Block);
    }

    #[test]
    fn thresholds_decide_per_label_and_the_strictest_wins() {
        let policy = Policy::default();
        let d = policy.decide(vec![
            signal(Label::Profanity, 0.645, None),
            signal(Label::Hate, 0.99, None),
            signal(Label::Profanity, 0.3, None),
        ]);
        assert_eq!(d.suggestion, Suggestion::Block);
        assert_eq!(d.labels[0].label, Label::Hate);
        assert_eq!(d.labels[1].suggestion, Suggestion::Review);
        assert_eq!(d.labels[1].evidence.len(), 2);
    }

    #[test]
    fn library_floors_raise_but_never_lower() {
        let d = Policy::default().decide(vec![signal(
            Label::Custom("custom:scam".into()),
            0.3,
            Some(Suggestion::Block),
        )]);
        assert_eq!(d.suggestion, Suggestion::Block);
    }

    #[test]
    fn review_settings_default_to_queueing_reviews_and_are_validated() {
        let policy = Policy::from_toml(
            "name = \"p\"\nversion = 1\n[review]\nsample_pass = 0.01\nretention_hours = 24\n",
        )
        .unwrap();
        assert_eq!(policy.review.sample_pass, 0.01);
        assert_eq!(policy.review.retention_hours, 24.0);
        assert!(policy.review.queue_review && policy.review.keep_content);
        for bad in [
            "sample_pass = 1.5",
            "sample_block = -0.1",
            "retention_hours = 100000",
            "claim_minutes = 0",
            "sample_pass = nan",
        ] {
            let toml = format!("name = \"p\"\nversion = 1\n[review]\n{bad}\n");
            assert!(
                matches!(
                    Policy::from_toml(&toml),
                    Err(PolicyError::BadReviewSetting { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn media_settings_default_to_one_frame_a_second_and_are_validated() {
        let policy = Policy::from_toml(
            "name = \"clips\"\nversion = 1\n[media]\nframe_interval_s = 0.5\nscene_changes = false\nspeech = false\n",
        )
        .unwrap();
        assert_eq!(policy.media.frame_interval_s, 0.5);
        assert!(!policy.media.scene_changes && !policy.media.speech && policy.media.vpdq);
        assert_eq!(Policy::default().media.frame_interval_s, 1.0);
        for bad in ["0", "0.01", "61", "nan", "-1"] {
            let err = Policy::from_toml(&format!(
                "name = \"clips\"\nversion = 1\n[media]\nframe_interval_s = {bad}\n"
            ));
            assert!(
                matches!(err, Err(PolicyError::BadFrameInterval(_))),
                "{bad}: {err:?}"
            );
        }
        let unknown = Policy::from_toml("name = \"clips\"\nversion = 1\n[media]\nfps = 2\n");
        assert!(
            matches!(&unknown, Err(e) if e.to_string().contains("fps")),
            "{unknown:?}"
        );
    }

    #[test]
    fn low_model_scores_are_not_reported() {
        let d = Policy::default().decide(vec![signal(Label::Spam, 0.05, None)]);
        assert!(d.labels.is_empty());
        assert_eq!(d.suggestion, Suggestion::Pass);
    }

    #[test]
    fn toml_overrides_defaults_and_disables_labels() {
        let policy = Policy::from_toml(
            "name = \"forum\"\nversion = 3\n[labels.profanity]\nreview = 0.9\nblock = 0.95\n[labels.ads]\nenabled = false\n[text]\nallowed_domains = [\"example.org\"]\n",
        )
        .unwrap();
        assert_eq!(policy.id(), "forum@3");
        let d = policy.decide(vec![
            signal(Label::Profanity, 0.645, None),
            signal(Label::Ads, 0.9, None),
        ]);
        assert_eq!(d.suggestion, Suggestion::Pass);
        assert_eq!(d.labels.len(), 1);
        assert_eq!(policy.text.allowed_domains, vec!["example.org".to_string()]);
    }

    #[test]
    fn bad_policies_are_refused_with_a_reason() {
        let cases = [
            (
                "name = \"x\"\nversion = 1\n[labels.politics]\nreview = 0.5\n",
                "unknown label",
            ),
            (
                "name = \"x\"\nversion = 1\n[labels.hate]\nreview = 0.9\nblock = 0.5\n",
                "above block",
            ),
            (
                "name = \"x\"\nversion = 1\nsurprise = true\n",
                "unknown field",
            ),
            ("name = \"\"\nversion = 1\n", "must be"),
            ("name = \"x\"\nversion = -1\n", "TOML"),
        ];
        for (source, expected) in cases {
            let err = Policy::from_toml(source).unwrap_err().to_string();
            assert!(err.contains(expected), "{source:?}: {err}");
        }
    }
}
