//! Statements of reasons (EU Digital Services Act, Art. 17 and 24(5)) for the caller's tenant,
//! in the DSA Transparency Database's format, built by `rampart-dsa` from stored verdicts.
//!
//! Only decisions that restricted content get a statement. Until human review exists, those
//! are the automated `block` verdicts; each statement says `AUTOMATED_DECISION_FULLY`. The
//! range is bounded (at most [`MAX_RANGE_DAYS`] days) and a response carries at most
//! [`MAX_STATEMENTS`] statements, with a `next` cursor for the rest, so a long range never
//! builds one huge response.

use axum::extract::State;
use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_dsa::{Date, DecidedBy, Statement, StatementInput};
use rampart_store::{StoredVerdict, UnixMillis};
use rampart_types::Suggestion;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Longest range one request may ask for, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// Most statements in one response; the rest come through `next`.
pub const MAX_STATEMENTS: u32 = 1000;
/// The response header carrying the next cursor of a CSV page.
pub const NEXT_HEADER: &str = "rampart-next";

const DAY_MS: i64 = 86_400_000;

/// The report's range and form.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DsaQuery {
    /// First day, `YYYY-MM-DD` (UTC), included.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), included; at most 366 days after `from`.
    pub to: String,
    /// `json` (default) or `csv` (the database's export columns).
    pub format: Option<String>,
    /// At most this many statements (1–1000, default 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// A page of statements of reasons.
#[derive(Serialize, ToSchema)]
pub struct DsaReport {
    /// Statements in the DSA Transparency Database API's field names and enumerations, one per
    /// restricting decision, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub statements: Vec<Statement>,
    /// Pass as `after` for the next page; absent on the last page. (CSV: the `rampart-next`
    /// header.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Restricting verdicts for which no valid statement could be built (logged by id).
    pub skipped: u64,
}

/// Statements of reasons for a range of days.
#[utoipa::path(get, path = "/v1/reports/dsa", tag = "reports", params(DsaQuery),
    responses(
        (status = 200, body = DsaReport, description = "JSON, or with format=csv `text/csv` with a header row and the `rampart-next` header"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn dsa_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DsaQuery>,
) -> Result<Response, ApiError> {
    caller.require(roles::READ_AUDIT, "reading statements of reasons")?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid("format", "format must be json or csv")),
    };
    let from = day_start("from", &query.from)?;
    let to = day_start("to", &query.to)?;
    if to < from {
        return Err(ApiError::invalid("to", "to is before from"));
    }
    if (to - from) / DAY_MS >= MAX_RANGE_DAYS {
        return Err(ApiError::invalid(
            "to",
            format!("the range is longer than {MAX_RANGE_DAYS} days"),
        ));
    }
    let limit = query.limit.unwrap_or(MAX_STATEMENTS);
    if limit == 0 || limit > MAX_STATEMENTS {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_STATEMENTS}"),
        ));
    }
    let after = query.after.as_deref().map(parse_cursor).transpose()?;
    let verdicts = state
        .store
        .list_verdicts_recorded(
            caller.tenant(),
            Suggestion::Block,
            from,
            to + DAY_MS,
            after.as_ref().map(|(ms, id)| (*ms, id.as_str())),
            limit,
        )
        .await?;
    let next = (verdicts.len() == limit as usize)
        .then(|| {
            verdicts
                .last()
                .map(|v| format!("{}:{}", v.recorded_at, v.verdict.id))
        })
        .flatten();
    let mut skipped = 0;
    let statements: Vec<Statement> = verdicts
        .iter()
        .filter_map(|stored| match statement_of(stored) {
            Ok(statement) => Some(statement),
            Err(e) => {
                skipped += 1;
                tracing::warn!(verdict = %stored.verdict.id, error = %e, "no statement of reasons");
                None
            }
        })
        .collect();
    if !csv {
        return Ok(Json(DsaReport {
            statements,
            next,
            skipped,
        })
        .into_response());
    }
    let mut body = Vec::new();
    rampart_dsa::to_csv(&statements, &mut body).map_err(ApiError::internal)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Some(next) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert(HeaderName::from_static(NEXT_HEADER), next);
    }
    Ok(response)
}

/// The statement of an automated restriction, decided the day the verdict was recorded.
fn statement_of(stored: &StoredVerdict) -> Result<Statement, rampart_dsa::DsaError> {
    let decided = Date::from_unix_days(stored.recorded_at.div_euclid(DAY_MS))
        .unwrap_or_else(|| Date::from("1970-01-01"));
    StatementInput::new(&stored.verdict, DecidedBy::Automation, decided).build()
}

/// Unix milliseconds at 00:00 UTC of a `YYYY-MM-DD` day.
fn day_start(field: &str, text: &str) -> Result<UnixMillis, ApiError> {
    let (y, m, d) = Date::from(text)
        .parts()
        .ok_or_else(|| ApiError::invalid(field, format!("{field} must be a date YYYY-MM-DD")))?;
    Ok(days_from_civil(i64::from(y), i64::from(m), i64::from(d)) * DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `<recorded_at ms>:<verdict id>`, as `next` gives it.
fn parse_cursor(text: &str) -> Result<(UnixMillis, String), ApiError> {
    text.split_once(':')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.to_owned())))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("after", "after must be a next cursor of this report"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_from_the_epoch() {
        for (ymd, days) in [
            ((1970, 1, 1), 0),
            ((1970, 3, 1), 59),
            ((2000, 2, 29), 11_016),
            ((2024, 5, 1), 19_844),
            ((1969, 12, 31), -1),
        ] {
            assert_eq!(days_from_civil(ymd.0, ymd.1, ymd.2), days, "{ymd:?}");
            assert_eq!(
                Date::from_unix_days(days).unwrap().parts(),
                Some((ymd.0 as u16, ymd.1 as u8, ymd.2 as u8))
            );
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        assert_eq!(
            parse_cursor("1714566896789:01HX").unwrap(),
            (1_714_566_896_789, "01HX".to_owned())
        );
        for junk in ["", "123", "x:01HX", "123:"] {
            assert!(parse_cursor(junk).is_err(), "{junk}");
        }
    }
}
