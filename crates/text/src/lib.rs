//! Rampart's text engine: everything that turns a UTF-8 string into [`Signal`]s.
//!
//! - [`normalise`]: maps text to a canonical form that undoes evasion, with a map back to the
//!   original byte offsets and the list of tricks it undid.
//! - [`library`] and [`matcher`]: term libraries (DESIGN.md §6) compiled into one Aho-Corasick
//!   automaton, matched on normalised text at word boundaries with allow-lists.
//! - [`dictionary`]: the English word list (SCOWL) that keeps the evasion rules from turning real
//!   words into terms (`assess`, `Cummings`).
//! - [`engine`]: [`TextEngine`] composes the matcher with the statistical models
//!   (`rampart-textmodel`) and the PII and ads detectors (`rampart-contacts`), swaps libraries
//!   atomically at run time, and scans long texts in bounded windows.
//! - [`cascade`]: the two-stage judgement: the text the models read, the gate that escalates a
//!   message to stage 2 (sentence encoder + label heads), and how stage 2 confirms or replaces
//!   stage 1.
//!
//! Not for: deciding. Signals go to `rampart-policy`, which alone turns them into a suggestion.
//! This crate does no I/O and knows nothing of HTTP or storage.

pub mod cascade;
pub mod dictionary;
pub mod engine;
pub mod library;
pub mod matcher;
pub mod normalise;
mod prefilter;

pub use cascade::{model_text, Stage2, Stage2Error};
pub use engine::{builtin_libraries, ScanOptions, TextEngine, TextScan, MAX_SIGNALS, WINDOW_BYTES};
pub use rampart_types::{Evidence, EvidenceKind, Label, Signal, Trick};
