//! One function per console page, each returning a complete HTML document.

mod audit;
mod item;
mod queue;
mod transparency;

use maud::html;

use crate::layout::{csrf_input, page, Section};
use crate::model::Session;

pub use audit::audit_page;
pub use item::item_page;
pub use queue::queue_page;
pub use transparency::transparency_page;

/// The sign-in page: an API key is exchanged for a session cookie.
pub fn login_page(csrf: &str, error: Option<&str>) -> String {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(error) = error {
            div role="alert" class="flash flash-error" { (error) }
        }
        form method="post" action="/console/login" class="login" {
            (csrf_input(csrf))
            div.field {
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="off" required;
            }
            p.hint {
                "Your key is exchanged for a session cookie; it is not stored in the browser."
            }
            button #sign-in type="submit" { "Sign in" }
        }
    };
    page("Sign in", Section::None, None, None, body)
}

/// A page explaining an error, with the console's navigation when signed in.
pub fn error_page(session: Option<&Session>, status: u16, message: &str) -> String {
    let title = format!("{status} {}", reason_phrase(status));
    let body = html! {
        h1 { (title) }
        p role="alert" { (message) }
        p {
            @if session.is_some() {
                a href="/console" { "Back to the queue" }
            } @else {
                a href="/console/login" { "Sign in" }
            }
        }
    };
    page(&title, Section::None, session, None, body)
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// The automated suggestion as a badge; the class comes from a closed set,
/// never from the value itself.
pub(crate) fn suggestion_badge(suggestion: &str) -> maud::Markup {
    let class = match suggestion {
        "pass" => "badge badge-pass",
        "review" => "badge badge-review",
        "block" => "badge badge-block",
        _ => "badge",
    };
    html! { span class=(class) { (suggestion) } }
}

/// A human outcome as a badge, with a closed set of classes.
pub(crate) fn outcome_badge(outcome: &str) -> maud::Markup {
    let class = match outcome {
        "approve" => "badge badge-pass",
        "remove" => "badge badge-block",
        "escalate" => "badge badge-review",
        _ => "badge",
    };
    html! { span class=(class) { (outcome) } }
}
