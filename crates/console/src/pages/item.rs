//! One review item: the content, the evidence, the history and the forms to
//! claim, decide or reopen it.

use maud::{html, Markup};

use super::{outcome_badge, queue::reason_badges, suggestion_badge};
use crate::format::{format_age, format_media_second, format_media_time, url_part, utc_time};
use crate::highlight::highlight_spans;
use crate::layout::{csrf_input, page, Section};
use crate::model::{
    AppealView, ContentView, DecisionView, EvidenceRow, FrameView, ItemView, Session,
    TranscriptSegment,
};

/// The page of one review item.
pub fn item_page(session: &Session, view: &ItemView) -> String {
    let title = format!("{} item {}", view.content_type, view.id);
    let body = html! {
        h1 { span.capitalize { (view.content_type) } " item " code.id { (view.id) } }
        div.item-layout {
            div.item-main {
                section aria-labelledby="content-heading" {
                    h2 #content-heading { "Content" }
                    (content(view))
                }
                (evidence_table(&view.evidence))
                (history(&view.history))
            }
            div.item-side {
                (facts(view))
                @if let Some(appeal) = &view.appeal {
                    (appeal_box(appeal))
                }
                (actions(session, view))
            }
        }
        (shortcuts_dialog())
    };
    let section = if view.state == "decided" {
        Section::Decided
    } else {
        Section::Queue
    };
    page(&title, section, Some(session), view.flash.as_ref(), body)
}

fn item_path(id: &str) -> String {
    format!("/console/items/{}", url_part(id))
}

fn facts(view: &ItemView) -> Markup {
    html! {
        section aria-labelledby="facts-heading" {
            h2 #facts-heading { "Facts" }
            dl.facts {
                dt { "State" } dd { (view.state) }
                dt { "Verdict" } dd.id { code { (view.verdict_id) } }
                dt { "Client id" } dd.id {
                    @if let Some(client_id) = &view.client_id { code { (client_id) } } @else { "—" }
                }
                dt { "Policy" } dd { (view.policy) }
                dt { "Automated suggestion" } dd { (suggestion_badge(&view.suggestion)) }
                dt { "Reason" } dd { (reason_badges(&view.reason, false)) }
                dt { "Priority" } dd { (view.priority) " / 100" }
                dt { "Escalated" } dd { @if view.escalated { span.badge.badge-escalated { "yes" } } @else { "no" } }
                dt { "Created" } dd {
                    (utc_time(view.created_at_ms))
                    " (" (format_age(view.now_ms - view.created_at_ms)) " ago)"
                }
                dt { "Claim" } dd {
                    @match &view.claim {
                        None => "Unclaimed",
                        Some(claim) => {
                            @if claim.mine { strong { "You" } } @else { (claim.by) }
                            ", until " (utc_time(claim.until_ms))
                        }
                    }
                }
                @if let Some(decision) = &view.decision {
                    dt { "Decision" } dd { (decision_summary(decision)) }
                }
            }
        }
    }
}

fn appeal_box(appeal: &AppealView) -> Markup {
    html! {
        section.appeal aria-labelledby="appeal-heading" {
            h2 #appeal-heading { "Appeal" }
            @if let Some(of_item) = &appeal.of_item {
                p {
                    "Appeal against the decision on "
                    a href=(item_path(of_item)) { code { (of_item) } } "."
                }
            }
            p { "Statement of the appellant:" }
            blockquote.statement { (appeal.statement) }
            @if let Some(excluded) = &appeal.excluded {
                p {
                    strong { (excluded) }
                    " decided the original item and may not decide this appeal."
                }
            }
        }
    }
}

fn content(view: &ItemView) -> Markup {
    match &view.content {
        ContentView::Text { text, spans } => html! {
            div id="text-content" class="content-text" { (highlight_spans(text, spans)) }
        },
        ContentView::Image { url, media_type } => {
            let alt = if view.reveal {
                "Submitted image"
            } else {
                "Submitted image (blurred until revealed)"
            };
            html! {
                div.media-frame {
                    img #content-image class=(media_class(view.reveal)) src=(url) alt=(alt);
                }
                p.muted { "Media type: " (media_type) }
                (reveal_controls(view))
            }
        }
        ContentView::Frames { frames } => html! {
            @if frames.is_empty() {
                p { "No frames were sampled." }
            } @else {
                ul.frames {
                    @for frame in frames { li { (frame_figure(frame, view.reveal)) } }
                }
                (reveal_controls(view))
            }
        },
        ContentView::Transcript { segments } => html! {
            @if segments.is_empty() {
                p { "The transcript is empty (no speech recognised)." }
            } @else {
                ol.transcript {
                    @for segment in segments { (transcript_line(segment)) }
                }
            }
        },
        ContentView::Purged { at_ms } => html! {
            p.notice {
                "Content purged under the retention policy"
                @if let Some(at) = at_ms { " on " (utc_time(*at)) }
                "."
            }
        },
        ContentView::NotRetained => html! {
            p.notice { "Content was not retained (only hashes and evidence snippets are stored)." }
        },
    }
}

fn media_class(reveal: bool) -> &'static str {
    if reveal {
        "blurred-able"
    } else {
        "blurred blurred-able"
    }
}

fn frame_figure(frame: &FrameView, reveal: bool) -> Markup {
    let seconds = frame.t_ms as f64 / 1000.0;
    html! {
        figure {
            div.media-frame {
                img class=(media_class(reveal)) src=(frame.url) alt=(format!("Frame at {seconds:.1} s"));
            }
            figcaption {
                span.ts { (format_media_time(seconds)) }
                @if !frame.note.is_empty() { " — " (frame.note) }
            }
        }
    }
}

/// The reveal toggle (run by the script) and its no-script fallback link.
fn reveal_controls(view: &ItemView) -> Markup {
    let path = item_path(&view.id);
    html! {
        p.reveal-controls {
            button #reveal type="button" aria-pressed=(if view.reveal { "true" } else { "false" }) {
                @if view.reveal { "Blur images" } @else { "Reveal images" }
            }
            " " span.muted { "(v)" }
            noscript {
                " "
                @if view.reveal {
                    a href=(path) { "Blur images" }
                } @else {
                    a href={ (path) "?reveal=1" } { "Reveal images" }
                }
            }
        }
    }
}

fn transcript_line(segment: &TranscriptSegment) -> Markup {
    let times = format!(
        "[{}–{}]",
        format_media_second(segment.t_start),
        format_media_second(segment.t_end)
    );
    html! {
        li.flagged[segment.flagged] {
            span.ts { (times) } " "
            @if segment.flagged {
                mark { (segment.words) } " " span.badge.badge-block { "flagged" }
            } @else {
                (segment.words)
            }
        }
    }
}

fn evidence_table(evidence: &[EvidenceRow]) -> Markup {
    html! {
        section aria-labelledby="evidence-heading" {
            h2 #evidence-heading { "Evidence" }
            @if evidence.is_empty() {
                p.muted { "No evidence recorded." }
            } @else {
                div.table-wrap {
                    table #evidence-table {
                        caption.visually-hidden { "Evidence behind the automated verdict" }
                        thead {
                            tr {
                                th scope="col" { "Label" }
                                th scope="col" { "Score" }
                                th scope="col" { "Kind" }
                                th scope="col" { "Explanation" }
                                th scope="col" { "Time" }
                            }
                        }
                        tbody {
                            @for row in evidence {
                                tr {
                                    td { (row.label) }
                                    td.num { (format!("{:.2}", row.score)) }
                                    td { (row.kind) }
                                    td { (row.explanation) }
                                    td { (time_range(row.t_start, row.t_end)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn time_range(start: Option<f64>, end: Option<f64>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => format!("{}–{}", format_media_time(s), format_media_time(e)),
        (Some(s), None) => format_media_time(s),
        (None, Some(e)) => format!("–{}", format_media_time(e)),
        (None, None) => "—".to_string(),
    }
}

fn decision_summary(decision: &DecisionView) -> Markup {
    html! {
        (outcome_badge(&decision.outcome))
        @if let Some(label) = &decision.label { " (" (label) ")" }
        " by " (decision.by) ", " (utc_time(decision.at_ms))
    }
}

fn history(history: &[DecisionView]) -> Markup {
    html! {
        section aria-labelledby="history-heading" {
            h2 #history-heading { "Decision history" }
            @if history.is_empty() {
                p.muted { "No decisions yet." }
            } @else {
                ol.history {
                    @for decision in history {
                        li {
                            (decision_summary(decision))
                            @if !decision.reason.is_empty() {
                                p.reason { (decision.reason) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn actions(session: &Session, view: &ItemView) -> Markup {
    let path = item_path(&view.id);
    let claim_is_mine = view.claim.as_ref().is_some_and(|c| c.mine);
    html! {
        section aria-labelledby="actions-heading" {
            h2 #actions-heading { "Actions" }
            @if view.can_claim || claim_is_mine {
                div.claim-forms {
                    @if view.can_claim {
                        form method="post" action={ (path) "/claim" } {
                            (csrf_input(&session.csrf))
                            button #claim type="submit" { "Claim (c)" }
                        }
                    }
                    @if claim_is_mine {
                        form method="post" action={ (path) "/release" } {
                            (csrf_input(&session.csrf))
                            button #release type="submit" .secondary { "Release claim" }
                        }
                    }
                }
            }
            @if view.can_decide { (decide_form(session, view, &path)) }
            @if view.can_appeal {
                form method="post" action={ (path) "/appeal" } id="appeal-form" {
                    (csrf_input(&session.csrf))
                    div.field {
                        label for="appeal-statement" { "Appeal statement" }
                        textarea #appeal-statement name="statement" maxlength="5000" rows="3" required {}
                    }
                    button #appeal-submit type="submit" { "Reopen on appeal" }
                }
            }
            p.next {
                @if let Some(next) = &view.next_item {
                    a #next-item href=(item_path(next)) { "Next item (n)" }
                } @else {
                    a #next-item href="/console" { "Back to queue" }
                }
            }
            p {
                button #shortcuts-open type="button" .secondary { "Keyboard shortcuts (?)" }
            }
        }
    }
}

const OUTCOMES: [(&str, &str, &str); 3] = [
    ("outcome-approve", "approve", "Approve — leave up (a)"),
    ("outcome-remove", "remove", "Remove (r)"),
    ("outcome-escalate", "escalate", "Escalate (e)"),
];

fn decide_form(session: &Session, view: &ItemView, path: &str) -> Markup {
    html! {
        form method="post" action={ (path) "/decide" } id="decide-form" {
            (csrf_input(&session.csrf))
            fieldset {
                legend { "Decision" }
                @for (id, value, text) in OUTCOMES {
                    div.radio {
                        input type="radio" name="outcome" id=(id) value=(value) required;
                        label for=(id) { (text) }
                    }
                }
            }
            div.field {
                label for="label" { "Label" }
                select #label name="label" {
                    option value="" selected[view.default_label.is_none()] { "(none)" }
                    @for label in &view.label_choices {
                        option value=(label) selected[view.default_label.as_deref() == Some(label.as_str())] {
                            (label)
                        }
                    }
                }
            }
            div.field {
                label for="reason" { "Reason (shown in the statement of reasons; no personal data)" }
                textarea #reason name="reason" maxlength="1000" rows="3" {}
            }
            button #submit-decision type="submit" { "Decide (s)" }
        }
    }
}

const SHORTCUTS: [(&str, &str); 8] = [
    ("c", "Claim the item"),
    ("a", "Choose approve"),
    ("r", "Choose remove"),
    ("e", "Choose escalate"),
    ("s", "Submit the decision"),
    ("n", "Next item"),
    ("v", "Reveal or blur images"),
    ("?", "Show this help"),
];

fn shortcuts_dialog() -> Markup {
    html! {
        dialog #shortcuts aria-labelledby="shortcuts-title" {
            h2 #shortcuts-title { "Keyboard shortcuts" }
            p.muted { "Shortcuts are off while typing in a field." }
            dl.shortcuts {
                @for (key, what) in SHORTCUTS {
                    dt { kbd { (key) } }
                    dd { (what) }
                }
                dt { kbd { "Esc" } }
                dd { "Close this help" }
            }
            form method="dialog" {
                button type="submit" { "Close" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClaimView, Highlight};

    fn item(content: ContentView) -> ItemView {
        ItemView {
            id: "it1".into(),
            content_type: "image".into(),
            content,
            ..ItemView::default()
        }
    }

    #[test]
    fn each_content_kind_renders_its_part() {
        let image = ContentView::Image {
            url: "/console/items/it1/media".into(),
            media_type: "image/png".into(),
        };
        let frames = ContentView::Frames {
            frames: vec![FrameView {
                url: "/f/1".into(),
                t_ms: 12_000,
                note: "weapon".into(),
            }],
        };
        let cases: Vec<(&str, ContentView, bool, &[&str])> = vec![
            (
                "text",
                ContentView::Text {
                    text: "a\nbad".into(),
                    spans: vec![Highlight {
                        start: 2,
                        end: 5,
                        label: "insult".into(),
                        note: "term".into(),
                    }],
                },
                false,
                &[
                    r#"<div id="text-content" class="content-text">a"#,
                    r#"<mark data-label="insult" title="insult: term">bad</mark>"#,
                ],
            ),
            (
                "image blurred",
                image.clone(),
                false,
                &[
                    r#"id="content-image" class="blurred blurred-able""#,
                    r#"alt="Submitted image (blurred until revealed)""#,
                    r#"<button id="reveal" type="button" aria-pressed="false">Reveal images</button>"#,
                    r#"<noscript> <a href="/console/items/it1?reveal=1">"#,
                ],
            ),
            (
                "image revealed",
                image,
                true,
                &[
                    r#"id="content-image" class="blurred-able""#,
                    r#"aria-pressed="true">Blur images</button>"#,
                ],
            ),
            (
                "frames",
                frames,
                false,
                &[
                    r#"<img class="blurred blurred-able" src="/f/1" alt="Frame at 12.0 s">"#,
                    r#"<span class="ts">00:12.0</span> — weapon"#,
                    r#"id="reveal""#,
                ],
            ),
            (
                "transcript",
                ContentView::Transcript {
                    segments: vec![TranscriptSegment {
                        t_start: 5.2,
                        t_end: 8.9,
                        words: "i will hurt you".into(),
                        flagged: true,
                    }],
                },
                false,
                &[
                    r#"<li class="flagged"><span class="ts">[00:05–00:08]</span>"#,
                    "<mark>i will hurt you</mark>",
                ],
            ),
            (
                "purged",
                ContentView::Purged { at_ms: Some(0) },
                false,
                &[
                    "Content purged under the retention policy on ",
                    r#"<time datetime="1970-01-01T00:00:00Z">1970-01-01 00:00:00 UTC</time>"#,
                ],
            ),
            (
                "not retained",
                ContentView::NotRetained,
                false,
                &["Content was not retained (only hashes and evidence snippets are stored)."],
            ),
        ];
        for (name, content, reveal, wants) in cases {
            let view = ItemView {
                reveal,
                ..item(content)
            };
            let html = item_page(&Session::default(), &view);
            for want in wants {
                assert!(html.contains(want), "{name}: missing {want}\n{html}");
            }
        }
    }

    #[test]
    fn forms_follow_permissions() {
        let view = ItemView {
            can_claim: true,
            can_decide: true,
            can_appeal: true,
            claim: Some(ClaimView {
                by: "me".into(),
                until_ms: 0,
                mine: true,
            }),
            label_choices: vec!["spam".into(), "hate".into()],
            default_label: Some("hate".into()),
            next_item: Some("it2".into()),
            ..item(ContentView::NotRetained)
        };
        let html = item_page(&Session::default(), &view);
        for want in [
            r#"action="/console/items/it1/claim""#,
            r#"<button id="claim" type="submit">Claim (c)</button>"#,
            r#"action="/console/items/it1/release""#,
            r#"action="/console/items/it1/decide" id="decide-form""#,
            r#"id="outcome-approve" value="approve""#,
            r#"<label for="outcome-remove">Remove (r)</label>"#,
            r#"<option value="hate" selected>hate</option>"#,
            r#"<textarea id="reason" name="reason" maxlength="1000""#,
            r#"action="/console/items/it1/appeal""#,
            r#"<a id="next-item" href="/console/items/it2">"#,
            r#"<dialog id="shortcuts""#,
        ] {
            assert!(html.contains(want), "missing {want}\n{html}");
        }

        let bare = item_page(&Session::default(), &item(ContentView::NotRetained));
        for absent in [
            "id=\"claim\"",
            "id=\"release\"",
            "decide-form",
            "appeal-form",
        ] {
            assert!(!bare.contains(absent), "unexpected {absent}");
        }
        assert!(bare.contains(r#"<a id="next-item" href="/console">Back to queue</a>"#));
    }
}
