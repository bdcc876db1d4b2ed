//! Streaming transcription: VAD → windows of voiced audio → Whisper → timed segments.

use std::os::raw::c_int;

use whisper_rs::{FullParams, SamplingStrategy, WhisperState};

use crate::vad::{frame_level_dbfs, FrameVad, VadOptions};
use crate::{SpeechError, SpeechModel, SAMPLE_RATE};

/// Longest window Whisper accepts in one pass, in seconds (its encoder sees 30 s).
const WHISPER_WINDOW_S: f64 = 30.0;
/// Windows shorter than this (in samples) are padded with trailing silence.
const MIN_WHISPER_INPUT: usize = SAMPLE_RATE as usize;
/// Most threads a transcriber may use.
const MAX_THREADS: usize = 64;

/// How to transcribe: threads, voice activity detection and windowing.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeOptions {
    /// whisper.cpp threads per window (default 1; on a loaded machine more was slower).
    pub threads: usize,
    /// The voice activity detector's settings.
    pub vad: VadOptions,
    /// Longest stretch of voiced audio sent to Whisper at once, before padding (default
    /// 28 s; at most 29 s, since the padded window must fit Whisper's 30 s). Longer speech
    /// is cut at its quietest frame near the limit.
    pub max_window_s: f64,
    /// Audio kept on each side of a window so word edges are not clipped (default 0.2 s).
    pub pad_s: f64,
    /// Digital silence put before each window (default 1 s). Whisper (tiny.en above all)
    /// misreads speech that starts right at the beginning of its input; a second of silence
    /// in front fixed words such as "This is" → "Listen" on the fixtures (total WER 0.159 →
    /// 0.141). Segment
    /// times are corrected for it and never start before the window's real audio.
    pub lead_silence_s: f64,
    /// Silence longer than this ends a window (default 1.5 s): the next speech starts a new
    /// one, so a segment's start is never pulled back over a long pause.
    pub join_gap_s: f64,
    /// Shrink Whisper's encoder context to the window's length plus this many seconds
    /// (`audio_ctx`; default 7 s; `None`: always the full 30 s, whisper.cpp's default). The
    /// encoder otherwise costs the same for 3 s of speech as for 30 s. On the fixtures, 7 s
    /// kept every word (total WER 0.141, as with the full context) at less than half the
    /// CPU (RTF 0.133 against 0.290); 2 s and 4 s were faster but misread short clips (WER
    /// 0.154).
    pub fit_context_margin_s: Option<f64>,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            threads: 1,
            vad: VadOptions::default(),
            max_window_s: 28.0,
            pad_s: 0.2,
            lead_silence_s: 1.0,
            join_gap_s: 1.5,
            fit_context_margin_s: Some(7.0),
        }
    }
}

/// A stretch of recognised speech. Times are seconds from the start of the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Where the segment starts.
    pub t_start: f64,
    /// Where the segment ends.
    pub t_end: f64,
    /// The words, trimmed, with bracketed non-speech tags such as `[BLANK_AUDIO]` removed.
    pub text: String,
}

/// What a transcription covered.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TranscribeStats {
    /// Length of the audio in seconds.
    pub audio_s: f64,
    /// Seconds the VAD found voiced (before padding).
    pub voiced_s: f64,
    /// Whisper calls made (one per window); 0 for silence.
    pub windows: u32,
}

/// Window boundaries in frames, computed once from the options.
#[derive(Debug, Clone, Copy)]
struct Limits {
    frame_len: usize,
    max_frames: usize,
    /// How far back from the limit a long region's cut may go.
    search_frames: usize,
    join_gap_frames: usize,
    /// Samples of real audio around a window.
    pad: usize,
    /// Samples of digital silence before a window.
    lead_silence: usize,
}

/// Streaming transcriber: feed audio with [`Transcriber::push`] in chunks of any size and
/// collect segments as their windows complete; [`Transcriber::finish`] flushes the rest.
///
/// Memory is bounded by one window (≤ ~29 s of samples plus padding) whatever the length of
/// the audio. The output does not depend on how the audio is chunked.
pub struct Transcriber<'m> {
    model: &'m SpeechModel,
    state: WhisperState,
    threads: c_int,
    fit_context_margin_s: Option<f64>,
    vad: FrameVad,
    limits: Limits,
    /// Sanitised samples from absolute sample index `origin` on.
    buf: Vec<f32>,
    /// The audio of the window being transcribed (lead silence + samples), reused.
    window_audio: Vec<f32>,
    origin: usize,
    /// Samples pushed so far.
    total: usize,
    /// Frames whose level has been computed.
    frames_done: usize,
    /// Levels of the most recent frames (at most `search_frames`), for cutting long speech.
    recent_levels: std::collections::VecDeque<(usize, f32)>,
    /// Closed regions grouped so far, as a frame range, waiting to be transcribed.
    window: Option<(usize, usize)>,
    /// Where the open region's current piece starts if its beginning was already cut off
    /// (so the piece gets no leading pad: the audio before it was transcribed).
    cut_at: Option<usize>,
    voiced_frames: usize,
    windows: u32,
    ready: Vec<Segment>,
}

impl std::fmt::Debug for Transcriber<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber")
            .field("model", &self.model.name_version())
            .field("total", &self.total)
            .field("window", &self.window)
            .field("windows", &self.windows)
            .finish_non_exhaustive()
    }
}

impl<'m> Transcriber<'m> {
    /// Starts a transcription with `model`; checks the options.
    pub fn new(model: &'m SpeechModel, opts: TranscribeOptions) -> Result<Self, SpeechError> {
        if opts.threads == 0 || opts.threads > MAX_THREADS {
            return Err(SpeechError::InvalidOption(
                "threads must be between 1 and 64",
            ));
        }
        let max_window_ok = opts.max_window_s.is_finite()
            && opts.max_window_s >= 1.0
            && opts.max_window_s <= WHISPER_WINDOW_S - 1.0;
        if !max_window_ok {
            return Err(SpeechError::InvalidOption(
                "max_window_s must be between 1 and 29",
            ));
        }
        if !(opts.pad_s.is_finite() && (0.0..=0.5).contains(&opts.pad_s)) {
            return Err(SpeechError::InvalidOption(
                "pad_s must be between 0 and 0.5",
            ));
        }
        if !(opts.lead_silence_s.is_finite() && (0.0..=1.0).contains(&opts.lead_silence_s)) {
            return Err(SpeechError::InvalidOption(
                "lead_silence_s must be between 0 and 1",
            ));
        }
        if !(opts.join_gap_s.is_finite() && (0.0..=30.0).contains(&opts.join_gap_s)) {
            return Err(SpeechError::InvalidOption(
                "join_gap_s must be between 0 and 30",
            ));
        }
        if !(1..=1000).contains(&opts.vad.frame_ms) {
            return Err(SpeechError::InvalidOption(
                "vad.frame_ms must be between 1 and 1000",
            ));
        }
        if opts.vad.floor_window_ms > 60_000
            || opts.vad.hangover_ms > 10_000
            || opts.vad.min_speech_ms > 10_000
        {
            return Err(SpeechError::InvalidOption("vad durations are too long"));
        }
        if opts.max_window_s + 2.0 * opts.pad_s + opts.lead_silence_s > WHISPER_WINDOW_S {
            return Err(SpeechError::InvalidOption(
                "max_window_s + 2 pad_s + lead_silence_s must fit in Whisper's 30 s",
            ));
        }
        let frame_ms = f64::from(opts.vad.frame_ms);
        let frames_of = |s: f64| (s * 1000.0 / frame_ms).floor() as usize;
        let limits = Limits {
            frame_len: opts.vad.frame_len(),
            max_frames: frames_of(opts.max_window_s).max(1),
            search_frames: frames_of((opts.max_window_s / 2.0).min(5.0)).max(1),
            join_gap_frames: frames_of(opts.join_gap_s),
            pad: (opts.pad_s * f64::from(SAMPLE_RATE)) as usize,
            lead_silence: (opts.lead_silence_s * f64::from(SAMPLE_RATE)) as usize,
        };
        let state = model
            .ctx
            .create_state()
            .map_err(|e| SpeechError::whisper("creating a state", e))?;
        Ok(Self {
            model,
            state,
            threads: opts.threads as c_int,
            fit_context_margin_s: opts.fit_context_margin_s,
            vad: FrameVad::new(&opts.vad),
            limits,
            buf: Vec::new(),
            window_audio: Vec::new(),
            origin: 0,
            total: 0,
            frames_done: 0,
            recent_levels: std::collections::VecDeque::new(),
            window: None,
            cut_at: None,
            voiced_frames: 0,
            windows: 0,
            ready: Vec::new(),
        })
    }

    /// Adds audio (mono `f32` at [`SAMPLE_RATE`]; NaN and infinities become 0, values are
    /// clipped to ±1) and returns the segments of every window completed so far.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<Segment>, SpeechError> {
        self.buf.extend(samples.iter().map(|&x| sanitise(x)));
        self.total += samples.len();
        let frame_len = self.limits.frame_len;
        while (self.frames_done + 1) * frame_len <= self.total {
            let start = self.frames_done * frame_len - self.origin;
            let level = frame_level_dbfs(&self.buf[start..start + frame_len]);
            self.on_frame(level)?;
        }
        self.trim();
        Ok(std::mem::take(&mut self.ready))
    }

    /// Ends the audio: transcribes what is left and returns the last segments with the
    /// statistics of the whole transcription.
    pub fn finish(mut self) -> Result<(Vec<Segment>, TranscribeStats), SpeechError> {
        let frame_len = self.limits.frame_len;
        let tail = self.frames_done * frame_len;
        if tail < self.total {
            let level = frame_level_dbfs(&self.buf[tail - self.origin..]);
            self.on_frame(level)?;
        }
        if let Some(region) = self.vad.finish() {
            self.on_region(region)?;
        }
        if let Some((start, end)) = self.window.take() {
            let lead_pad = self.cut_at != Some(start);
            self.run_window(start, end, lead_pad, true)?;
        }
        let stats = TranscribeStats {
            audio_s: self.total as f64 / f64::from(SAMPLE_RATE),
            voiced_s: (self.voiced_frames * frame_len) as f64 / f64::from(SAMPLE_RATE),
            windows: self.windows,
        };
        Ok((std::mem::take(&mut self.ready), stats))
    }

    fn on_frame(&mut self, level: f32) -> Result<(), SpeechError> {
        let k = self.frames_done;
        self.frames_done += 1;
        if self.recent_levels.len() == self.limits.search_frames {
            self.recent_levels.pop_front();
        }
        self.recent_levels.push_back((k, level));
        if let Some(region) = self.vad.push(level) {
            self.on_region(region)?;
        }
        let Limits {
            max_frames,
            join_gap_frames,
            ..
        } = self.limits;
        match (self.vad.open_start(), self.window) {
            // Silence has gone on long enough after the window: transcribe it now.
            (None, Some((start, end))) if k + 1 - end > join_gap_frames => {
                self.window = None;
                self.run_window(start, end, self.cut_at != Some(start), true)?;
            }
            // Speech is going on: make sure the window it will join stays short enough.
            (Some(open), window) => {
                let start = window.map_or(open, |w| w.0);
                if k + 1 - start > max_frames {
                    if let Some((w_start, w_end)) = self.window.take() {
                        self.run_window(w_start, w_end, self.cut_at != Some(w_start), true)?;
                    }
                    if k + 1 - open > max_frames {
                        self.cut_long_speech(open, k)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A closed region joins the pending window, or starts a new one if it would make the
    /// window too long or the pause before it is long.
    fn on_region(&mut self, (start, end): (usize, usize)) -> Result<(), SpeechError> {
        self.voiced_frames += end - start;
        let Some((w_start, w_end)) = self.window else {
            self.window = Some((start, end));
            return Ok(());
        };
        let too_long = end - w_start > self.limits.max_frames;
        let far = start.saturating_sub(w_end) > self.limits.join_gap_frames;
        if too_long || far {
            self.run_window(w_start, w_end, self.cut_at != Some(w_start), true)?;
            self.window = Some((start, end));
        } else {
            self.window = Some((w_start, end));
        }
        Ok(())
    }

    /// Speech has run without a long pause for longer than a window: transcribe its first
    /// part up to the quietest recent frame and let the rest continue as the open region.
    fn cut_long_speech(&mut self, open: usize, k: usize) -> Result<(), SpeechError> {
        let cut = self
            .recent_levels
            .iter()
            .filter(|&&(frame, _)| frame > open && frame <= k)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(k, |&(frame, _)| frame);
        let lead_pad = self.cut_at != Some(open);
        self.run_window(open, cut, lead_pad, false)?;
        self.voiced_frames += cut - open;
        self.vad.restart_open_at(cut);
        self.cut_at = Some(cut);
        Ok(())
    }

    /// Transcribes frames `[start, end)` (plus padding) and queues its segments.
    fn run_window(
        &mut self,
        start: usize,
        end: usize,
        lead_pad: bool,
        tail_pad: bool,
    ) -> Result<(), SpeechError> {
        let frame_len = self.limits.frame_len;
        let pad = self.limits.pad;
        let mut a = start * frame_len;
        if lead_pad {
            a = a.saturating_sub(pad);
        }
        let mut b = (end * frame_len).min(self.total);
        if tail_pad {
            b = (b + pad).min(self.total);
        }
        let a = a.max(self.origin);
        if b <= a {
            return Ok(());
        }
        let lead = self.limits.lead_silence;
        self.window_audio.clear();
        self.window_audio.resize(lead, 0.0);
        self.window_audio
            .extend_from_slice(&self.buf[a - self.origin..b - self.origin]);
        // Whisper skips input under 0.1 s and is unsure of very short clips: pad to 1 s.
        if self.window_audio.len() < MIN_WHISPER_INPUT {
            self.window_audio.resize(MIN_WHISPER_INPUT, 0.0);
        }
        self.windows += 1;
        let sr = f64::from(SAMPLE_RATE);
        let (first, last) = (a as f64 / sr, b as f64 / sr);
        let offset = first - lead as f64 / sr;
        let audio_ctx = self.fit_context_margin_s.map(|margin| {
            audio_context(self.window_audio.len() as f64 / SAMPLE_RATE as f64 + margin)
        });
        let segments =
            whisper_segments(&mut self.state, self.threads, audio_ctx, &self.window_audio)?;
        self.ready.extend(segments.into_iter().map(|s| {
            let t_start = (offset + s.t_start).clamp(first, last);
            Segment {
                t_start,
                t_end: (offset + s.t_end).min(last).max(t_start),
                text: s.text,
            }
        }));
        Ok(())
    }

    /// Drops samples no longer needed: everything before the pending window, the open
    /// region or the current frame, less the padding.
    fn trim(&mut self) {
        let frame_len = self.limits.frame_len;
        let first_frame = [
            self.window.map(|w| w.0),
            self.vad.open_start(),
            Some(self.frames_done),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.frames_done);
        let keep_from = (first_frame * frame_len).saturating_sub(self.limits.pad);
        if keep_from > self.origin {
            let drop = (keep_from - self.origin).min(self.buf.len());
            self.buf.drain(..drop);
            self.origin += drop;
        }
    }
}

/// Transcribes `samples` in one call: [`Transcriber::new`], one [`Transcriber::push`] and
/// [`Transcriber::finish`]. Zero samples give no segments.
pub fn transcribe(
    model: &SpeechModel,
    samples: &[f32],
    opts: &TranscribeOptions,
) -> Result<Vec<Segment>, SpeechError> {
    let mut transcriber = Transcriber::new(model, opts.clone())?;
    let mut segments = transcriber.push(samples)?;
    let (rest, _) = transcriber.finish()?;
    segments.extend(rest);
    Ok(segments)
}

fn sanitise(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// Whisper's encoder frames for `seconds` of audio (50 a second, 1500 for its full 30 s),
/// rounded up to a multiple of 64.
fn audio_context(seconds: f64) -> c_int {
    let frames = (seconds.max(0.0) * 50.0).ceil() as c_int;
    (((frames + 63) / 64) * 64).min(1500)
}

/// Runs Whisper on one window; segment times are relative to the window. `audio_ctx`
/// shrinks the encoder's context (None: the full 1500 frames).
fn whisper_segments(
    state: &mut WhisperState,
    threads: c_int,
    audio_ctx: Option<c_int>,
    audio: &[f32],
) -> Result<Vec<Segment>, SpeechError> {
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(threads);
    if let Some(ctx) = audio_ctx {
        params.set_audio_ctx(ctx);
    }
    params.set_language(Some("en"));
    params.set_translate(false);
    params.set_no_context(true);
    params.set_suppress_blank(true);
    params.set_suppress_nst(true);
    params.set_print_special(false);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    state
        .full(params, audio)
        .map_err(|e| SpeechError::whisper("transcribing", e))?;
    let mut out = Vec::new();
    for segment in state.as_iter() {
        let raw = segment
            .to_str_lossy()
            .map_err(|e| SpeechError::whisper("reading a segment", e))?;
        let Some(text) = speech_text(&raw) else {
            continue;
        };
        out.push(Segment {
            t_start: segment.start_timestamp().max(0) as f64 / 100.0,
            t_end: segment.end_timestamp().max(0) as f64 / 100.0,
            text,
        });
    }
    Ok(out)
}

/// The spoken words of a segment: bracketed or parenthesised tags (`[BLANK_AUDIO]`,
/// `(music)`, `[Music]`) and music symbols removed, whitespace collapsed; `None` when no
/// letter or digit is left.
pub(crate) fn speech_text(raw: &str) -> Option<String> {
    let mut kept = String::with_capacity(raw.len());
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            '♪' | '♫' | '♬' | '♩' => {}
            _ if depth == 0 => kept.push(c),
            _ => {}
        }
    }
    let text = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().any(char::is_alphanumeric).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_speech_tags_are_dropped() {
        for raw in [
            "[BLANK_AUDIO]",
            " (music)",
            "[Music]",
            "",
            "   ",
            "♪ ♪",
            "(wind blowing) [silence]",
            " - ...",
        ] {
            assert_eq!(speech_text(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn words_are_kept_and_tags_inside_removed() {
        assert_eq!(
            speech_text(" I am going to find you.").as_deref(),
            Some("I am going to find you.")
        );
        assert_eq!(
            speech_text(" Hello (laughs) there").as_deref(),
            Some("Hello there")
        );
        assert_eq!(
            speech_text("unbalanced ) bracket").as_deref(),
            Some("unbalanced bracket")
        );
    }

    #[test]
    fn samples_are_sanitised() {
        assert_eq!(sanitise(f32::NAN), 0.0);
        assert_eq!(sanitise(f32::NEG_INFINITY), 0.0);
        assert_eq!(sanitise(3.0), 1.0);
        assert_eq!(sanitise(-0.25), -0.25);
    }
}
