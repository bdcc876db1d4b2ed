//! The PDQ algorithm, step for step as the reference C++ computes it (`pdqhashing.cpp` and
//! `pdqio.cpp` of facebook/ThreatExchange), in the same `f32` operations and order so the bits
//! come out identical. Written by hand because it is the domain core: a bit off is a miss.

use std::sync::OnceLock;

use crate::pixels::{Layout, Pixels};
use crate::PdqHash;

/// Images with a side above this are first squashed to `PRE_RESIZE × PRE_RESIZE`.
const PRE_RESIZE: usize = 512;
/// Images with a side below this hash to all zeros with quality 0.
const MIN_HASHABLE_DIM: usize = 5;
/// Jarosz box-filter window: one sample per this many along a side, rounded up.
const JAROSZ_WINDOW_DIVISOR: usize = 128;
/// Two passes of (rows, then columns) box filters approximate a tent/Gaussian.
const JAROSZ_PASSES: usize = 2;

/// A PDQ hash with its quality (0–100; upstream recommends trusting quality ≥ 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqOutput {
    /// The 256-bit hash.
    pub hash: PdqHash,
    /// Count of significant gradients in the 64×64 image, capped at 100.
    pub quality: u8,
}

/// The eight hashes of the image's rotations and flips, derived from one DCT as the reference
/// does (`--pdqdih`): they are close to, not equal to, hashes of the transformed pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralOutput {
    /// In [`DIHEDRAL_NAMES`] order: original, rotate90, rotate180, rotate270, flipx, flipy,
    /// flipplus1, flipminus1.
    pub hashes: [PdqHash; 8],
    /// Quality, shared by all eight.
    pub quality: u8,
}

/// The reference's names of the eight dihedral variants, in [`DihedralOutput::hashes`] order.
/// rotate90 is counter-clockwise; flipx mirrors top-bottom, flipy left-right; flipplus1 is the
/// transpose and flipminus1 the anti-transpose.
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// The PDQ hash and quality of `pixels`.
pub fn hash(pixels: &Pixels<'_>) -> PdqOutput {
    match dct16(pixels) {
        None => PdqOutput {
            hash: PdqHash::default(),
            quality: 0,
        },
        Some((b, quality)) => PdqOutput {
            hash: bits(&b),
            quality,
        },
    }
}

/// The eight dihedral PDQ hashes and the quality of `pixels`.
pub fn hash_dihedral(pixels: &Pixels<'_>) -> DihedralOutput {
    let Some((b, quality)) = dct16(pixels) else {
        return DihedralOutput {
            hashes: [PdqHash::default(); 8],
            quality: 0,
        };
    };
    let variant = |f: &dyn Fn(usize, usize, f32) -> (usize, usize, f32)| {
        let mut out = [[0f32; 16]; 16];
        for (i, row) in b.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let (oi, oj, ov) = f(i, j, v);
                out[oi][oj] = ov;
            }
        }
        bits(&out)
    };
    // Row index i is vertical frequency i + 1, so mirroring rows negates even i; likewise for
    // columns and j. A quarter turn transposes and mirrors one axis.
    let neg_if = |c: bool, v: f32| if c { -v } else { v };
    DihedralOutput {
        hashes: [
            bits(&b),
            variant(&|i, j, v| (j, i, neg_if(j & 1 == 0, v))),
            variant(&|i, j, v| (i, j, neg_if((i + j) & 1 == 1, v))),
            variant(&|i, j, v| (j, i, neg_if(i & 1 == 0, v))),
            variant(&|i, j, v| (i, j, neg_if(i & 1 == 0, v))),
            variant(&|i, j, v| (i, j, neg_if(j & 1 == 0, v))),
            variant(&|i, j, v| (j, i, v)),
            variant(&|i, j, v| (j, i, neg_if((i + j) & 1 == 1, v))),
        ],
        quality,
    }
}

/// The PDQ hash and quality of `pixels` at their own size, the way the vPDQ reference hashes
/// video frames (`pdqHash256FromFloatLuma` on the full frame's luma). Unlike [`hash`], there
/// is no 512×512 nearest-neighbour pre-resize (the photo tool's `pdqio.cpp` step) and no grey
/// shortcut: RGB pixels always go through `0.299·R + 0.587·G + 0.114·B`, as the reference's
/// `fillFloatLumaFromRGB` does even when R = G = B. Cost grows with the pixel count.
pub fn hash_full_resolution(pixels: &Pixels<'_>) -> PdqOutput {
    let (w, h) = (pixels.width() as usize, pixels.height() as usize);
    let mut luma = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            luma.push(pixels.luma(x, y));
        }
    }
    match dct16_from_luma(luma, h, w) {
        None => PdqOutput {
            hash: PdqHash::default(),
            quality: 0,
        },
        Some((b, quality)) => PdqOutput {
            hash: bits(&b),
            quality,
        },
    }
}

/// Steps 2–8 of the reference: pre-resize, luma, blur, decimate, quality, 16×16 DCT.
/// `None` when a side is below [`MIN_HASHABLE_DIM`].
fn dct16(pixels: &Pixels<'_>) -> Option<([[f32; 16]; 16], u8)> {
    // The reference's decoder (ImageMagick) hands over a grey image when every pixel has
    // R = G = B, and grey luma is the value itself, not 0.299·v + 0.587·v + 0.114·v.
    let grey_samples = pixels.grey_samples_if_colourless();
    let grey_pixels;
    let pixels = match &grey_samples {
        Some(samples) => {
            grey_pixels = Pixels::new(pixels.width(), pixels.height(), Layout::Grey, samples)
                .expect("same dimensions, one sample per pixel");
            &grey_pixels
        }
        None => pixels,
    };
    let (w, h) = (pixels.width() as usize, pixels.height() as usize);
    let (luma, cols, rows) = luma_after_pre_resize(pixels, w, h);
    dct16_from_luma(luma, rows, cols)
}

/// Steps 4–8 of the reference (`pdqFloat256FromFloatLuma`): blur, decimate, quality, 16×16
/// DCT of a `rows × cols` luma image. `None` when a side is below [`MIN_HASHABLE_DIM`].
fn dct16_from_luma(luma: Vec<f32>, rows: usize, cols: usize) -> Option<([[f32; 16]; 16], u8)> {
    if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM {
        return None;
    }
    let a = if rows == 64 && cols == 64 {
        let mut a = [[0f32; 64]; 64];
        for (i, row) in a.iter_mut().enumerate() {
            row.copy_from_slice(&luma[i * 64..i * 64 + 64]);
        }
        a
    } else {
        let mut luma = luma;
        jarosz_filter(&mut luma, rows, cols);
        decimate(&luma, rows, cols)
    };
    let quality = quality(&a);
    Some((dct64_to_16(&a), quality))
}

/// Luma of the image, squashed by nearest neighbour to 512×512 (aspect ratio not kept) when
/// either side exceeds 512, as `pdqio.cpp` does before hashing. Returns (luma, width, height).
fn luma_after_pre_resize(pixels: &Pixels<'_>, w: usize, h: usize) -> (Vec<f32>, usize, usize) {
    if w <= PRE_RESIZE && h <= PRE_RESIZE {
        let mut luma = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                luma.push(pixels.luma(x, y));
            }
        }
        return (luma, w, h);
    }
    let n = PRE_RESIZE;
    let xs: Vec<usize> = (0..n).map(|x| x * w / n).collect();
    let mut luma = Vec::with_capacity(n * n);
    for y in 0..n {
        let sy = y * h / n;
        for &sx in &xs {
            luma.push(pixels.luma(sx, sy));
        }
    }
    (luma, n, n)
}

fn jarosz_window(dimension: usize) -> usize {
    dimension.div_ceil(JAROSZ_WINDOW_DIVISOR)
}

/// In-place two-pass box blur: each pass filters along rows, then along columns.
fn jarosz_filter(buffer: &mut [f32], rows: usize, cols: usize) {
    let along_rows = jarosz_window(cols);
    let along_cols = jarosz_window(rows);
    let mut scratch = vec![0f32; buffer.len()];
    for _ in 0..JAROSZ_PASSES {
        for r in 0..rows {
            box_1d(buffer, &mut scratch, r * cols, cols, 1, along_rows);
        }
        box_columns(&scratch, buffer, rows, cols, along_cols);
    }
}

/// [`box_1d`] down every column at once: the same additions, subtractions and divisions in
/// the same order for each column (so bit-identical results), but sweeping the buffer row by
/// row instead of one column at a time, which reads memory in order instead of one cache
/// line per sample: PDQ with its dihedral hashes of a 640×360 video frame went from 2.6 to
/// 1.3 ms (`cargo xtask bench video`).
fn box_columns(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    let half = (window + 2) / 2;
    let (phase1, phase2) = (half - 1, window - half + 1);
    let phase3 = rows.saturating_sub(window);
    let phase4 = half - 1;
    let row = |r: usize| &input[r * cols..(r + 1) * cols];
    let mut sums = vec![0f32; cols];
    let mut current = 0usize;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    for _ in 0..phase1 {
        for (sum, x) in sums.iter_mut().zip(row(ri)) {
            *sum += x;
        }
        current += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        current += 1;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for ((sum, x), o) in sums.iter_mut().zip(row(ri)).zip(out) {
            *sum += x;
            *o = *sum / current as f32;
        }
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for (((sum, x), y), o) in sums.iter_mut().zip(row(ri)).zip(row(li)).zip(out) {
            *sum += x;
            *sum -= y;
            *o = *sum / current as f32;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        current -= 1;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for ((sum, y), o) in sums.iter_mut().zip(row(li)).zip(out) {
            *sum -= y;
            *o = *sum / current as f32;
        }
        li += 1;
        oi += 1;
    }
}

/// Running-sum box filter over `length` samples from `start`, `stride` apart. The window is
/// centred with `(window + 2) / 2` samples at or after the output; the edges average fewer.
fn box_1d(
    input: &[f32],
    output: &mut [f32],
    start: usize,
    length: usize,
    stride: usize,
    window: usize,
) {
    let half = (window + 2) / 2;
    let (phase1, phase2) = (half - 1, window - half + 1);
    let phase3 = length.saturating_sub(window);
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (start, start, start);
    let mut sum = 0f32;
    let mut current = 0usize;
    for _ in 0..phase1 {
        sum += input[ri];
        current += 1;
        ri += stride;
    }
    for _ in 0..phase2 {
        sum += input[ri];
        current += 1;
        output[oi] = sum / current as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / current as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4 {
        sum -= input[li];
        current -= 1;
        output[oi] = sum / current as f32;
        li += stride;
        oi += stride;
    }
}

/// Samples the blurred image at the centres of a 64×64 grid.
fn decimate(input: &[f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
    let mut out = [[0f32; 64]; 64];
    for (i, row) in out.iter_mut().enumerate() {
        let ini = ((i as f64 + 0.5) * rows as f64 / 64.0) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let inj = ((j as f64 + 0.5) * cols as f64 / 64.0) as usize;
            *v = input[ini * cols + inj];
        }
    }
    out
}

/// Sum of |truncated gradient in percent of full scale| over neighbouring pairs, / 90, ≤ 100.
fn quality(a: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| ((((u - v) * 100.0) / 255.0) as i32).abs();
    let mut sum = 0i32;
    for pair in a.windows(2) {
        for (&u, &v) in pair[0].iter().zip(&pair[1]) {
            sum += step(u, v);
        }
    }
    for row in a {
        for pair in row.windows(2) {
            sum += step(pair[0], pair[1]);
        }
    }
    (sum / 90).min(100) as u8
}

/// Rows 1..=16 of the 64-point DCT-II basis, as the reference builds them (double, then f32).
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut d = [[0f32; 64]; 16];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (scale as f64 * angle.cos()) as f32;
            }
        }
        d
    })
}

/// `B = D · A · Dᵀ` in `f32`, each dot product summed in increasing k.
fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for k in 0..64 {
            let dik = d[i][k];
            for j in 0..64 {
                t[i][j] += dik * a[k][j];
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += t[i][k] * d[j][k];
            }
            b[i][j] = sum;
        }
    }
    b
}

/// Bit `16·i + j` is set where the coefficient exceeds the lower median of all 256.
fn bits(b: &[[f32; 16]; 16]) -> PdqHash {
    let mut sorted: Vec<f32> = b.iter().flatten().copied().collect();
    sorted.sort_unstable_by(f32::total_cmp);
    let median = sorted[127];
    let mut hash = PdqHash::default();
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                hash.set_bit(16 * i + j);
            }
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic colourful RGB pixels with structure at several scales.
    fn pattern(width: u32, height: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                rgb.push(((x * 7 + y * 3) % 256) as u8);
                rgb.push(((x / 9 * 40) % 256) as u8);
                rgb.push((((x ^ y) * 5) % 256) as u8);
            }
        }
        rgb
    }

    #[test]
    fn full_resolution_equals_photo_hash_when_no_pre_resize_applies() {
        let rgb = pattern(300, 200);
        let pixels = Pixels::new(300, 200, Layout::Rgb, &rgb).expect("sized");
        let photo = hash(&pixels);
        assert!(photo.quality > 0);
        assert_eq!(hash_full_resolution(&pixels), photo);
    }

    #[test]
    fn full_resolution_hashes_large_frames_without_squashing_them() {
        // The photo path samples the 1200 px wide image at 512 columns; the full-resolution
        // path blurs all 1200 of them.
        let rgb = pattern(1200, 96);
        let pixels = Pixels::new(1200, 96, Layout::Rgb, &rgb).expect("sized");
        let full = hash_full_resolution(&pixels);
        let photo = hash(&pixels);
        assert!(full.quality > 0);
        assert_ne!(
            full.hash, photo.hash,
            "a 1200 px frame must not be pre-resized"
        );
    }

    #[test]
    fn full_resolution_of_a_frame_under_five_pixels_is_zero_with_quality_zero() {
        let rgb = pattern(4, 100);
        let pixels = Pixels::new(4, 100, Layout::Rgb, &rgb).expect("sized");
        let out = hash_full_resolution(&pixels);
        assert_eq!(out.hash, PdqHash::default());
        assert_eq!(out.quality, 0);
    }

    #[test]
    fn the_column_sweep_is_bit_identical_to_one_column_at_a_time() {
        for (rows, cols, window) in [
            (512, 512, 4),
            (360, 640, 3),
            (7, 5, 1),
            (9, 3, 2),
            (1, 4, 1),
        ] {
            let input: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 7919) % 1009) as f32 * 0.37 + 0.001 * (i % 13) as f32)
                .collect();
            let mut expected = vec![0f32; rows * cols];
            for c in 0..cols {
                box_1d(&input, &mut expected, c, rows, cols, window);
            }
            let mut swept = vec![0f32; rows * cols];
            box_columns(&input, &mut swept, rows, cols, window);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
            assert_eq!(
                bits(&swept),
                bits(&expected),
                "{rows}x{cols} window {window}"
            );
        }
    }
}
