//! A cheap test for "might this image contain text?", run before OCR so photos without
//! lettering do not pay for Tesseract.
//!
//! Lettering is many short, high-contrast strokes packed in a band: on a grey copy at most
//! [`MAX_SIDE`] px wide, the image is cut into 16×16 tiles and a tile counts as text-like when
//! it has many strong horizontal *and* vertical transitions and a bimodal range (dark strokes
//! on a light ground or the reverse). One such tile is enough to run OCR: the check only
//! skips images that are smooth, flat or soft everywhere, so it errs towards running OCR.

use crate::qr::grey_downscaled;
use crate::DecodedImage;

const MAX_SIDE: usize = 800;
const TILE: usize = 16;
/// A transition this large (of 255) is a stroke edge.
const EDGE: i32 = 60;
/// Edges per tile, in each direction, for a tile to look like lettering.
const MIN_EDGES: usize = 12;

/// Whether OCR is worth running on `image` (first frame).
pub fn likely_has_text(image: &DecodedImage) -> bool {
    let (w, h) = (image.width as usize, image.height as usize);
    let factor = w.max(h).div_ceil(MAX_SIDE).max(1);
    let (sw, sh) = (w / factor, h / factor);
    if sw < TILE || sh < TILE {
        return false;
    }
    let grey = grey_downscaled(image, factor, sw, sh);
    text_tiles(&grey, sw, sh) > 0
}

/// Number of text-like tiles.
fn text_tiles(grey: &[u8], w: usize, h: usize) -> usize {
    let mut count = 0;
    for ty in (0..h - TILE + 1).step_by(TILE) {
        for tx in (0..w - TILE + 1).step_by(TILE) {
            let (mut horizontal, mut vertical) = (0, 0);
            let (mut lo, mut hi) = (255u8, 0u8);
            for y in ty..ty + TILE {
                for x in tx..tx + TILE {
                    let v = grey[y * w + x];
                    lo = lo.min(v);
                    hi = hi.max(v);
                    if x + 1 < w && (v as i32 - grey[y * w + x + 1] as i32).abs() >= EDGE {
                        horizontal += 1;
                    }
                    if y + 1 < h && (v as i32 - grey[(y + 1) * w + x] as i32).abs() >= EDGE {
                        vertical += 1;
                    }
                }
            }
            if horizontal >= MIN_EDGES && vertical >= MIN_EDGES && hi - lo >= 100 {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use rampart_pdq::Layout;

    fn grey(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> DecodedImage {
        DecodedImage {
            format: Format::Png,
            width: w as u32,
            height: h as u32,
            layout: Layout::Grey,
            samples: (0..w * h).map(|i| f(i % w, i / w)).collect(),
            more_frames: Vec::new(),
            frame_count: 1,
        }
    }

    #[test]
    fn flat_and_smooth_images_have_no_text() {
        assert!(!likely_has_text(&grey(640, 360, |_, _| 200)));
        assert!(!likely_has_text(&grey(640, 360, |x, y| ((x + y) / 4) as u8)));
        assert!(!likely_has_text(&grey(8, 8, |_, _| 0)));
    }

    #[test]
    fn stroke_patterns_look_like_text() {
        // 2-px dark strokes every 5 px in both directions inside a band.
        let img = grey(640, 360, |x, y| {
            let band = (150..200).contains(&y) && (100..500).contains(&x);
            if band && (x % 5 < 2 || y % 5 < 2) {
                20
            } else {
                240
            }
        });
        assert!(likely_has_text(&img));
    }
}
