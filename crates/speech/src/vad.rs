//! Energy-based voice activity detection: which stretches of the audio are worth sending to
//! Whisper.
//!
//! The audio is cut into frames (30 ms); a frame is voiced when its RMS level is above both an
//! absolute floor (`min_level_dbfs`) and the running noise floor (the quietest frame of the
//! last few seconds) plus a margin. A region stays open through short pauses (the hangover)
//! and is dropped if it is shorter than `min_speech_ms`. This is crude next to a neural VAD,
//! but it is exact on digital silence, cheap, streaming, and good enough to keep silence and
//! steady noise away from Whisper; Whisper itself rejects non-speech that gets through.

use std::collections::VecDeque;

use crate::SAMPLE_RATE;

/// Level given to an all-zero frame, in dBFS (the log of zero energy).
const SILENT_DBFS: f32 = -120.0;

/// Settings of the energy detector. The defaults suit 16 kHz speech recordings.
#[derive(Debug, Clone, PartialEq)]
pub struct VadOptions {
    /// Frame length in milliseconds (default 30).
    pub frame_ms: u32,
    /// A frame quieter than this RMS level (dB relative to full scale) is never voiced
    /// (default −50 dBFS).
    pub min_level_dbfs: f32,
    /// A voiced frame must also be this many dB above the noise floor (default 12 dB).
    pub above_floor_db: f32,
    /// The noise floor is the quietest frame of this many past milliseconds (default 3000).
    pub floor_window_ms: u32,
    /// A region stays open through pauses up to this long (default 300 ms).
    pub hangover_ms: u32,
    /// Regions shorter than this (first to last voiced frame) are dropped (default 200 ms).
    pub min_speech_ms: u32,
}

impl Default for VadOptions {
    fn default() -> Self {
        Self {
            frame_ms: 30,
            min_level_dbfs: -50.0,
            above_floor_db: 12.0,
            floor_window_ms: 3000,
            hangover_ms: 300,
            min_speech_ms: 200,
        }
    }
}

impl VadOptions {
    /// Samples per frame at [`SAMPLE_RATE`] (at least 1).
    pub fn frame_len(&self) -> usize {
        (SAMPLE_RATE as usize * self.frame_ms as usize / 1000).max(1)
    }

    /// Whole frames covering `ms` milliseconds (rounded up).
    pub(crate) fn frames(&self, ms: u32) -> usize {
        (ms as usize).div_ceil(self.frame_ms.max(1) as usize)
    }
}

/// Voiced regions of `samples` (mono, [`SAMPLE_RATE`]) as half-open sample ranges
/// `(start, end)`, in order and not overlapping. Non-finite samples count as silence.
pub fn voiced_regions(samples: &[f32], opts: &VadOptions) -> Vec<(usize, usize)> {
    let frame_len = opts.frame_len();
    let mut vad = FrameVad::new(opts);
    let mut frames = Vec::new();
    for frame in samples.chunks(frame_len) {
        frames.extend(vad.push(frame_level_dbfs(frame)));
    }
    frames.extend(vad.finish());
    frames
        .into_iter()
        .map(|(s, e)| (s * frame_len, (e * frame_len).min(samples.len())))
        .collect()
}

/// RMS level of a frame in dBFS; non-finite samples count as zero, an empty or silent frame
/// is [`SILENT_DBFS`].
pub(crate) fn frame_level_dbfs(frame: &[f32]) -> f32 {
    if frame.is_empty() {
        return SILENT_DBFS;
    }
    let energy: f64 = frame
        .iter()
        .map(|&x| if x.is_finite() { f64::from(x) } else { 0.0 })
        .map(|x| x * x)
        .sum::<f64>()
        / frame.len() as f64;
    if energy <= 0.0 {
        return SILENT_DBFS;
    }
    ((10.0 * energy.log10()) as f32).max(SILENT_DBFS)
}

/// The streaming detector: one level per frame in, closed regions (in frames) out.
#[derive(Debug)]
pub(crate) struct FrameVad {
    min_level_dbfs: f32,
    above_floor_db: f32,
    floor_window: usize,
    hangover: usize,
    min_speech: usize,
    /// Levels of the last `floor_window` frames, for the noise floor.
    recent: VecDeque<f32>,
    /// Index of the next frame.
    frame: usize,
    /// Start of the open region, if any.
    open: Option<usize>,
    /// Last voiced frame of the open region.
    last_voiced: usize,
}

impl FrameVad {
    pub(crate) fn new(opts: &VadOptions) -> Self {
        let floor_window = opts.frames(opts.floor_window_ms).max(1);
        Self {
            min_level_dbfs: opts.min_level_dbfs,
            above_floor_db: opts.above_floor_db,
            floor_window,
            hangover: opts.frames(opts.hangover_ms),
            min_speech: opts.frames(opts.min_speech_ms).max(1),
            // The floor starts unknown (silent), so speech at the very start of the audio is
            // not lost; steady noise there counts as voiced until the window has seen it.
            recent: std::iter::repeat_n(SILENT_DBFS, floor_window).collect(),
            frame: 0,
            open: None,
            last_voiced: 0,
        }
    }

    /// Start frame of the region being read, if speech is going on.
    pub(crate) fn open_start(&self) -> Option<usize> {
        self.open
    }

    /// Moves the start of the open region to `frame` (after the caller has cut the region's
    /// beginning off to transcribe it separately).
    pub(crate) fn restart_open_at(&mut self, frame: usize) {
        if let Some(start) = self.open.as_mut() {
            *start = frame.max(*start);
        }
    }

    /// Feeds the next frame's level; returns a region `(start, end)` in frames when one
    /// closes (its hangover ran out) and is long enough.
    pub(crate) fn push(&mut self, level_dbfs: f32) -> Option<(usize, usize)> {
        let level = if level_dbfs.is_finite() {
            level_dbfs
        } else {
            SILENT_DBFS
        };
        if self.recent.len() == self.floor_window {
            self.recent.pop_front();
        }
        self.recent.push_back(level);
        let floor = self.recent.iter().copied().fold(f32::INFINITY, f32::min);
        let voiced = level >= self.min_level_dbfs && level >= floor + self.above_floor_db;
        let k = self.frame;
        self.frame += 1;
        if voiced {
            self.open.get_or_insert(k);
            self.last_voiced = k;
            return None;
        }
        match self.open {
            Some(_) if k - self.last_voiced > self.hangover => self.close(),
            _ => None,
        }
    }

    /// Ends the stream: closes the open region, if any and long enough.
    pub(crate) fn finish(&mut self) -> Option<(usize, usize)> {
        self.close()
    }

    fn close(&mut self) -> Option<(usize, usize)> {
        let start = self.open.take()?;
        let end = self.last_voiced + 1;
        (end > start && end - start >= self.min_speech).then_some((start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: usize = SAMPLE_RATE as usize;

    /// A 220 Hz tone at `amplitude` for `seconds`.
    fn tone(seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (seconds * SR as f64) as usize;
        (0..n)
            .map(|i| amplitude * (i as f32 * 220.0 * std::f32::consts::TAU / SR as f32).sin())
            .collect()
    }

    fn silence(seconds: f64) -> Vec<f32> {
        vec![0.0; (seconds * SR as f64) as usize]
    }

    fn concat(parts: &[Vec<f32>]) -> Vec<f32> {
        parts.concat()
    }

    fn seconds(regions: &[(usize, usize)]) -> Vec<(f64, f64)> {
        regions
            .iter()
            .map(|&(s, e)| (s as f64 / SR as f64, e as f64 / SR as f64))
            .collect()
    }

    fn assert_near(got: f64, want: f64, what: &str) {
        assert!(
            (got - want).abs() <= 0.031,
            "{what}: got {got:.3}, want {want:.3}"
        );
    }

    #[test]
    fn digital_silence_has_no_regions() {
        assert!(voiced_regions(&silence(5.0), &VadOptions::default()).is_empty());
        assert!(voiced_regions(&[], &VadOptions::default()).is_empty());
    }

    #[test]
    fn a_tone_between_silences_is_found_with_frame_accuracy() {
        let audio = concat(&[silence(1.0), tone(2.0, 0.3), silence(1.5)]);
        let regions = seconds(&voiced_regions(&audio, &VadOptions::default()));
        assert_eq!(regions.len(), 1, "{regions:?}");
        assert_near(regions[0].0, 1.0, "start");
        assert_near(regions[0].1, 3.0, "end");
    }

    #[test]
    fn short_pauses_are_bridged_long_ones_split() {
        let audio = concat(&[
            tone(1.0, 0.3),
            silence(0.2), // shorter than the 300 ms hangover: same region
            tone(1.0, 0.3),
            silence(0.8), // longer: a new region
            tone(1.0, 0.3),
        ]);
        let regions = seconds(&voiced_regions(&audio, &VadOptions::default()));
        assert_eq!(regions.len(), 2, "{regions:?}");
        assert_near(regions[0].1, 2.2, "first end");
        assert_near(regions[1].0, 3.0, "second start");
        assert_near(regions[1].1, 4.0, "second end");
    }

    #[test]
    fn clicks_shorter_than_min_speech_are_dropped() {
        let audio = concat(&[silence(1.0), tone(0.1, 0.5), silence(1.0)]);
        assert!(voiced_regions(&audio, &VadOptions::default()).is_empty());
    }

    #[test]
    fn quiet_hiss_is_below_the_absolute_floor() {
        let audio = concat(&[tone(2.0, 0.001), silence(0.5)]); // about −63 dBFS
        assert!(voiced_regions(&audio, &VadOptions::default()).is_empty());
    }

    #[test]
    fn steady_noise_raises_the_floor_but_louder_speech_still_counts() {
        // Steady tone at −26 dBFS (above the absolute floor), then a louder burst on top.
        let hum = tone(6.0, 0.07);
        let mut audio = hum.clone();
        for (i, x) in tone(1.0, 0.6).iter().enumerate() {
            audio[4 * SR + i] += x;
        }
        let regions = seconds(&voiced_regions(&audio, &VadOptions::default()));
        // The hum counts as voiced until the floor window (3 s) has seen it; after that only
        // the burst does.
        assert!(regions[0].0 < 0.1 && regions[0].1 < 3.5, "{regions:?}");
        let burst: Vec<_> = regions.iter().filter(|r| r.0 > 1.0).collect();
        assert_eq!(burst.len(), 1, "{regions:?}");
        assert_near(burst[0].0, 4.0, "burst start");
        assert_near(burst[0].1, 5.0, "burst end");
    }

    #[test]
    fn nan_and_infinite_samples_count_as_silence() {
        let audio = vec![f32::NAN; SR];
        assert!(voiced_regions(&audio, &VadOptions::default()).is_empty());
        assert_eq!(frame_level_dbfs(&[f32::INFINITY, 0.0]), SILENT_DBFS);
    }

    #[test]
    fn speech_running_to_the_end_is_closed() {
        let audio = concat(&[silence(0.5), tone(1.0, 0.3)]);
        let regions = voiced_regions(&audio, &VadOptions::default());
        assert_eq!(regions.len(), 1);
        assert_eq!(regions[0].1, audio.len());
    }
}
