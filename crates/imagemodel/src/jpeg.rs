//! The JPEG round trip of the reference preprocessing (`PIL.Image.save(buf, "JPEG")` with
//! Pillow's defaults, then `Image.open(buf)`), done with the system libjpeg-turbo through the
//! TurboJPEG API.
//!
//! Pillow's defaults are quality 75, 4:2:0 chroma subsampling, standard Huffman tables,
//! baseline, and libjpeg's default *accurate* integer DCT (`JDCT_ISLOW`). TurboJPEG's
//! `tjCompress2` instead picks the *fast* DCT for quality < 96 unless `TJFLAG_ACCURATEDCT` is
//! passed, and the `turbojpeg` crate's `Compressor` passes no flags, so compression calls the
//! raw API with that flag. Decompression defaults match Pillow (accurate IDCT, fancy
//! upsampling), so the safe `Decompressor` is used.

use std::ffi::{c_int, c_uchar, c_ulong};
use std::ptr;

use turbojpeg::raw;

use crate::ModelError;

/// JPEG quality Pillow uses when none is given (libjpeg's default).
pub(crate) const PIL_DEFAULT_QUALITY: c_int = 75;

struct Handle(raw::tjhandle);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tjInitCompress and is destroyed once.
        unsafe {
            raw::tjDestroy(self.0);
        }
    }
}

fn last_error(handle: raw::tjhandle) -> String {
    // SAFETY: tjGetErrorStr2 returns a NUL-terminated static or per-handle string.
    unsafe {
        let s = raw::tjGetErrorStr2(handle);
        if s.is_null() {
            "unknown TurboJPEG error".to_owned()
        } else {
            std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned()
        }
    }
}

/// Encodes a tightly packed RGB8 image as Pillow would with `image.save(buf, "JPEG")`.
pub(crate) fn encode_like_pillow(
    width: usize,
    height: usize,
    rgb: &[u8],
) -> Result<Vec<u8>, ModelError> {
    let jerr = |m: String| ModelError::Jpeg(format!("encode: {m}"));
    if rgb.len() != width * height * 3 {
        return Err(jerr("buffer size does not match the image size".into()));
    }
    let w = c_int::try_from(width).map_err(|_| jerr("width too large".into()))?;
    let h = c_int::try_from(height).map_err(|_| jerr("height too large".into()))?;
    // SAFETY: plain constructor; null is checked.
    let handle = unsafe { raw::tjInitCompress() };
    if handle.is_null() {
        return Err(jerr("tjInitCompress failed".into()));
    }
    let handle = Handle(handle);
    let mut buf: *mut c_uchar = ptr::null_mut();
    let mut len: c_ulong = 0;
    // SAFETY: `rgb` holds width*height*3 bytes (checked above), pitch 0 means tightly packed;
    // with a null buffer TurboJPEG allocates the output, which is freed with tjFree below.
    let rc = unsafe {
        raw::tjCompress2(
            handle.0,
            rgb.as_ptr(),
            w,
            0,
            h,
            raw::TJPF_TJPF_RGB as c_int,
            &mut buf,
            &mut len,
            raw::TJSAMP_TJSAMP_420 as c_int,
            PIL_DEFAULT_QUALITY,
            raw::TJFLAG_ACCURATEDCT as c_int,
        )
    };
    let result = if rc != 0 || buf.is_null() {
        Err(jerr(last_error(handle.0)))
    } else {
        // SAFETY: TurboJPEG wrote `len` bytes at `buf`.
        Ok(unsafe { std::slice::from_raw_parts(buf, len as usize) }.to_vec())
    };
    if !buf.is_null() {
        // SAFETY: `buf` was allocated by TurboJPEG.
        unsafe { raw::tjFree(buf) };
    }
    result
}

/// Decodes a JPEG to tightly packed RGB8 as Pillow does for a YCbCr JPEG (accurate IDCT,
/// fancy upsampling). Returns (width, height, pixels).
pub(crate) fn decode_rgb(jpeg: &[u8]) -> Result<(usize, usize, Vec<u8>), ModelError> {
    let jerr = |e: turbojpeg::Error| ModelError::Jpeg(format!("decode: {e}"));
    let mut d = turbojpeg::Decompressor::new().map_err(jerr)?;
    let header = d.read_header(jpeg).map_err(jerr)?;
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; header.width * header.height * 3],
        width: header.width,
        pitch: header.width * 3,
        height: header.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    d.decompress(jpeg, image.as_deref_mut()).map_err(jerr)?;
    Ok((header.width, header.height, image.pixels))
}

/// Encodes then decodes, like the reference's `save(JPEG)` + `Image.open` round trip.
pub(crate) fn roundtrip_like_pillow(
    width: usize,
    height: usize,
    rgb: &[u8],
) -> Result<Vec<u8>, ModelError> {
    let jpeg = encode_like_pillow(width, height, rgb)?;
    let (w, h, px) = decode_rgb(&jpeg)?;
    if (w, h) != (width, height) {
        return Err(ModelError::Jpeg(format!(
            "round trip changed the size from {width}x{height} to {w}x{h}"
        )));
    }
    Ok(px)
}
