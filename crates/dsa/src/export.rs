//! CSV in the layout of the Transparency Database's own CSV export.
//!
//! Source: `app/Exports/StatementExportTrait.php` (`headings()`, `map()`) and
//! `app/Services/DayArchiveService.php` of
//! <https://github.com/digital-services-act/transparency-database> at commit
//! `69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b`. The database writes its stored values raw:
//! array fields as the compact JSON it stores (`["CONTENT_TYPE_TEXT","CONTENT_TYPE_VIDEO"]`),
//! enumeration keys as keys, `Yes`/`No` as is, and line breaks in text as spaces. We do the
//! same. The columns the database adds itself (`uuid`, `platform_name`, `created_at`) are left
//! out; its `platform_uid` column is our `puid`, named as the API names it, in the same place.

use std::io;

use serde::Serialize;

use crate::schema::Statement;
use crate::DsaError;

/// The header row, in the database export's order.
pub const CSV_COLUMNS: [&str; 35] = [
    "decision_visibility",
    "decision_visibility_other",
    "end_date_visibility_restriction",
    "decision_monetary",
    "decision_monetary_other",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "content_type",
    "content_type_other",
    "content_language",
    "content_date",
    "content_id_ean",
    "territorial_scope",
    "application_date",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "puid",
];

/// Writes a header row and one row per statement. Empty arrays and absent values are empty
/// cells, as `NULL` is in the database's export.
pub fn to_csv<W: io::Write>(statements: &[Statement], writer: W) -> Result<(), DsaError> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(CSV_COLUMNS)?;
    for s in statements {
        csv.write_record(row(s))?;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(())
}

fn row(s: &Statement) -> [String; 35] {
    let opt = |v: Option<&str>| v.map(clean).unwrap_or_default();
    let date =
        |d: Option<&crate::schema::Date>| d.map(|d| d.as_str().to_owned()).unwrap_or_default();
    [
        array(&s.decision_visibility),
        opt(s.decision_visibility_other.as_deref()),
        date(s.end_date_visibility_restriction.as_ref()),
        opt(s.decision_monetary.map(|v| v.as_str())),
        opt(s.decision_monetary_other.as_deref()),
        date(s.end_date_monetary_restriction.as_ref()),
        opt(s.decision_provision.map(|v| v.as_str())),
        date(s.end_date_service_restriction.as_ref()),
        opt(s.decision_account.map(|v| v.as_str())),
        date(s.end_date_account_restriction.as_ref()),
        opt(s.account_type.map(|v| v.as_str())),
        s.decision_ground.as_str().to_owned(),
        opt(s.decision_ground_reference_url.as_deref()),
        opt(s.illegal_content_legal_ground.as_deref()),
        opt(s.illegal_content_explanation.as_deref()),
        opt(s.incompatible_content_ground.as_deref()),
        opt(s.incompatible_content_explanation.as_deref()),
        opt(s.incompatible_content_illegal.map(|v| v.as_str())),
        s.category.as_str().to_owned(),
        array(&s.category_addition),
        array(&s.category_specification),
        opt(s.category_specification_other.as_deref()),
        array(&s.content_type),
        opt(s.content_type_other.as_deref()),
        opt(s.content_language.as_ref().map(|l| l.as_str())),
        s.content_date.as_str().to_owned(),
        opt(s.content_id.as_ref().and_then(|c| c.ean_13.as_deref())),
        array(&s.territorial_scope),
        s.application_date.as_str().to_owned(),
        clean(&s.decision_facts),
        s.source_type.as_str().to_owned(),
        opt(s.source_identity.as_deref()),
        s.automated_detection.as_str().to_owned(),
        s.automated_decision.as_str().to_owned(),
        clean(&s.puid),
    ]
}

/// A compact JSON array, or an empty cell for none.
fn array<T: Serialize>(values: &[T]) -> String {
    if values.is_empty() {
        return String::new();
    }
    serde_json::to_string(values).unwrap_or_default()
}

/// Trimmed, with each run of line breaks as one space (the export's `map()`).
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_break = false;
    for c in text.trim().chars() {
        if c == '\n' || c == '\r' {
            if !in_break {
                out.push(' ');
            }
            in_break = true;
        } else {
            out.push(c);
            in_break = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_compact_json_and_empty_arrays_empty_cells() {
        use crate::schema::{ContentType, Country};
        assert_eq!(
            array(&[ContentType::Text, ContentType::Video]),
            r#"["CONTENT_TYPE_TEXT","CONTENT_TYPE_VIDEO"]"#
        );
        assert_eq!(array(&[Country::De, Country::Pt]), r#"["DE","PT"]"#);
        assert_eq!(array::<Country>(&[]), "");
    }

    #[test]
    fn line_breaks_become_single_spaces() {
        assert_eq!(clean(" a\r\nb\n\nc \n"), "a b c");
    }
}
