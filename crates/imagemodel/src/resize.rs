//! Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit RGB images, reimplemented so the
//! result is byte-identical to Pillow (checked against Pillow 13.0.0, see `tests/preprocess.rs`).
//!
//! Pillow's "bilinear" is not a 2x2 interpolation: it is a separable convolution with a
//! triangle filter whose support grows with the downscale factor (so downscaling averages
//! over all covered input pixels). Weights are computed in `f64`, normalised per output
//! pixel, then turned into fixed-point integers with 22 fractional bits; each pass rounds and
//! clamps its output to 8 bits. The horizontal pass runs first, then the vertical pass;
//! a pass whose size does not change is skipped (which gives the same bytes as running it).

/// Fractional bits of the fixed-point weights: 32 bits minus 8 for the pixel value minus 2
/// spare bits, as in Pillow.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Support (half width, in input pixels at scale 1) of the triangle filter.
const BILINEAR_SUPPORT: f64 = 1.0;

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

/// Per-output-pixel filter taps along one axis.
struct Taps {
    /// First input index used by each output pixel.
    start: Vec<usize>,
    /// Number of input pixels used by each output pixel.
    len: Vec<usize>,
    /// Fixed-point weights, `stride` per output pixel (only the first `len[i]` are used).
    weights: Vec<i32>,
    stride: usize,
}

/// The taps for resampling `in_size` input pixels to `out_size` output pixels (both > 0).
fn taps(in_size: usize, out_size: usize) -> Taps {
    // Pillow passes the box edges as C floats and subtracts them in float.
    let in_extent = f64::from(in_size as f32);
    let scale = in_extent / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = BILINEAR_SUPPORT * filter_scale;
    let stride = (support.ceil() as usize) * 2 + 1;
    let inv = 1.0 / filter_scale;

    let mut start = Vec::with_capacity(out_size);
    let mut len = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * stride];
    let mut w = vec![0f64; stride];
    for i in 0..out_size {
        let center = (i as f64 + 0.5) * scale;
        // C `(int)` truncates toward zero; negative values are then clamped to 0 anyway.
        let lo = ((center - support + 0.5) as i64).max(0) as usize;
        let hi = ((center + support + 0.5) as i64).clamp(0, in_size as i64) as usize;
        let n = hi.saturating_sub(lo).min(stride);
        let mut total = 0.0;
        for (x, wx) in w.iter_mut().enumerate().take(n) {
            *wx = triangle(((x + lo) as f64 - center + 0.5) * inv);
            total += *wx;
        }
        let row = &mut weights[i * stride..i * stride + n];
        for (k, wx) in row.iter_mut().zip(&w) {
            let v = if total != 0.0 { wx / total } else { *wx };
            let f = v * f64::from(1u32 << PRECISION_BITS);
            *k = if v < 0.0 {
                (f - 0.5) as i32
            } else {
                (f + 0.5) as i32
            };
        }
        start.push(lo);
        len.push(n);
    }
    Taps {
        start,
        len,
        weights,
        stride,
    }
}

#[inline]
fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes a tightly packed RGB8 image with Pillow's BILINEAR filter.
///
/// `rgb.len()` must be `width * height * 3` and all sizes must be non-zero (the caller
/// checks this). Returns `out_width * out_height * 3` bytes.
pub(crate) fn resize_bilinear_rgb(
    width: usize,
    height: usize,
    rgb: &[u8],
    out_width: usize,
    out_height: usize,
) -> Vec<u8> {
    debug_assert_eq!(rgb.len(), width * height * 3);
    let half = 1i64 << (PRECISION_BITS - 1);

    let vertical = taps(height, out_height);
    // Rows of the input the vertical pass reads; the horizontal pass only needs those.
    let first_row = vertical.start[0];
    let last_row = vertical.start[out_height - 1] + vertical.len[out_height - 1];

    // Horizontal pass over rows first_row..last_row.
    let (tmp, tmp_first_row) = if out_width != width {
        let h = taps(width, out_width);
        let rows = last_row - first_row;
        let mut tmp = vec![0u8; out_width * rows * 3];
        for (r, out_row) in tmp.chunks_exact_mut(out_width * 3).enumerate() {
            let in_row = &rgb[(first_row + r) * width * 3..(first_row + r + 1) * width * 3];
            for (xx, px) in out_row.chunks_exact_mut(3).enumerate() {
                let k = &h.weights[xx * h.stride..xx * h.stride + h.len[xx]];
                let src = &in_row[h.start[xx] * 3..(h.start[xx] + h.len[xx]) * 3];
                let (mut r0, mut g0, mut b0) = (half, half, half);
                for (s, &kx) in src.chunks_exact(3).zip(k) {
                    let kx = i64::from(kx);
                    r0 += i64::from(s[0]) * kx;
                    g0 += i64::from(s[1]) * kx;
                    b0 += i64::from(s[2]) * kx;
                }
                px[0] = clip8(r0);
                px[1] = clip8(g0);
                px[2] = clip8(b0);
            }
        }
        (std::borrow::Cow::Owned(tmp), first_row)
    } else {
        (std::borrow::Cow::Borrowed(rgb), 0)
    };

    if out_height == height {
        return tmp.into_owned();
    }

    // Vertical pass.
    let row_len = out_width * 3;
    let mut out = vec![0u8; row_len * out_height];
    let mut acc = vec![0i64; row_len];
    for (yy, out_row) in out.chunks_exact_mut(row_len).enumerate() {
        acc.fill(half);
        let k = &vertical.weights[yy * vertical.stride..yy * vertical.stride + vertical.len[yy]];
        for (y, &ky) in k.iter().enumerate() {
            let row = vertical.start[yy] + y - tmp_first_row;
            let src = &tmp[row * row_len..(row + 1) * row_len];
            let ky = i64::from(ky);
            for (a, &s) in acc.iter_mut().zip(src) {
                *a += i64::from(s) * ky;
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_when_size_is_unchanged() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        assert_eq!(resize_bilinear_rgb(4, 3, &rgb, 4, 3), rgb);
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(1, 256), (3, 256), (1600, 256), (256, 256), (5000, 7)] {
            let t = taps(i, o);
            for j in 0..o {
                let s: i64 = t.weights[j * t.stride..j * t.stride + t.len[j]]
                    .iter()
                    .map(|&k| i64::from(k))
                    .sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= t.len[j] as i64,
                    "{i}->{o}: {s}"
                );
            }
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let rgb = [10u8, 200, 255].repeat(37 * 5);
        let out = resize_bilinear_rgb(37, 5, &rgb, 256, 256);
        assert!(out.chunks_exact(3).all(|p| p == [10, 200, 255]));
    }
}
