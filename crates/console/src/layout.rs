//! The frame shared by every page: document head, skip link, header with
//! navigation and session, flash region.

use maud::{html, Markup, DOCTYPE};

use crate::model::{Flash, FlashKind, Session};

/// Path of the stylesheet the server must serve as [`crate::CONSOLE_CSS`].
pub const CSS_PATH: &str = "/console/static/console.css";
/// Path of the script the server must serve as [`crate::CONSOLE_JS`].
pub const JS_PATH: &str = "/console/static/console.js";

/// The section of the console a page belongs to, marked `aria-current`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Queue,
    Decided,
    Audit,
    Transparency,
    None,
}

const NAV: [(Section, &str, &str); 4] = [
    (Section::Queue, "/console", "Queue"),
    (Section::Decided, "/console?state=decided", "Decided"),
    (Section::Audit, "/console/audit", "Audit"),
    (
        Section::Transparency,
        "/console/transparency",
        "Transparency",
    ),
];

/// A complete HTML document around `body`.
pub(crate) fn page(
    title: &str,
    section: Section,
    session: Option<&Session>,
    flash: Option<&Flash>,
    body: Markup,
) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Rampart review console" }
                link rel="stylesheet" href=(CSS_PATH);
                script src=(JS_PATH) defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                (header(section, session))
                main id="main" class="container" tabindex="-1" {
                    @if let Some(flash) = flash {
                        (flash_region(flash))
                    }
                    (body)
                }
            }
        }
    }
    .into_string()
}

fn header(section: Section, session: Option<&Session>) -> Markup {
    html! {
        header.site-header {
            div.container.header-row {
                span.brand { "Rampart review console" }
                @if let Some(session) = session {
                    nav aria-label="Console" {
                        ul {
                            @for (s, href, text) in NAV {
                                li {
                                    a href=(href) aria-current=[(s == section).then_some("page")] { (text) }
                                }
                            }
                        }
                    }
                    div.session {
                        span.whoami {
                            "Signed in as " strong { (session.key_name) }
                            " (" (session.role) ") · tenant " strong { (session.tenant) }
                        }
                        form method="post" action="/console/logout" {
                            (csrf_input(&session.csrf))
                            button type="submit" .link-button { "Log out" }
                        }
                    }
                }
            }
        }
    }
}

/// A flash message in a live region: `status` for info, `alert` for errors.
pub(crate) fn flash_region(flash: &Flash) -> Markup {
    let (role, class) = match flash.kind {
        FlashKind::Info => ("status", "flash flash-info"),
        FlashKind::Error => ("alert", "flash flash-error"),
    };
    html! { div role=(role) class=(class) { (flash.message) } }
}

/// The hidden anti-CSRF field every POST form carries.
pub(crate) fn csrf_input(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}
