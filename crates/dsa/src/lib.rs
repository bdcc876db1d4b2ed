//! Statements of reasons for the EU Digital Services Act (Art. 17 and 24(5) DSA), in the exact
//! format of the DSA Transparency Database API (`/v1/reports/dsa` in `docs/API.md`).
//!
//! - [`Statement`] is the API's JSON body: its field names, its enumeration keys.
//! - [`validate`] applies the API's rules and names each broken one by field, so a statement
//!   is refused here rather than with `422` by the database.
//! - [`StatementInput`] turns a [`Verdict`](rampart_types::Verdict) and what the platform then
//!   did (automation or a moderator, the restriction, the dates) into a valid statement, with
//!   `decision_facts` written in plain language from the evidence.
//! - [`category_of`] is the one table from Rampart labels to DSA categories and keywords.
//! - [`to_csv`] writes the database's CSV export layout.
//!
//! Not for: submitting to the database (HTTP, tokens, retries), storing statements or choosing
//! which verdicts need one; the server and the store do that. No I/O beyond the writer given
//! to [`to_csv`].
//!
//! The schema follows the open-source Transparency Database,
//! <https://github.com/digital-services-act/transparency-database>, read at commit
//! `69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b` (2026-06-24): `app/Models/Statement.php` for the
//! enumerations, `app/Http/Requests/StatementStoreRequest.php` for the rules,
//! `app/Exports/StatementExportTrait.php` for the CSV layout and
//! `resources/markdown/api-documentation.md` for the meaning of each field. That is the API v2
//! schema in force since 1 July 2025.

mod build;
mod category;
mod export;
mod facts;
mod schema;
mod validate;

pub use build::{DecidedBy, Ground, ReviewOutcome, StatementInput};
pub use category::{category_of, CategoryMapping, CUSTOM_LABEL, LABEL_CATEGORIES};
pub use export::{to_csv, CSV_COLUMNS};
pub use facts::{describe, truncate_chars};
pub use schema::{
    AccountType, AutomatedDecision, ContentId, ContentType, Country, Date, DecisionAccount,
    DecisionGround, DecisionMonetary, DecisionProvision, DecisionVisibility, Keyword, Language,
    SourceType, Statement, StatementCategory, YesNo, LANGUAGE_CODES,
};
pub use validate::{
    validate, Rule, Violation, APPLICATION_DATE_MIN, CONTENT_DATE_MIN, DATE_MAX,
    MAX_DECISION_FACTS, MAX_EXPLANATION, MAX_SHORT_TEXT,
};

use rampart_types::Suggestion;

/// What can go wrong building or writing statements.
#[derive(Debug, thiserror::Error)]
pub enum DsaError {
    /// The content stayed up, so the DSA asks for no statement.
    #[error("verdict {verdict} restricted nothing (suggestion {suggestion:?} and no removal)")]
    NothingRestricted {
        /// The verdict id.
        verdict: String,
        /// The verdict's suggestion.
        suggestion: Suggestion,
    },
    /// The statement breaks rules of the API; each violation names its field.
    #[error("statement of reasons refused: {}", list(.0))]
    Invalid(Vec<Violation>),
    /// Writing CSV failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
