//! Properties every page must have: hostile view-model strings stay text,
//! every POST form carries the CSRF token, every control has a label, and
//! nothing needs inline style or script.

use crate::*;

/// Markup-breaking text placed in every string of every view model.
const HOSTILE: &str = r#""><script>alert(1)</script><img src=x onerror=alert(1)>"#;

fn hostile() -> String {
    HOSTILE.to_string()
}

fn session() -> Session {
    Session {
        tenant: hostile(),
        key_name: hostile(),
        role: hostile(),
        csrf: "tok\"en<>".into(),
    }
}

fn flash(kind: FlashKind) -> Option<Flash> {
    Some(Flash {
        kind,
        message: hostile(),
    })
}

fn queue(state: &str) -> QueueView {
    let row = |mine: bool| QueueRow {
        id: hostile(),
        content_type: hostile(),
        reason: hostile(),
        escalated: true,
        priority: 90,
        labels: vec![(hostile(), 0.97)],
        suggestion: hostile(),
        created_at_ms: 1_700_000_000_000,
        now_ms: 1_700_000_600_000,
        claimed_by: Some(hostile()),
        claim_is_mine: mine,
        outcome: Some(hostile()),
    };
    QueueView {
        state: state.into(),
        rows: vec![row(false), row(true)],
        next: Some(hostile()),
        flash: flash(FlashKind::Info),
        label_choices: vec![hostile(), "spam".into()],
    }
}

fn decision() -> DecisionView {
    DecisionView {
        outcome: hostile(),
        label: Some(hostile()),
        reason: hostile(),
        by: hostile(),
        at_ms: 1_700_000_000_000,
    }
}

fn item(content: ContentView) -> ItemView {
    ItemView {
        id: hostile(),
        verdict_id: hostile(),
        client_id: Some(hostile()),
        policy: hostile(),
        content_type: hostile(),
        reason: hostile(),
        state: hostile(),
        escalated: true,
        priority: 50,
        suggestion: hostile(),
        created_at_ms: 1_700_000_000_000,
        now_ms: 1_700_000_000_000,
        claim: Some(ClaimView {
            by: hostile(),
            until_ms: 1_700_000_900_000,
            mine: true,
        }),
        decision: Some(decision()),
        history: vec![decision(), decision()],
        appeal: Some(AppealView {
            of_item: Some(hostile()),
            statement: hostile(),
            excluded: Some(hostile()),
        }),
        content,
        evidence: vec![EvidenceRow {
            label: hostile(),
            score: 0.5,
            kind: hostile(),
            explanation: hostile(),
            t_start: Some(1.0),
            t_end: Some(2.0),
        }],
        label_choices: vec![hostile(), "spam".into()],
        default_label: Some(hostile()),
        next_item: Some(hostile()),
        can_claim: true,
        can_decide: true,
        can_appeal: true,
        reveal: false,
        flash: flash(FlashKind::Error),
    }
}

fn contents() -> Vec<ContentView> {
    vec![
        ContentView::Text {
            text: "<script>alert(1)</script> and ".to_string() + HOSTILE,
            spans: vec![Highlight {
                start: 0,
                end: 8,
                label: hostile(),
                note: hostile(),
            }],
        },
        ContentView::Image {
            url: hostile(),
            media_type: hostile(),
        },
        ContentView::Frames {
            frames: vec![FrameView {
                url: hostile(),
                t_ms: 12_000,
                note: hostile(),
            }],
        },
        ContentView::Transcript {
            segments: vec![TranscriptSegment {
                t_start: 0.0,
                t_end: 1.0,
                words: hostile(),
                flagged: true,
            }],
        },
        ContentView::Purged { at_ms: Some(0) },
        ContentView::NotRetained,
    ]
}

fn audit() -> AuditView {
    AuditView {
        entries: vec![AuditRow {
            seq: 2,
            ts_ms: 0,
            actor: hostile(),
            action: hostile(),
            subject: hostile(),
            hash: hostile(),
        }],
        next_after: Some(2),
        verify: Some(VerifyView {
            ok: false,
            checked: 2,
            broken_seq: Some(2),
            message: hostile(),
        }),
        head: Some(hostile()),
        flash: flash(FlashKind::Info),
    }
}

fn transparency(error: Option<String>) -> TransparencyView {
    TransparencyView {
        from: hostile(),
        to: hostile(),
        error,
        by_suggestion: vec![(hostile(), 3)],
        by_content_type: vec![(hostile(), 3)],
        by_label: vec![LabelCount {
            label: hostile(),
            pass: 1,
            review: 2,
            block: 3,
        }],
        daily: vec![DayCount {
            day: hostile(),
            pass: 1,
            review: 2,
            block: 3,
            human: 4,
        }],
        automated_decisions: 6,
        human_decisions: 4,
        by_outcome: vec![(hostile(), 4)],
        median_time_to_decision_ms: Some(60_000),
        appeals: 1,
        appeals_decided: 1,
        reversed: 1,
        reversal_rate: Some(1.0),
        open_items: 1,
        escalated_items: 1,
    }
}

/// Every page function, fed hostile view models, with a name for messages.
fn all_pages() -> Vec<(String, String)> {
    let s = session();
    let mut pages = vec![
        ("login".into(), login_page("tok\"en<>", Some(HOSTILE))),
        ("queue open".into(), queue_page(&s, &queue("open"))),
        ("queue decided".into(), queue_page(&s, &queue("decided"))),
        (
            "queue hostile state".into(),
            queue_page(&s, &queue(HOSTILE)),
        ),
        ("audit".into(), audit_page(&s, &audit())),
        (
            "transparency".into(),
            transparency_page(&s, &transparency(None)),
        ),
        (
            "transparency error".into(),
            transparency_page(&s, &transparency(Some(hostile()))),
        ),
        ("error signed in".into(), error_page(Some(&s), 404, HOSTILE)),
        ("error signed out".into(), error_page(None, 500, HOSTILE)),
    ];
    for (i, content) in contents().into_iter().enumerate() {
        let view = item(content);
        pages.push((format!("item {i}"), item_page(&s, &view)));
        let revealed = ItemView {
            reveal: true,
            ..view
        };
        pages.push((format!("item {i} revealed"), item_page(&s, &revealed)));
    }
    pages
}

/// A start tag: its name and attributes (maud always double-quotes values).
struct Tag<'a> {
    name: &'a str,
    attrs: Vec<(&'a str, Option<&'a str>)>,
}

impl Tag<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.unwrap_or(""))
    }
}

/// The start tags of a document. Escaped text never holds a raw `<` or `>`
/// (nor does an escaped attribute value), so every `<…>` is real markup.
fn start_tags(html: &str) -> Vec<Tag<'_>> {
    html.split('<')
        .skip(1)
        .filter(|t| !t.starts_with('/') && !t.starts_with('!'))
        .map(|t| {
            let t = &t[..t.find('>').expect("unclosed tag")];
            let name_end = t.find([' ', '/']).unwrap_or(t.len());
            let (name, mut rest) = t.split_at(name_end);
            let mut attrs = Vec::new();
            loop {
                rest = rest.trim_start();
                if rest.is_empty() {
                    break;
                }
                let end = rest.find(['=', ' ']).unwrap_or(rest.len());
                let attr = &rest[..end];
                rest = &rest[end..];
                if let Some(after_eq) = rest.strip_prefix("=\"") {
                    let close = after_eq.find('"').expect("unquoted attribute");
                    attrs.push((attr, Some(&after_eq[..close])));
                    rest = &after_eq[close + 1..];
                } else {
                    attrs.push((attr, None));
                }
            }
            Tag { name, attrs }
        })
        .collect()
}

#[test]
fn hostile_strings_stay_text_on_every_page() {
    for (name, html) in all_pages() {
        assert!(
            html.contains("&lt;script&gt;"),
            "{name}: hostile text missing"
        );
        assert!(!html.contains("<script>alert"), "{name}: script injected");
        assert!(!html.contains("<img src=x"), "{name}: img injected");
        let scripts: Vec<_> = start_tags(&html)
            .into_iter()
            .filter(|t| t.name == "script")
            .map(|t| t.attr("src").map(str::to_owned))
            .collect();
        assert_eq!(scripts, [Some(JS_PATH.to_string())], "{name}");
    }
}

#[test]
fn no_inline_style_or_event_handlers() {
    for (name, html) in all_pages() {
        assert!(!html.contains("<style"), "{name}: style element");
        for tag in start_tags(&html) {
            for (attr, _) in &tag.attrs {
                assert!(
                    *attr != "style" && !attr.starts_with("on"),
                    "{name}: <{} {attr}=…>",
                    tag.name
                );
            }
        }
    }
}

#[test]
fn every_post_form_carries_the_csrf_token() {
    for (name, html) in all_pages() {
        let post_forms = html.matches("<form method=\"post\"").count();
        let csrf_fields = html.matches("name=\"csrf\"").count();
        assert_eq!(post_forms, csrf_fields, "{name}");
        assert!(
            post_forms > 0 || name == "error signed out",
            "{name}: no form"
        );
        for form in html.split("<form").skip(1) {
            let form = &form[..form.find("</form>").expect("unclosed form")];
            if form.starts_with(" method=\"post\"") {
                assert!(
                    form.contains(
                        r#"<input type="hidden" name="csrf" value="tok&quot;en&lt;&gt;">"#
                    ),
                    "{name}: form without csrf: {form}"
                );
            }
        }
    }
}

#[test]
fn every_control_has_a_label_and_ids_are_unique() {
    for (name, html) in all_pages() {
        let tags = start_tags(&html);
        let label_fors: Vec<&str> = tags
            .iter()
            .filter(|t| t.name == "label")
            .filter_map(|t| t.attr("for"))
            .collect();
        for tag in &tags {
            let is_control = matches!(tag.name, "input" | "select" | "textarea");
            if !is_control || tag.attr("type") == Some("hidden") {
                continue;
            }
            let id = tag
                .attr("id")
                .unwrap_or_else(|| panic!("{name}: <{}> without id", tag.name));
            assert!(label_fors.contains(&id), "{name}: no <label for=\"{id}\">");
        }
        let mut ids: Vec<&str> = tags.iter().filter_map(|t| t.attr("id")).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "{name}: duplicate ids");
    }
}

#[test]
fn tables_have_captions_and_scoped_headers() {
    for (name, html) in all_pages() {
        for table in html.split("<table").skip(1) {
            let has_name = table
                .find('>')
                .is_some_and(|end| table[..end].contains("aria-label"));
            let opens_with_caption = table[table.find('>').unwrap() + 1..].starts_with("<caption");
            assert!(
                has_name || opens_with_caption,
                "{name}: table without caption"
            );
        }
        for tag in start_tags(&html).iter().filter(|t| t.name == "th") {
            assert!(
                matches!(tag.attr("scope"), Some("col" | "row")),
                "{name}: <th> without scope"
            );
        }
    }
}

#[test]
fn every_page_is_a_complete_accessible_document() {
    for (name, html) in all_pages() {
        for want in [
            "<!DOCTYPE html><html lang=\"en\">",
            "<meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>",
            "<link rel=\"stylesheet\" href=\"/console/static/console.css\">",
            "<script src=\"/console/static/console.js\" defer></script>",
            "<a class=\"skip-link\" href=\"#main\">",
            "<main id=\"main\"",
        ] {
            assert!(html.contains(want), "{name}: missing {want}");
        }
        if name == "login" || name == "error signed out" {
            assert!(!html.contains("/console/logout"), "{name}");
            continue;
        }
        for want in [
            "<a href=\"/console\"",
            "<a href=\"/console?state=decided\"",
            "<a href=\"/console/audit\"",
            "<a href=\"/console/transparency\"",
            "<form method=\"post\" action=\"/console/logout\">",
        ] {
            assert!(html.contains(want), "{name}: missing {want}");
        }
    }
}

#[test]
fn flash_messages_use_live_regions() {
    let mut view = queue("open");
    for (kind, role) in [(FlashKind::Info, "status"), (FlashKind::Error, "alert")] {
        view.flash = Some(Flash {
            kind,
            message: "Saved".into(),
        });
        let html = queue_page(&session(), &view);
        assert!(html.contains(&format!(r#"role="{role}""#)), "{role}");
        assert!(html.contains(">Saved</div>"));
    }
}

#[test]
fn login_page_has_the_key_form() {
    let html = login_page("t", None);
    for want in [
        r#"<form method="post" action="/console/login" class="login">"#,
        r#"<label for="key">API key</label>"#,
        r#"<input id="key" type="password" name="key" autocomplete="off" required>"#,
        r#"<button id="sign-in" type="submit">"#,
        "not stored in the browser",
    ] {
        assert!(html.contains(want), "missing {want}\n{html}");
    }
    assert!(!html.contains("role=\"alert\""));
}

#[test]
fn assets_are_the_files_the_pages_link() {
    assert!(CONSOLE_CSS.contains(".blurred"));
    assert!(CONSOLE_CSS.contains(":focus-visible"));
    assert!(CONSOLE_CSS.contains("white-space: pre-wrap"));
    for id in [
        "reveal",
        "shortcuts",
        "decide-form",
        "select-all",
        "next-item",
    ] {
        assert!(CONSOLE_JS.contains(id), "console.js does not handle #{id}");
    }
}
