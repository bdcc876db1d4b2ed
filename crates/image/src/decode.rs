//! Decoding with limits: the format is sniffed from the bytes (never the file name), the
//! dimensions are read from the header and checked before any pixel buffer is allocated.
//!
//! JPEG goes through libjpeg-turbo (the `turbojpeg` crate, Debian's library), which gives the
//! same pixels as the PDQ reference's decoder (ImageMagick on libjpeg-turbo); everything else
//! goes through the `image` crate. Alpha is dropped, not composited, and EXIF orientation is
//! ignored, as the reference does, so hashes agree with hash lists made by the reference.

use std::io::Cursor;

use image::{AnimationDecoder, DynamicImage, ImageFormat, ImageReader};
use rampart_pdq::{Layout, Pixels};
use turbojpeg::{Colorspace, PixelFormat};

use crate::ImageError;

/// Bounds on what will be decoded. Every check happens before the pixels are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded input, in bytes.
    pub max_bytes: usize,
    /// Largest image, in pixels (width × height).
    pub max_pixels: u64,
    /// Longest side, in pixels.
    pub max_side: u32,
    /// Most frames an animation may have.
    pub max_frames: usize,
    /// Most frames of an animation kept for hashing and the model (sampled evenly in time).
    pub max_kept_frames: usize,
}

impl Default for Limits {
    /// 64 MiB, 64 megapixels, 32,768 px per side, 1,000 frames of which 32 are kept.
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_pixels: 64_000_000,
            max_side: 32_768,
            max_frames: 1_000,
            max_kept_frames: 32,
        }
    }
}

/// The container formats Rampart decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG (baseline, progressive, grey, YCbCr, CMYK, YCCK).
    Jpeg,
    /// PNG (1–16 bit, palette, grey, alpha).
    Png,
    /// GIF, still or animated.
    Gif,
    /// WebP, lossy or lossless.
    Webp,
    /// Windows bitmap.
    Bmp,
    /// TIFF (the compressions the `tiff` crate supports).
    Tiff,
    /// Pixels that arrived decoded, e.g. a frame sampled from a video by `rampart-media`;
    /// never the result of sniffing bytes.
    RawFrame,
}

/// One more frame of an animation, on the full canvas.
#[derive(Debug, Clone)]
pub struct Frame {
    /// When the frame appears, in seconds from the start.
    pub t_start: f64,
    /// RGB samples, the canvas's size.
    pub rgb: Vec<u8>,
}

/// A decoded image: 8-bit grey or RGB, alpha dropped.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// The container format, from the bytes.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Grey or RGB.
    pub layout: Layout,
    /// The first (or only) frame, row-major.
    pub samples: Vec<u8>,
    /// Later frames of an animation kept for analysis (evenly sampled, at most
    /// [`Limits::max_kept_frames`] − 1), always RGB.
    pub more_frames: Vec<Frame>,
    /// Frames in the file (1 for a still image).
    pub frame_count: usize,
}

impl DecodedImage {
    /// An already decoded RGB24 frame (a sampled video frame) as an image; `None` if `rgb` is
    /// not `width × height × 3` bytes.
    pub fn from_rgb_frame(width: u32, height: u32, rgb: Vec<u8>) -> Option<DecodedImage> {
        let expected = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(3)?;
        (expected == rgb.len() && expected > 0)
            .then(|| still(Format::RawFrame, width, height, Layout::Rgb, rgb))
    }

    /// The first frame as PDQ input.
    pub fn pixels(&self) -> Pixels<'_> {
        Pixels::new(self.width, self.height, self.layout, &self.samples)
            .expect("decoder output matches its dimensions")
    }

    /// The first frame as RGB, converting grey if needed.
    pub fn to_rgb(&self) -> Vec<u8> {
        match self.layout {
            Layout::Rgb => self.samples.clone(),
            Layout::Grey => self.samples.iter().flat_map(|&v| [v, v, v]).collect(),
        }
    }
}

/// The format of `bytes` from their magic numbers.
pub fn sniff(bytes: &[u8]) -> Result<Format, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::Gif) => Ok(Format::Gif),
        Ok(ImageFormat::WebP) => Ok(Format::Webp),
        Ok(ImageFormat::Bmp) => Ok(Format::Bmp),
        Ok(ImageFormat::Tiff) => Ok(Format::Tiff),
        Ok(other) => Err(ImageError::Unsupported(format!(
            "{} images are not supported",
            other.extensions_str().first().unwrap_or(&"these")
        ))),
        Err(_) => Err(ImageError::Unsupported(
            "not a JPEG, PNG, GIF, WebP, BMP or TIFF file".into(),
        )),
    }
}

/// Decodes `bytes` within `limits`.
///
/// Third-party decoders have panicked on hostile input (see `fuzz/README.md`); a panic inside
/// one is caught here and reported as [`ImageError::Decode`], so one bad upload never takes
/// the process down.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImageError> {
    guarded(|| decode_unguarded(bytes, limits))
}

/// Runs a decoder, turning a panic inside it into [`ImageError::Decode`].
pub(crate) fn guarded<T>(
    decoder: impl FnOnce() -> Result<T, ImageError> + std::panic::UnwindSafe,
) -> Result<T, ImageError> {
    std::panic::catch_unwind(decoder).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ImageError::Decode(format!(
            "the decoder failed on this file ({message})"
        )))
    })
}

/// Images with more pixels than this take the sampled JPEG path in [`decode_for_pdq`]; below
/// it the full decode is as fast (measured: +1.2 ms at 1600×1004, −23 % at 12 MP).
const SAMPLED_JPEG_MIN_PIXELS: u64 = 4_000_000;

/// Decodes `bytes` for PDQ hashing only: large JPEGs come back as the 512×512 nearest-neighbour
/// sample PDQ would take of them ([`crate::decode_jpeg_sampled`], no full-size RGB buffer),
/// everything else as [`decode`] gives it. `rampart_pdq::hash` of the result equals the hash
/// of the full decode, bit for bit; use [`decode`] when anything else needs the pixels.
pub fn decode_for_pdq(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImageError> {
    if sniff(bytes)? == Format::Jpeg {
        if let Ok(header) = turbojpeg::read_header(bytes) {
            if (header.width as u64) * (header.height as u64) >= SAMPLED_JPEG_MIN_PIXELS {
                if let Some(sampled) = crate::decode_jpeg_sampled(bytes, limits)? {
                    return Ok(sampled);
                }
            }
        }
    }
    decode(bytes, limits)
}

fn decode_unguarded(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImageError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge(format!(
            "{} bytes is over the limit of {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let format = sniff(bytes)?;
    if format == Format::Png {
        check_png_chunks(bytes)?;
    }
    match format {
        Format::Jpeg => decode_jpeg(bytes, limits),
        Format::Gif => decode_gif(bytes, limits),
        _ => decode_still(bytes, format, limits),
    }
}

/// Refuses PNG chunks the `png` crate (0.18.1) mishandles: a palette (PLTE) whose length is
/// not a multiple of 3 makes it panic (image-rs/image-png#694). The PNG specification forbids
/// such a palette anyway.
fn check_png_chunks(bytes: &[u8]) -> Result<(), ImageError> {
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length =
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let kind = &bytes[at + 4..at + 8];
        if kind == b"PLTE" && (length == 0 || !length.is_multiple_of(3) || length > 768) {
            return Err(ImageError::Decode(format!(
                "PNG: the palette is {length} bytes, not 1-256 RGB triples"
            )));
        }
        if kind == b"IDAT" || kind == b"IEND" {
            break;
        }
        at = at.saturating_add(12).saturating_add(length);
    }
    Ok(())
}

fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Decode(format!(
            "the header says {width}x{height} pixels"
        )));
    }
    if width > limits.max_side || height > limits.max_side {
        return Err(ImageError::TooLarge(format!(
            "{width}x{height} pixels: a side is over the limit of {} pixels",
            limits.max_side
        )));
    }
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{width}x{height} pixels is over the limit of {} pixels",
            limits.max_pixels
        )));
    }
    Ok(())
}

fn decode_jpeg(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImageError> {
    let jpeg_error = |e: turbojpeg::Error| ImageError::Decode(format!("JPEG: {e}"));
    let mut decompressor = turbojpeg::Decompressor::new().map_err(jpeg_error)?;
    let header = decompressor.read_header(bytes).map_err(jpeg_error)?;
    let (width, height) = (header.width as u32, header.height as u32);
    check_dimensions(width, height, limits)?;
    let (w, h) = (header.width, header.height);
    let (format, layout) = match header.colorspace {
        Colorspace::Gray => (PixelFormat::GRAY, Layout::Grey),
        Colorspace::CMYK | Colorspace::YCCK => (PixelFormat::CMYK, Layout::Rgb),
        _ => (PixelFormat::RGB, Layout::Rgb),
    };
    let mut out = vec![0u8; w * h * format.size()];
    let image = turbojpeg::Image {
        pixels: out.as_mut_slice(),
        width: w,
        pitch: w * format.size(),
        height: h,
        format,
    };
    decompressor.decompress(bytes, image).map_err(jpeg_error)?;
    if format == PixelFormat::CMYK {
        out = cmyk_to_rgb(&out);
    }
    Ok(still(Format::Jpeg, width, height, layout, out))
}

/// Adobe-style (inverted) CMYK as libjpeg returns it, to RGB the way ImageMagick does:
/// R = (C·K + 127) / 255, likewise G from M and B from Y.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for p in cmyk.chunks_exact(4) {
        let k = p[3] as u32;
        for &c in &p[..3] {
            rgb.push(((c as u32 * k + 127) / 255) as u8);
        }
    }
    rgb
}

fn still(
    format: Format,
    width: u32,
    height: u32,
    layout: Layout,
    samples: Vec<u8>,
) -> DecodedImage {
    DecodedImage {
        format,
        width,
        height,
        layout,
        samples,
        more_frames: Vec::new(),
        frame_count: 1,
    }
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    // Room for the widest intermediate (16-bit RGBA) of the largest allowed image.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(1 << 20));
    l
}

fn reader<'a>(
    bytes: &'a [u8],
    format: Format,
    limits: Option<&Limits>,
) -> ImageReader<Cursor<&'a [u8]>> {
    let image_format = match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::Webp => ImageFormat::WebP,
        Format::Bmp => ImageFormat::Bmp,
        Format::Tiff => ImageFormat::Tiff,
        // Not reachable: only sniffed formats are read from bytes. PNG's reader refuses the
        // bytes cleanly if it ever happens.
        Format::RawFrame => ImageFormat::Png,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    match limits {
        Some(limits) => reader.limits(image_limits(limits)),
        // Reading the header only: our own check, with our message, comes next.
        None => reader.no_limits(),
    }
    reader
}

fn image_error(format: Format, e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(l) => ImageError::TooLarge(format!("{format:?}: {l}")),
        image::ImageError::Unsupported(u) => ImageError::Unsupported(format!("{format:?}: {u}")),
        other => ImageError::Decode(format!("{format:?}: {other}")),
    }
}

fn decode_still(bytes: &[u8], format: Format, limits: &Limits) -> Result<DecodedImage, ImageError> {
    let (width, height) = reader(bytes, format, None)
        .into_dimensions()
        .map_err(|e| image_error(format, e))?;
    check_dimensions(width, height, limits)?;
    let image = reader(bytes, format, Some(limits))
        .decode()
        .map_err(|e| image_error(format, e))?;
    let (layout, samples) = drop_alpha(image);
    Ok(still(format, width, height, layout, samples))
}

/// 8-bit grey or RGB samples; alpha is dropped (the colour under transparent pixels is kept),
/// 16-bit samples are scaled to 8 bits.
fn drop_alpha(image: DynamicImage) -> (Layout, Vec<u8>) {
    match image {
        DynamicImage::ImageLuma8(g) => (Layout::Grey, g.into_raw()),
        DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => (Layout::Grey, image.to_luma8().into_raw()),
        DynamicImage::ImageRgb8(rgb) => (Layout::Rgb, rgb.into_raw()),
        other => (Layout::Rgb, other.to_rgb8().into_raw()),
    }
}

fn decode_gif(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImageError> {
    let gif_error = |e| image_error(Format::Gif, e);
    let (width, height) = reader(bytes, Format::Gif, None)
        .into_dimensions()
        .map_err(gif_error)?;
    check_dimensions(width, height, limits)?;
    let mut decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(gif_error)?;
    image::ImageDecoder::set_limits(&mut decoder, image_limits(limits)).map_err(gif_error)?;
    // Keep one frame per `every` seconds, widening the interval as the animation grows so at
    // most `max_kept_frames` are ever held.
    let mut kept: Vec<Frame> = Vec::new();
    let mut every = 0.5f64;
    let mut t = 0.0f64;
    let mut count = 0usize;
    let mut next_keep = 0.0f64;
    for frame in decoder.into_frames() {
        let frame = frame.map_err(gif_error)?;
        count += 1;
        if count > limits.max_frames {
            return Err(ImageError::TooLarge(format!(
                "the animation has more than {} frames",
                limits.max_frames
            )));
        }
        let (num, den) = frame.delay().numer_denom_ms();
        let delay = if den == 0 {
            0.0
        } else {
            num as f64 / den as f64 / 1000.0
        };
        if kept.is_empty() || t >= next_keep {
            if kept.len() == limits.max_kept_frames.max(1) {
                // Thin out: keep every other frame and double the interval.
                let mut i = 0;
                kept.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                every *= 2.0;
            }
            if kept.len() < limits.max_kept_frames.max(1) {
                let rgb = DynamicImage::ImageRgba8(frame.into_buffer())
                    .to_rgb8()
                    .into_raw();
                kept.push(Frame { t_start: t, rgb });
                next_keep = t + every;
            }
        }
        t += delay;
    }
    if kept.is_empty() {
        return Err(ImageError::Decode("GIF: no frames".into()));
    }
    let first = kept.remove(0);
    Ok(DecodedImage {
        format: Format::Gif,
        width,
        height,
        layout: Layout::Rgb,
        samples: first.rgb,
        more_frames: kept,
        frame_count: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmyk_conversion_is_imagemagicks() {
        assert_eq!(cmyk_to_rgb(&[255, 0, 128, 255]), vec![255, 0, 128]);
        assert_eq!(cmyk_to_rgb(&[255, 255, 255, 0]), vec![0, 0, 0]);
        assert_eq!(cmyk_to_rgb(&[100, 200, 50, 128]), vec![50, 100, 25]);
    }

    #[test]
    fn format_comes_from_the_bytes() {
        assert!(matches!(sniff(b""), Err(ImageError::Empty)));
        assert!(matches!(
            sniff(b"hello world"),
            Err(ImageError::Unsupported(_))
        ));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap(), Format::Png);
        assert_eq!(sniff(b"GIF89a....").unwrap(), Format::Gif);
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]).unwrap(), Format::Jpeg);
    }
}
