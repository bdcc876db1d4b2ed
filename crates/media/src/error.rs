//! The crate's one error type, and the FFmpeg set-up every entry point shares.

use rampart_types::ErrorCode;

/// Why a media file could not be read, or was refused before reading it all.
///
/// Each variant maps to one stable API error code through [`MediaError::code`].
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file could not be opened or read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file has zero bytes.
    #[error("the file is empty")]
    Empty,
    /// Not a container or codec FFmpeg can read (e.g. random bytes or text).
    #[error("unsupported media: {0}")]
    Unsupported(String),
    /// The container has no video stream (e.g. an audio file given as video).
    #[error("the file has no video stream")]
    NoVideoStream,
    /// The container has no audio stream (e.g. a silent video given as audio).
    #[error("the file has no audio stream")]
    NoAudioStream,
    /// Corrupt data or a decoder failure before anything could be decoded.
    #[error("decoding failed: {0}")]
    Decode(String),
    /// The container announces a duration over the limit; refused before decoding.
    #[error("the media lasts {duration_s:.1} s, more than the limit of {max_s:.1} s")]
    TooLong {
        /// The announced (or decoded) duration in seconds.
        duration_s: f64,
        /// The limit in seconds.
        max_s: f64,
    },
    /// A frame has more pixels than the limit.
    #[error("frames of {width}x{height} are over the pixel limit")]
    TooLarge {
        /// Frame width in pixels.
        width: u32,
        /// Frame height in pixels.
        height: u32,
    },
    /// More frames were decoded than the limit allows.
    #[error("more than {max} frames")]
    TooManyFrames {
        /// The frame limit.
        max: u64,
    },
}

impl MediaError {
    /// The stable API error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            MediaError::Unsupported(_) | MediaError::NoVideoStream | MediaError::NoAudioStream => {
                ErrorCode::UnsupportedMedia
            }
            MediaError::Io(_) | MediaError::Empty | MediaError::Decode(_) => {
                ErrorCode::DecodeFailed
            }
            MediaError::TooLong { .. }
            | MediaError::TooLarge { .. }
            | MediaError::TooManyFrames { .. } => ErrorCode::PayloadTooLarge,
        }
    }
}

/// Initialises FFmpeg once per process and silences its logging (libav otherwise prints
/// "Invalid NAL unit size" and similar lines to stderr for hostile input, even at
/// `Level::Error`). Every public entry point calls this first.
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // `ffmpeg::init` only registers devices on FFmpeg ≥ 4; it cannot fail in practice,
        // and if it did, opening the file would report the real problem.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_api_code() {
        let cases = [
            (MediaError::Empty, ErrorCode::DecodeFailed),
            (MediaError::Decode("x".into()), ErrorCode::DecodeFailed),
            (
                MediaError::Io(std::io::Error::other("x")),
                ErrorCode::DecodeFailed,
            ),
            (
                MediaError::Unsupported("x".into()),
                ErrorCode::UnsupportedMedia,
            ),
            (MediaError::NoVideoStream, ErrorCode::UnsupportedMedia),
            (MediaError::NoAudioStream, ErrorCode::UnsupportedMedia),
            (
                MediaError::TooLong {
                    duration_s: 2.0,
                    max_s: 1.0,
                },
                ErrorCode::PayloadTooLarge,
            ),
            (
                MediaError::TooLarge {
                    width: 9,
                    height: 9,
                },
                ErrorCode::PayloadTooLarge,
            ),
            (
                MediaError::TooManyFrames { max: 1 },
                ErrorCode::PayloadTooLarge,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
        }
    }
}
