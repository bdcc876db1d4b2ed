//! Audio decoding: the best audio stream of any file FFmpeg can read (WAV, MP3, Ogg/Opus,
//! FLAC, AAC/M4A, the audio track of MP4/WebM/MKV videos …) as 16 kHz mono `f32`, the input
//! speech recognition wants, delivered in fixed-length chunks so memory stays bounded
//! however long the file is. The container is found by content sniffing, not by extension.

use std::ops::ControlFlow;
use std::path::Path;

use ffmpeg::format::{sample::Type as SampleType, Sample};
use ffmpeg::software::resampling;
use ffmpeg::{frame, media, ChannelLayout, Dictionary};
use ffmpeg_next as ffmpeg;

use crate::decode;
use crate::MediaError;

/// Sample rate of the decoded output, in Hz (what Whisper expects).
pub const SAMPLE_RATE: u32 = 16_000;

/// Shortest and longest chunk [`decode_audio`] delivers, in seconds.
const CHUNK_RANGE_S: (f64, f64) = (0.01, 600.0);
/// Output samples reserved per resampler call beyond the exact rate ratio, to hold the
/// resampler's filter delay.
const RESAMPLER_HEADROOM: usize = 256;
/// At most this many `flush` calls drain the resampler at the end.
const MAX_FLUSHES: usize = 64;

/// Limits that make an oversized audio file fail fast.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioLimits {
    /// Longest accepted duration in seconds (default 3 h). Checked against the header
    /// before decoding, and against the decoded output while decoding.
    pub max_duration_s: f64,
}

impl Default for AudioLimits {
    fn default() -> Self {
        AudioLimits {
            max_duration_s: 3.0 * 3600.0,
        }
    }
}

/// What [`decode_audio`] decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSummary {
    /// Length of the 16 kHz output in seconds (output samples / [`SAMPLE_RATE`]).
    pub duration_s: f64,
    /// FFmpeg's short codec name, e.g. `mp3`, `opus`, `aac`, `pcm_s16le`.
    pub codec: String,
    /// Sample rate of the source stream in Hz.
    pub source_rate: u32,
    /// Channels of the source stream (the output is always mono).
    pub channels: u16,
    /// `Some(reason)` when part of the file could not be read or decoded (corrupt or cut
    /// off): the output covers only what could be decoded.
    pub truncated: Option<String>,
}

/// Decodes the best audio stream of `path` to mono `f32` at [`SAMPLE_RATE`] and hands it to
/// `on_chunk` in chunks of `chunk_s` seconds (the last one shorter; `chunk_s` is clamped to
/// 0.01–600 s), each with the time of its first sample in seconds. `on_chunk` returns
/// `ControlFlow::Break(())` to stop early.
///
/// Errors: `Empty`, `Io`, `Unsupported` (not a readable container or codec),
/// `NoAudioStream`, `TooLong` (announced or decoded duration over `limits`), and `Decode`
/// when corrupt data stops decoding before a single sample came out. Corrupt data after
/// that, or data that ends well before the duration the file's header announces (a file cut
/// off between two packets decodes without an error), gives `Ok` with
/// [`AudioSummary::truncated`] set.
pub fn decode_audio(
    path: &Path,
    limits: &AudioLimits,
    chunk_s: f64,
    on_chunk: impl FnMut(&[f32], f64) -> ControlFlow<()>,
) -> Result<AudioSummary, MediaError> {
    let mut input = decode::open_input(path)?;
    let stream = input
        .streams()
        .best(media::Type::Audio)
        .ok_or(MediaError::NoAudioStream)?;
    let index = stream.index();
    if let Some(duration_s) = decode::announced_duration(&input, &stream)
        .filter(|&duration_s| duration_s > limits.max_duration_s)
    {
        return Err(MediaError::TooLong {
            duration_s,
            max_s: limits.max_duration_s,
        });
    }
    let trusted_s = decode::trusted_duration(&input, &stream);
    let codec = stream.parameters().id().name().to_string();
    let mut decoder = decode::open_decoder(&stream, Dictionary::new())?
        .audio()
        .map_err(|e| MediaError::Unsupported(format!("not an audio decoder: {e}")))?;
    let (source_rate, channels) = (decoder.rate(), decoder.channels());

    let mut chunker = Chunker::new(chunk_s, limits, on_chunk);
    let mut resampler = Resampler::default();
    let mut frame = frame::Audio::empty();
    let end = decode::run(&mut input, index, &mut decoder, &mut frame, |frame| {
        resampler.push(frame, &mut chunker)
    })?;
    if !chunker.stopped && resampler.flush(&mut chunker)?.is_continue() {
        chunker.finish();
    }
    if chunker.total == 0 {
        if let Some(why) = end.first_error {
            return Err(MediaError::Decode(why));
        }
    }
    let duration_s = chunker.total as f64 / f64::from(SAMPLE_RATE);
    // A file cut off between two packets decodes without an error: only the length the
    // header announced (e.g. an MP3's Xing frame count) shows that most of it is missing.
    let cut_off = trusted_s
        .filter(|&announced| !chunker.stopped && duration_s < announced - cut_off_slack(announced))
        .map(|announced| {
            format!("the header announces {announced:.2} s of audio, the data ends at {duration_s:.2} s")
        });
    if chunker.total == 0 {
        if let Some(why) = cut_off {
            return Err(MediaError::Decode(why));
        }
    }
    Ok(AudioSummary {
        duration_s,
        codec,
        source_rate,
        channels,
        truncated: end.first_error.or(cut_off),
    })
}

/// How much shorter than announced decoded audio may be and still count as whole: encoder
/// delay and padding are tens of milliseconds; a cut-off file misses more.
fn cut_off_slack(announced_s: f64) -> f64 {
    (0.02 * announced_s).max(0.5)
}

/// Collects output samples into chunks and hands each full one to the callback.
struct Chunker<C> {
    on_chunk: C,
    buffer: Vec<f32>,
    chunk_len: usize,
    /// Samples produced so far, delivered or buffered.
    total: u64,
    /// Samples handed to the callback so far.
    delivered: u64,
    max_samples: u64,
    max_s: f64,
    stopped: bool,
}

impl<C: FnMut(&[f32], f64) -> ControlFlow<()>> Chunker<C> {
    fn new(chunk_s: f64, limits: &AudioLimits, on_chunk: C) -> Self {
        let (shortest, longest) = CHUNK_RANGE_S;
        let chunk_s = if chunk_s.is_nan() {
            shortest
        } else {
            chunk_s.clamp(shortest, longest)
        };
        let chunk_len = (chunk_s * f64::from(SAMPLE_RATE)).round() as usize;
        Chunker {
            on_chunk,
            buffer: Vec::with_capacity(chunk_len),
            chunk_len,
            total: 0,
            delivered: 0,
            // Saturates for infinite limits.
            max_samples: (limits.max_duration_s * f64::from(SAMPLE_RATE)).ceil() as u64,
            max_s: limits.max_duration_s,
            stopped: false,
        }
    }

    /// Adds samples, delivering every chunk they complete.
    fn push(&mut self, mut samples: &[f32]) -> Result<ControlFlow<()>, MediaError> {
        self.total += samples.len() as u64;
        if self.total > self.max_samples {
            return Err(MediaError::TooLong {
                duration_s: self.total as f64 / f64::from(SAMPLE_RATE),
                max_s: self.max_s,
            });
        }
        while !samples.is_empty() {
            let take = (self.chunk_len - self.buffer.len()).min(samples.len());
            self.buffer.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.buffer.len() == self.chunk_len && self.deliver().is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Delivers the last, partial chunk.
    fn finish(&mut self) {
        if !self.buffer.is_empty() {
            let _ = self.deliver();
        }
    }

    fn deliver(&mut self) -> ControlFlow<()> {
        let t = self.delivered as f64 / f64::from(SAMPLE_RATE);
        let flow = (self.on_chunk)(&self.buffer, t);
        self.delivered += self.buffer.len() as u64;
        self.buffer.clear();
        if flow.is_break() {
            self.stopped = true;
        }
        flow
    }
}

/// A resampler from the current decoded frame format to 16 kHz mono f32, rebuilt when the
/// frame format, layout or rate changes mid-stream.
#[derive(Default)]
struct Resampler {
    context: Option<resampling::Context>,
}

impl Resampler {
    fn push<C: FnMut(&[f32], f64) -> ControlFlow<()>>(
        &mut self,
        frame: &mut frame::Audio,
        chunker: &mut Chunker<C>,
    ) -> Result<ControlFlow<()>, MediaError> {
        if frame.samples() == 0 {
            return Ok(ControlFlow::Continue(()));
        }
        if frame.channel_layout().is_empty() {
            // Some decoders (PCM in WAV without a channel mask) leave the layout unset.
            frame.set_channel_layout(ChannelLayout::default(i32::from(frame.channels())));
        }
        let changed = self.context.as_ref().is_none_or(|context| {
            let input = context.input();
            input.format != frame.format()
                || input.channel_layout != frame.channel_layout()
                || input.rate != frame.rate()
        });
        if changed {
            if self.flush(chunker)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
            let context = resampling::Context::get(
                frame.format(),
                frame.channel_layout(),
                frame.rate(),
                Sample::F32(SampleType::Packed),
                ChannelLayout::MONO,
                SAMPLE_RATE,
            )
            .map_err(|e| MediaError::Decode(format!("cannot resample: {e}")))?;
            self.context = Some(context);
        }
        let Some(context) = &mut self.context else {
            return Ok(ControlFlow::Continue(()));
        };
        let expected = (frame.samples() as u64 * u64::from(SAMPLE_RATE))
            .div_ceil(u64::from(frame.rate().max(1)));
        let mut out = output_frame(expected as usize + RESAMPLER_HEADROOM);
        context
            .run(frame, &mut out)
            .map_err(|e| MediaError::Decode(format!("cannot resample: {e}")))?;
        chunker.push(&samples(&out))
    }

    /// Drains what the resampler still holds (its filter delay) into `chunker`.
    fn flush<C: FnMut(&[f32], f64) -> ControlFlow<()>>(
        &mut self,
        chunker: &mut Chunker<C>,
    ) -> Result<ControlFlow<()>, MediaError> {
        let Some(context) = &mut self.context else {
            return Ok(ControlFlow::Continue(()));
        };
        for _ in 0..MAX_FLUSHES {
            let mut out = output_frame(RESAMPLER_HEADROOM * 16);
            if context.flush(&mut out).is_err() {
                break;
            }
            let drained = samples(&out);
            if drained.is_empty() {
                break;
            }
            if chunker.push(&drained)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// A fresh output frame with room for `capacity` samples. Fresh every time: the resampler
/// only sizes an output frame on first use, so reusing one silently truncates (media
/// recipe PITFALL).
fn output_frame(capacity: usize) -> frame::Audio {
    let mut out = frame::Audio::new(
        Sample::F32(SampleType::Packed),
        capacity,
        ChannelLayout::MONO,
    );
    out.set_rate(SAMPLE_RATE);
    out
}

/// The mono f32 samples of a resampler output frame.
fn samples(out: &frame::Audio) -> Vec<f32> {
    if out.samples() == 0 || out.planes() == 0 {
        return Vec::new();
    }
    let bytes = out.data(0);
    let len = (out.samples() * 4).min(bytes.len());
    bytes[..len]
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
