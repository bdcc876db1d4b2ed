//! From a verdict (and what the platform then did) to a statement of reasons.

use rampart_types::{self as types, LabelVerdict, Suggestion, Verdict};

use crate::category::{category_of, CUSTOM_LABEL};
use crate::facts::{describe, join_and, label_noun, truncate_chars};
use crate::schema::{
    AccountType, AutomatedDecision, ContentType, Country, Date, DecisionGround, DecisionVisibility,
    Keyword, Language, SourceType, Statement, StatementCategory, YesNo,
};
use crate::validate::{
    is_puid_byte, validate, MAX_DECISION_FACTS, MAX_EXPLANATION, MAX_SHORT_TEXT,
};
use crate::DsaError;

/// Who decided to restrict the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidedBy {
    /// The policy's suggestion was applied without a human: only a `block` verdict restricts.
    Automation,
    /// A moderator decided from the review queue.
    Moderator {
        /// What the moderator decided.
        outcome: ReviewOutcome,
        /// The moderator's reason, quoted in `decision_facts`. Keep personal data out of it.
        reason: String,
    },
}

/// A moderator's decision on a review item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Take the content down.
    Remove,
    /// Leave the content up: nothing was restricted, so there is no statement.
    Keep,
}

/// The legal basis of the decision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Ground {
    /// The content breaks the platform's terms; the moderation policy is the contractual
    /// ground cited.
    #[default]
    TermsOfService,
    /// The content is illegal under `legal_ground` (e.g. "§ 130 StGB"); only the platform can
    /// say so, Rampart never does on its own.
    Illegal {
        /// The law relied on (≤ 500 characters).
        legal_ground: String,
    },
}

/// Everything a statement is built from. Make one with [`StatementInput::new`], adjust the
/// public fields, then [`build`](StatementInput::build).
#[derive(Debug, Clone)]
pub struct StatementInput<'a> {
    /// The verdict on the content.
    pub verdict: &'a Verdict,
    /// Automation or a moderator.
    pub decided_by: DecidedBy,
    /// When the restriction took effect: `application_date`.
    pub decision_date: Date,
    /// When the content was posted; `None` takes the day the verdict's ULID was minted.
    pub content_date: Option<Date>,
    /// The statement's unique id at the platform. `None` takes the verdict's `client_id` when
    /// the API accepts it as a PUID, else the verdict id. A PUID may be used only once, so a
    /// second decision on the same content needs an explicit one.
    pub puid: Option<String>,
    /// Terms of service (default) or a law.
    pub ground: Ground,
    /// What was done to the content; default [`DecisionVisibility::ContentRemoved`].
    pub visibility: DecisionVisibility,
    /// What led to the decision; default [`SourceType::Voluntary`] (own initiative).
    pub source: SourceType,
    /// Who notified, for notices (≤ 500 characters; ignored for own initiative).
    pub source_identity: Option<String>,
    /// URL of the terms or law relied on.
    pub reference_url: Option<String>,
    /// Where the restriction applies; default the whole EEA, as a removal applies everywhere.
    pub territorial_scope: Vec<Country>,
    /// The language of the content, if known.
    pub content_language: Option<Language>,
    /// Business or private account, if known.
    pub account_type: Option<AccountType>,
}

impl<'a> StatementInput<'a> {
    /// An input with the defaults described on each field.
    pub fn new(verdict: &'a Verdict, decided_by: DecidedBy, decision_date: Date) -> Self {
        StatementInput {
            verdict,
            decided_by,
            decision_date,
            content_date: None,
            puid: None,
            ground: Ground::TermsOfService,
            visibility: DecisionVisibility::ContentRemoved,
            source: SourceType::Voluntary,
            source_identity: None,
            reference_url: None,
            territorial_scope: Country::EEA.to_vec(),
            content_language: None,
            account_type: None,
        }
    }

    /// The statement of reasons, checked with [`validate`].
    ///
    /// Fails with [`DsaError::NothingRestricted`] when the content stayed up (an automated
    /// `pass` or `review`, or a moderator's keep) and with [`DsaError::Invalid`] when an input
    /// breaks an API rule (e.g. a PUID with a colon, a date before 2020).
    pub fn build(&self) -> Result<Statement, DsaError> {
        let v = self.verdict;
        if !self.restricted() {
            return Err(DsaError::NothingRestricted {
                verdict: v.id.clone(),
                suggestion: v.suggestion,
            });
        }
        let labels = self.deciding_labels();
        let (category, category_addition, category_specification) = categories(&labels);
        let explanation = truncate_chars(&self.explanation(&labels), MAX_EXPLANATION);
        let (illegal_ground, illegal_explanation, tos_ground, tos_explanation) = match &self.ground
        {
            Ground::Illegal { legal_ground } => {
                (Some(legal_ground.clone()), Some(explanation), None, None)
            }
            Ground::TermsOfService => (
                None,
                None,
                Some(truncate_chars(
                    &format!("Moderation policy {}", v.policy),
                    MAX_SHORT_TEXT,
                )),
                Some(explanation),
            ),
        };
        let statement = Statement {
            decision_visibility: vec![self.visibility],
            decision_visibility_other: None,
            end_date_visibility_restriction: None,
            decision_monetary: None,
            decision_monetary_other: None,
            end_date_monetary_restriction: None,
            decision_provision: None,
            end_date_service_restriction: None,
            decision_account: None,
            end_date_account_restriction: None,
            account_type: self.account_type,
            decision_ground: match self.ground {
                Ground::TermsOfService => DecisionGround::IncompatibleContent,
                Ground::Illegal { .. } => DecisionGround::IllegalContent,
            },
            decision_ground_reference_url: self.reference_url.clone(),
            illegal_content_legal_ground: illegal_ground,
            illegal_content_explanation: illegal_explanation,
            incompatible_content_ground: tos_ground,
            incompatible_content_explanation: tos_explanation,
            incompatible_content_illegal: None,
            category,
            category_addition,
            category_specification,
            category_specification_other: None,
            content_type: content_types(v),
            content_type_other: None,
            content_language: self.content_language.clone(),
            content_date: self
                .content_date
                .clone()
                .or_else(|| ulid_date(&v.id))
                .unwrap_or_else(|| self.decision_date.clone()),
            content_id: None,
            territorial_scope: self.territorial_scope.clone(),
            application_date: self.decision_date.clone(),
            decision_facts: truncate_chars(&self.facts(&labels), MAX_DECISION_FACTS),
            source_type: self.source,
            source_identity: self.source_identity.clone(),
            automated_detection: if v.suggestion > Suggestion::Pass || !labels.is_empty() {
                YesNo::Yes
            } else {
                YesNo::No
            },
            automated_decision: match self.decided_by {
                DecidedBy::Automation => AutomatedDecision::Fully,
                DecidedBy::Moderator { .. } => AutomatedDecision::NotAutomated,
            },
            puid: self.puid(),
        };
        validate(&statement).map_err(DsaError::Invalid)?;
        Ok(statement)
    }

    fn restricted(&self) -> bool {
        match &self.decided_by {
            DecidedBy::Automation => self.verdict.suggestion == Suggestion::Block,
            DecidedBy::Moderator { outcome, .. } => *outcome == ReviewOutcome::Remove,
        }
    }

    /// The labels that led to the restriction, strongest first: those at the verdict's own
    /// level for automation; everything flagged for a moderator's decision.
    fn deciding_labels(&self) -> Vec<&'a LabelVerdict> {
        let v = self.verdict;
        let floor = match self.decided_by {
            DecidedBy::Automation => Suggestion::Block,
            DecidedBy::Moderator { .. } => Suggestion::Review,
        };
        let mut labels: Vec<&LabelVerdict> =
            v.labels.iter().filter(|l| l.suggestion >= floor).collect();
        if labels.is_empty() {
            labels = v
                .labels
                .iter()
                .filter(|l| l.suggestion > Suggestion::Pass)
                .collect();
        }
        labels.sort_by(|a, b| {
            b.suggestion
                .cmp(&a.suggestion)
                .then(b.score.total_cmp(&a.score))
        });
        labels
    }

    /// `incompatible_content_explanation` or `illegal_content_explanation`.
    fn explanation(&self, labels: &[&LabelVerdict]) -> String {
        let nouns: Vec<String> = labels.iter().map(|l| label_noun(&l.label)).collect();
        let names: Vec<&str> = nouns.iter().map(String::as_str).collect();
        let mut s = if names.is_empty() {
            format!(
                "The content breaks the rules of moderation policy {}.",
                self.verdict.policy
            )
        } else {
            format!(
                "The content was found to contain {} under moderation policy {}; the facts list \
                 the evidence.",
                join_and(&names),
                self.verdict.policy
            )
        };
        if let DecidedBy::Moderator { reason, .. } = &self.decided_by {
            if !reason.trim().is_empty() {
                s += &format!(" A moderator confirmed: {}", reason.trim());
            }
        }
        s
    }

    /// `decision_facts`: who decided, the moderator's reason, then the evidence per label.
    /// The reason comes before the evidence so a cut at 5000 characters never loses it.
    fn facts(&self, labels: &[&LabelVerdict]) -> String {
        let v = self.verdict;
        let content = content_noun(v.content_type);
        let mut s = match &self.decided_by {
            DecidedBy::Automation => format!(
                "Automated moderation under policy {} blocked this {content}; no human was \
                 involved in the decision.",
                v.policy
            ),
            DecidedBy::Moderator { reason, .. } => {
                let mut s = format!(
                    "Automated moderation under policy {} flagged this {content} ({}) and a \
                     moderator reviewed it and removed it.",
                    v.policy,
                    v.suggestion.as_str()
                );
                if !reason.trim().is_empty() {
                    s += &format!(" Moderator's reason: {}", reason.trim());
                    if !s.ends_with(['.', '!', '?']) {
                        s.push('.');
                    }
                }
                s
            }
        };
        for label in labels {
            s += &format!(
                " {} (score {:.2}, {})",
                label.label,
                label.score,
                label.suggestion.as_str()
            );
            let found: Vec<String> = label.evidence.iter().map(describe).collect();
            if found.is_empty() {
                s.push('.');
            } else {
                s += &format!(": {}.", found.join("; "));
            }
        }
        s
    }

    fn puid(&self) -> String {
        if let Some(puid) = &self.puid {
            return puid.clone();
        }
        let v = self.verdict;
        match &v.content_ref.client_id {
            Some(id)
                if !id.is_empty() && id.len() <= MAX_SHORT_TEXT && id.bytes().all(is_puid_byte) =>
            {
                id.clone()
            }
            _ => v.id.clone(),
        }
    }
}

/// The main category (from the strongest label), further categories, and keywords.
fn categories(
    labels: &[&LabelVerdict],
) -> (StatementCategory, Vec<StatementCategory>, Vec<Keyword>) {
    let mappings: Vec<_> = labels.iter().map(|l| category_of(&l.label)).collect();
    let main = mappings
        .first()
        .map_or(CUSTOM_LABEL.category, |m| m.category);
    let mut addition = Vec::new();
    let mut keywords = Vec::new();
    for m in &mappings {
        if m.category != main && !addition.contains(&m.category) {
            addition.push(m.category);
        }
        if let Some(k) = m.keyword {
            if !keywords.contains(&k) {
                keywords.push(k);
            }
        }
    }
    (main, addition, keywords)
}

/// The verdict's content type, plus audio for a video whose soundtrack was heard.
fn content_types(v: &Verdict) -> Vec<ContentType> {
    let mut types = vec![match v.content_type {
        types::ContentType::Text => ContentType::Text,
        types::ContentType::Image => ContentType::Image,
        types::ContentType::Video => ContentType::Video,
        types::ContentType::Audio => ContentType::Audio,
    }];
    let heard = v
        .labels
        .iter()
        .flat_map(|l| &l.evidence)
        .any(|e| e.kind == types::EvidenceKind::Asr);
    if v.content_type == types::ContentType::Video && heard {
        types.push(ContentType::Audio);
    }
    types.sort();
    types
}

fn content_noun(t: types::ContentType) -> &'static str {
    match t {
        types::ContentType::Text => "text",
        types::ContentType::Image => "image",
        types::ContentType::Video => "video",
        types::ContentType::Audio => "audio",
    }
}

/// The UTC day a ULID was minted: its first 10 Crockford base-32 characters are milliseconds
/// since the Unix epoch.
fn ulid_date(id: &str) -> Option<Date> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if id.len() != 26 {
        return None;
    }
    let mut ms: u64 = 0;
    for c in id.bytes().take(10) {
        let digit = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())?;
        ms = ms.checked_mul(32)?.checked_add(digit as u64)?;
    }
    Date::from_unix_days(i64::try_from(ms / 86_400_000).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_types::{ContentRef, Evidence, EvidenceKind, Label};

    fn label(name: &str, score: f32, suggestion: Suggestion) -> LabelVerdict {
        let mut ev = Evidence::new(EvidenceKind::Model);
        ev.model = Some("text-linear@1".into());
        ev.score = Some(score);
        LabelVerdict {
            label: name.parse::<Label>().unwrap(),
            score,
            suggestion,
            evidence: vec![ev],
        }
    }

    fn verdict(suggestion: Suggestion, labels: Vec<LabelVerdict>) -> Verdict {
        Verdict {
            id: "01JD3Q8Z5Y4K2M7N9P0R1S2T3V".into(),
            content_type: types::ContentType::Text,
            content_ref: ContentRef {
                sha256: "00".repeat(32),
                pdq: None,
                client_id: Some("post-123".into()),
            },
            suggestion,
            labels,
            policy: "default@3".into(),
            models: vec!["text-linear@1".into()],
            elapsed_ms: 0.2,
        }
    }

    fn date() -> Date {
        Date::ymd(2025, 3, 2).unwrap()
    }

    #[test]
    fn only_a_restriction_gets_a_statement() {
        let keep = DecidedBy::Moderator {
            outcome: ReviewOutcome::Keep,
            reason: "satire".into(),
        };
        let remove = DecidedBy::Moderator {
            outcome: ReviewOutcome::Remove,
            reason: "slur".into(),
        };
        let rows = [
            (Suggestion::Block, DecidedBy::Automation, true),
            (Suggestion::Review, DecidedBy::Automation, false),
            (Suggestion::Pass, DecidedBy::Automation, false),
            (Suggestion::Review, remove.clone(), true),
            (Suggestion::Pass, remove, true),
            (Suggestion::Review, keep, false),
        ];
        for (suggestion, decided_by, want) in rows {
            let v = verdict(suggestion, vec![label("hate", 0.9, suggestion)]);
            let got = StatementInput::new(&v, decided_by.clone(), date()).build();
            assert_eq!(got.is_ok(), want, "{suggestion:?} {decided_by:?}: {got:?}");
        }
    }

    #[test]
    fn the_strongest_label_is_the_category_and_the_rest_are_additions() {
        let v = verdict(
            Suggestion::Block,
            vec![
                label("profanity", 0.99, Suggestion::Block),
                label("hate", 0.95, Suggestion::Block),
                label("custom:house-rules", 0.9, Suggestion::Block),
                label("spam", 0.6, Suggestion::Review),
            ],
        );
        let s = StatementInput::new(&v, DecidedBy::Automation, date())
            .build()
            .unwrap();
        assert_eq!(s.category, StatementCategory::OtherViolationTc);
        assert_eq!(
            s.category_addition,
            [StatementCategory::IllegalOrHarmfulSpeech]
        );
        assert_eq!(s.category_specification, [Keyword::HateSpeech]);
        assert!(!s.decision_facts.contains("spam"), "{}", s.decision_facts);
    }

    #[test]
    fn automation_and_moderators_are_told_apart() {
        let v = verdict(
            Suggestion::Review,
            vec![label("hate", 0.7, Suggestion::Review)],
        );
        let by_moderator = StatementInput::new(
            &v,
            DecidedBy::Moderator {
                outcome: ReviewOutcome::Remove,
                reason: "targets a protected group".into(),
            },
            date(),
        )
        .build()
        .unwrap();
        assert_eq!(
            by_moderator.automated_decision,
            AutomatedDecision::NotAutomated
        );
        assert_eq!(by_moderator.automated_detection, YesNo::Yes);
        assert!(by_moderator
            .decision_facts
            .contains("Moderator's reason: targets a protected group."));

        let v = verdict(
            Suggestion::Block,
            vec![label("hate", 0.97, Suggestion::Block)],
        );
        let automated = StatementInput::new(&v, DecidedBy::Automation, date())
            .build()
            .unwrap();
        assert_eq!(automated.automated_decision, AutomatedDecision::Fully);
    }

    #[test]
    fn puid_prefers_the_given_id_then_a_valid_client_id_then_the_verdict_id() {
        let mut v = verdict(
            Suggestion::Block,
            vec![label("spam", 0.9, Suggestion::Block)],
        );
        let mut input = StatementInput::new(&v, DecidedBy::Automation, date());
        input.puid = Some("sor-7".into());
        assert_eq!(input.build().unwrap().puid, "sor-7");
        assert_eq!(
            StatementInput::new(&v, DecidedBy::Automation, date())
                .build()
                .unwrap()
                .puid,
            "post-123"
        );
        v.content_ref.client_id = Some("post:123".into());
        assert_eq!(
            StatementInput::new(&v, DecidedBy::Automation, date())
                .build()
                .unwrap()
                .puid,
            v.id
        );
    }

    #[test]
    fn an_illegal_ground_fills_the_illegal_fields_only() {
        let v = verdict(
            Suggestion::Block,
            vec![label("terrorism", 0.99, Suggestion::Block)],
        );
        let mut input = StatementInput::new(&v, DecidedBy::Automation, date());
        input.ground = Ground::Illegal {
            legal_ground: "Regulation (EU) 2021/784".into(),
        };
        let s = input.build().unwrap();
        assert_eq!(s.decision_ground, DecisionGround::IllegalContent);
        assert!(
            s.illegal_content_legal_ground.is_some() && s.illegal_content_explanation.is_some()
        );
        assert!(s.incompatible_content_ground.is_none());
    }

    #[test]
    fn the_content_date_comes_from_the_ulid_when_not_given() {
        // 01JD3Q8Z5Y… was minted on 2024-11-20 (UTC).
        assert_eq!(
            ulid_date("01JD3Q8Z5Y4K2M7N9P0R1S2T3V").unwrap().as_str(),
            "2024-11-20"
        );
        assert_eq!(ulid_date("not-a-ulid"), None);
    }
}
