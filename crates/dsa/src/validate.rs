//! The API's validation rules, so a statement that passes here is not refused with `422`.
//!
//! Source: `app/Http/Requests/StatementStoreRequest.php` of
//! <https://github.com/digital-services-act/transparency-database> at commit
//! `69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b` (file last changed in `bf0afeb8`, 2026-06-09),
//! plus `resources/markdown/api-documentation.md` for the one rule the form request does not
//! state (end dates not before the application date).
//!
//! Enumeration membership is checked by the types; what is left is presence, the
//! `required_if`/`required_without_all` dependencies, lengths (PHP `max:N` on a string counts
//! characters), date formats and ranges, the PUID, the reference URL, the EAN-13 and the
//! content language. Fields the API excludes (`exclude_unless`, e.g. `illegal_content_*`
//! under an incompatible-content ground) are not checked, as the API does not check them.

use std::fmt;

use crate::schema::{
    ContentType, Date, DecisionGround, DecisionMonetary, DecisionVisibility, SourceType, Statement,
};

/// `decision_facts`: at most this many characters.
pub const MAX_DECISION_FACTS: usize = 5000;
/// `illegal_content_explanation` and `incompatible_content_explanation`: at most this many
/// characters.
pub const MAX_EXPLANATION: usize = 2000;
/// Every other free-text field, the reference URL and the PUID: at most this many characters.
pub const MAX_SHORT_TEXT: usize = 500;

/// Earliest `content_date` the API accepts.
pub const CONTENT_DATE_MIN: &str = "2000-01-01";
/// Earliest `application_date` the API accepts.
pub const APPLICATION_DATE_MIN: &str = "2020-01-01";
/// Latest date of any date field the API accepts.
pub const DATE_MAX: &str = "2038-01-01";

/// The four restriction fields, one of which must be given.
const RESTRICTIONS: [&str; 4] = [
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
];

/// One broken rule: the API field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The API field name, e.g. `illegal_content_explanation`.
    pub field: &'static str,
    /// The rule it breaks.
    pub rule: Rule,
}

/// A validation rule of the Transparency Database API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The field is missing or blank.
    Required,
    /// The field is missing or blank although `field` has `value` (`required_if`).
    RequiredIf {
        /// The field the requirement depends on.
        field: &'static str,
        /// The value of that field that makes this one required.
        value: &'static str,
    },
    /// None of the restriction fields is given (`required_without_all`); names the others.
    RequiredWithoutAll {
        /// The other fields, any one of which would do.
        others: Vec<&'static str>,
    },
    /// Longer than the API allows, in characters.
    MaxChars {
        /// The limit.
        max: usize,
        /// The length given.
        actual: usize,
    },
    /// Not a real date written `YYYY-MM-DD`.
    DateFormat,
    /// Earlier than the API allows; `limit` is a date or the field it must not precede.
    NotBefore {
        /// The earliest allowed date, or the name of the field it must not precede.
        limit: String,
    },
    /// Later than the API allows.
    NotAfter {
        /// The latest allowed date.
        limit: String,
    },
    /// The PUID holds characters other than `A-Z a-z 0-9 - _`.
    PuidCharacters,
    /// Not an absolute URL.
    Url,
    /// An EAN-13 must be exactly 13 digits.
    Ean13,
    /// Not one of the values the API lists.
    NotInList,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Required => write!(f, "is required"),
            Rule::RequiredIf { field, value } => write!(f, "is required when {field} is {value}"),
            Rule::RequiredWithoutAll { others } => {
                write!(f, "is required when none of {} is given", others.join(", "))
            }
            Rule::MaxChars { max, actual } => {
                write!(f, "has {actual} characters, more than the {max} allowed")
            }
            Rule::DateFormat => write!(f, "is not a date in the form YYYY-MM-DD"),
            Rule::NotBefore { limit } => write!(f, "must not be before {limit}"),
            Rule::NotAfter { limit } => write!(f, "must not be after {limit}"),
            Rule::PuidCharacters => {
                write!(f, "may hold only letters, digits, hyphens and underscores")
            }
            Rule::Url => write!(f, "is not an absolute URL"),
            Rule::Ean13 => write!(f, "is not 13 digits"),
            Rule::NotInList => write!(f, "is not one of the values the API accepts"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

/// Checks `statement` against the Transparency Database's rules; every broken rule is
/// reported, in field order.
pub fn validate(statement: &Statement) -> Result<(), Vec<Violation>> {
    let mut check = Check::default();
    let s = statement;

    check.restrictions(s);
    if s.decision_visibility.contains(&DecisionVisibility::Other) {
        check.required_if(
            "decision_visibility_other",
            &s.decision_visibility_other,
            ("decision_visibility", "DECISION_VISIBILITY_OTHER"),
        );
        check.max(
            "decision_visibility_other",
            s.decision_visibility_other.as_deref(),
            MAX_SHORT_TEXT,
        );
    }
    if s.decision_monetary == Some(DecisionMonetary::Other) {
        check.required_if(
            "decision_monetary_other",
            &s.decision_monetary_other,
            ("decision_monetary", "DECISION_MONETARY_OTHER"),
        );
        check.max(
            "decision_monetary_other",
            s.decision_monetary_other.as_deref(),
            MAX_SHORT_TEXT,
        );
    }

    match s.decision_ground {
        DecisionGround::IllegalContent => {
            let when = ("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT");
            check.required_if(
                "illegal_content_legal_ground",
                &s.illegal_content_legal_ground,
                when,
            );
            check.max(
                "illegal_content_legal_ground",
                s.illegal_content_legal_ground.as_deref(),
                MAX_SHORT_TEXT,
            );
            check.required_if(
                "illegal_content_explanation",
                &s.illegal_content_explanation,
                when,
            );
            check.max(
                "illegal_content_explanation",
                s.illegal_content_explanation.as_deref(),
                MAX_EXPLANATION,
            );
        }
        DecisionGround::IncompatibleContent => {
            let when = ("decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT");
            check.required_if(
                "incompatible_content_ground",
                &s.incompatible_content_ground,
                when,
            );
            check.max(
                "incompatible_content_ground",
                s.incompatible_content_ground.as_deref(),
                MAX_SHORT_TEXT,
            );
            check.required_if(
                "incompatible_content_explanation",
                &s.incompatible_content_explanation,
                when,
            );
            check.max(
                "incompatible_content_explanation",
                s.incompatible_content_explanation.as_deref(),
                MAX_EXPLANATION,
            );
        }
    }
    if let Some(url) = &s.decision_ground_reference_url {
        check.max("decision_ground_reference_url", Some(url), MAX_SHORT_TEXT);
        if !is_absolute_url(url) {
            check.push("decision_ground_reference_url", Rule::Url);
        }
    }

    check.max(
        "category_specification_other",
        s.category_specification_other.as_deref(),
        MAX_SHORT_TEXT,
    );

    if s.content_type.is_empty() {
        check.push("content_type", Rule::Required);
    }
    if s.content_type.contains(&ContentType::Other) {
        check.required_if(
            "content_type_other",
            &s.content_type_other,
            ("content_type", "CONTENT_TYPE_OTHER"),
        );
        check.max(
            "content_type_other",
            s.content_type_other.as_deref(),
            MAX_SHORT_TEXT,
        );
    }
    if s.content_language.as_ref().is_some_and(|l| !l.is_known()) {
        check.push("content_language", Rule::NotInList);
    }
    check.date(
        "content_date",
        Some(&s.content_date),
        Some(CONTENT_DATE_MIN),
    );
    if let Some(ean) = s.content_id.as_ref().and_then(|c| c.ean_13.as_ref()) {
        if ean.len() != 13 || !ean.bytes().all(|b| b.is_ascii_digit()) {
            check.push("content_id.EAN-13", Rule::Ean13);
        }
    }

    let application_ok = check.date(
        "application_date",
        Some(&s.application_date),
        Some(APPLICATION_DATE_MIN),
    );
    for (field, end) in [
        (
            "end_date_visibility_restriction",
            &s.end_date_visibility_restriction,
        ),
        (
            "end_date_monetary_restriction",
            &s.end_date_monetary_restriction,
        ),
        (
            "end_date_service_restriction",
            &s.end_date_service_restriction,
        ),
        (
            "end_date_account_restriction",
            &s.end_date_account_restriction,
        ),
    ] {
        let ok = check.date(field, end.as_ref(), None);
        if let (true, true, Some(end)) = (ok, application_ok, end) {
            if end < &s.application_date {
                check.push(
                    field,
                    Rule::NotBefore {
                        limit: "application_date".into(),
                    },
                );
            }
        }
    }

    check.required("decision_facts", &s.decision_facts);
    check.max(
        "decision_facts",
        Some(&s.decision_facts),
        MAX_DECISION_FACTS,
    );

    if s.source_type != SourceType::Voluntary {
        check.max(
            "source_identity",
            s.source_identity.as_deref(),
            MAX_SHORT_TEXT,
        );
    }

    check.puid(&s.puid);

    check.finish()
}

/// Collects violations.
#[derive(Default)]
struct Check(Vec<Violation>);

impl Check {
    fn push(&mut self, field: &'static str, rule: Rule) {
        self.0.push(Violation { field, rule });
    }

    fn finish(self) -> Result<(), Vec<Violation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    /// `required_without_all`: the API names every restriction field when none is given.
    fn restrictions(&mut self, s: &Statement) {
        let any = !s.decision_visibility.is_empty()
            || s.decision_monetary.is_some()
            || s.decision_provision.is_some()
            || s.decision_account.is_some();
        if any {
            return;
        }
        for field in RESTRICTIONS {
            let others = RESTRICTIONS
                .iter()
                .copied()
                .filter(|f| *f != field)
                .collect();
            self.push(field, Rule::RequiredWithoutAll { others });
        }
    }

    /// PHP's `required`: absent, empty or only whitespace fails.
    fn required(&mut self, field: &'static str, value: &str) {
        if value.trim().is_empty() {
            self.push(field, Rule::Required);
        }
    }

    fn required_if(
        &mut self,
        field: &'static str,
        value: &Option<String>,
        (other, other_value): (&'static str, &'static str),
    ) {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            self.push(
                field,
                Rule::RequiredIf {
                    field: other,
                    value: other_value,
                },
            );
        }
    }

    fn max(&mut self, field: &'static str, value: Option<&str>, max: usize) {
        let Some(value) = value else { return };
        let actual = value.chars().count();
        if actual > max {
            self.push(field, Rule::MaxChars { max, actual });
        }
    }

    /// Checks a date field; true when it is absent or well formed (so comparisons make sense).
    fn date(&mut self, field: &'static str, date: Option<&Date>, earliest: Option<&str>) -> bool {
        let Some(date) = date else { return true };
        if date.as_str().trim().is_empty() {
            self.push(field, Rule::Required);
            return false;
        }
        if date.parts().is_none() {
            self.push(field, Rule::DateFormat);
            return false;
        }
        if let Some(earliest) = earliest.filter(|e| date.as_str() < *e) {
            self.push(
                field,
                Rule::NotBefore {
                    limit: earliest.into(),
                },
            );
        }
        if date.as_str() > DATE_MAX {
            self.push(
                field,
                Rule::NotAfter {
                    limit: DATE_MAX.into(),
                },
            );
        }
        true
    }

    /// `required|max:500|regex:/^[a-zA-Z0-9-_]+$/D`.
    fn puid(&mut self, puid: &str) {
        if puid.is_empty() {
            self.push("puid", Rule::Required);
            return;
        }
        self.max("puid", Some(puid), MAX_SHORT_TEXT);
        if !puid.bytes().all(is_puid_byte) {
            self.push("puid", Rule::PuidCharacters);
        }
    }
}

/// A byte the API allows in a PUID.
pub(crate) fn is_puid_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Approximates Laravel's `url` rule: a scheme, `://`, a host, and no whitespace.
fn is_absolute_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    scheme_ok && !host.is_empty() && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{
        AutomatedDecision, ContentId, DecisionAccount, Language, StatementCategory, YesNo,
    };

    /// A minimal statement the API accepts.
    fn valid() -> Statement {
        Statement {
            decision_visibility: vec![DecisionVisibility::ContentRemoved],
            decision_visibility_other: None,
            end_date_visibility_restriction: None,
            decision_monetary: None,
            decision_monetary_other: None,
            end_date_monetary_restriction: None,
            decision_provision: None,
            end_date_service_restriction: None,
            decision_account: None,
            end_date_account_restriction: None,
            account_type: None,
            decision_ground: DecisionGround::IncompatibleContent,
            decision_ground_reference_url: None,
            illegal_content_legal_ground: None,
            illegal_content_explanation: None,
            incompatible_content_ground: Some("policy default@3".into()),
            incompatible_content_explanation: Some("profanity".into()),
            incompatible_content_illegal: None,
            category: StatementCategory::OtherViolationTc,
            category_addition: vec![],
            category_specification: vec![],
            category_specification_other: None,
            content_type: vec![ContentType::Text],
            content_type_other: None,
            content_language: None,
            content_date: "2025-03-01".into(),
            content_id: None,
            territorial_scope: vec![],
            application_date: "2025-03-02".into(),
            decision_facts: "matched term 'x'".into(),
            source_type: SourceType::Voluntary,
            source_identity: None,
            automated_detection: YesNo::Yes,
            automated_decision: AutomatedDecision::Fully,
            puid: "01JD3Q8Z5Y4K2M7N9P0R1S2T3V".into(),
        }
    }

    fn violations(edit: impl FnOnce(&mut Statement)) -> Vec<(&'static str, Rule)> {
        let mut s = valid();
        edit(&mut s);
        match validate(&s) {
            Ok(()) => vec![],
            Err(v) => v.into_iter().map(|v| (v.field, v.rule)).collect(),
        }
    }

    #[test]
    fn the_minimal_statement_is_valid() {
        assert_eq!(validate(&valid()), Ok(()));
    }

    type Edit = fn(&mut Statement);
    /// A case: what it is, the change to a valid statement, the violations expected.
    type Case = (&'static str, Edit, Vec<(&'static str, Rule)>);

    #[test]
    fn rules_of_the_api_each_name_their_field() {
        let illegal_if = Rule::RequiredIf {
            field: "decision_ground",
            value: "DECISION_GROUND_ILLEGAL_CONTENT",
        };
        let incompatible_if = Rule::RequiredIf {
            field: "decision_ground",
            value: "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        };
        let rows: Vec<Case> = vec![
            (
                "illegal ground without legal ground and explanation",
                |s| s.decision_ground = DecisionGround::IllegalContent,
                vec![
                    ("illegal_content_legal_ground", illegal_if.clone()),
                    ("illegal_content_explanation", illegal_if.clone()),
                ],
            ),
            (
                "incompatible ground with a blank explanation",
                |s| s.incompatible_content_explanation = Some("  ".into()),
                vec![("incompatible_content_explanation", incompatible_if.clone())],
            ),
            (
                "incompatible ground without its contractual ground",
                |s| s.incompatible_content_ground = None,
                vec![("incompatible_content_ground", incompatible_if)],
            ),
            (
                "illegal_content_* under an incompatible ground are excluded, not checked",
                |s| s.illegal_content_explanation = Some("x".repeat(3000)),
                vec![],
            ),
            (
                "an account restriction alone is a restriction",
                |s| {
                    s.decision_visibility.clear();
                    s.decision_account = Some(DecisionAccount::Suspended);
                },
                vec![],
            ),
            (
                "other visibility restriction without saying which",
                |s| s.decision_visibility.push(DecisionVisibility::Other),
                vec![(
                    "decision_visibility_other",
                    Rule::RequiredIf {
                        field: "decision_visibility",
                        value: "DECISION_VISIBILITY_OTHER",
                    },
                )],
            ),
            (
                "other monetary restriction without saying which",
                |s| s.decision_monetary = Some(DecisionMonetary::Other),
                vec![(
                    "decision_monetary_other",
                    Rule::RequiredIf {
                        field: "decision_monetary",
                        value: "DECISION_MONETARY_OTHER",
                    },
                )],
            ),
            (
                "other content type without saying which",
                |s| s.content_type = vec![ContentType::Other],
                vec![(
                    "content_type_other",
                    Rule::RequiredIf {
                        field: "content_type",
                        value: "CONTENT_TYPE_OTHER",
                    },
                )],
            ),
            (
                "no content type",
                |s| s.content_type.clear(),
                vec![("content_type", Rule::Required)],
            ),
            (
                "facts of 5001 characters",
                |s| s.decision_facts = "é".repeat(5001),
                vec![(
                    "decision_facts",
                    Rule::MaxChars {
                        max: 5000,
                        actual: 5001,
                    },
                )],
            ),
            (
                "facts of exactly 5000 multi-byte characters are fine",
                |s| s.decision_facts = "é".repeat(5000),
                vec![],
            ),
            (
                "blank facts",
                |s| s.decision_facts = " \n".into(),
                vec![("decision_facts", Rule::Required)],
            ),
            (
                "explanation of 2001 characters",
                |s| s.incompatible_content_explanation = Some("x".repeat(2001)),
                vec![(
                    "incompatible_content_explanation",
                    Rule::MaxChars {
                        max: 2000,
                        actual: 2001,
                    },
                )],
            ),
            (
                "application date written day first",
                |s| s.application_date = "02-03-2025".into(),
                vec![("application_date", Rule::DateFormat)],
            ),
            (
                "content date 30 February",
                |s| s.content_date = "2025-02-30".into(),
                vec![("content_date", Rule::DateFormat)],
            ),
            (
                "content date before 2000",
                |s| s.content_date = "1999-12-31".into(),
                vec![(
                    "content_date",
                    Rule::NotBefore {
                        limit: "2000-01-01".into(),
                    },
                )],
            ),
            (
                "application date before 2020",
                |s| s.application_date = "2019-12-31".into(),
                vec![(
                    "application_date",
                    Rule::NotBefore {
                        limit: "2020-01-01".into(),
                    },
                )],
            ),
            (
                "application date after 2038-01-01",
                |s| s.application_date = "2038-01-02".into(),
                vec![(
                    "application_date",
                    Rule::NotAfter {
                        limit: "2038-01-01".into(),
                    },
                )],
            ),
            (
                "empty application date",
                |s| s.application_date = "".into(),
                vec![("application_date", Rule::Required)],
            ),
            (
                "restriction ending before it applies",
                |s| s.end_date_visibility_restriction = Some("2025-03-01".into()),
                vec![(
                    "end_date_visibility_restriction",
                    Rule::NotBefore {
                        limit: "application_date".into(),
                    },
                )],
            ),
            (
                "puid with a colon",
                |s| s.puid = "post:123".into(),
                vec![("puid", Rule::PuidCharacters)],
            ),
            (
                "puid with a trailing newline",
                |s| s.puid = "post-123\n".into(),
                vec![("puid", Rule::PuidCharacters)],
            ),
            (
                "puid with a non-ASCII letter",
                |s| s.puid = "pöst".into(),
                vec![("puid", Rule::PuidCharacters)],
            ),
            (
                "empty puid",
                |s| s.puid = String::new(),
                vec![("puid", Rule::Required)],
            ),
            (
                "puid of 501 characters",
                |s| s.puid = "a".repeat(501),
                vec![(
                    "puid",
                    Rule::MaxChars {
                        max: 500,
                        actual: 501,
                    },
                )],
            ),
            (
                "reference that is not a URL",
                |s| s.decision_ground_reference_url = Some("our terms".into()),
                vec![("decision_ground_reference_url", Rule::Url)],
            ),
            (
                "reference URL",
                |s| s.decision_ground_reference_url = Some("https://example.com/terms#3".into()),
                vec![],
            ),
            (
                "EAN-13 of 12 digits",
                |s| {
                    s.content_id = Some(ContentId {
                        ean_13: Some("012345678912".into()),
                    })
                },
                vec![("content_id.EAN-13", Rule::Ean13)],
            ),
            (
                "unknown content language read from JSON",
                |s| {
                    s.content_language = serde_json::from_str::<Option<Language>>("\"XX\"").unwrap()
                },
                vec![("content_language", Rule::NotInList)],
            ),
            (
                "long source identity of an own-initiative decision is ignored",
                |s| s.source_identity = Some("x".repeat(600)),
                vec![],
            ),
            (
                "long source identity of a notice",
                |s| {
                    s.source_type = SourceType::Article16;
                    s.source_identity = Some("x".repeat(600));
                },
                vec![(
                    "source_identity",
                    Rule::MaxChars {
                        max: 500,
                        actual: 600,
                    },
                )],
            ),
        ];
        for (case, edit, want) in rows {
            assert_eq!(violations(edit), want, "{case}");
        }
    }

    #[test]
    fn a_statement_restricting_nothing_names_all_four_restriction_fields() {
        let got = violations(|s| s.decision_visibility.clear());
        let fields: Vec<_> = got.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, RESTRICTIONS);
        assert!(matches!(&got[0].1, Rule::RequiredWithoutAll { others } if others.len() == 3));
    }

    #[test]
    fn violations_read_as_sentences() {
        let v = Violation {
            field: "illegal_content_explanation",
            rule: Rule::RequiredIf {
                field: "decision_ground",
                value: "DECISION_GROUND_ILLEGAL_CONTENT",
            },
        };
        assert_eq!(
            v.to_string(),
            "illegal_content_explanation is required when decision_ground is DECISION_GROUND_ILLEGAL_CONTENT"
        );
    }
}
