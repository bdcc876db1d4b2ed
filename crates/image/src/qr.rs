//! QR codes: found and decoded with `rqrr`; the payload is text for the text engine and the
//! URL/ads detectors, and the corners locate it in the image.

use rampart_pdq::Layout;

use crate::DecodedImage;

/// Images are searched at most this many pixels on the longer side; larger ones are
/// box-downscaled first (a QR code that survives being posted survives this too).
const MAX_SIDE: usize = 1600;

/// A decoded QR code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QrCode {
    /// The payload as text (invalid UTF-8 replaced).
    pub payload: String,
    /// Axis-aligned box around the code in image pixels: `[x, y, width, height]`.
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
}

/// Every QR code rqrr finds and decodes in the first frame of `image`.
pub fn find_qr_codes(image: &DecodedImage) -> Vec<QrCode> {
    let (w, h) = (image.width as usize, image.height as usize);
    let factor = w.max(h).div_ceil(MAX_SIDE).max(1);
    let (sw, sh) = (w / factor, h / factor);
    if sw < 21 || sh < 21 {
        return Vec::new();
    }
    let grey = grey_downscaled(image, factor, sw, sh);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(sw, sh, |x, y| grey[y * sw + x]);
    let mut found = Vec::new();
    for grid in prepared.detect_grids() {
        let Ok((_, payload)) = grid.decode() else {
            continue;
        };
        let xs = grid
            .bounds
            .iter()
            .map(|p| p.x.max(0) as u32 * factor as u32);
        let ys = grid
            .bounds
            .iter()
            .map(|p| p.y.max(0) as u32 * factor as u32);
        let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
        let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
        found.push(QrCode {
            payload,
            bbox: [x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)],
        });
    }
    found
}

/// Luma (BT.601 integer weights) averaged over `factor`×`factor` blocks.
pub(crate) fn grey_downscaled(
    image: &DecodedImage,
    factor: usize,
    sw: usize,
    sh: usize,
) -> Vec<u8> {
    let w = image.width as usize;
    if factor == 1 {
        // The common case (frames and photos under the working size), row by row: the same
        // values as the general loop below, several times faster.
        let mut out = Vec::with_capacity(sw * sh);
        for y in 0..sh {
            match image.layout {
                Layout::Grey => out.extend_from_slice(&image.samples[y * w..y * w + sw]),
                Layout::Rgb => out.extend(
                    image.samples[y * w * 3..(y * w + sw) * 3]
                        .chunks_exact(3)
                        .map(|s| {
                            ((299 * s[0] as u32 + 587 * s[1] as u32 + 114 * s[2] as u32) / 1000)
                                as u8
                        }),
                ),
            }
        }
        return out;
    }
    let luma = |x: usize, y: usize| -> u32 {
        match image.layout {
            Layout::Grey => image.samples[y * w + x] as u32,
            Layout::Rgb => {
                let i = (y * w + x) * 3;
                let s = &image.samples[i..i + 3];
                (299 * s[0] as u32 + 587 * s[1] as u32 + 114 * s[2] as u32) / 1000
            }
        }
    };
    let mut out = Vec::with_capacity(sw * sh);
    for sy in 0..sh {
        for sx in 0..sw {
            let mut sum = 0u32;
            for dy in 0..factor {
                for dx in 0..factor {
                    sum += luma(sx * factor + dx, sy * factor + dy);
                }
            }
            out.push((sum / (factor * factor) as u32) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    /// A QR code for `text`, `scale` pixels per module, on a white `w`×`h` canvas at (ox, oy).
    fn qr_image(
        text: &str,
        scale: usize,
        w: usize,
        h: usize,
        ox: usize,
        oy: usize,
    ) -> DecodedImage {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let n = code.width();
        let colors = code.to_colors();
        let mut samples = vec![255u8; w * h];
        for my in 0..n {
            for mx in 0..n {
                if colors[my * n + mx] == qrcode::Color::Dark {
                    for y in 0..scale {
                        for x in 0..scale {
                            samples[(oy + my * scale + y) * w + ox + mx * scale + x] = 0;
                        }
                    }
                }
            }
        }
        DecodedImage {
            format: Format::Png,
            width: w as u32,
            height: h as u32,
            layout: Layout::Grey,
            samples,
            more_frames: Vec::new(),
            frame_count: 1,
        }
    }

    #[test]
    fn finds_the_payload_and_its_box() {
        let image = qr_image("https://spam.example/buy", 6, 640, 360, 100, 50);
        let codes = find_qr_codes(&image);
        assert_eq!(codes.len(), 1, "{codes:?}");
        assert_eq!(codes[0].payload, "https://spam.example/buy");
        let [x, y, w, h] = codes[0].bbox;
        assert!(
            (95..=110).contains(&x) && (45..=60).contains(&y),
            "{:?}",
            codes[0].bbox
        );
        assert!(w > 100 && h > 100, "{:?}", codes[0].bbox);
    }

    #[test]
    fn finds_a_code_in_a_large_image_after_downscaling() {
        let image = qr_image("call 555 0100", 12, 3000, 2000, 2000, 1200);
        let codes = find_qr_codes(&image);
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].payload, "call 555 0100");
        assert!(
            codes[0].bbox[0] >= 1980,
            "box in original pixels: {:?}",
            codes[0].bbox
        );
    }

    #[test]
    fn no_code_in_a_blank_or_tiny_image() {
        let mut tiny = qr_image("x", 1, 30, 30, 0, 0);
        tiny.width = 10;
        tiny.height = 10;
        tiny.samples.truncate(100);
        assert!(find_qr_codes(&tiny).is_empty());
        let mut blank = qr_image("x", 1, 100, 100, 0, 0);
        blank.samples.fill(255);
        assert!(find_qr_codes(&blank).is_empty());
    }

    #[test]
    fn the_full_size_grey_copy_is_the_bt601_luma_of_each_pixel() {
        let (w, h) = (37usize, 5usize);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 97 % 256) as u8).collect();
        let image = DecodedImage {
            format: Format::Png,
            width: w as u32,
            height: h as u32,
            layout: Layout::Rgb,
            samples: rgb.clone(),
            more_frames: Vec::new(),
            frame_count: 1,
        };
        let expected: Vec<u8> = rgb
            .chunks_exact(3)
            .map(|p| ((299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32) / 1000) as u8)
            .collect();
        assert_eq!(grey_downscaled(&image, 1, w, h), expected);
        // A narrower copy keeps the left columns of each row.
        let left: Vec<u8> = expected
            .chunks_exact(w)
            .flat_map(|row| row[..20].to_vec())
            .collect();
        assert_eq!(grey_downscaled(&image, 1, 20, h), left);
        let grey = qr_image("x", 1, 30, 30, 0, 0);
        assert_eq!(grey_downscaled(&grey, 1, 30, 30), grey.samples);
    }
}
