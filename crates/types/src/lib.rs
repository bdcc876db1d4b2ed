//! The serde types every Rampart crate shares: labels, suggestions, signals, evidence and the
//! verdict JSON (`docs/API.md`), plus the stable API error codes.
//!
//! Not for: any logic beyond ordering and (de)serialisation. Detectors live in `rampart-text`
//! (and later `image`, `media`), the decision in `rampart-policy`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The fixed label taxonomy plus tenant-defined `custom:<name>` labels.
///
/// There is deliberately no label for politics or for any attribute of a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    Sexual,
    SexualMinors,
    Violence,
    Terrorism,
    Hate,
    Harassment,
    Profanity,
    SelfHarm,
    Illicit,
    Spam,
    Ads,
    Pii,
    /// `custom:<name>`; the name holds `[a-z0-9_-]` only.
    Custom(String),
}

impl Label {
    /// Every fixed label, in taxonomy order.
    pub const FIXED: [Label; 12] = [
        Label::Sexual,
        Label::SexualMinors,
        Label::Violence,
        Label::Terrorism,
        Label::Hate,
        Label::Harassment,
        Label::Profanity,
        Label::SelfHarm,
        Label::Illicit,
        Label::Spam,
        Label::Ads,
        Label::Pii,
    ];

    /// The wire name, e.g. `self_harm` or `custom:scams`.
    pub fn as_str(&self) -> &str {
        match self {
            Label::Sexual => "sexual",
            Label::SexualMinors => "sexual_minors",
            Label::Violence => "violence",
            Label::Terrorism => "terrorism",
            Label::Hate => "hate",
            Label::Harassment => "harassment",
            Label::Profanity => "profanity",
            Label::SelfHarm => "self_harm",
            Label::Illicit => "illicit",
            Label::Spam => "spam",
            Label::Ads => "ads",
            Label::Pii => "pii",
            Label::Custom(name) => name,
        }
    }
}

/// Why a label name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown label '{0}': use one of the fixed labels or custom:<name> with [a-z0-9_-]")]
pub struct UnknownLabel(pub String);

impl FromStr for Label {
    type Err = UnknownLabel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(fixed) = Label::FIXED.iter().find(|l| l.as_str() == s) {
            return Ok(fixed.clone());
        }
        match s.strip_prefix("custom:") {
            Some(name)
                if !name.is_empty()
                    && name.len() <= 64
                    && name.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    }) =>
            {
                Ok(Label::Custom(s.to_owned()))
            }
            _ => Err(UnknownLabel(s.to_owned())),
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What the platform should do with the content. Ordered: `Pass < Review < Block`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Suggestion {
    #[default]
    Pass,
    Review,
    Block,
}

impl Suggestion {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Suggestion::Pass => "pass",
            Suggestion::Review => "review",
            Suggestion::Block => "block",
        }
    }
}

impl FromStr for Suggestion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pass" => Ok(Suggestion::Pass),
            "review" => Ok(Suggestion::Review),
            "block" => Ok(Suggestion::Block),
            other => Err(format!(
                "unknown suggestion '{other}': use pass, review or block"
            )),
        }
    }
}

/// A half-open byte range `[start, end)` into the submitted UTF-8 text; serialised as `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteSpan {
    pub start: usize,
    pub end: usize,
}

impl ByteSpan {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        ByteSpan { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// True when `other` lies entirely within `self`.
    pub fn contains(&self, other: &ByteSpan) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// True when the two ranges share at least one byte.
    pub fn overlaps(&self, other: &ByteSpan) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl Serialize for ByteSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.start, self.end].serialize(s)
    }
}

impl<'de> Deserialize<'de> for ByteSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [start, end] = <[usize; 2]>::deserialize(d)?;
        if start > end {
            return Err(serde::de::Error::custom("span start is after its end"));
        }
        Ok(ByteSpan { start, end })
    }
}

/// An evasion technique the normaliser undid inside a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Trick {
    /// Zero-width and other invisible format characters (ZWSP, ZWJ, ZWNJ, WJ, soft hyphen, BOM,
    /// variation selectors).
    ZeroWidth,
    /// Bidirectional controls (LRE, RLE, LRO, RLO, PDF, isolates, marks).
    Bidi,
    /// Text displayed reversed by a right-to-left override (U+202E).
    Reversed,
    /// Unicode TAG characters (U+E0000–U+E007F).
    TagCharacters,
    /// Accents and other combining marks.
    Diacritic,
    /// Combining strikethrough or overlay marks.
    Strikethrough,
    /// Three or more stacked combining marks on one letter.
    Zalgo,
    /// Fullwidth forms (U+FF01–U+FF5E).
    Fullwidth,
    /// Mathematical alphanumeric symbols (bold, italic, script, fraktur, double-struck …).
    MathAlphanumeric,
    /// Circled, parenthesised or squared letters and digits.
    Enclosed,
    /// Superscript, subscript, small capitals and other compatibility forms.
    Compatibility,
    /// A look-alike letter from another script (Cyrillic, Greek, Armenian, Cherokee …).
    Confusable,
    /// Emoji or symbols used as letters (regional indicators, ©, negative squared letters …).
    EmojiLetter,
    /// Digits or symbols used as letters (`$h1t`).
    Leet,
    /// A letter repeated to stretch a word (`fuuuck`).
    Repetition,
    /// Separators between single letters (`f.u.c.k`).
    Separator,
}

/// What kind of detector produced a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EvidenceKind {
    /// A term of a term library matched.
    Term,
    /// A `re:` rule of a term library matched.
    Regex,
    /// A statistical model scored the content.
    Model,
    /// A PII pattern (e-mail, phone, card, IBAN, IP address, handle) was found.
    Pii,
    /// A URL or domain was found.
    Url,
    /// A perceptual hash (PDQ) is within a bank's distance of a known entry.
    Hash,
    /// The file's MD5 or SHA-256 is in an exact-hash bank.
    ExactHash,
    /// A QR code's payload; `evidence` holds what the text engine found in it.
    Qr,
    /// Text recognised in an image; `evidence` holds what the text engine found in it.
    Ocr,
    /// A video's frame hashes (vPDQ) match a video bank entry: `detail` gives the share of
    /// query and bank frames matched, `t_start`/`t_end` the matched stretch.
    Vpdq,
    /// Speech recognised in audio; `matched` is the recognised words of the segment,
    /// `t_start`/`t_end` its time, and `evidence` holds what the text engine found in it.
    Asr,
}

/// Why a detector emitted a signal. Fields that do not apply to a kind are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// The term library (`builtin:profanity-en`, or a tenant's library name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// The library term (or rule) that matched, as written in the library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// Byte range into the submitted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<u64>>, min_items = 2, max_items = 2))]
    pub span: Option<ByteSpan>,
    /// The original substring at `span`, at most 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// Evasions undone to find the match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tricks: Vec<Trick>,
    /// `name@version` of the model that scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The detector's raw score, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// A short machine-readable detail, e.g. the PII type (`email`, `phone`, `card`), or the
    /// dihedral variant (`rotate90`) a hash matched as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The hash bank that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// The bank entry that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// Hamming distance between the content's hash and the entry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// Where in the image, `[x, y, width, height]` in pixels.
    #[serde(default, rename = "box", skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[u32; 4]>,
    /// Several places in the image (e.g. the OCR word boxes of a match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<[u32; 4]>,
    /// Start of the evidence in seconds (animation frames, video, audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_start: Option<f64>,
    /// End of the evidence in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_end: Option<f64>,
    /// Evidence found inside extracted text (OCR, QR payload, speech): spans index that text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub evidence: Vec<Evidence>,
}

impl Evidence {
    /// Evidence of the given kind with every optional field empty.
    pub fn new(kind: EvidenceKind) -> Self {
        Evidence {
            kind,
            library: None,
            term: None,
            span: None,
            matched: None,
            tricks: Vec::new(),
            model: None,
            score: None,
            detail: None,
            bank: None,
            entry_id: None,
            distance: None,
            bbox: None,
            boxes: Vec::new(),
            t_start: None,
            t_end: None,
            evidence: Vec::new(),
        }
    }

    /// Sets `span` and `matched` from the original text, cutting `matched` to 64 characters.
    pub fn with_span(mut self, original: &str, span: ByteSpan) -> Self {
        self.matched = Some(excerpt(original, span));
        self.span = Some(span);
        self
    }
}

/// The original substring at `span`, cut to at most 64 characters.
pub fn excerpt(original: &str, span: ByteSpan) -> String {
    original
        .get(span.start..span.end)
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect()
}

/// One detector's finding: a label, a score in 0..=1 and the evidence behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub label: Label,
    pub score: f32,
    pub evidence: Evidence,
    /// The least the policy may suggest for this signal (from a `block` or `review` term
    /// library); `None` leaves the decision to the label thresholds alone.
    pub floor: Option<Suggestion>,
    /// The most the policy may suggest for this signal on its own, unless the policy lifts it
    /// (text-model scores reach at most `review` by default); `None`: no limit.
    pub ceiling: Option<Suggestion>,
}

/// What kind of content a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ContentType {
    Text,
    Image,
    Video,
    Audio,
}

/// Identifies the judged content without keeping it (data minimisation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentRef {
    /// Hex SHA-256 of the submitted bytes.
    pub sha256: String,
    /// Hex PDQ hash for images, `null` otherwise.
    pub pdq: Option<String>,
    /// The caller's own id for the content, if given.
    pub client_id: Option<String>,
}

/// The decision for one label, with all evidence that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelVerdict {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "profanity"))]
    pub label: Label,
    pub score: f32,
    pub suggestion: Suggestion,
    pub evidence: Vec<Evidence>,
}

/// The answer to one moderation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    /// A ULID.
    pub id: String,
    pub content_type: ContentType,
    pub content_ref: ContentRef,
    pub suggestion: Suggestion,
    pub labels: Vec<LabelVerdict>,
    /// `name@version` of the policy that decided.
    pub policy: String,
    /// `name@version` of every model that scored the content.
    pub models: Vec<String>,
    pub elapsed_ms: f64,
}

/// The stable error codes of the HTTP API and CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    InvalidJson,
    InvalidRequest,
    UnsupportedMedia,
    PayloadTooLarge,
    DecodeFailed,
    FetchBlocked,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Internal,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnsupportedMedia => "unsupported_media",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::DecodeFailed => "decode_failed",
            ErrorCode::FetchBlocked => "fetch_blocked",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_their_wire_names() {
        for label in Label::FIXED
            .iter()
            .cloned()
            .chain([Label::Custom("custom:scams".into())])
        {
            let json = serde_json::to_string(&label).unwrap();
            assert_eq!(serde_json::from_str::<Label>(&json).unwrap(), label);
        }
    }

    #[test]
    fn unknown_and_malformed_labels_are_refused() {
        for bad in ["politics", "custom:", "custom:Upper", "custom:a b", "Hate"] {
            assert!(bad.parse::<Label>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn suggestions_order_pass_review_block() {
        assert!(Suggestion::Pass < Suggestion::Review && Suggestion::Review < Suggestion::Block);
    }

    #[test]
    fn span_serialises_as_a_pair_and_rejects_reversed_ranges() {
        assert_eq!(
            serde_json::to_string(&ByteSpan::new(10, 18)).unwrap(),
            "[10,18]"
        );
        assert!(serde_json::from_str::<ByteSpan>("[5,2]").is_err());
    }

    #[test]
    fn evidence_leaves_out_fields_that_do_not_apply() {
        let ev = Evidence::new(EvidenceKind::Term).with_span("a f\u{200b}uck", ByteSpan::new(2, 9));
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            "{\"kind\":\"term\",\"span\":[2,9],\"matched\":\"f\u{200b}uck\"}"
        );
    }

    #[test]
    fn excerpt_is_cut_to_64_characters() {
        let text = "é".repeat(100);
        assert_eq!(
            excerpt(&text, ByteSpan::new(0, text.len())).chars().count(),
            64
        );
    }
}
