//! Inline SVG bar charts for the transparency page. Geometry uses SVG
//! presentation attributes only (no `style`), so the charts render under the
//! console's Content-Security-Policy. Each chart is an accessible image with
//! a `<title>` and `<desc>`; the page adds a data table beside it.

use maud::{html, Markup};

use crate::format::format_count;
use crate::model::{DayCount, LabelCount};

/// Series colours, distinguishable with the common colour-vision
/// deficiencies (blue / orange / dark red) and each ≥ 3:1 against white.
pub(crate) const PASS: &str = "#1f77b4";
/// Colour of the review series.
pub(crate) const REVIEW: &str = "#b35806";
/// Colour of the block series.
pub(crate) const BLOCK: &str = "#8b0000";
/// Colour of the human-decisions line and dots.
pub(crate) const HUMAN: &str = "#1a1a1a";
const AXIS: &str = "#4a4a4a";
const GRID: &str = "#d0d0d0";

const WIDTH: f64 = 720.0;

/// The smallest 1, 2 or 5 × 10ⁿ at or above `max` (at least 1), so that the
/// axis ends on a round number whatever the size of the counts.
fn nice_max(max: u128) -> u128 {
    let mut magnitude: u128 = 1;
    while magnitude * 10 <= max {
        magnitude *= 10;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&v| v >= max)
        .unwrap_or(10 * magnitude)
}

/// Axis values in short form: 950, 12k, 3.5M, 2B.
fn compact(value: u128) -> String {
    const UNITS: [(u128, &str); 4] = [
        (1_000_000_000_000, "T"),
        (1_000_000_000, "B"),
        (1_000_000, "M"),
        (1_000, "k"),
    ];
    for (unit, suffix) in UNITS {
        if value >= unit {
            let tenths = value * 10 / unit;
            return if tenths.is_multiple_of(10) {
                format!("{}{suffix}", tenths / 10)
            } else {
                format!("{}.{}{suffix}", tenths / 10, tenths % 10)
            };
        }
    }
    value.to_string()
}

/// Tick values: 0, the midpoint when it is a whole number, and the top.
fn ticks(scale: u128) -> Vec<u128> {
    if scale.is_multiple_of(2) {
        vec![0, scale / 2, scale]
    } else {
        vec![0, scale]
    }
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

fn legend(entries: &[(&str, &str)], y: f64) -> Markup {
    html! {
        g {
            @for (i, (colour, name)) in entries.iter().enumerate() {
                @let x = 8.0 + i as f64 * 150.0;
                rect x=(px(x)) y=(px(y)) width="12" height="12" fill=(colour) {}
                text x=(px(x + 18.0)) y=(px(y + 11.0)) font-size="13" fill=(HUMAN) { (name) }
            }
        }
    }
}

fn day_total(day: &DayCount) -> u128 {
    u128::from(day.pass) + u128::from(day.review) + u128::from(day.block)
}

/// Whether the daily chart has anything to show.
pub(crate) fn daily_has_data(days: &[DayCount]) -> bool {
    days.iter().any(|d| day_total(d) > 0 || d.human > 0)
}

/// One coloured part of a stacked bar.
struct Segment {
    y: f64,
    height: f64,
    value: u64,
    colour: &'static str,
    series: &'static str,
}

/// The non-empty parts of a day's bar, pass at the bottom, stacked upwards
/// from `base`.
fn stack(day: &DayCount, base: f64, height_of: impl Fn(u128) -> f64) -> Vec<Segment> {
    let mut top = base;
    [
        (day.pass, PASS, "pass"),
        (day.review, REVIEW, "review"),
        (day.block, BLOCK, "block"),
    ]
    .into_iter()
    .filter(|(value, _, _)| *value > 0)
    .map(|(value, colour, series)| {
        let height = height_of(u128::from(value));
        top -= height;
        Segment {
            y: top,
            height,
            value,
            colour,
            series,
        }
    })
    .collect()
}

/// Stacked bars of pass/review/block verdicts per day, with human decisions
/// as dots joined by a line.
pub(crate) fn daily_chart(days: &[DayCount]) -> Markup {
    const HEIGHT: f64 = 300.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 56.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_h;

    let max = days
        .iter()
        .map(|d| day_total(d).max(u128::from(d.human)))
        .max()
        .unwrap_or(0);
    let scale = nice_max(max);
    let height_of = |v: u128| v as f64 / scale as f64 * plot_h;
    let slot = plot_w / days.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let label_every = days.len().div_ceil(12).max(1);
    let human_points: Vec<(f64, f64)> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = LEFT + slot * (i as f64 + 0.5);
            (x, base - height_of(u128::from(d.human)))
        })
        .collect();
    let polyline = human_points
        .iter()
        .map(|(x, y)| format!("{},{}", px(*x), px(*y)))
        .collect::<Vec<_>>()
        .join(" ");

    html! {
        svg id="chart-daily" class="chart" role="img" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            aria-labelledby="chart-daily-title chart-daily-desc" {
            title #chart-daily-title { "Automated verdicts and human decisions per day" }
            desc #chart-daily-desc {
                "Stacked bars of pass, review and block suggestions for each of "
                (days.len()) " days, with human decisions as dots. The axis runs from 0 to "
                (format_count(scale as u64)) ". The data table below the chart has the exact numbers."
            }
            (legend(&[(PASS, "Pass"), (REVIEW, "Review"), (BLOCK, "Block"), (HUMAN, "Human decisions")], 8.0))
            @for tick in ticks(scale) {
                @let y = base - height_of(tick);
                line x1=(px(LEFT)) x2=(px(LEFT + plot_w)) y1=(px(y)) y2=(px(y)) stroke=(GRID) stroke-width="1" {}
                text x=(px(LEFT - 6.0)) y=(px(y + 4.0)) text-anchor="end" font-size="12" fill=(AXIS) { (compact(tick)) }
            }
            text x="14" y=(px(TOP + plot_h / 2.0)) text-anchor="middle" font-size="12" fill=(AXIS)
                transform={ "rotate(-90 14 " (px(TOP + plot_h / 2.0)) ")" } { "Count" }
            @for (i, day) in days.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                g {
                    @for segment in stack(day, base, height_of) {
                        rect x=(px(x)) y=(px(segment.y)) width=(px(bar_w)) height=(px(segment.height))
                            fill=(segment.colour) data-series=(segment.series) {
                            title { (day.day) ": " (format_count(segment.value)) " " (segment.series) }
                        }
                    }
                    @if i % label_every == 0 {
                        text x=(px(LEFT + slot * (i as f64 + 0.5))) y=(px(base + 16.0)) text-anchor="middle" font-size="11" fill=(AXIS) {
                            (day.day.get(5..).unwrap_or(&day.day))
                        }
                    }
                }
            }
            line x1=(px(LEFT)) x2=(px(LEFT + plot_w)) y1=(px(base)) y2=(px(base)) stroke=(AXIS) stroke-width="1" {}
            @if days.len() > 1 {
                polyline points=(polyline) fill="none" stroke=(HUMAN) stroke-width="1.5" {}
            }
            @for ((x, y), day) in human_points.iter().zip(days) {
                circle cx=(px(*x)) cy=(px(*y)) r="3.5" fill=(HUMAN) {
                    title { (day.day) ": " (format_count(day.human)) " human decisions" }
                }
            }
            text x=(px(LEFT + plot_w / 2.0)) y=(px(HEIGHT - 12.0)) text-anchor="middle" font-size="12" fill=(AXIS) {
                "Day (UTC, month-day)"
            }
        }
    }
}

fn flagged(label: &LabelCount) -> u128 {
    u128::from(label.review) + u128::from(label.block)
}

/// The labels worth charting: those with review or block verdicts, most
/// flagged first.
pub(crate) fn flagged_labels(labels: &[LabelCount]) -> Vec<&LabelCount> {
    let mut flagged_labels: Vec<&LabelCount> = labels.iter().filter(|l| flagged(l) > 0).collect();
    flagged_labels.sort_by_key(|l| std::cmp::Reverse(flagged(l)));
    flagged_labels
}

/// Shortens a label for the chart's axis; the full name stays in the bar's
/// tooltip and the data table.
fn axis_label(label: &str) -> String {
    const MAX: usize = 22;
    if label.chars().count() <= MAX {
        return label.to_string();
    }
    let mut short: String = label.chars().take(MAX - 1).collect();
    short.push('…');
    short
}

/// Horizontal bars of review and block verdicts per label.
pub(crate) fn label_chart(labels: &[&LabelCount]) -> Markup {
    const LEFT: f64 = 176.0;
    const RIGHT: f64 = 80.0;
    const TOP: f64 = 36.0;
    const BOTTOM: f64 = 40.0;
    const ROW: f64 = 26.0;
    const BAR: f64 = 18.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = ROW * labels.len() as f64;
    let height = TOP + plot_h + BOTTOM;
    let scale = nice_max(labels.iter().map(|l| flagged(l)).max().unwrap_or(0));
    let width_of = |v: u128| v as f64 / scale as f64 * plot_w;

    html! {
        svg id="chart-labels" class="chart" role="img" viewBox={ "0 0 " (WIDTH) " " (px(height)) }
            aria-labelledby="chart-labels-title chart-labels-desc" {
            title #chart-labels-title { "Flagged verdicts per label" }
            desc #chart-labels-desc {
                "Horizontal bars of review and block suggestions for each of " (labels.len())
                " labels, most flagged first. The axis runs from 0 to " (format_count(scale as u64))
                ". The data table below the chart has the exact numbers."
            }
            (legend(&[(REVIEW, "Review"), (BLOCK, "Block")], 8.0))
            @for tick in ticks(scale) {
                @let x = LEFT + width_of(tick);
                line x1=(px(x)) x2=(px(x)) y1=(px(TOP)) y2=(px(TOP + plot_h)) stroke=(GRID) stroke-width="1" {}
                text x=(px(x)) y=(px(TOP + plot_h + 16.0)) text-anchor="middle" font-size="12" fill=(AXIS) { (compact(tick)) }
            }
            @for (i, label) in labels.iter().enumerate() {
                @let y = TOP + ROW * i as f64 + (ROW - BAR) / 2.0;
                @let review_w = width_of(u128::from(label.review));
                @let block_w = width_of(u128::from(label.block));
                g {
                    text x=(px(LEFT - 8.0)) y=(px(y + BAR - 4.0)) text-anchor="end" font-size="12" fill=(HUMAN) {
                        (axis_label(&label.label))
                    }
                    @if label.review > 0 {
                        rect x=(px(LEFT)) y=(px(y)) width=(px(review_w)) height=(px(BAR)) fill=(REVIEW) data-series="review" {
                            title { (label.label) ": " (format_count(label.review)) " review" }
                        }
                    }
                    @if label.block > 0 {
                        rect x=(px(LEFT + review_w)) y=(px(y)) width=(px(block_w)) height=(px(BAR)) fill=(BLOCK) data-series="block" {
                            title { (label.label) ": " (format_count(label.block)) " block" }
                        }
                    }
                    text x=(px(LEFT + review_w + block_w + 6.0)) y=(px(y + BAR - 4.0)) font-size="12" fill=(HUMAN) {
                        (compact(flagged(label)))
                    }
                }
            }
            line x1=(px(LEFT)) x2=(px(LEFT)) y1=(px(TOP)) y2=(px(TOP + plot_h)) stroke=(AXIS) stroke-width="1" {}
            text x=(px(LEFT + plot_w / 2.0)) y=(px(height - 6.0)) text-anchor="middle" font-size="12" fill=(AXIS) {
                "Verdicts suggesting review or block"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_max_rounds_up_to_1_2_5() {
        let cases: [(u128, u128); 9] = [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 5),
            (7, 10),
            (10, 10),
            (11, 20),
            (4_500_000, 5_000_000),
            (u128::from(u64::MAX), 20_000_000_000_000_000_000),
        ];
        for (max, want) in cases {
            assert_eq!(nice_max(max), want, "{max}");
        }
    }

    #[test]
    fn compact_axis_values() {
        let cases: [(u128, &str); 6] = [
            (0, "0"),
            (950, "950"),
            (1_000, "1k"),
            (12_500, "12.5k"),
            (3_500_000, "3.5M"),
            (20_000_000_000_000_000_000, "20000000T"),
        ];
        for (value, want) in cases {
            assert_eq!(compact(value), want);
        }
    }

    #[test]
    fn long_labels_are_shortened_on_the_axis() {
        assert_eq!(axis_label("spam"), "spam");
        assert_eq!(axis_label(&"x".repeat(30)).chars().count(), 22);
    }
}
