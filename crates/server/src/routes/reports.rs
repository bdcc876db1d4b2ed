//! Statements of reasons (EU Digital Services Act, Art. 17 and 24(5)) for the caller's tenant,
//! in the DSA Transparency Database's format, built by `rampart-dsa` from stored verdicts.
//!
//! Only decisions that restricted content get a statement: the automated `block` verdicts
//! (`AUTOMATED_DECISION_FULLY`), then the moderators' removals from the review queue
//! (`AUTOMATED_DECISION_NOT_AUTOMATED`, quoting the moderator's reason; each with the review
//! item's id as its PUID, since the content may already have an automated statement). The
//! range is bounded (at most [`MAX_RANGE_DAYS`] days) and a response carries at most
//! [`MAX_STATEMENTS`] statements, with a `next` cursor for the rest, so a long range never
//! builds one huge response.
//!
//! Also the transparency report (`/v1/reports/transparency`): counts per label, suggestion,
//! content type and day, automated against human decisions, the median time to a human
//! decision, appeals and how often they reversed the decision.

use axum::extract::State;
use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_dsa::{Date, DecidedBy, Statement, StatementInput};
use std::collections::BTreeMap;

use rampart_store::{ReviewCounts, ReviewItem, ReviewOutcome, StoredVerdict, UnixMillis};
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
    let (human_phase, after) = match query.after.as_deref() {
        None => (false, None),
        Some(text) => match text.strip_prefix("h:") {
            Some(rest) => (true, Some(parse_cursor(rest)?)),
            None => (false, Some(parse_cursor(text)?)),
        },
    };
    let mut statements: Vec<Statement> = Vec::new();
    let mut skipped = 0;
    let mut next = None;
    let mut keep = |result: Result<Statement, rampart_dsa::DsaError>, id: &str| match result {
        Ok(statement) => statements.push(statement),
        Err(e) => {
            skipped += 1;
            tracing::warn!(subject = %id, error = %e, "no statement of reasons");
        }
    };
    let mut taken = 0u32;
    if !human_phase {
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
        taken = verdicts.len() as u32;
        if taken == limit {
            next = verdicts
                .last()
                .map(|v| format!("{}:{}", v.recorded_at, v.verdict.id));
        }
        for stored in &verdicts {
            keep(statement_of(stored), &stored.verdict.id);
        }
    }
    if next.is_none() && taken < limit {
        let human_after = if human_phase { after.as_ref() } else { None };
        let remaining = limit - taken;
        let decided = state
            .store
            .list_review_decisions(
                caller.tenant(),
                ReviewOutcome::Remove,
                from,
                to + DAY_MS,
                human_after.map(|(ms, id)| (*ms, id.as_str())),
                remaining,
            )
            .await?;
        if decided.len() as u32 == remaining {
            next = decided.last().and_then(|(item, _)| {
                item.decision
                    .as_ref()
                    .map(|d| format!("h:{}:{}", d.at, item.id))
            });
        }
        for (item, stored) in &decided {
            keep(human_statement_of(item, stored), &item.id);
        }
    }
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

/// The statement of a moderator's removal, decided the day the moderator decided.
fn human_statement_of(
    item: &ReviewItem,
    stored: &StoredVerdict,
) -> Result<Statement, rampart_dsa::DsaError> {
    let decision =
        item.decision
            .as_ref()
            .ok_or_else(|| rampart_dsa::DsaError::NothingRestricted {
                verdict: stored.verdict.id.clone(),
                suggestion: stored.verdict.suggestion,
            })?;
    let decided = Date::from_unix_days(decision.at.div_euclid(DAY_MS))
        .unwrap_or_else(|| Date::from("1970-01-01"));
    // The moderator's label decides the category: it counts as blocked, whatever the
    // automated score said.
    let mut verdict = stored.verdict.clone();
    if let Some(label) = decision
        .label
        .as_deref()
        .and_then(|l| l.parse::<rampart_types::Label>().ok())
    {
        match verdict.labels.iter_mut().find(|l| l.label == label) {
            Some(l) => l.suggestion = Suggestion::Block,
            None => verdict.labels.push(rampart_types::LabelVerdict {
                label,
                score: 1.0,
                suggestion: Suggestion::Block,
                evidence: Vec::new(),
            }),
        }
    }
    let mut input = StatementInput::new(
        &verdict,
        DecidedBy::Moderator {
            outcome: rampart_dsa::ReviewOutcome::Remove,
            reason: decision.reason.clone(),
        },
        decided,
    );
    input.puid = Some(item.id.clone());
    input.build()
}

/// Unix milliseconds at 00:00 UTC of a `YYYY-MM-DD` day.
fn day_start(field: &str, text: &str) -> Result<UnixMillis, ApiError> {
    let invalid = || ApiError::invalid(field, format!("{field} must be a date YYYY-MM-DD"));
    let (y, m, d) = Date::from(text).parts().ok_or_else(invalid)?;
    let date = time::Month::try_from(m)
        .and_then(|m| time::Date::from_calendar_date(i32::from(y), m, d))
        .map_err(|_| invalid())?;
    Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// `<recorded_at ms>:<verdict id>`, as `next` gives it.
fn parse_cursor(text: &str) -> Result<(UnixMillis, String), ApiError> {
    text.split_once(':')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.to_owned())))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("after", "after must be a next cursor of this report"))
}

/// The range of a transparency report.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TransparencyQuery {
    /// First day, `YYYY-MM-DD` (UTC), included.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), included; at most 366 days after `from`.
    pub to: String,
}

/// Counts over a period (DSA Art. 15 and 24 style): what was decided, by whom, how fast, and
/// how appeals went. No content, no names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct TransparencyReport {
    /// First and last day, `YYYY-MM-DD`, both included.
    pub from: String,
    pub to: String,
    /// Verdicts recorded in the period.
    pub verdicts: u64,
    /// Verdicts by automated suggestion: pass, review, block.
    pub by_suggestion: BTreeMap<String, u64>,
    /// Verdicts by content type: text, image, video, audio.
    pub by_content_type: BTreeMap<String, u64>,
    /// Per label, how many verdicts flagged it for review and for block.
    pub by_label: BTreeMap<String, LabelTally>,
    /// Verdicts that took effect without a person: automated pass and block.
    pub automated_decisions: u64,
    /// Final decisions by moderators (approve or remove).
    pub human_decisions: u64,
    /// Moderators' decisions by outcome: approve, remove, escalate.
    pub by_outcome: BTreeMap<String, u64>,
    /// Moderators' final decisions that overturned the automated suggestion or an earlier
    /// decision.
    pub reversals: u64,
    /// Median time from queueing to a final decision, in milliseconds; `null` without any.
    pub median_time_to_decision_ms: Option<i64>,
    /// Appeals filed in the period, appeals decided, and how many of those reversed the
    /// decision appealed.
    pub appeals: u64,
    pub appeals_decided: u64,
    pub appeals_reversed: u64,
    /// `appeals_reversed / appeals_decided`; `null` without decided appeals.
    pub appeal_reversal_rate: Option<f64>,
    /// Items open now, and how many of them are escalated.
    pub open_items: u64,
    pub escalated_items: u64,
    /// Per day: verdicts by suggestion and final human decisions.
    pub daily: Vec<DayTally>,
}

/// How often a label was flagged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct LabelTally {
    pub review: u64,
    pub block: u64,
}

/// One day of a transparency report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayTally {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub pass: u64,
    pub review: u64,
    pub block: u64,
    /// Final decisions by moderators that day.
    pub human: u64,
}

/// Builds the report of `[from_day, to_day]` (days since the epoch) from the store's counts.
pub fn transparency(counts: &ReviewCounts, from_day: i64, to_day: i64) -> TransparencyReport {
    let day_name = |d: i64| {
        Date::from_unix_days(d)
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let mut report = TransparencyReport {
        from: day_name(from_day),
        to: day_name(to_day),
        open_items: counts.open_now,
        escalated_items: counts.escalated_now,
        appeals: counts.appeals_opened,
        ..TransparencyReport::default()
    };
    let mut days: BTreeMap<i64, DayTally> = BTreeMap::new();
    for (day, content_type, suggestion, flagged, n) in &counts.verdicts {
        report.verdicts += n;
        *report.by_suggestion.entry(suggestion.clone()).or_default() += n;
        *report
            .by_content_type
            .entry(content_type.clone())
            .or_default() += n;
        if suggestion == "pass" || suggestion == "block" {
            report.automated_decisions += n;
        }
        for pair in flagged.split(',').filter(|p| !p.is_empty()) {
            let (label, level) = pair.rsplit_once(':').unwrap_or((pair, "review"));
            let tally = report.by_label.entry(label.to_owned()).or_default();
            match level {
                "block" => tally.block += n,
                _ => tally.review += n,
            }
        }
        let tally = days.entry(*day).or_default();
        match suggestion.as_str() {
            "pass" => tally.pass += n,
            "review" => tally.review += n,
            _ => tally.block += n,
        }
    }
    for (day, outcome, reason, reverses, n) in &counts.decisions {
        *report.by_outcome.entry(outcome.clone()).or_default() += n;
        if outcome == "escalate" {
            continue;
        }
        report.human_decisions += n;
        days.entry(*day).or_default().human += n;
        if *reverses {
            report.reversals += n;
        }
        if reason == "appeal" {
            report.appeals_decided += n;
            if *reverses {
                report.appeals_reversed += n;
            }
        }
    }
    report.appeal_reversal_rate = (report.appeals_decided > 0)
        .then(|| report.appeals_reversed as f64 / report.appeals_decided as f64);
    let mut latencies = counts.decision_latencies_ms.clone();
    latencies.sort_unstable();
    report.median_time_to_decision_ms = match latencies.len() {
        0 => None,
        n if n % 2 == 1 => Some(latencies[n / 2]),
        n => Some((latencies[n / 2 - 1] + latencies[n / 2]) / 2),
    };
    report.daily = (from_day..=to_day)
        .map(|d| DayTally {
            day: day_name(d),
            ..days.remove(&d).unwrap_or_default()
        })
        .collect();
    report
}

/// The checked `[from, to]` day range of a report, as days since the epoch.
pub(crate) fn day_range(from: &str, to: &str) -> Result<(i64, i64), ApiError> {
    let from = day_start("from", from)?;
    let to = day_start("to", to)?;
    if to < from {
        return Err(ApiError::invalid("to", "to is before from"));
    }
    if (to - from) / DAY_MS >= MAX_RANGE_DAYS {
        return Err(ApiError::invalid(
            "to",
            format!("the range is longer than {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((from / DAY_MS, to / DAY_MS))
}

/// The tenant's transparency report for a day range.
pub(crate) async fn transparency_of(
    state: &AppState,
    tenant: rampart_store::TenantId,
    from: &str,
    to: &str,
) -> Result<TransparencyReport, ApiError> {
    let (from_day, to_day) = day_range(from, to)?;
    let counts = state
        .store
        .review_counts(tenant, from_day * DAY_MS, (to_day + 1) * DAY_MS)
        .await?;
    Ok(transparency(&counts, from_day, to_day))
}

/// A transparency report for a range of days.
#[utoipa::path(get, path = "/v1/reports/transparency", tag = "reports", params(TransparencyQuery),
    responses((status = 200, body = TransparencyReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn transparency_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<TransparencyQuery>,
) -> Result<Json<TransparencyReport>, ApiError> {
    caller.require(roles::READ_REPORTS, "reading transparency reports")?;
    Ok(Json(
        transparency_of(&state, caller.tenant(), &query.from, &query.to).await?,
    ))
}

#[cfg(test)]
mod transparency_tests {
    use super::*;

    #[test]
    fn counts_become_a_report_with_medians_and_reversal_rates() {
        let counts = ReviewCounts {
            verdicts: vec![
                (10, "text".into(), "pass".into(), String::new(), 5),
                (10, "text".into(), "review".into(), "hate:review".into(), 2),
                (
                    11,
                    "image".into(),
                    "block".into(),
                    "sexual:block,spam:review".into(),
                    3,
                ),
            ],
            decisions: vec![
                (11, "approve".into(), "review".into(), false, 1),
                (11, "remove".into(), "appeal".into(), true, 1),
                (11, "approve".into(), "appeal".into(), false, 1),
                (11, "escalate".into(), "review".into(), false, 1),
            ],
            decision_latencies_ms: vec![30, 10, 20],
            appeals_opened: 2,
            open_now: 4,
            escalated_now: 1,
        };
        let r = transparency(&counts, 10, 12);
        assert_eq!(r.verdicts, 10);
        assert_eq!(r.by_suggestion["pass"], 5);
        assert_eq!(r.by_content_type["image"], 3);
        assert_eq!(
            r.by_label["hate"],
            LabelTally {
                review: 2,
                block: 0
            }
        );
        assert_eq!(
            r.by_label["sexual"],
            LabelTally {
                review: 0,
                block: 3
            }
        );
        assert_eq!(
            r.by_label["spam"],
            LabelTally {
                review: 3,
                block: 0
            }
        );
        assert_eq!(r.automated_decisions, 8);
        assert_eq!(r.human_decisions, 3);
        assert_eq!(r.by_outcome["escalate"], 1);
        assert_eq!(r.reversals, 1);
        assert_eq!(r.median_time_to_decision_ms, Some(20));
        assert_eq!(
            (r.appeals, r.appeals_decided, r.appeals_reversed),
            (2, 2, 1)
        );
        assert_eq!(r.appeal_reversal_rate, Some(0.5));
        assert_eq!(r.daily.len(), 3);
        assert_eq!(r.daily[0].day, "1970-01-11");
        assert_eq!((r.daily[1].block, r.daily[1].human), (3, 3));
        assert_eq!(
            r.daily[2],
            DayTally {
                day: "1970-01-13".into(),
                ..DayTally::default()
            }
        );
        let empty = transparency(&ReviewCounts::default(), 0, 0);
        assert_eq!(empty.median_time_to_decision_ms, None);
        assert_eq!(empty.appeal_reversal_rate, None);
    }
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
            let text = format!("{:04}-{:02}-{:02}", ymd.0, ymd.1, ymd.2);
            assert_eq!(day_start("from", &text).unwrap(), days * DAY_MS, "{ymd:?}");
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
