//! The transparency report for a period: summary numbers, two charts and
//! their data tables.

use maud::{html, Markup};

use crate::chart::{daily_chart, daily_has_data, flagged_labels, label_chart};
use crate::format::{format_age, format_count};
use crate::layout::{page, Section};
use crate::model::{DayCount, LabelCount, Session, TransparencyView};

/// The transparency page for the period `view.from..=view.to`.
pub fn transparency_page(session: &Session, view: &TransparencyView) -> String {
    let body = html! {
        h1 { "Transparency report" }
        form.period method="get" action="/console/transparency" {
            div.field {
                label for="from" { "From" }
                input #from type="date" name="from" value=(view.from);
            }
            div.field {
                label for="to" { "To (inclusive)" }
                input #to type="date" name="to" value=(view.to);
            }
            button #show-report type="submit" { "Show report" }
        }
        @if let Some(error) = &view.error {
            div role="alert" class="flash flash-error" { (error) }
        } @else {
            (summary(view))
            section aria-labelledby="daily-heading" {
                h2 #daily-heading { "Per day" }
                @if daily_has_data(&view.daily) {
                    (daily_chart(&view.daily))
                    (daily_table(&view.daily))
                } @else {
                    p.empty { "No decisions in this period." }
                }
            }
            section aria-labelledby="labels-heading" {
                h2 #labels-heading { "Per label" }
                @let labels = flagged_labels(&view.by_label);
                @if labels.is_empty() {
                    p.empty { "No flagged labels in this period." }
                } @else {
                    (label_chart(&labels))
                    (label_table(&view.by_label))
                }
            }
        }
    };
    page(
        "Transparency report",
        Section::Transparency,
        Some(session),
        None,
        body,
    )
}

fn summary(view: &TransparencyView) -> Markup {
    let median = view
        .median_time_to_decision_ms
        .map_or_else(|| "—".to_string(), format_age);
    let reversal_rate = view
        .reversal_rate
        .map_or_else(|| "—".to_string(), |r| format!("{:.1} %", r * 100.0));
    let numbers = [
        (
            "Automated decisions",
            format_count(view.automated_decisions),
        ),
        ("Human decisions", format_count(view.human_decisions)),
        ("Median time to human decision", median),
        ("Appeals received", format_count(view.appeals)),
        ("Appeals decided", format_count(view.appeals_decided)),
        ("Decisions reversed on appeal", format_count(view.reversed)),
        ("Reversal rate", reversal_rate),
        ("Open items", format_count(view.open_items)),
        ("Escalated items", format_count(view.escalated_items)),
    ];
    html! {
        section aria-labelledby="summary-heading" {
            h2 #summary-heading { "Summary" }
            dl.summary {
                @for (name, value) in numbers {
                    div { dt { (name) } dd { (value) } }
                }
            }
            div.breakdowns {
                (breakdown("Automated verdicts by suggestion", "Suggestion", &view.by_suggestion))
                (breakdown("Automated verdicts by content type", "Content type", &view.by_content_type))
                (breakdown("Human decisions by outcome", "Outcome", &view.by_outcome))
            }
        }
    }
}

fn breakdown(caption: &str, key: &str, counts: &[(String, u64)]) -> Markup {
    html! {
        table.breakdown {
            caption { (caption) }
            thead { tr { th scope="col" { (key) } th scope="col" { "Count" } } }
            tbody {
                @if counts.is_empty() {
                    tr { td colspan="2" { "None" } }
                }
                @for (name, count) in counts {
                    tr { th scope="row" { (name) } td.num { (format_count(*count)) } }
                }
            }
        }
    }
}

fn daily_table(days: &[DayCount]) -> Markup {
    html! {
        details {
            summary { "Data table" }
            div.table-wrap {
                table {
                    caption { "Automated verdicts and human decisions per day" }
                    thead {
                        tr {
                            th scope="col" { "Day" }
                            th scope="col" { "Pass" }
                            th scope="col" { "Review" }
                            th scope="col" { "Block" }
                            th scope="col" { "Human decisions" }
                        }
                    }
                    tbody {
                        @for day in days {
                            tr {
                                th scope="row" { (day.day) }
                                td.num { (format_count(day.pass)) }
                                td.num { (format_count(day.review)) }
                                td.num { (format_count(day.block)) }
                                td.num { (format_count(day.human)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn label_table(labels: &[LabelCount]) -> Markup {
    html! {
        details {
            summary { "Data table" }
            div.table-wrap {
                table {
                    caption { "Automated verdicts per label and suggestion" }
                    thead {
                        tr {
                            th scope="col" { "Label" }
                            th scope="col" { "Pass" }
                            th scope="col" { "Review" }
                            th scope="col" { "Block" }
                        }
                    }
                    tbody {
                        @for label in labels {
                            tr {
                                th scope="row" { (label.label) }
                                td.num { (format_count(label.pass)) }
                                td.num { (format_count(label.review)) }
                                td.num { (format_count(label.block)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: &str, pass: u64, review: u64, block: u64, human: u64) -> DayCount {
        DayCount {
            day: day.into(),
            pass,
            review,
            block,
            human,
        }
    }

    /// The `height` attributes of the bars of one series, in order.
    fn heights(html: &str, series: &str) -> Vec<f64> {
        html.split("<rect ")
            .skip(1)
            .filter(|r| r.contains(&format!(r#"data-series="{series}""#)))
            .map(|r| {
                let at = r.find(" height=\"").unwrap() + 9;
                r[at..at + r[at..].find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn empty_periods_say_so() {
        let cases = [
            TransparencyView::default(),
            TransparencyView {
                daily: vec![day("2024-01-01", 0, 0, 0, 0)],
                by_label: vec![LabelCount {
                    label: "spam".into(),
                    pass: 5,
                    ..LabelCount::default()
                }],
                ..TransparencyView::default()
            },
        ];
        for view in cases {
            let html = transparency_page(&Session::default(), &view);
            assert!(html.contains("No decisions in this period."), "{html}");
            assert!(html.contains("No flagged labels in this period."));
            assert!(!html.contains("<svg"));
        }
    }

    #[test]
    fn bar_heights_are_proportional_to_counts() {
        let cases = [(10, 20), (1, 4), (3_000_000_000_000, 9_000_000_000_000)];
        for (a, b) in cases {
            let view = TransparencyView {
                daily: vec![day("2024-01-01", a, a, 0, 1), day("2024-01-02", b, 0, b, 2)],
                by_label: vec![
                    LabelCount {
                        label: "spam".into(),
                        review: a,
                        ..LabelCount::default()
                    },
                    LabelCount {
                        label: "hate".into(),
                        review: b,
                        ..LabelCount::default()
                    },
                ],
                ..TransparencyView::default()
            };
            let html = transparency_page(&Session::default(), &view);
            let pass = heights(&html, "pass");
            assert_eq!(pass.len(), 2, "{html}");
            let want = b as f64 / a as f64;
            assert!((pass[1] / pass[0] - want).abs() < 0.02 * want, "{pass:?}");
            assert_eq!(heights(&html, "review")[0], pass[0]);
            assert!(html.contains(r#"<svg id="chart-daily" class="chart" role="img""#));
            assert!(html.contains(r#"aria-labelledby="chart-labels-title chart-labels-desc""#));
            assert!(html.contains("<summary>Data table</summary>"));
            // Label bars: most flagged first.
            assert!(html.find(">hate</text>").unwrap() < html.find(">spam</text>").unwrap());
        }
    }

    #[test]
    fn error_replaces_the_report() {
        let view = TransparencyView {
            error: Some("from must not be after to".into()),
            ..TransparencyView::default()
        };
        let html = transparency_page(&Session::default(), &view);
        assert!(html.contains(
            r#"<div role="alert" class="flash flash-error">from must not be after to</div>"#
        ));
        assert!(!html.contains("Summary"));
    }
}
