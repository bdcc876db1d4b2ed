//! Text in images through Tesseract (Debian's libtesseract 5, English data), with a box per
//! word so evidence can point at where the words are.

use std::sync::Mutex;

use tesseract::Tesseract;

use crate::qr::grey_downscaled;
use crate::DecodedImage;

/// Longer sides are box-downscaled to at most this before recognition.
const MAX_SIDE: usize = 4000;
/// Words recognised with less confidence (0–100) are dropped.
const MIN_CONFIDENCE: f32 = 30.0;

#[link(name = "gomp")]
extern "C" {
    // From libgomp, which Debian's libtesseract uses: OpenMP threads make OCR 4× slower on
    // small shared machines, so recognition runs on the calling thread only. Tesseract's
    // LSTM asks for its threads with a `num_threads` clause, which overrides the first
    // setting; only no active parallel levels keeps it on one thread (3.3× less wall time
    // on `burned-text.mp4`, 10× less system time). Nothing else in Rampart uses OpenMP
    // (whisper.cpp is built with its own thread pool), so the process-wide setting of
    // GCC 12's libgomp is harmless.
    fn omp_set_num_threads(n: std::os::raw::c_int);
    fn omp_set_max_active_levels(n: std::os::raw::c_int);
}

/// Why OCR failed.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// Tesseract or its English data is missing.
    #[error("Tesseract could not start (is tesseract-ocr-eng installed?): {0}")]
    Init(String),
    /// Recognition failed on this image.
    #[error("OCR failed: {0}")]
    Recognise(String),
}

/// One recognised word.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OcrWord {
    /// The word as recognised.
    pub text: String,
    /// Tesseract's confidence, 0–100.
    pub confidence: f32,
    /// `[x, y, width, height]` in image pixels.
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    /// Byte range of the word in [`OcrText::text`].
    pub start: usize,
    /// End of that range.
    pub end: usize,
}

/// The text of an image: words joined by spaces, lines by newlines.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct OcrText {
    /// The recognised text.
    pub text: String,
    /// Its words with boxes.
    pub words: Vec<OcrWord>,
}

impl OcrText {
    /// The boxes of the words that overlap the byte range `start..end` of [`OcrText::text`].
    pub fn boxes_for(&self, start: usize, end: usize) -> Vec<[u32; 4]> {
        self.words
            .iter()
            .filter(|w| w.start < end && start < w.end)
            .map(|w| w.bbox)
            .collect()
    }
}

/// A Tesseract engine, started once (it takes 60–200 ms) and reused; one recognition at a time.
pub struct Ocr {
    engine: Mutex<Option<Tesseract>>,
}

impl Ocr {
    /// Starts Tesseract with its default data path and English.
    pub fn new() -> Result<Self, OcrError> {
        let engine =
            Tesseract::new(None, Some("eng")).map_err(|e| OcrError::Init(e.to_string()))?;
        Ok(Ocr {
            engine: Mutex::new(Some(engine)),
        })
    }

    /// Recognises the text of the whole first frame of `image`.
    pub fn recognise(&self, image: &DecodedImage) -> Result<OcrText, OcrError> {
        let (w, h) = (image.width as usize, image.height as usize);
        let factor = w.max(h).div_ceil(MAX_SIDE).max(1);
        let (sw, sh) = (w / factor, h / factor);
        if sw < 8 || sh < 8 {
            return Ok(OcrText::default());
        }
        let grey = grey_downscaled(image, factor, sw, sh);
        self.recognise_grey(&grey, sw, sh, factor as u32, [0, 0])
    }

    /// Recognises the text inside each of `regions` (`[x, y, width, height]`, e.g. from
    /// [`crate::text_regions`]), in order, as one text: regions are separated by newlines and
    /// word boxes are in image pixels.
    pub fn recognise_regions(
        &self,
        image: &DecodedImage,
        regions: &[[u32; 4]],
    ) -> Result<OcrText, OcrError> {
        let mut all = OcrText::default();
        if regions.is_empty() {
            return Ok(all);
        }
        let (w, h) = (image.width as usize, image.height as usize);
        let full = grey_downscaled(image, 1, w, h);
        for &[x, y, rw, rh] in regions {
            let (x, y) = (x as usize, y as usize);
            let (rw, rh) = (
                (rw as usize).min(w.saturating_sub(x)),
                (rh as usize).min(h.saturating_sub(y)),
            );
            if rw < 8 || rh < 8 {
                continue;
            }
            let factor = rw.max(rh).div_ceil(MAX_SIDE).max(1);
            let (sw, sh) = (rw / factor, rh / factor);
            let crop: Vec<u8> = (0..rh)
                .flat_map(|row| {
                    full[(y + row) * w + x..(y + row) * w + x + rw]
                        .iter()
                        .copied()
                })
                .collect();
            let crop = downscale_grey(&crop, rw, factor, sw, sh);
            let part = self.recognise_grey(&crop, sw, sh, factor as u32, [x as u32, y as u32])?;
            if part.text.is_empty() {
                continue;
            }
            if !all.text.is_empty() {
                all.text.push('\n');
            }
            let offset = all.text.len();
            all.text.push_str(&part.text);
            all.words.extend(part.words.into_iter().map(|mut word| {
                word.start += offset;
                word.end += offset;
                word
            }));
        }
        Ok(all)
    }

    /// Recognises a grey buffer that is the image scaled down by `factor` and offset by
    /// `origin`; boxes come back in image pixels.
    fn recognise_grey(
        &self,
        grey: &[u8],
        sw: usize,
        sh: usize,
        factor: u32,
        origin: [u32; 2],
    ) -> Result<OcrText, OcrError> {
        let mut slot = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        let engine = match slot.take() {
            Some(engine) => engine,
            None => Tesseract::new(None, Some("eng")).map_err(|e| OcrError::Init(e.to_string()))?,
        };
        // SAFETY: plain setters of OpenMP settings; no pointers involved.
        unsafe {
            omp_set_num_threads(1);
            omp_set_max_active_levels(0);
        }
        let recognised = engine
            .set_frame(grey, sw as i32, sh as i32, 1, sw as i32)
            .map_err(|e| OcrError::Recognise(e.to_string()))
            .and_then(|e| {
                e.recognize()
                    .map_err(|e| OcrError::Recognise(e.to_string()))
            });
        let mut engine = recognised?;
        let tsv = engine
            .get_tsv_text(0)
            .map_err(|e| OcrError::Recognise(e.to_string()));
        *slot = Some(engine);
        let mut text = parse_tsv(&tsv?, factor);
        for word in &mut text.words {
            word.bbox[0] += origin[0];
            word.bbox[1] += origin[1];
        }
        Ok(text)
    }
}

/// Box-averages a `w`-wide grey buffer by `factor` to `sw`×`sh`.
fn downscale_grey(grey: &[u8], w: usize, factor: usize, sw: usize, sh: usize) -> Vec<u8> {
    if factor == 1 {
        return grey.to_vec();
    }
    let mut out = Vec::with_capacity(sw * sh);
    for y in 0..sh {
        for x in 0..sw {
            let mut sum = 0u32;
            for dy in 0..factor {
                for dx in 0..factor {
                    sum += grey[(y * factor + dy) * w + x * factor + dx] as u32;
                }
            }
            out.push((sum / (factor * factor) as u32) as u8);
        }
    }
    out
}

/// Words (level 5) of Tesseract's TSV output, boxes scaled back by `factor`.
fn parse_tsv(tsv: &str, factor: u32) -> OcrText {
    let mut out = OcrText::default();
    let mut last_line: Option<(u32, u32, u32)> = None;
    for row in tsv.lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<i64>().unwrap_or(0).max(0) as u32;
        let confidence: f32 = cols[10].trim().parse().unwrap_or(-1.0);
        let text = cols[11].trim();
        if text.is_empty() || confidence < MIN_CONFIDENCE {
            continue;
        }
        let line = (num(2), num(3), num(4));
        if !out.text.is_empty() {
            out.text
                .push(if last_line == Some(line) { ' ' } else { '\n' });
        }
        last_line = Some(line);
        let start = out.text.len();
        out.text.push_str(text);
        out.words.push(OcrWord {
            text: text.to_owned(),
            confidence,
            bbox: [
                num(6) * factor,
                num(7) * factor,
                num(8) * factor,
                num(9) * factor,
            ],
            start,
            end: out.text.len(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_join_into_lines_with_boxes() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t640\t360\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t40\t96.5\tBUY\n\
                   5\t1\t1\t1\t1\t2\t50\t20\t30\t40\t95\tPILLS\n\
                   5\t1\t1\t1\t2\t1\t10\t80\t30\t40\t12\tzz\n\
                   5\t1\t1\t1\t2\t2\t50\t80\t30\t40\t91\tNOW\n";
        let t = parse_tsv(tsv, 2);
        assert_eq!(t.text, "BUY PILLS\nNOW");
        assert_eq!(t.words.len(), 3);
        assert_eq!(t.words[1].bbox, [100, 40, 60, 80]);
        assert_eq!(&t.text[t.words[2].start..t.words[2].end], "NOW");
        assert_eq!(t.boxes_for(4, 9), vec![[100, 40, 60, 80]]);
    }
}
