//! The one table from Rampart labels to DSA statement categories and keywords.
//!
//! Categories and keywords are those of the Transparency Database's API v2 schema (in force
//! since 1 July 2025); a keyword is given only where one says what the label means without
//! claiming more (e.g. `self_harm` could be suicide, self-mutilation or eating disorders, so it
//! gets none). Keywords are paired with the category the database's documentation lists them
//! under.

use rampart_types::Label;

use crate::schema::{Keyword, StatementCategory};

/// Where a label lands in a statement of reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryMapping {
    /// `category` (or an entry of `category_addition`).
    pub category: StatementCategory,
    /// An entry of `category_specification`, where a clear one exists.
    pub keyword: Option<Keyword>,
}

/// Every fixed label with its category and keyword; `custom:*` labels map to
/// [`CUSTOM_LABEL`]. Rows follow the taxonomy order of [`Label::FIXED`].
pub const LABEL_CATEGORIES: [(Label, CategoryMapping); 12] = {
    use Keyword as K;
    use StatementCategory as C;
    const fn row(label: Label, category: C, keyword: Option<K>) -> (Label, CategoryMapping) {
        (label, CategoryMapping { category, keyword })
    }
    [
        // Adult sexual material is listed under "Other violation of provider's T&C".
        row(
            Label::Sexual,
            C::OtherViolationTc,
            Some(K::AdultSexualMaterial),
        ),
        // Hash-bank matches of known abuse material only, never a classifier's guess.
        row(
            Label::SexualMinors,
            C::ProtectionOfMinors,
            Some(K::ChildSexualAbuseMaterial),
        ),
        row(Label::Violence, C::Violence, None),
        row(
            Label::Terrorism,
            C::RiskForPublicSecurity,
            Some(K::TerroristContent),
        ),
        row(Label::Hate, C::IllegalOrHarmfulSpeech, Some(K::HateSpeech)),
        row(
            Label::Harassment,
            C::CyberViolence,
            Some(K::CyberHarassment),
        ),
        // Swearing breaks house rules, not a DSA harm category of its own.
        row(Label::Profanity, C::OtherViolationTc, None),
        row(Label::SelfHarm, C::SelfHarm, None),
        // Drugs, weapons, contraband.
        row(
            Label::Illicit,
            C::UnsafeAndProhibitedProducts,
            Some(K::ProhibitedProducts),
        ),
        row(Label::Spam, C::ScamsAndFraud, None),
        // Unsolicited advertising and contact details: a house rule.
        row(Label::Ads, C::OtherViolationTc, None),
        row(Label::Pii, C::DataProtectionAndPrivacyViolations, None),
    ]
};

/// Where `custom:<name>` labels land: the tenant's own rule, so "Other violation of provider's
/// terms and conditions" (the API v2 successor of "Scope of platform service").
pub const CUSTOM_LABEL: CategoryMapping = CategoryMapping {
    category: StatementCategory::OtherViolationTc,
    keyword: None,
};

/// The category and keyword for `label`.
pub fn category_of(label: &Label) -> CategoryMapping {
    LABEL_CATEGORIES
        .iter()
        .find(|(l, _)| l == label)
        .map_or(CUSTOM_LABEL, |(_, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_map_as_design_md_says() {
        let rows = [
            ("hate", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"),
            ("sexual_minors", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"),
            ("spam", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"),
            ("terrorism", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"),
            ("self_harm", "STATEMENT_CATEGORY_SELF_HARM"),
            (
                "pii",
                "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
            ),
            ("custom:scams", "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"),
        ];
        for (label, want) in rows {
            let label: Label = label.parse().unwrap();
            assert_eq!(category_of(&label).category.as_str(), want, "{label}");
        }
    }

    #[test]
    fn the_table_covers_every_fixed_label_in_taxonomy_order() {
        let labels: Vec<_> = LABEL_CATEGORIES.iter().map(|(l, _)| l.clone()).collect();
        assert_eq!(labels, Label::FIXED);
    }

    #[test]
    fn keywords_belong_to_their_category() {
        // The pairs of the database's "category & specification" list that the table uses.
        let listed = [
            (K::AdultSexualMaterial, C::OtherViolationTc),
            (K::ChildSexualAbuseMaterial, C::ProtectionOfMinors),
            (K::TerroristContent, C::RiskForPublicSecurity),
            (K::HateSpeech, C::IllegalOrHarmfulSpeech),
            (K::CyberHarassment, C::CyberViolence),
            (K::ProhibitedProducts, C::UnsafeAndProhibitedProducts),
        ];
        for (_, m) in LABEL_CATEGORIES {
            if let Some(k) = m.keyword {
                assert!(
                    listed.contains(&(k, m.category)),
                    "{k} under {}",
                    m.category
                );
            }
        }
    }

    use Keyword as K;
    use StatementCategory as C;
}
