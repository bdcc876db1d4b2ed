//! The tenant's audit log: one page of entries, the chain head and a
//! verification of the whole chain on request.

use maud::{html, Markup};

use crate::format::{format_count, utc_time};
use crate::layout::{page, Section};
use crate::model::{AuditRow, AuditView, Session, VerifyView};

/// How many hex characters of a hash the table shows.
const SHORT_HASH: usize = 12;

/// The audit log page.
pub fn audit_page(session: &Session, view: &AuditView) -> String {
    let body = html! {
        h1 { "Audit log" }
        form.inline method="get" action="/console/audit" {
            input type="hidden" name="verify" value="1";
            button #verify type="submit" { "Verify the chain" }
        }
        @if let Some(verify) = &view.verify { (verify_result(verify)) }
        @if let Some(head) = &view.head {
            p { "Chain head: " code #audit-head { (head) } }
        }
        @if view.entries.is_empty() {
            p.empty { "No audit entries." }
        } @else {
            (audit_table(&view.entries))
        }
        p.pager {
            @if let Some(after) = view.next_after {
                a rel="next" href={ "/console/audit?after=" (after) } { "Newer entries" }
            }
            @if view.entries.first().is_some_and(|e| e.seq > 1) {
                " " a href="/console/audit" { "Oldest entries" }
            }
        }
    };
    page(
        "Audit log",
        Section::Audit,
        Some(session),
        view.flash.as_ref(),
        body,
    )
}

fn verify_result(verify: &VerifyView) -> Markup {
    html! {
        @if verify.ok {
            div role="status" class="flash flash-info" {
                "Chain intact: " (format_count(verify.checked)) " entries checked"
            }
        } @else {
            div role="alert" class="flash flash-error" {
                @if let Some(seq) = verify.broken_seq {
                    "Broken at seq " (seq) ": " (verify.message)
                } @else {
                    "Verification failed: " (verify.message)
                }
            }
        }
    }
}

fn audit_table(entries: &[AuditRow]) -> Markup {
    html! {
        div.table-wrap {
            table #audit-table {
                caption { "Audit entries, oldest first" }
                thead {
                    tr {
                        th scope="col" { "Seq" }
                        th scope="col" { "Time" }
                        th scope="col" { "Actor" }
                        th scope="col" { "Action" }
                        th scope="col" { "Subject" }
                        th scope="col" { "Hash" }
                    }
                }
                tbody {
                    @for entry in entries {
                        tr {
                            th scope="row" .num { (entry.seq) }
                            td { (utc_time(entry.ts_ms)) }
                            td { (entry.actor) }
                            td { (entry.action) }
                            td.id { (entry.subject) }
                            td { code title=(entry.hash) { (short_hash(&entry.hash)) } }
                        }
                    }
                }
            }
        }
    }
}

fn short_hash(hash: &str) -> &str {
    match hash.char_indices().nth(SHORT_HASH) {
        Some((i, _)) => &hash[..i],
        None => hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_results_and_short_hashes() {
        let cases = [
            (
                VerifyView {
                    ok: true,
                    checked: 1234,
                    ..VerifyView::default()
                },
                r#"<div role="status" class="flash flash-info">Chain intact: 1,234 entries checked</div>"#,
            ),
            (
                VerifyView {
                    ok: false,
                    checked: 7,
                    broken_seq: Some(7),
                    message: "hash mismatch".into(),
                },
                r#"<div role="alert" class="flash flash-error">Broken at seq 7: hash mismatch</div>"#,
            ),
        ];
        for (verify, want) in cases {
            let view = AuditView {
                entries: vec![AuditRow {
                    seq: 3,
                    hash: "0123456789abcdef".repeat(4),
                    ..AuditRow::default()
                }],
                verify: Some(verify),
                head: Some("tenant 3 abc".into()),
                next_after: Some(3),
                ..AuditView::default()
            };
            let html = audit_page(&Session::default(), &view);
            assert!(html.contains(want), "{html}");
            assert!(html.contains(&format!(
                r#"<code title="{}">0123456789ab</code>"#,
                "0123456789abcdef".repeat(4)
            )));
            assert!(html.contains(r#"<code id="audit-head">tenant 3 abc</code>"#));
            assert!(html.contains(r#"href="/console/audit?after=3""#));
        }
        assert_eq!(short_hash("abc"), "abc");
    }
}
