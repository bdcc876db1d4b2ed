//! Image intake for Rampart: decoding within limits, PDQ and exact hashes, QR codes and text
//! in images (OCR). Everything here turns bytes into facts about an image; judging them
//! (banks, models, policy) happens elsewhere. No network, no storage, no async.

mod decode;
mod error;
mod hashes;
mod jpeg_sampled;
#[cfg(feature = "ocr")]
mod ocr;
mod qr;
mod textlike;

pub use decode::{decode, decode_for_pdq, sniff, DecodedImage, Format, Frame, Limits};
pub use error::ImageError;
pub use hashes::{content_hashes, ContentHashes};
pub use jpeg_sampled::decode_jpeg_sampled;
#[cfg(feature = "ocr")]
pub use ocr::{Ocr, OcrError, OcrText, OcrWord};
pub use qr::{find_qr_codes, QrCode};
pub use textlike::{likely_has_text, text_regions};
