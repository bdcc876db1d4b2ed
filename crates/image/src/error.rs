//! What can go wrong with an image, each mapped to a stable API error code.

use rampart_types::ErrorCode;

/// Why an image could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Zero bytes.
    #[error("the image is empty (0 bytes)")]
    Empty,
    /// Not a format Rampart reads, or a feature of it that the decoder lacks.
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// Over a byte, pixel or frame limit (checked from the header before decoding).
    #[error("image too large: {0}")]
    TooLarge(String),
    /// Corrupt, truncated or inconsistent data.
    #[error("could not decode the image: {0}")]
    Decode(String),
}

impl ImageError {
    /// The stable error code of the API contract.
    pub fn code(&self) -> ErrorCode {
        match self {
            ImageError::Empty | ImageError::Decode(_) => ErrorCode::DecodeFailed,
            ImageError::Unsupported(_) => ErrorCode::UnsupportedMedia,
            ImageError::TooLarge(_) => ErrorCode::PayloadTooLarge,
        }
    }
}
