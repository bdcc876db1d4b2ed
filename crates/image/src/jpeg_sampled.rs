//! A fast path for PDQ on large JPEGs: decode to planar YCbCr (no upsampling, no colour
//! conversion), then compute RGB for only the 512×512 pixels PDQ's nearest-neighbour
//! pre-resize picks, exactly as libjpeg-turbo 2.1.5 would have computed them in a full
//! `decode()`.
//!
//! What a full decode does, and what is reproduced here (libjpeg-turbo 2.1.5, the TurboJPEG
//! defaults `tjDecompress2` uses):
//!
//! * Chroma upsampling is "fancy" (`jdsample.c`: `h2v1_fancy_upsample`,
//!   `h2v2_fancy_upsample`): TurboJPEG leaves `do_fancy_upsampling` on, so `jdmaster.c`'s
//!   `use_merged_upsample` says no and `jdmerge.c` is not used. The upsampler works on the
//!   component's real, downsampled width (⌈W/2⌉) and height (⌈H/2⌉); the special first and
//!   last columns equal the general formula with the edge sample replicated, and
//!   `jdmainct.c` replicates the first and last rows for the vertical context.
//! * YCbCr → RGB is `jdcolor.c`'s integer conversion (`build_ycc_rgb_table`, 16 fraction
//!   bits) with the result clamped to 0–255. The SIMD versions of both are bit-exact.
//!
//! Grey JPEGs are sampled straight from the Y plane. Anything else (CMYK, YCCK, RGB JPEGs,
//! 4:4:0, 4:1:1, subsampled images 4 pixels wide or less (their chroma is upsampled by
//! replication), sides of 512 or less, inputs over a limit, other formats) gets `Ok(None)`:
//! the caller decodes in full instead.

use rampart_pdq::Layout;
use turbojpeg::{Colorspace, Subsamp, YuvImage};

use crate::{DecodedImage, Format, ImageError, Limits};

/// The side PDQ squashes larger images to (`PRE_RESIZE` in `rampart_pdq`).
const SIDE: usize = 512;

/// The 512×512 pixels PDQ would pick from `decode(bytes)` by nearest neighbour, without
/// decoding the whole image to RGB; `Ok(None)` when this path does not apply and the caller
/// should fall back to [`crate::decode`].
///
/// For a JPEG with a side over 512 pixels, grey or YCbCr with 4:4:4, 4:2:2 or 4:2:0 chroma,
/// the result is a 512×512 [`DecodedImage`] whose pixel `(x, y)` is the full decode's pixel
/// `(x·W/512, y·H/512)`, byte for byte. Its layout is [`Layout::Grey`] exactly when the full
/// decode is grey or colourless (every pixel R = G = B), so `rampart_pdq::hash` of it equals
/// the hash (and quality) of the full decode. When the full decode has colour but the picked
/// pixels happen to have none, PDQ would treat the two differently, so that also gives
/// `Ok(None)`.
///
/// Inputs over `limits` and non-JPEG input give `Ok(None)` (the fallback reports them).
/// Corrupt or truncated JPEG data gives [`ImageError::Decode`], as `decode` does; a panic in
/// the decoder is caught and reported the same way.
pub fn decode_jpeg_sampled(
    bytes: &[u8],
    limits: &Limits,
) -> Result<Option<DecodedImage>, ImageError> {
    crate::decode::guarded(|| sampled_unguarded(bytes, limits))
}

fn sampled_unguarded(bytes: &[u8], limits: &Limits) -> Result<Option<DecodedImage>, ImageError> {
    if bytes.len() > limits.max_bytes || !matches!(crate::sniff(bytes), Ok(Format::Jpeg)) {
        return Ok(None);
    }
    let jpeg_error = |e: turbojpeg::Error| ImageError::Decode(format!("JPEG: {e}"));
    let mut decompressor = turbojpeg::Decompressor::new().map_err(jpeg_error)?;
    let header = decompressor.read_header(bytes).map_err(jpeg_error)?;
    let (w, h) = (header.width, header.height);
    if w == 0 || h == 0 {
        return Err(ImageError::Decode(format!(
            "the header says {w}x{h} pixels"
        )));
    }
    let within_limits = w <= limits.max_side as usize
        && h <= limits.max_side as usize
        && (w as u64) * (h as u64) <= limits.max_pixels;
    if !within_limits || (w <= SIDE && h <= SIDE) {
        return Ok(None);
    }
    let chroma = match (header.colorspace, header.subsamp) {
        (Colorspace::Gray, Subsamp::Gray) => None,
        (Colorspace::YCbCr, Subsamp::None) => Some(Chroma::Full),
        (Colorspace::YCbCr, Subsamp::Sub2x1) => Some(Chroma::H2V1),
        (Colorspace::YCbCr, Subsamp::Sub2x2) => Some(Chroma::H2V2),
        _ => return Ok(None),
    };
    if chroma.is_some_and(|kind| kind != Chroma::Full && kind.chroma_width(w) <= 2) {
        // jdsample.c upsamples chroma this narrow by plain replication, not "fancy".
        return Ok(None);
    }
    let len = turbojpeg::yuv_pixels_len(w, 1, h, header.subsamp).map_err(jpeg_error)?;
    let mut buf = vec![0u8; len];
    let yuv = YuvImage {
        pixels: buf.as_mut_slice(),
        width: w,
        align: 1,
        height: h,
        subsamp: header.subsamp,
    };
    let (y_stride, y_rows) = yuv.y_size();
    let (c_stride, c_rows) = yuv.uv_size();
    decompressor
        .decompress_to_yuv(bytes, yuv)
        .map_err(jpeg_error)?;

    let xs: Vec<usize> = (0..SIDE).map(|x| x * w / SIDE).collect();
    let ys: Vec<usize> = (0..SIDE).map(|y| y * h / SIDE).collect();
    let (y_plane, rest) = buf.split_at(y_stride * y_rows);
    let Some(kind) = chroma else {
        let mut samples = Vec::with_capacity(SIDE * SIDE);
        for &sy in &ys {
            let row = &y_plane[sy * y_stride..];
            samples.extend(xs.iter().map(|&sx| row[sx]));
        }
        return Ok(Some(sampled_image(Layout::Grey, samples)));
    };
    let c_len = c_stride * c_rows;
    let planes = Planes {
        kind,
        width: w,
        y: y_plane,
        y_stride,
        cb: &rest[..c_len],
        cr: &rest[c_len..2 * c_len],
        c_stride,
        c_width: kind.chroma_width(w),
        c_height: kind.chroma_height(h),
    };
    let tables = YccTables::new();
    let colourless = planes.is_colourless(&tables);
    let mut samples = Vec::with_capacity(SIDE * SIDE * if colourless { 1 } else { 3 });
    let mut any_colour = false;
    for &sy in &ys {
        for &sx in &xs {
            let (cb, cr) = planes.chroma(sx, sy);
            let [r, g, b] = tables.rgb(planes.y[sy * y_stride + sx], cb, cr);
            if colourless {
                samples.push(r);
            } else {
                any_colour |= r != g || g != b;
                samples.extend_from_slice(&[r, g, b]);
            }
        }
    }
    if colourless {
        Ok(Some(sampled_image(Layout::Grey, samples)))
    } else if any_colour {
        Ok(Some(sampled_image(Layout::Rgb, samples)))
    } else {
        // PDQ would take these picked pixels for a grey image; the full decode is not one.
        Ok(None)
    }
}

fn sampled_image(layout: Layout, samples: Vec<u8>) -> DecodedImage {
    DecodedImage {
        format: Format::Jpeg,
        width: SIDE as u32,
        height: SIDE as u32,
        layout,
        samples,
        more_frames: Vec::new(),
        frame_count: 1,
    }
}

/// How the chroma planes are subsampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chroma {
    /// 4:4:4, no upsampling.
    Full,
    /// 4:2:2, half width: `h2v1_fancy_upsample`.
    H2V1,
    /// 4:2:0, half width and height: `h2v2_fancy_upsample`.
    H2V2,
}

impl Chroma {
    fn chroma_width(self, width: usize) -> usize {
        match self {
            Chroma::Full => width,
            Chroma::H2V1 | Chroma::H2V2 => width.div_ceil(2),
        }
    }

    fn chroma_height(self, height: usize) -> usize {
        match self {
            Chroma::Full | Chroma::H2V1 => height,
            Chroma::H2V2 => height.div_ceil(2),
        }
    }
}

/// The decoded planes; the chroma planes' real part is `c_width × c_height`.
struct Planes<'a> {
    kind: Chroma,
    width: usize,
    y: &'a [u8],
    y_stride: usize,
    cb: &'a [u8],
    cr: &'a [u8],
    c_stride: usize,
    c_width: usize,
    c_height: usize,
}

impl Planes<'_> {
    /// The upsampled (Cb, Cr) of full-size pixel (`x`, `y`), as libjpeg-turbo computes it.
    #[inline]
    fn chroma(&self, x: usize, y: usize) -> (u8, u8) {
        match self.kind {
            Chroma::Full => {
                let i = y * self.c_stride + x;
                (self.cb[i], self.cr[i])
            }
            Chroma::H2V1 => {
                let row = y * self.c_stride;
                (
                    h2v1(&self.cb[row..row + self.c_width], x),
                    h2v1(&self.cr[row..row + self.c_width], x),
                )
            }
            Chroma::H2V2 => {
                let (near, far) = self.h2v2_rows(y);
                let (near, far) = (near * self.c_stride, far * self.c_stride);
                let n = self.c_width;
                (
                    h2v2(&self.cb[near..near + n], &self.cb[far..far + n], x),
                    h2v2(&self.cr[near..near + n], &self.cr[far..far + n], x),
                )
            }
        }
    }

    /// For 4:2:0, the nearest chroma row to full-size row `y` and the next nearest (above for
    /// even `y`, below for odd), the edge rows replicated.
    #[inline]
    fn h2v2_rows(&self, y: usize) -> (usize, usize) {
        let near = y / 2;
        let far = if y.is_multiple_of(2) {
            near.saturating_sub(1)
        } else {
            (near + 1).min(self.c_height - 1)
        };
        (near, far)
    }

    /// Whether chroma row `r` of both planes is all 128 (neutral) over its real width.
    fn neutral_row(&self, r: usize) -> bool {
        let i = r * self.c_stride;
        let n = self.c_width;
        self.cb[i..i + n].iter().all(|&v| v == 128) && self.cr[i..i + n].iter().all(|&v| v == 128)
    }

    /// Whether every pixel of the full decode has R = G = B.
    ///
    /// Upsampled chroma is 128 wherever all the chroma samples it is made from are 128, and
    /// (Cb, Cr) = (128, 128) gives R = G = B = Y; so only full-size rows drawn from a chroma
    /// row with another value need checking, pixel by pixel (clamping makes some other (Cb, Cr)
    /// give R = G = B too, for Y near 0 or 255). A colourful image usually stops at its first
    /// such row.
    fn is_colourless(&self, tables: &YccTables) -> bool {
        let height = self.y.len() / self.y_stride;
        let mut checked_to = 0; // full-size rows below this are checked
        for r in 0..self.c_height {
            if self.neutral_row(r) {
                continue;
            }
            let rows = match self.kind {
                Chroma::Full | Chroma::H2V1 => r..r + 1,
                // Chroma row r feeds full-size rows 2r-1 ..= 2r+2.
                Chroma::H2V2 => (2 * r).saturating_sub(1)..(2 * r + 3).min(height),
            };
            for y in rows.start.max(checked_to)..rows.end {
                if !self.row_colourless(y, tables) {
                    return false;
                }
            }
            checked_to = checked_to.max(rows.end);
        }
        true
    }

    /// Whether full-size row `y` (up to the image width) has R = G = B everywhere.
    fn row_colourless(&self, y: usize, tables: &YccTables) -> bool {
        if y * self.y_stride >= self.y.len() {
            return true;
        }
        let luma = &self.y[y * self.y_stride..y * self.y_stride + self.width];
        luma.iter().enumerate().all(|(x, &l)| {
            let (cb, cr) = self.chroma(x, y);
            (cb == 128 && cr == 128) || {
                let [r, g, b] = tables.rgb(l, cb, cr);
                r == g && g == b
            }
        })
    }
}

/// `h2v1_fancy_upsample`: ¾ of the nearer sample plus ¼ of the further, rounding biases 1
/// (even outputs) and 2 (odd outputs), the edge samples replicated.
#[inline]
fn h2v1(row: &[u8], x: usize) -> u8 {
    let i = x / 2;
    let this = 3 * row[i] as u32;
    if x.is_multiple_of(2) {
        ((this + row[i.saturating_sub(1)] as u32 + 1) >> 2) as u8
    } else {
        ((this + row[(i + 1).min(row.len() - 1)] as u32 + 2) >> 2) as u8
    }
}

/// `h2v2_fancy_upsample`: vertical column sums 3·near + far, then ¾ / ¼ across, rounding
/// biases 8 (even outputs) and 7 (odd outputs), the edge columns replicated.
#[inline]
fn h2v2(near: &[u8], far: &[u8], x: usize) -> u8 {
    let colsum = |i: usize| 3 * near[i] as u32 + far[i] as u32;
    let i = x / 2;
    let this = 3 * colsum(i);
    if x.is_multiple_of(2) {
        ((this + colsum(i.saturating_sub(1)) + 8) >> 4) as u8
    } else {
        ((this + colsum((i + 1).min(near.len() - 1)) + 7) >> 4) as u8
    }
}

/// `jdcolor.c`'s YCbCr → RGB tables (`build_ycc_rgb_table`, `SCALEBITS` 16).
struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

const SCALEBITS: u32 = 16;
const ONE_HALF: i32 = 1 << (SCALEBITS - 1);

/// `FIX(x)`: `x` in 16.16 fixed point, rounded.
const fn fix(x: f64) -> i32 {
    (x * (1 << SCALEBITS) as f64 + 0.5) as i32
}

impl YccTables {
    fn new() -> Self {
        let mut t = YccTables {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let x = i as i32 - 128;
            t.cr_r[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            t.cb_b[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            t.cr_g[i] = -fix(0.71414) * x;
            t.cb_g[i] = -fix(0.34414) * x + ONE_HALF;
        }
        t
    }

    /// `ycc_rgb_convert` for one pixel, clamped as `range_limit` does.
    #[inline]
    fn rgb(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (y, cb, cr) = (y as i32, cb as usize, cr as usize);
        let clamp = |v: i32| v.clamp(0, 255) as u8;
        [
            clamp(y + self.cr_r[cr]),
            clamp(y + ((self.cb_g[cb] + self.cr_g[cr]) >> SCALEBITS)),
            clamp(y + self.cb_b[cb]),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_libjpeg_constants() {
        assert_eq!(fix(1.40200), 91881);
        assert_eq!(fix(1.77200), 116130);
        assert_eq!(fix(0.71414), 46802);
        assert_eq!(fix(0.34414), 22554);
        let t = YccTables::new();
        assert_eq!((t.cr_r[128], t.cb_b[128]), (0, 0));
        assert_eq!(
            (t.cr_r[255], t.cb_b[255], t.cr_r[0], t.cb_b[0]),
            (178, 225, -179, -227)
        );
    }

    /// Which (Cb, Cr) give R = G = B: for every Y only (128, 128); for some Y (clamped near 0
    /// or 255) others too, which is why the colourless check looks at pixels, not just chroma.
    #[test]
    fn grey_exactly_when_neutral_chroma_or_clamped() {
        let t = YccTables::new();
        let mut grey_for_all_y = Vec::new();
        let mut grey_for_some_y = 0;
        for cb in 0..=255u8 {
            for cr in 0..=255u8 {
                let grey: Vec<bool> = (0..=255u8)
                    .map(|y| {
                        let [r, g, b] = t.rgb(y, cb, cr);
                        r == g && g == b
                    })
                    .collect();
                if grey.iter().all(|&g| g) {
                    grey_for_all_y.push((cb, cr));
                }
                if (cb, cr) != (128, 128) && grey.iter().any(|&g| g) {
                    grey_for_some_y += 1;
                    // Only where clamping hides the colour: Y at the ends of the range.
                    for y in 0..=255u8 {
                        if grey[y as usize] {
                            let [r, _, _] = t.rgb(y, cb, cr);
                            assert!(r == 0 || r == 255, "({cb},{cr}) grey at y={y}");
                        }
                    }
                }
            }
        }
        assert_eq!(grey_for_all_y, vec![(128, 128)]);
        assert!(grey_for_some_y > 0);
        // The example worked out by hand: Y 0, Cb 127, Cr 128 is black.
        assert_eq!(t.rgb(0, 127, 128), [0, 0, 0]);
        for y in 0..=255u8 {
            assert_eq!(t.rgb(y, 128, 128), [y, y, y]);
        }
    }

    #[test]
    fn fancy_upsampling_matches_libjpeg_edge_cases() {
        // h2v1 special first/last columns: out[0] = in[0], out[2n-1] = in[n-1].
        let row = [10u8, 200, 37];
        let ups: Vec<u8> = (0..6).map(|x| h2v1(&row, x)).collect();
        let expect = [
            10,
            ((10 * 3 + 200 + 2) >> 2) as u8,
            ((200 * 3 + 10 + 1) >> 2) as u8,
            ((200 * 3 + 37 + 2) >> 2) as u8,
            ((37 * 3 + 200 + 1) >> 2) as u8,
            37,
        ];
        assert_eq!(ups, expect);
        // h2v2 special first/last columns: (4·sum + 8) >> 4 and (4·sum + 7) >> 4.
        let near = [10u8, 200, 37];
        let far = [90u8, 0, 255];
        let sum = |i: usize| 3 * near[i] as u32 + far[i] as u32;
        assert_eq!(h2v2(&near, &far, 0) as u32, (sum(0) * 4 + 8) >> 4);
        assert_eq!(h2v2(&near, &far, 5) as u32, (sum(2) * 4 + 7) >> 4);
        assert_eq!(h2v2(&near, &far, 3) as u32, (sum(1) * 3 + sum(2) + 7) >> 4);
        assert_eq!(h2v2(&near, &far, 2) as u32, (sum(1) * 3 + sum(0) + 8) >> 4);
        // Neutral chroma stays neutral.
        assert!((0..6).all(|x| h2v2(&[128; 3], &[128; 3], x) == 128));
        assert!((0..6).all(|x| h2v1(&[128; 3], x) == 128));
    }

    #[test]
    fn not_a_jpeg_or_small_is_none() {
        let limits = Limits::default();
        assert!(decode_jpeg_sampled(b"\x89PNG\r\n\x1a\n", &limits)
            .unwrap()
            .is_none());
        assert!(decode_jpeg_sampled(b"", &limits).unwrap().is_none());
    }
}
