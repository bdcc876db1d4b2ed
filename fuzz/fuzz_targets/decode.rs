//! Fuzzes image intake: `rampart_image::decode` on arbitrary bytes, then, for whatever
//! decodes, `rampart_pdq::hash_dihedral` on the first frame and `rampart_image::find_qr_codes`
//! (the latter only up to ~1 megapixel, to keep executions fast).
//!
//! What it checks:
//! - no panic, abort, hang or runaway allocation in decoding (libjpeg-turbo via `turbojpeg`
//!   for JPEG; the `image` crate for PNG, GIF, WebP, BMP, TIFF), hashing or QR search;
//! - an `Ok` image is consistent: non-zero dimensions within the limits, `samples` holding
//!   exactly width × height × channels bytes (what `DecodedImage::pixels` expects), every
//!   kept animation frame a full RGB canvas, at most `max_kept_frames` frames kept and
//!   `frame_count` within `max_frames`;
//! - an input over `max_bytes` is rejected as `TooLarge`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_image::{decode, find_qr_codes, ImageError, Limits};

/// Small limits so one input cannot take seconds or allocate much.
const LIMITS: Limits = Limits {
    max_bytes: 1 << 20,
    max_pixels: 4_000_000,
    max_side: 4096,
    max_frames: 64,
    max_kept_frames: 4,
};

/// QR search only on images up to this many pixels.
const QR_MAX_PIXELS: u64 = 1_000_000;

fuzz_target!(|data: &[u8]| {
    let image = match decode(data, &LIMITS) {
        Ok(image) => image,
        Err(ImageError::Empty) => {
            assert!(data.is_empty());
            return;
        }
        Err(_) => return,
    };
    assert!(data.len() <= LIMITS.max_bytes);
    let (w, h) = (image.width, image.height);
    assert!(w > 0 && h > 0, "{w}x{h}");
    assert!(w <= LIMITS.max_side && h <= LIMITS.max_side, "{w}x{h}");
    let pixels = w as u64 * h as u64;
    assert!(pixels <= LIMITS.max_pixels, "{w}x{h}");
    assert_eq!(
        image.samples.len() as u64,
        pixels * image.layout.channels() as u64,
        "{:?} {w}x{h} {:?}",
        image.format,
        image.layout
    );
    assert!(image.frame_count >= 1 && image.frame_count <= LIMITS.max_frames);
    assert!(image.more_frames.len() < LIMITS.max_kept_frames.max(1));
    assert!(image.more_frames.len() < image.frame_count);
    for frame in &image.more_frames {
        assert_eq!(frame.rgb.len() as u64, pixels * 3, "{:?} frame", image.format);
        assert!(frame.t_start.is_finite() && frame.t_start >= 0.0);
    }

    let dihedral = rampart_pdq::hash_dihedral(&image.pixels());
    assert!(dihedral.quality <= 100);
    let _ = image.to_rgb();

    if pixels <= QR_MAX_PIXELS {
        let _ = find_qr_codes(&image);
    }
});
