//! Content in, verdict out. A moderator runs the detectors its policy switches on — term
//! libraries, text models, PII/ads, hash banks, the image model, QR codes, OCR, video frames
//! and vPDQ, speech recognition — gathers their
//! signals with evidence, and hands them to the policy, which alone decides.
//!
//! Not for: storage, HTTP, queues. The CLI and the server both call into this crate; the only
//! files it reads are a data dir's, through [`DataDir`].

mod datadir;
mod image;
mod media;
mod text;

pub use datadir::{DataDir, LoadError};
pub use image::{FrameScan, ImageDetectors, ImageModerator, ModerateError};
pub use media::{
    evidence_frames, MediaModerateError, MediaModerator, ProgressFn, MAX_EVIDENCE_FRAMES,
};
pub use text::{scan_options, TextModerator};
