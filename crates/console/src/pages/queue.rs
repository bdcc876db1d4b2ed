//! The review queue: open items to claim and decide, or decided items.

use maud::{html, Markup};

use super::{outcome_badge, suggestion_badge};
use crate::format::{format_age, format_iso, format_utc, url_part};
use crate::layout::{csrf_input, page, Section};
use crate::model::{QueueRow, QueueView, Session};

/// The queue table for one page of open or decided items, with a bulk
/// decision form for open items.
pub fn queue_page(session: &Session, view: &QueueView) -> String {
    let decided = view.state == "decided";
    let (title, section) = if decided {
        ("Decided items", Section::Decided)
    } else {
        ("Review queue", Section::Queue)
    };
    let body = html! {
        h1 { (title) }
        @if view.rows.is_empty() {
            p.empty {
                @if decided { "No decided items yet." } @else { "The queue is empty — nothing to review." }
            }
        } @else {
            (queue_table(view, decided))
            @if !decided {
                (bulk_form(session, view))
            }
        }
        @if let Some(next) = &view.next {
            p.pager {
                a rel="next" href={ "/console?state=" (url_part(&view.state)) "&after=" (url_part(next)) } {
                    "Next page"
                }
            }
        }
    };
    page(title, section, Some(session), view.flash.as_ref(), body)
}

fn queue_table(view: &QueueView, decided: bool) -> Markup {
    let caption = if decided {
        "Decided items, most recent first"
    } else {
        "Open items, highest priority first"
    };
    html! {
        div.table-wrap {
            table #queue-table {
                caption { (caption) }
                thead {
                    tr {
                        @if decided {
                            th scope="col" { "Outcome" }
                        } @else {
                            th scope="col" {
                                input #select-all type="checkbox";
                                label.visually-hidden for="select-all" { "Select all items on this page" }
                            }
                        }
                        th scope="col" { "Priority" }
                        th scope="col" { "Age" }
                        th scope="col" { "Type" }
                        th scope="col" { "Reason" }
                        th scope="col" { "Flagged labels" }
                        th scope="col" { "Suggestion" }
                        th scope="col" { "Claim" }
                        th scope="col" { "Item" }
                    }
                }
                tbody {
                    @for (n, row) in view.rows.iter().enumerate() {
                        (queue_row(n, row, decided))
                    }
                }
            }
        }
    }
}

fn queue_row(n: usize, row: &QueueRow, decided: bool) -> Markup {
    let checkbox_id = format!("select-{n}");
    html! {
        tr {
            @if decided {
                td { @if let Some(outcome) = &row.outcome { (outcome_badge(outcome)) } @else { "—" } }
            } @else {
                td {
                    input id=(checkbox_id) type="checkbox" name="item" value=(row.id) form="bulk-form";
                    label.visually-hidden for=(checkbox_id) { "Select item " (row.id) }
                }
            }
            td.num { (row.priority) }
            td {
                time datetime=(format_iso(row.created_at_ms)) title=(format_utc(row.created_at_ms)) {
                    (format_age(row.now_ms - row.created_at_ms))
                }
            }
            td { (row.content_type) }
            td { (reason_badges(&row.reason, row.escalated)) }
            td {
                @if row.labels.is_empty() {
                    "—"
                } @else {
                    ul.labels {
                        @for (label, score) in &row.labels {
                            li { (label) " " span.score { (format!("{score:.2}")) } }
                        }
                    }
                }
            }
            td { (suggestion_badge(&row.suggestion)) }
            td {
                @match (&row.claimed_by, row.claim_is_mine) {
                    (Some(_), true) => strong { "you" },
                    (Some(by), false) => (by),
                    (None, _) => span.muted { "unclaimed" },
                }
            }
            td.id {
                a.item-link href={ "/console/items/" (url_part(&row.id)) } { (row.id) }
            }
        }
    }
}

/// The reason an item is queued, with appeal, sample and escalation as
/// badges (plain review needs no emphasis).
pub(crate) fn reason_badges(reason: &str, escalated: bool) -> Markup {
    html! {
        @match reason {
            "appeal" => span.badge.badge-appeal { "appeal" },
            "sample" => span.badge.badge-sample { "sample" },
            other => (other),
        }
        @if escalated {
            " " span.badge.badge-escalated { "escalated" }
        }
    }
}

fn bulk_form(session: &Session, view: &QueueView) -> Markup {
    html! {
        form method="post" action="/console/bulk" id="bulk-form" {
            (csrf_input(&session.csrf))
            fieldset {
                legend { "Decide the selected items" }
                div.field-row {
                    div.field {
                        label for="bulk-outcome" { "Outcome" }
                        select #bulk-outcome name="outcome" {
                            option value="approve" { "Approve — leave up" }
                            option value="remove" { "Remove" }
                        }
                    }
                    div.field {
                        label for="bulk-label" { "Label" }
                        select #bulk-label name="label" {
                            option value="" { "(top label)" }
                            @for label in &view.label_choices {
                                option value=(label) { (label) }
                            }
                        }
                    }
                }
                div.field {
                    label for="bulk-reason" { "Reason (shown in the statement of reasons; no personal data)" }
                    textarea #bulk-reason name="reason" maxlength="1000" rows="2" {}
                }
                button #bulk-submit type="submit" { "Decide selected" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decided_queue_shows_outcomes_and_no_bulk_form() {
        let view = QueueView {
            state: "decided".into(),
            rows: vec![QueueRow {
                id: "it1".into(),
                outcome: Some("remove".into()),
                ..QueueRow::default()
            }],
            ..QueueView::default()
        };
        let html = queue_page(&Session::default(), &view);
        assert!(html.contains(r#"<th scope="col">Outcome</th>"#));
        assert!(!html.contains(r#"name="item""#));
        assert!(!html.contains("bulk-form"));
        assert!(html.contains(r#"href="/console/items/it1""#));
    }

    #[test]
    fn open_queue_has_checkboxes_bulk_form_and_next_link() {
        let view = QueueView {
            state: "open".into(),
            rows: vec![QueueRow {
                id: "a/b".into(),
                reason: "appeal".into(),
                escalated: true,
                claimed_by: Some("alice".into()),
                claim_is_mine: true,
                ..QueueRow::default()
            }],
            next: Some("c&d".into()),
            label_choices: vec!["spam".into()],
            ..QueueView::default()
        };
        let html = queue_page(&Session::default(), &view);
        assert!(html.contains(r#"name="item" value="a/b" form="bulk-form""#));
        assert!(html.contains(r#"href="/console/items/a%2Fb""#));
        assert!(html.contains(r#"href="/console?state=open&amp;after=c%26d""#));
        assert!(html.contains(r#"<form method="post" action="/console/bulk" id="bulk-form">"#));
        assert!(html.contains("badge-appeal") && html.contains("badge-escalated"));
        assert!(html.contains("<strong>you</strong>"));
        assert!(html.contains(r#"<option value="spam">spam</option>"#));
    }

    #[test]
    fn empty_queue_says_so() {
        let view = QueueView {
            state: "open".into(),
            ..QueueView::default()
        };
        let html = queue_page(&Session::default(), &view);
        assert!(html.contains("The queue is empty"));
        assert!(!html.contains("queue-table"));
    }
}
