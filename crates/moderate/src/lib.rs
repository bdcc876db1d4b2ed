//! Content in, verdict out. A moderator runs the detectors its policy switches on — term
//! libraries, text models, PII/ads, hash banks, the image model, QR codes, OCR — gathers their
//! signals with evidence, and hands them to the policy, which alone decides.
//!
//! Not for: storage, HTTP, queues. The CLI and the server both call into this crate.

mod image;
mod text;

pub use image::{ImageDetectors, ImageModerator};
pub use text::{scan_options, TextModerator};
