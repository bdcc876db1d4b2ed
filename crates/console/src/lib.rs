//! The server-rendered HTML of Rampart's human-review console: pure
//! functions from view models ([`model`]) to complete HTML documents, plus
//! the console's stylesheet and script ([`CONSOLE_CSS`], [`CONSOLE_JS`]).
//!
//! This crate is for presentation only. It does no I/O and knows nothing of
//! HTTP, sessions, the store or tokio: the server authenticates, loads the
//! view models, calls a page function, and serves the string (and the two
//! assets at [`CSS_PATH`] and [`JS_PATH`]).
//!
//! Every string in a view model is treated as hostile (content, reasons,
//! labels and names are user-controlled) and is escaped by `maud`; nothing
//! derived from a view model is ever emitted pre-escaped. The pages carry no
//! inline style or script, so they work under the console's
//! `Content-Security-Policy` (`style-src 'self'; script-src 'self'`).
//! Every form that POSTs carries the session's `csrf` token in a hidden
//! field named `csrf`; checking it is the server's job.

mod chart;
mod format;
mod highlight;
mod layout;
pub mod model;
mod pages;

#[cfg(test)]
mod tests;

pub use format::{format_age, format_utc};
pub use highlight::highlight_spans;
pub use layout::{CSS_PATH, JS_PATH};
pub use model::*;
pub use pages::{audit_page, error_page, item_page, login_page, queue_page, transparency_page};

/// The console's stylesheet, to be served at [`CSS_PATH`] as `text/css`.
pub const CONSOLE_CSS: &str = include_str!("../assets/console.css");

/// The console's script, to be served at [`JS_PATH`] as `text/javascript`.
pub const CONSOLE_JS: &str = include_str!("../assets/console.js");
