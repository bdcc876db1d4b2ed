//! A cheap test for "might this image contain text?", run before OCR so photos without
//! lettering do not pay for Tesseract (seconds on a textured photo), and so that OCR reads
//! only the regions where lettering seems to be.
//!
//! Lettering is a row of similar-sized blobs standing on one baseline. On a grey copy at
//! most [`MAX_SIDE`] px on its longer side, pixels clearly darker (or lighter) than their
//! neighbourhood's mean form connected components; components of glyph size and shape that
//! line up — at least [`MIN_RUN`] in a row with similar heights, bottoms within a fraction of
//! that height and gaps under about one height — make a text line. Words and phrases of six or
//! more characters qualify; a lone short word (a three-letter logo) does not.

use crate::qr::grey_downscaled;
use crate::DecodedImage;

const MAX_SIDE: usize = 800;
/// Half the side of the box whose mean a pixel is compared with.
const RADIUS: usize = 12;
/// How far from the local mean a pixel must be to count as ink.
const CONTRAST: i32 = 25;
/// Glyph heights considered, in pixels of the working copy.
const MIN_HEIGHT: usize = 6;
const MAX_HEIGHT: usize = 120;
/// Glyphs in a row needed for a text line.
const MIN_RUN: usize = 6;

/// Whether OCR is worth running on `image` (first frame).
pub fn likely_has_text(image: &DecodedImage) -> bool {
    !text_regions(image).is_empty()
}

/// Where lettering seems to be: full-width bands `[x, y, width, height]` in image pixels
/// around every line of at least [`MIN_RUN`] aligned glyphs, padded by a line height and
/// merged where they overlap. Empty when the image looks text-free. OCR only needs to read these.
pub fn text_regions(image: &DecodedImage) -> Vec<[u32; 4]> {
    let (w, h) = (image.width as usize, image.height as usize);
    let factor = w.max(h).div_ceil(MAX_SIDE).max(1);
    let (sw, sh) = (w / factor, h / factor);
    if sw < 16 || sh < MIN_HEIGHT {
        return Vec::new();
    }
    let grey = grey_downscaled(image, factor, sw, sh);
    let means = local_means(&grey, sw, sh);
    let mut lines = Vec::new();
    for dark in [true, false] {
        let ink: Vec<bool> = grey
            .iter()
            .zip(&means)
            .map(|(&v, &m)| {
                let d = v as i32 - m as i32;
                if dark {
                    d <= -CONTRAST
                } else {
                    d >= CONTRAST
                }
            })
            .collect();
        lines.extend(text_lines(&glyphs(&ink, sw, sh)));
    }
    // A line found is usually part of a longer one (punctuation and short words break
    // chains), so each becomes a full-width band padded by a line height; overlaps merge.
    let mut boxes: Vec<[usize; 4]> = lines
        .iter()
        .map(|b| {
            let pad = b.height();
            let (y0, y1) = (b.y0.saturating_sub(pad), (b.y1 + pad).min(sh - 1));
            [0, y0 * factor, w, ((y1 + 1) * factor).min(h)]
        })
        .collect();
    merge_overlapping(&mut boxes);
    boxes
        .into_iter()
        .map(|[x0, y0, x1, y1]| [x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32])
        .collect()
}

/// Merges boxes `[x0, y0, x1, y1)` that overlap until none do.
fn merge_overlapping(boxes: &mut Vec<[usize; 4]>) {
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                let (a, b) = (boxes[i], boxes[j]);
                if a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3] {
                    boxes[i] = [
                        a[0].min(b[0]),
                        a[1].min(b[1]),
                        a[2].max(b[2]),
                        a[3].max(b[3]),
                    ];
                    boxes.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    boxes.sort();
}

/// Mean of the (2·RADIUS+1)² box around each pixel, clipped at the edges (integral image).
fn local_means(grey: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut integral = vec![0u64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += grey[y * w + x] as u64;
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let mut means = Vec::with_capacity(w * h);
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(RADIUS), (y + RADIUS + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(RADIUS), (x + RADIUS + 1).min(w));
            let sum = integral[y1 * (w + 1) + x1] + integral[y0 * (w + 1) + x0]
                - integral[y0 * (w + 1) + x1]
                - integral[y1 * (w + 1) + x0];
            means.push((sum / ((y1 - y0) * (x1 - x0)) as u64) as u8);
        }
    }
    means
}

/// Bounding box of a connected component: x0, y0, x1, y1 (inclusive) and its pixel count.
#[derive(Debug, Clone, Copy)]
struct Blob {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    area: usize,
}

impl Blob {
    fn height(&self) -> usize {
        self.y1 - self.y0 + 1
    }
    fn width(&self) -> usize {
        self.x1 - self.x0 + 1
    }
}

/// 8-connected components of `ink` that are glyph-sized and glyph-shaped.
fn glyphs(ink: &[bool], w: usize, h: usize) -> Vec<Blob> {
    let mut seen = vec![false; ink.len()];
    let mut stack = Vec::new();
    let mut found = Vec::new();
    for start in 0..ink.len() {
        if !ink[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (sx, sy) = (start % w, start / w);
        let mut blob = Blob {
            x0: sx,
            y0: sy,
            x1: sx,
            y1: sy,
            area: 0,
        };
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            blob.area += 1;
            blob.x0 = blob.x0.min(x);
            blob.x1 = blob.x1.max(x);
            blob.y0 = blob.y0.min(y);
            blob.y1 = blob.y1.max(y);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if ink[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = (blob.width(), blob.height());
        let fill = blob.area as f32 / (bw * bh) as f32;
        let glyph_like = (MIN_HEIGHT..=MAX_HEIGHT).contains(&bh)
            && bw * 5 >= bh
            && bw <= bh * 2
            && (0.15..=0.9).contains(&fill);
        if glyph_like {
            found.push(blob);
        }
    }
    found
}

/// Lines of at least [`MIN_RUN`] glyphs standing in a row (similar heights, bottoms aligned,
/// small gaps), each as the bounding blob of its glyphs.
fn text_lines(glyphs: &[Blob]) -> Vec<Blob> {
    let mut by_x: Vec<&Blob> = glyphs.iter().collect();
    by_x.sort_by_key(|b| b.x0);
    let similar = |a: &Blob, b: &Blob| {
        let (ha, hb) = (a.height() as f32, b.height() as f32);
        let gap = b.x0 as f32 - a.x1 as f32;
        ha.max(hb) <= 1.5 * ha.min(hb)
            && (a.y1 as f32 - b.y1 as f32).abs() <= 0.25 * ha.max(hb)
            && gap >= -1.0
            && gap <= 1.2 * ha.max(hb)
    };
    let mut used = vec![false; by_x.len()];
    let mut lines = Vec::new();
    // Greedy chains: from each unused glyph, follow the nearest similar glyph to its right.
    for start in 0..by_x.len() {
        if used[start] {
            continue;
        }
        let mut chain = vec![start];
        let mut current = by_x[start];
        for (k, next) in by_x.iter().enumerate().skip(start + 1) {
            if next.x0 > current.x1 + 2 * MAX_HEIGHT {
                break;
            }
            if !used[k] && similar(current, next) {
                current = next;
                chain.push(k);
            }
        }
        if chain.len() >= MIN_RUN {
            let mut line = *by_x[chain[0]];
            for &k in &chain {
                used[k] = true;
                let b = by_x[k];
                line.x0 = line.x0.min(b.x0);
                line.y0 = line.y0.min(b.y0);
                line.x1 = line.x1.max(b.x1);
                line.y1 = line.y1.max(b.y1);
                line.area += b.area;
            }
            lines.push(line);
        }
    }
    lines
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
    fn flat_smooth_and_tiny_images_have_no_text() {
        assert!(!likely_has_text(&grey(640, 360, |_, _| 200)));
        assert!(!likely_has_text(&grey(640, 360, |x, y| ((x + y) / 4) as u8)));
        assert!(!likely_has_text(&grey(8, 8, |_, _| 0)));
    }

    #[test]
    fn a_row_of_letter_shaped_blobs_is_text_in_either_polarity() {
        // Seven 10×16 "O"-like rings 4 px apart on one baseline.
        let ring = |x: usize, y: usize| {
            (0..7).any(|k| {
                let (x0, y0) = (100 + k * 14, 100);
                (x0..x0 + 10).contains(&x)
                    && (y0..y0 + 16).contains(&y)
                    && (x < x0 + 2 || x >= x0 + 8 || y < y0 + 2 || y >= y0 + 14)
            })
        };
        assert!(likely_has_text(&grey(320, 240, |x, y| if ring(x, y) {
            20
        } else {
            230
        })));
        assert!(likely_has_text(&grey(320, 240, |x, y| if ring(x, y) {
            230
        } else {
            20
        })));
        // The same blobs scattered at different heights are not a line.
        let scattered = |x: usize, y: usize| {
            (0..7).any(|k| {
                let (x0, y0) = (10 + k * 40, 10 + k * 30);
                (x0..x0 + 10).contains(&x) && (y0..y0 + 16).contains(&y)
            })
        };
        assert!(!likely_has_text(&grey(320, 240, |x, y| {
            if scattered(x, y) {
                20
            } else {
                230
            }
        })));
    }
}
