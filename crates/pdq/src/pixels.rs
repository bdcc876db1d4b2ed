//! Borrowed 8-bit pixels as a decoder hands them over.

use thiserror::Error;

/// How samples are laid out per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One grey sample per pixel.
    Grey,
    /// Red, green, blue per pixel.
    Rgb,
}

impl Layout {
    /// Samples per pixel.
    pub const fn channels(self) -> usize {
        match self {
            Layout::Grey => 1,
            Layout::Rgb => 3,
        }
    }
}

/// A decoded image: `height` rows of `width` pixels, tightly packed, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Pixels<'a> {
    width: u32,
    height: u32,
    layout: Layout,
    samples: &'a [u8],
}

/// The sample buffer does not hold `width × height × channels` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{width}x{height} {layout:?} pixels need {expected} bytes, got {actual}")]
pub struct PixelsError {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Sample layout.
    pub layout: Layout,
    /// Bytes the dimensions call for.
    pub expected: usize,
    /// Bytes given.
    pub actual: usize,
}

impl<'a> Pixels<'a> {
    /// Wraps `samples`, checking that their length fits the dimensions.
    pub fn new(
        width: u32,
        height: u32,
        layout: Layout,
        samples: &'a [u8],
    ) -> Result<Self, PixelsError> {
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(layout.channels()));
        match expected {
            Some(expected) if expected == samples.len() => Ok(Pixels {
                width,
                height,
                layout,
                samples,
            }),
            _ => Err(PixelsError {
                width,
                height,
                layout,
                expected: expected.unwrap_or(usize::MAX),
                actual: samples.len(),
            }),
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Sample layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The samples, row-major.
    pub fn samples(&self) -> &'a [u8] {
        self.samples
    }

    /// For RGB pixels that all have R = G = B, the grey samples; otherwise `None`.
    pub fn grey_samples_if_colourless(&self) -> Option<Vec<u8>> {
        if self.layout != Layout::Rgb {
            return None;
        }
        let colourless = self
            .samples
            .chunks_exact(3)
            .all(|p| p[0] == p[1] && p[1] == p[2]);
        colourless.then(|| self.samples.iter().step_by(3).copied().collect())
    }

    /// The luma of pixel (`x`, `y`) as the reference computes it, in `f32`:
    /// `0.299·R + 0.587·G + 0.114·B`, or the grey value itself.
    #[inline]
    pub(crate) fn luma(&self, x: usize, y: usize) -> f32 {
        let c = self.layout.channels();
        let i = (y * self.width as usize + x) * c;
        match self.layout {
            Layout::Grey => self.samples[i] as f32,
            Layout::Rgb => {
                let (r, g, b) = (
                    self.samples[i] as f32,
                    self.samples[i + 1] as f32,
                    self.samples[i + 2] as f32,
                );
                0.299f32 * r + 0.587f32 * g + 0.114f32 * b
            }
        }
    }
}
