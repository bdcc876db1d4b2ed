//! Accuracy and speed on a set of recordings with reference transcripts: word error rate per
//! file and in total, and the real-time factor (CPU seconds per second of audio).

use std::fmt;
use std::time::{Duration, Instant};

use crate::wer::word_errors;
use crate::{Segment, SpeechError, SpeechModel, TranscribeOptions, Transcriber, SAMPLE_RATE};

/// One recording to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalItem {
    /// A name for the report (usually the file name).
    pub name: String,
    /// What is said in it (empty for silence).
    pub reference: String,
    /// Mono samples at [`SAMPLE_RATE`].
    pub samples: Vec<f32>,
}

/// The result for one recording.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    /// The item's name.
    pub name: String,
    /// The timed segments found.
    pub segments: Vec<Segment>,
    /// The transcript: the segments' texts joined by spaces.
    pub hypothesis: String,
    /// Word errors (substitutions + deletions + insertions), see [`crate::wer`].
    pub errors: usize,
    /// Words in the normalised reference.
    pub words: usize,
    /// `errors / words` (0 when both are 0; `errors` when the reference is empty).
    pub wer: f64,
    /// Length of the audio in seconds.
    pub audio_s: f64,
    /// Process CPU time spent transcribing it, in seconds.
    pub cpu_s: f64,
    /// Wall-clock time spent transcribing it, in seconds.
    pub wall_s: f64,
    /// Whisper calls made.
    pub windows: u32,
}

/// Results for a set of recordings: one row each and the totals.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// Per-recording results, in input order.
    pub rows: Vec<EvalRow>,
    /// Word errors over all recordings.
    pub errors: usize,
    /// Reference words over all recordings.
    pub words: usize,
    /// Total word error rate: `errors / words`.
    pub wer: f64,
    /// Total audio in seconds.
    pub audio_s: f64,
    /// Total process CPU time in seconds (with `threads = 1`, one core's worth).
    pub cpu_s: f64,
    /// Total wall-clock time in seconds.
    pub wall_s: f64,
    /// Real-time factor on CPU time: `cpu_s / audio_s` (below 1 is faster than real time).
    pub rtf: f64,
    /// Real-time factor on wall-clock time: `wall_s / audio_s`.
    pub rtf_wall: f64,
}

/// Transcribes every item with `model` and `opts` (one [`Transcriber`] each) and scores it
/// against its reference. CPU time is the whole process's, so run nothing else meanwhile
/// for meaningful speed figures.
pub fn evaluate(
    model: &SpeechModel,
    items: &[EvalItem],
    opts: &TranscribeOptions,
) -> Result<EvalReport, SpeechError> {
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let cpu_start = process_cpu_time();
        let wall_start = Instant::now();
        let mut transcriber = Transcriber::new(model, opts.clone())?;
        let mut segments = transcriber.push(&item.samples)?;
        let (rest, stats) = transcriber.finish()?;
        segments.extend(rest);
        let wall_s = wall_start.elapsed().as_secs_f64();
        let cpu_s = process_cpu_time().saturating_sub(cpu_start).as_secs_f64();
        let hypothesis = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let (errors, words) = word_errors(&item.reference, &hypothesis);
        rows.push(EvalRow {
            name: item.name.clone(),
            segments,
            hypothesis,
            errors,
            words,
            wer: ratio(errors as f64, words as f64),
            audio_s: item.samples.len() as f64 / f64::from(SAMPLE_RATE),
            cpu_s,
            wall_s,
            windows: stats.windows,
        });
    }
    let errors = rows.iter().map(|r| r.errors).sum();
    let words = rows.iter().map(|r| r.words).sum();
    let audio_s: f64 = rows.iter().map(|r| r.audio_s).sum();
    let cpu_s: f64 = rows.iter().map(|r| r.cpu_s).sum();
    let wall_s: f64 = rows.iter().map(|r| r.wall_s).sum();
    Ok(EvalReport {
        wer: ratio(errors as f64, words as f64),
        rtf: ratio(cpu_s, audio_s),
        rtf_wall: ratio(wall_s, audio_s),
        rows,
        errors,
        words,
        audio_s,
        cpu_s,
        wall_s,
    })
}

/// `num / den`, or `num` itself when `den` is 0 (so errors against an empty reference
/// still show).
fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        num
    }
}

/// CPU time used by the whole process so far (user + system, all threads). Also what
/// `cargo xtask bench video` reports a verdict's CPU time with.
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID exists on Linux
    // and the other supported Unix systems. On failure `ts` stays zero.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:>6} {:>6} {:>7} {:>8} {:>7} {:>7} {:>8} {:>8}",
            "file", "words", "errors", "WER", "audio s", "windows", "CPU s", "RTF cpu", "RTF wall"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<24} {:>6} {:>6} {:>7.3} {:>8.2} {:>7} {:>7.2} {:>8.3} {:>8.3}",
                r.name,
                r.words,
                r.errors,
                r.wer,
                r.audio_s,
                r.windows,
                r.cpu_s,
                ratio(r.cpu_s, r.audio_s),
                ratio(r.wall_s, r.audio_s),
            )?;
        }
        write!(
            f,
            "{:<24} {:>6} {:>6} {:>7.3} {:>8.2} {:>7} {:>7.2} {:>8.3} {:>8.3}",
            "total",
            self.words,
            self.errors,
            self.wer,
            self.audio_s,
            self.rows.iter().map(|r| r.windows).sum::<u32>(),
            self.cpu_s,
            self.rtf,
            self.rtf_wall,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_advances() {
        let start = process_cpu_time();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_time() > start);
    }

    #[test]
    fn ratio_of_nothing() {
        assert_eq!(ratio(3.0, 0.0), 3.0);
        assert_eq!(ratio(1.0, 4.0), 0.25);
    }
}
