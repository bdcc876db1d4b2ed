//! Video and audio in, frames and samples out: FFmpeg (through `ffmpeg-next`, linked to
//! Debian's libav*) decodes the file; [`video`] samples frames at a rate plus scene changes,
//! [`audio`] gives any audio track as 16 kHz mono `f32` in chunks, and [`vpdq`] hashes every
//! frame the way Meta's vPDQ reference does.
//!
//! Not for: deciding anything (that is `rampart-moderate`), speech recognition
//! (`rampart-speech`), matching against banks (`rampart-hashbank`).

pub mod audio;
mod decode;
mod error;
pub mod video;
pub mod vpdq;

pub use error::MediaError;
