//! Video frame sampling: decode every frame of the best video stream and hand out a few of
//! them as RGB24 — one per interval (1 s by default) plus one at each scene change — so the
//! image pipeline can hash and classify a video without looking at every frame.
//!
//! Scene changes are found on a 32×32 grey thumbnail of every decoded frame, compared with
//! the thumbnail of the last *sampled* frame, so a short insert (a banned still spliced into
//! an innocent clip) is sampled at its first frame even between interval targets.

use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;

use ffmpeg::format::context::Input;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::{frame, media, Dictionary, Rational, Stream};
use ffmpeg_next as ffmpeg;

use crate::decode;
use crate::MediaError;

/// Side of the grey thumbnail used for scene-change detection.
const THUMB_SIDE: u32 = 32;
/// Pixels in a scene-change thumbnail.
const THUMB_LEN: usize = (THUMB_SIDE * THUMB_SIDE) as usize;
/// Frame rate assumed for timestamps when the stream has no usable one.
const FALLBACK_FPS: f64 = 25.0;
/// Slack for floating-point timestamps landing a hair before an interval target.
const EPSILON_S: f64 = 1e-6;

/// Hard limits that make a hostile or oversized video fail fast instead of eating CPU and
/// memory. Checked against the container header before decoding and again while decoding,
/// because headers can lie.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoLimits {
    /// Longest accepted duration in seconds (default 3 h).
    pub max_duration_s: f64,
    /// Most pixels per frame, width × height (default 8192 × 4320, "8K").
    pub max_pixels: u64,
    /// Most frames decoded from one file (default 3 h at 60 fps).
    pub max_decoded_frames: u64,
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_duration_s: 3.0 * 3600.0,
            max_pixels: 8192 * 4320,
            max_decoded_frames: 3 * 3600 * 60,
        }
    }
}

/// Which frames [`sample_frames`] hands out, and at what size.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingOptions {
    /// Seconds between interval samples: the first frame at or after 0, `interval_s`,
    /// 2·`interval_s` … is sampled (default 1.0). Values below 1 ms, and NaN, count as 1 ms,
    /// i.e. every frame of any real video; `f64::INFINITY` samples only the first frame
    /// (plus scene changes).
    pub interval_s: f64,
    /// Scene-change threshold: the mean absolute difference (0..1) between a frame's 32×32
    /// grey thumbnail and that of the last sampled frame above which the frame is sampled.
    /// `None` turns scene detection off.
    ///
    /// The default, 0.12, sits between what the fixtures in `testdata/media/video` measure:
    /// the moving `testsrc2` pattern differs from the frame sampled up to 1 s earlier by at
    /// most 0.048 (`clean-testsrc.mp4`; 0.045 in the VP9 `.webm`), a static caption by
    /// 0.001 (`burned-text.mp4`), while the cuts into and out of the banned still in
    /// `banned-insert.mp4` score 0.292 (t = 8.00 s) and 0.286 (t = 11.00 s). So both cuts
    /// are found and nothing else is, with a margin of about 2.5× either way.
    pub scene_threshold: Option<f32>,
    /// Minimum seconds between a sample and a following scene-change sample (default 0.25),
    /// so flashes and fades cannot turn every frame into a sample.
    pub min_scene_gap_s: f64,
    /// Downscale sampled frames so the longer side is at most this many pixels, keeping the
    /// aspect ratio (default `Some(1024)`); `None` keeps the native size.
    pub max_side: Option<u32>,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            interval_s: 1.0,
            scene_threshold: Some(0.12),
            min_scene_gap_s: 0.25,
            max_side: Some(1024),
        }
    }
}

/// What the container says about a video, from [`probe`].
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Announced duration in seconds, when the container gives one.
    pub duration_s: Option<f64>,
    /// Frame width in pixels as announced (0 when unknown until decoding).
    pub width: u32,
    /// Frame height in pixels as announced (0 when unknown until decoding).
    pub height: u32,
    /// Average frame rate, 0.0 when unknown.
    pub fps: f64,
    /// Announced number of frames, when the container gives one.
    pub frames: Option<u64>,
    /// FFmpeg's short codec name, e.g. `h264` or `vp9`.
    pub codec: String,
    /// Whether the file also has an audio stream (worth transcribing).
    pub has_audio: bool,
}

/// Why a frame was sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleReason {
    /// It is the first frame at or after an interval target.
    Interval,
    /// It differs from the last sampled frame by more than the scene threshold. Takes
    /// precedence when a frame is both.
    SceneChange,
}

/// One sampled frame, owned by the callback.
#[derive(Clone)]
pub struct SampledFrame {
    /// Index of the frame among all decoded frames (0-based, presentation order).
    pub frame_number: u64,
    /// Presentation time in seconds from the start of the stream.
    pub t: f64,
    /// Width of `rgb` in pixels (after any downscaling).
    pub width: u32,
    /// Height of `rgb` in pixels (after any downscaling).
    pub height: u32,
    /// Packed RGB24 pixels, row by row, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Why this frame was sampled.
    pub reason: SampleReason,
}

impl fmt::Debug for SampledFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SampledFrame")
            .field("frame_number", &self.frame_number)
            .field("t", &self.t)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("rgb_len", &self.rgb.len())
            .field("reason", &self.reason)
            .finish()
    }
}

/// What [`sample_frames`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSummary {
    /// Frames decoded (every frame, not only the sampled ones).
    pub decoded_frames: u64,
    /// Frames handed to the callback.
    pub sampled_frames: u64,
    /// End time of the last decoded frame in seconds (start + its duration).
    pub duration_s: f64,
    /// `Some(reason)` when part of the file could not be read or decoded (corrupt or cut
    /// off) after at least one frame was: the samples cover only what could be decoded.
    pub truncated: Option<String>,
}

/// Reads the container header of a video: duration, size, frame rate, codec.
///
/// Refuses the file with the same checks [`sample_frames`] makes before decoding: empty
/// file, not a readable container, no video stream, announced duration or frame size over
/// `limits`. Cheap: no frame is decoded.
pub fn probe(path: &Path, limits: &VideoLimits) -> Result<VideoInfo, MediaError> {
    let input = decode::open_input(path)?;
    let (_, info) = checked_stream(&input, limits)?;
    Ok(info)
}

/// Decodes every frame of the best video stream of `path` and hands the sampled ones
/// (see [`SamplingOptions`]) to `on_frame` as RGB24, in presentation order.
///
/// `on_frame` returns `ControlFlow::Break(())` to stop early (the summary then counts what
/// was decoded so far). Memory stays bounded by one decoded frame, one RGB frame and two
/// thumbnails, whatever the length of the video.
///
/// Errors: see [`probe`]; also `TooLarge`, `TooLong` or `TooManyFrames` when decoding
/// crosses a limit the header did not announce, and `Decode` when not one frame decodes.
/// Corrupt data after the first frame gives `Ok` with [`SampleSummary::truncated`] set.
pub fn sample_frames(
    path: &Path,
    opts: &SamplingOptions,
    limits: &VideoLimits,
    on_frame: impl FnMut(SampledFrame) -> ControlFlow<()>,
) -> Result<SampleSummary, MediaError> {
    let mut input = decode::open_input(path)?;
    let (index, info) = checked_stream(&input, limits)?;
    let stream = input.stream(index).ok_or(MediaError::NoVideoStream)?;
    let clock = Clock::new(&stream, info.fps);
    let mut options = Dictionary::new();
    // FFmpeg then refuses oversized frames itself, before allocating them.
    let max_pixels = limits.max_pixels.min(i32::MAX as u64);
    options.set("max_pixels", &max_pixels.to_string());
    let mut decoder = decode::open_decoder(&stream, options)?
        .video()
        .map_err(|e| MediaError::Unsupported(format!("not a video decoder: {e}")))?;

    let mut sampler = Sampler::new(opts, limits, clock, on_frame);
    let mut frame = frame::Video::empty();
    let end = decode::run(&mut input, index, &mut decoder, &mut frame, |frame| {
        sampler.push(frame)
    })?;
    if sampler.decoded == 0 {
        let why = end.first_error.unwrap_or_else(|| "no frame decoded".into());
        return Err(MediaError::Decode(why));
    }
    Ok(SampleSummary {
        decoded_frames: sampler.decoded,
        sampled_frames: sampler.sampled,
        duration_s: sampler.end_s,
        truncated: end.first_error,
    })
}

/// Finds the best video stream and checks the header against `limits`.
fn checked_stream(input: &Input, limits: &VideoLimits) -> Result<(usize, VideoInfo), MediaError> {
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or(MediaError::NoVideoStream)?;
    let (width, height) = announced_size(&stream);
    let duration_s = decode::announced_duration(input, &stream);
    let info = VideoInfo {
        duration_s,
        width,
        height,
        fps: frame_rate(&stream),
        frames: u64::try_from(stream.frames()).ok().filter(|&n| n > 0),
        codec: stream.parameters().id().name().to_string(),
        has_audio: input.streams().best(media::Type::Audio).is_some(),
    };
    if let Some(duration_s) = duration_s.filter(|&d| d > limits.max_duration_s) {
        return Err(MediaError::TooLong {
            duration_s,
            max_s: limits.max_duration_s,
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooLarge { width, height });
    }
    Ok((stream.index(), info))
}

/// Frame size from the stream's codec parameters (0×0 when the header does not say).
fn announced_size(stream: &Stream) -> (u32, u32) {
    let parameters = stream.parameters();
    // SAFETY: `as_ptr` points at the stream's live AVCodecParameters, owned by the format
    // context that `stream` borrows; this reads two plain integer fields.
    let (width, height) = unsafe {
        let raw = parameters.as_ptr();
        ((*raw).width, (*raw).height)
    };
    (
        u32::try_from(width).unwrap_or(0),
        u32::try_from(height).unwrap_or(0),
    )
}

/// Average frame rate, else the base rate, else 0.0.
fn frame_rate(stream: &Stream) -> f64 {
    [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .map(rational)
        .find(|fps| fps.is_finite() && *fps > 0.0 && *fps <= 1000.0)
        .unwrap_or(0.0)
}

fn rational(r: Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        f64::from(r.numerator()) / f64::from(r.denominator())
    }
}

/// Turns frame timestamps into seconds from the start of the stream.
struct Clock {
    time_base: f64,
    /// Timestamp of t = 0: the stream's start time, else the first frame's timestamp.
    start: Option<i64>,
    fps: f64,
}

impl Clock {
    fn new(stream: &Stream, fps: f64) -> Self {
        let start = stream.start_time();
        Clock {
            time_base: rational(stream.time_base()),
            start: (start != ffmpeg::ffi::AV_NOPTS_VALUE).then_some(start),
            fps: if fps > 0.0 { fps } else { FALLBACK_FPS },
        }
    }

    /// Start time of a frame: its best-effort timestamp, or its index at the frame rate
    /// when it has none.
    fn time(&mut self, frame: &frame::Video, index: u64) -> f64 {
        match frame.timestamp().filter(|_| self.time_base > 0.0) {
            Some(ts) => {
                let start = *self.start.get_or_insert(ts);
                ((ts as f64 - start as f64) * self.time_base).max(0.0)
            }
            None => index as f64 / self.fps,
        }
    }

    /// How long a frame is shown: its packet duration, else one frame period.
    fn duration(&self, frame: &frame::Video) -> f64 {
        let ticks = frame.packet().duration;
        if ticks > 0 && self.time_base > 0.0 {
            ticks as f64 * self.time_base
        } else {
            1.0 / self.fps
        }
    }
}

/// Decides, per decoded frame, whether to sample it; converts and delivers the ones it keeps.
struct Sampler<'a, C> {
    opts: &'a SamplingOptions,
    limits: &'a VideoLimits,
    interval_s: f64,
    clock: Clock,
    on_frame: C,
    thumbnails: Converter,
    rgb: Converter,
    decoded: u64,
    sampled: u64,
    end_s: f64,
    next_target_s: f64,
    last_sample: Option<(f64, Option<Box<[u8; THUMB_LEN]>>)>,
}

impl<'a, C: FnMut(SampledFrame) -> ControlFlow<()>> Sampler<'a, C> {
    fn new(opts: &'a SamplingOptions, limits: &'a VideoLimits, clock: Clock, on_frame: C) -> Self {
        Sampler {
            opts,
            limits,
            // `max` also maps NaN to the floor.
            interval_s: opts.interval_s.max(1e-3),
            clock,
            on_frame,
            thumbnails: Converter::new(Pixel::GRAY8),
            rgb: Converter::new(Pixel::RGB24),
            decoded: 0,
            sampled: 0,
            end_s: 0.0,
            next_target_s: 0.0,
            last_sample: None,
        }
    }

    fn push(&mut self, frame: &mut frame::Video) -> Result<ControlFlow<()>, MediaError> {
        let index = self.decoded;
        self.decoded += 1;
        if self.decoded > self.limits.max_decoded_frames {
            return Err(MediaError::TooManyFrames {
                max: self.limits.max_decoded_frames,
            });
        }
        let (width, height) = (frame.width(), frame.height());
        if u64::from(width) * u64::from(height) > self.limits.max_pixels {
            return Err(MediaError::TooLarge { width, height });
        }
        let t = self.clock.time(frame, index);
        if t > self.limits.max_duration_s {
            return Err(MediaError::TooLong {
                duration_s: t,
                max_s: self.limits.max_duration_s,
            });
        }
        self.end_s = self.end_s.max(t + self.clock.duration(frame));
        if width == 0 || height == 0 {
            return Ok(ControlFlow::Continue(()));
        }

        let thumbnail = match self.opts.scene_threshold {
            Some(_) => Some(self.thumbnail(frame)?),
            None => None,
        };
        let Some(reason) = self.reason(t, thumbnail.as_deref()) else {
            return Ok(ControlFlow::Continue(()));
        };
        if t + EPSILON_S >= self.next_target_s {
            self.next_target_s =
                ((t + EPSILON_S) / self.interval_s).floor() * self.interval_s + self.interval_s;
        }
        self.last_sample = Some((t, thumbnail));
        self.sampled += 1;

        let (out_w, out_h) = output_size(width, height, self.opts.max_side);
        let flags = if out_w < width || out_h < height {
            scaling::Flags::AREA
        } else {
            scaling::Flags::BILINEAR
        };
        let rgb = self.rgb.convert(frame, out_w, out_h, flags, 3)?;
        Ok((self.on_frame)(SampledFrame {
            frame_number: index,
            t,
            width: out_w,
            height: out_h,
            rgb,
            reason,
        }))
    }

    /// Why the frame at `t` should be sampled, if it should.
    fn reason(&self, t: f64, thumbnail: Option<&[u8; THUMB_LEN]>) -> Option<SampleReason> {
        let Some((last_t, last_thumbnail)) = &self.last_sample else {
            return Some(SampleReason::Interval);
        };
        let scene_change = match (self.opts.scene_threshold, thumbnail, last_thumbnail) {
            (Some(threshold), Some(now), Some(then)) => {
                t - last_t >= self.opts.min_scene_gap_s
                    && mean_abs_diff(now, then) > f64::from(threshold)
            }
            _ => false,
        };
        if scene_change {
            Some(SampleReason::SceneChange)
        } else if t + EPSILON_S >= self.next_target_s {
            Some(SampleReason::Interval)
        } else {
            None
        }
    }

    fn thumbnail(&mut self, frame: &frame::Video) -> Result<Box<[u8; THUMB_LEN]>, MediaError> {
        let pixels =
            self.thumbnails
                .convert(frame, THUMB_SIDE, THUMB_SIDE, scaling::Flags::AREA, 1)?;
        pixels
            .into_boxed_slice()
            .try_into()
            .map_err(|_| MediaError::Decode("thumbnail has the wrong size".into()))
    }
}

/// Mean absolute difference of two grey thumbnails, from 0.0 (same) to 1.0.
fn mean_abs_diff(a: &[u8; THUMB_LEN], b: &[u8; THUMB_LEN]) -> f64 {
    let sum: u32 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u32::from(x.abs_diff(y)))
        .sum();
    f64::from(sum) / (THUMB_LEN as f64 * 255.0)
}

/// The size of a sampled frame: native, or shrunk so its longer side is `max_side`.
fn output_size(width: u32, height: u32, max_side: Option<u32>) -> (u32, u32) {
    let Some(max_side) = max_side.map(|m| m.max(1)) else {
        return (width, height);
    };
    let longer = width.max(height);
    if longer <= max_side {
        return (width, height);
    }
    let shrink = |side: u32| {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(longer) / 2) / u64::from(longer);
        u32::try_from(scaled).unwrap_or(max_side).max(1)
    };
    (shrink(width), shrink(height))
}

/// A swscale context to one packed pixel format, rebuilt when the input frame's format or
/// size changes mid-stream (which FFmpeg allows).
struct Converter {
    format: Pixel,
    state: Option<(scaling::Context, frame::Video)>,
}

impl Converter {
    fn new(format: Pixel) -> Self {
        Converter {
            format,
            state: None,
        }
    }

    /// Converts `frame` to `width`×`height` and returns the tightly packed pixels
    /// (`bytes_per_pixel` per pixel, no row padding).
    fn convert(
        &mut self,
        frame: &frame::Video,
        width: u32,
        height: u32,
        flags: scaling::Flags,
        bytes_per_pixel: usize,
    ) -> Result<Vec<u8>, MediaError> {
        let scale_error =
            |e: ffmpeg::Error| MediaError::Decode(format!("cannot convert a frame: {e}"));
        let stale = match &self.state {
            Some((context, _)) => {
                let (input, output) = (context.input(), context.output());
                input.format != frame.format()
                    || input.width != frame.width()
                    || input.height != frame.height()
                    || output.width != width
                    || output.height != height
            }
            None => true,
        };
        if stale {
            let context = scaling::Context::get(
                frame.format(),
                frame.width(),
                frame.height(),
                self.format,
                width,
                height,
                flags,
            )
            .map_err(scale_error)?;
            self.state = Some((context, frame::Video::empty()));
        }
        let Some((context, out)) = &mut self.state else {
            return Err(MediaError::Decode("no scaler".into()));
        };
        context.run(frame, out).map_err(scale_error)?;
        decode::pack_rows(out, width as usize * bytes_per_pixel, height as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_keeps_aspect_and_never_reaches_zero() {
        let cases = [
            ((640, 360), Some(1024), (640, 360)),
            ((1920, 1080), Some(1024), (1024, 576)),
            ((1080, 1920), Some(1024), (576, 1024)),
            ((4000, 1), Some(100), (100, 1)),
            ((1, 1), Some(1024), (1, 1)),
            ((1920, 1080), None, (1920, 1080)),
            ((1920, 1080), Some(0), (1, 1)),
        ];
        for ((w, h), max_side, expected) in cases {
            assert_eq!(
                output_size(w, h, max_side),
                expected,
                "{w}x{h} {max_side:?}"
            );
        }
    }

    #[test]
    fn thumbnail_difference_spans_zero_to_one() {
        let black = [0u8; THUMB_LEN];
        let white = [255u8; THUMB_LEN];
        let mut half = [0u8; THUMB_LEN];
        half[..THUMB_LEN / 2].fill(255);
        assert_eq!(mean_abs_diff(&black, &black), 0.0);
        assert_eq!(mean_abs_diff(&black, &white), 1.0);
        assert_eq!(mean_abs_diff(&half, &white), 0.5);
    }

    #[test]
    fn limits_default_to_three_hours_and_8k() {
        let limits = VideoLimits::default();
        assert_eq!(limits.max_duration_s, 10_800.0);
        assert_eq!(limits.max_pixels, 35_389_440);
        assert_eq!(limits.max_decoded_frames, 648_000);
    }
}
