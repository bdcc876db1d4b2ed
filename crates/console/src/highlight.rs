//! Marking flagged spans in submitted text.

use maud::{html, Markup};

use crate::model::Highlight;

/// A stretch of text to mark, after clamping, snapping and merging, with the
/// highlights that cover it.
struct Region<'a> {
    start: usize,
    end: usize,
    sources: Vec<&'a Highlight>,
}

/// Renders `text` with a `<mark>` around each flagged span.
///
/// Offsets come from detectors and are not trusted: spans past the end are
/// clamped, offsets inside a character widen to the whole character, empty
/// and reversed spans are dropped, and overlapping spans merge into one mark
/// whose `data-label` and `title` name every label involved. Every character
/// of `text` appears exactly once in the output, escaped.
pub fn highlight_spans(text: &str, spans: &[Highlight]) -> Markup {
    let regions = regions(text, spans);
    let mut at = 0;
    let mut pieces = Vec::with_capacity(regions.len());
    for region in &regions {
        pieces.push((&text[at..region.start], region));
        at = region.end;
    }
    let tail = &text[at..];
    html! {
        @for (before, region) in &pieces {
            (before)
            mark data-label=(labels(region)) title=(titles(region)) {
                (&text[region.start..region.end])
            }
        }
        (tail)
    }
}

fn regions<'a>(text: &str, spans: &'a [Highlight]) -> Vec<Region<'a>> {
    let mut snapped: Vec<Region<'a>> = spans
        .iter()
        .filter_map(|span| {
            let start = floor_char_boundary(text, span.start);
            let end = ceil_char_boundary(text, span.end);
            (start < end).then(|| Region {
                start,
                end,
                sources: vec![span],
            })
        })
        .collect();
    snapped.sort_by_key(|r| (r.start, r.end));

    let mut merged: Vec<Region<'a>> = Vec::with_capacity(snapped.len());
    for region in snapped {
        match merged.last_mut() {
            Some(last) if region.start < last.end => {
                last.end = last.end.max(region.end);
                last.sources.extend(region.sources);
            }
            _ => merged.push(region),
        }
    }
    merged
}

/// The largest char boundary at or before `i`, clamped to the text.
fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or after `i`, clamped to the text.
fn ceil_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn labels(region: &Region<'_>) -> String {
    let mut labels: Vec<&str> = Vec::new();
    for source in &region.sources {
        if !labels.contains(&source.label.as_str()) {
            labels.push(&source.label);
        }
    }
    labels.join(" ")
}

fn titles(region: &Region<'_>) -> String {
    region
        .sources
        .iter()
        .map(|s| {
            if s.note.is_empty() {
                s.label.clone()
            } else {
                format!("{}: {}", s.label, s.note)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, label: &str) -> Highlight {
        Highlight {
            start,
            end,
            label: label.into(),
            note: "note".into(),
        }
    }

    /// The text a browser would show: tags dropped, entities decoded.
    fn visible_text(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for ch in html.chars() {
            match ch {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    }

    /// The texts inside each `<mark>`, in order (still escaped).
    fn marked(html: &str) -> Vec<String> {
        html.split("<mark")
            .skip(1)
            .map(|rest| {
                let body = &rest[rest.find('>').unwrap() + 1..];
                body[..body.find("</mark>").unwrap()].to_string()
            })
            .collect()
    }

    #[test]
    fn spans_are_clamped_snapped_and_merged() {
        let naive = "naïve f\u{200B}uck"; // ï is bytes 2..4, ZWSP 8..11
        let cases: Vec<(&str, &str, Vec<Highlight>, Vec<&str>)> = vec![
            ("no spans", "hello", vec![], vec![]),
            ("empty text", "", vec![span(0, 5, "x")], vec![]),
            (
                "one span",
                "hello world",
                vec![span(6, 11, "x")],
                vec!["world"],
            ),
            (
                "overlapping spans merge",
                "abcdefgh",
                vec![span(1, 4, "x"), span(3, 6, "y")],
                vec!["bcdef"],
            ),
            (
                "nested spans merge",
                "abcdefgh",
                vec![span(0, 8, "x"), span(2, 3, "y")],
                vec!["abcdefgh"],
            ),
            (
                "touching spans stay apart",
                "abcdef",
                vec![span(3, 6, "y"), span(0, 3, "x")],
                vec!["abc", "def"],
            ),
            (
                "out of range is clamped",
                "abc",
                vec![span(1, 99, "x"), span(50, 60, "y")],
                vec!["bc"],
            ),
            (
                "reversed and empty spans are dropped",
                "abc",
                vec![span(2, 1, "x"), span(1, 1, "y")],
                vec![],
            ),
            (
                "start inside a char widens to the char",
                naive,
                vec![span(3, 5, "x")],
                vec!["ïv"],
            ),
            (
                "end inside a char widens to the char",
                naive,
                vec![span(7, 9, "profanity")],
                vec!["f\u{200B}"],
            ),
            (
                "whole obfuscated word",
                naive,
                vec![span(7, 14, "profanity")],
                vec!["f\u{200B}uck"],
            ),
            (
                "markup in text is escaped inside and outside marks",
                "<b>x</b>",
                vec![span(0, 3, "x")],
                vec!["&lt;b&gt;"],
            ),
        ];
        for (name, text, spans, want_marked) in cases {
            let html = highlight_spans(text, &spans).into_string();
            assert_eq!(visible_text(&html), text, "{name}: text changed: {html}");
            assert_eq!(marked(&html), want_marked, "{name}: {html}");
        }
    }

    #[test]
    fn merged_mark_names_every_label() {
        let spans = [
            Highlight {
                start: 0,
                end: 4,
                label: "insult".into(),
                note: "term \"idiot\"".into(),
            },
            Highlight {
                start: 2,
                end: 6,
                label: "threat".into(),
                note: String::new(),
            },
        ];
        let html = highlight_spans("abcdefgh", &spans).into_string();
        assert!(html.contains(r#"data-label="insult threat""#), "{html}");
        assert!(
            html.contains(r#"title="insult: term &quot;idiot&quot;; threat""#),
            "{html}"
        );
    }

    #[test]
    fn hostile_offsets_never_panic() {
        let text = "é😀\u{200B}<>&";
        for start in 0..=text.len() + 2 {
            for end in 0..=text.len() + 2 {
                let html = highlight_spans(text, &[span(start, end, "x")]).into_string();
                assert_eq!(visible_text(&html), text);
            }
        }
    }
}
