//! vPDQ, Meta's video hash: the PDQ hash and quality of every frame (or of one frame every
//! few seconds), computed the way the reference `vpdq-hash-video` (`vpdq/cpp` in
//! facebook/ThreatExchange) does, so hashes made here match hashes shared by others.
//!
//! The reference, step by step, and what this module does at each:
//!
//! 1. FFmpeg decodes the first video stream; the frame number is the decoder's output index
//!    from 0 (`frame_num - 1`), counting every decoded frame.
//! 2. With `-r S`, only frames whose number is a multiple of `max(1, ⌊S · fps⌋)` are hashed;
//!    fps is the stream's average frame rate, or its base rate when that is 0.
//! 3. Each hashed frame is converted to RGB24 by swscale with `SWS_AREA`, at its own size or,
//!    with `-s N`, at N×N.
//! 4. PDQ runs on the whole RGB frame: luma, blur, 64×64 decimation, DCT (no 512×512
//!    pre-resize as in the photo hasher; see [`rampart_pdq::hash_full_resolution`]).
//! 5. The timestamp is `frame_number / fps` in `f32`, printed with 3 decimals.
//!
//! Two deliberate differences, both on inputs the reference mishandles: a packet that fails
//! to decode is skipped (the reference stops hashing and fails the whole file), and the
//! decoder is always flushed at the end (the reference only flushes when the video is stream
//! 0, so it drops the last buffered frames of other files). Results on well-formed files
//! are the same; FFmpeg versions still differ by a few bits on some frames, which is why
//! vPDQ matching works with a distance tolerance.
//!
//! Matching two hash lists is not here: see `rampart_hashbank::vpdq`.

use std::ops::ControlFlow;
use std::path::Path;

use ffmpeg::format::context::Input;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::{frame, media, Dictionary, Rational, Stream};
use ffmpeg_next as ffmpeg;
use rampart_pdq::{Layout, PdqHash, Pixels};

use crate::decode;
use crate::video::VideoLimits;
use crate::MediaError;

/// One hashed video frame, as one line of the reference's hash files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqFrame {
    /// 0-based index of the frame in decoding output order.
    pub frame_number: u64,
    /// PDQ quality, 0–100; frames below 50 are usually left out of matching.
    pub quality: u8,
    /// PDQ hash of the whole frame.
    pub hash: PdqHash,
    /// `frame_number / fps` in seconds (computed in `f32`, as the reference does).
    pub timestamp: f64,
}

/// Which frames [`hash_video`] hashes, and at what size; the reference CLI's `-r` and `-s`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VpdqOptions {
    /// Hash one frame every this many seconds: frames whose number is a multiple of
    /// `max(1, ⌊seconds_per_hash · fps⌋)`. 0 (the default), a negative value or NaN hashes
    /// every frame (reference `-r 0`).
    pub seconds_per_hash: f64,
    /// Rescale each frame to N×N with `SWS_AREA` before hashing (reference `-s N`), which is
    /// faster on large videos but gives different hashes. `None` (the default) or `Some(0)`
    /// hashes at native resolution.
    pub downsample: Option<u32>,
}

/// A line of a vPDQ hash file that is not `frame_number,quality,hash,timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct VpdqParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Hashes the frames of the first video stream of `path` selected by `opts`, in decoding
/// order, as the reference `vpdq-hash-video` does.
///
/// Memory: one decoded frame, one RGB frame and its luma at a time, plus about 64 bytes per
/// hashed frame. CPU: one full-resolution PDQ per hashed frame, so hashing every frame of a
/// long HD video is expensive; `limits` bounds it.
///
/// Errors: `Empty`, `Io`, `Unsupported` for files FFmpeg cannot open, `NoVideoStream`,
/// `Unsupported` when the stream has no frame rate, `TooLong`/`TooLarge` when the header or
/// a decoded frame crosses `limits`, `TooManyFrames` past `limits.max_decoded_frames`
/// decoded frames, and `Decode` when not one frame decodes. Corrupt packets after the first
/// frame are skipped: the frames that decode are hashed.
pub fn hash_video(
    path: &Path,
    opts: &VpdqOptions,
    limits: &VideoLimits,
) -> Result<Vec<VpdqFrame>, MediaError> {
    let mut input = decode::open_input(path)?;
    let index = first_video_stream(&input)?;
    let stream = input.stream(index).ok_or(MediaError::NoVideoStream)?;
    let fps = frame_rate(stream.avg_frame_rate(), stream.rate())
        .ok_or_else(|| MediaError::Unsupported("the video stream has no frame rate".to_string()))?;
    if let Some(duration_s) =
        decode::announced_duration(&input, &stream).filter(|&d| d > limits.max_duration_s)
    {
        return Err(MediaError::TooLong {
            duration_s,
            max_s: limits.max_duration_s,
        });
    }
    let (width, height) = announced_size(&stream);
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooLarge { width, height });
    }
    let mut options = Dictionary::new();
    // FFmpeg then refuses oversized frames itself, before allocating them.
    options.set(
        "max_pixels",
        &limits.max_pixels.min(i32::MAX as u64).to_string(),
    );
    let mut decoder = decode::open_decoder(&stream, options)?
        .video()
        .map_err(|e| MediaError::Unsupported(format!("not a video decoder: {e}")))?;

    let mut hasher = FrameHasher {
        limits,
        fps,
        frame_mod: frame_mod(opts.seconds_per_hash, fps),
        downsample: opts.downsample.filter(|&n| n > 0),
        decoded: 0,
        scaler: None,
        hashes: Vec::new(),
    };
    let mut frame = frame::Video::empty();
    let end = decode::run(&mut input, index, &mut decoder, &mut frame, |frame| {
        hasher.push(frame)
    })?;
    if hasher.decoded == 0 {
        let why = end.first_error.unwrap_or_else(|| "no frame decoded".into());
        return Err(MediaError::Decode(why));
    }
    Ok(hasher.hashes)
}

/// PDQ hash and quality of one packed RGB24 frame (`width × height × 3` bytes, row-major),
/// as the vPDQ reference hashes frames: on the full frame, without the photo hasher's
/// 512×512 pre-resize. Use it to hash frames sampled elsewhere the vPDQ way.
///
/// A buffer whose length does not fit the dimensions, and frames with a side under 5
/// pixels, give the all-zero hash with quality 0 (never matched: quality is below 50).
pub fn hash_rgb_frame(width: u32, height: u32, rgb: &[u8]) -> (PdqHash, u8) {
    match Pixels::new(width, height, Layout::Rgb, rgb) {
        Ok(pixels) => {
            let out = rampart_pdq::hash_full_resolution(&pixels);
            (out.hash, out.quality)
        }
        Err(_) => (PdqHash::default(), 0),
    }
}

/// One line of the reference's hash file format: `frame_number,quality,hash,timestamp`,
/// the timestamp with 3 decimals (no trailing newline).
pub fn format_line(f: &VpdqFrame) -> String {
    format!(
        "{},{},{},{:.3}",
        f.frame_number, f.quality, f.hash, f.timestamp
    )
}

/// Parses a reference hash file (`vpdq-hash-video` output): one
/// `frame_number,quality,hash,timestamp` line per frame. Blank lines are skipped; any other
/// malformed line is an error naming it.
pub fn parse_hash_file(text: &str) -> Result<Vec<VpdqFrame>, VpdqParseError> {
    let mut frames = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let frame = parse_line(line).map_err(|message| VpdqParseError {
            line: i + 1,
            message,
        })?;
        frames.push(frame);
    }
    Ok(frames)
}

fn parse_line(line: &str) -> Result<VpdqFrame, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [frame_number, quality, hash, timestamp] = fields[..] else {
        return Err(format!(
            "expected frame_number,quality,hash,timestamp, got {} fields",
            fields.len()
        ));
    };
    let frame_number = frame_number
        .parse()
        .map_err(|_| format!("frame number {frame_number:?} is not a whole number"))?;
    let quality = quality
        .parse()
        .ok()
        .filter(|&q: &u8| q <= 100)
        .ok_or_else(|| format!("quality {quality:?} is not an integer from 0 to 100"))?;
    let hash = hash.parse().map_err(|e| format!("{e}"))?;
    let timestamp = timestamp
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("timestamp {timestamp:?} is not a number of seconds"))?;
    Ok(VpdqFrame {
        frame_number,
        quality,
        hash,
        timestamp,
    })
}

/// The first video stream, as the reference picks it (not FFmpeg's "best" one).
fn first_video_stream(input: &Input) -> Result<usize, MediaError> {
    input
        .streams()
        .find(|s| s.parameters().medium() == media::Type::Video)
        .map(|s| s.index())
        .ok_or(MediaError::NoVideoStream)
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

/// The average frame rate, or the base rate when the average is unknown; `None` when
/// neither is a positive finite number.
fn frame_rate(average: Rational, base: Rational) -> Option<f64> {
    let known = |r: &Rational| r.numerator() != 0 && r.denominator() != 0;
    let r = if known(&average) { average } else { base };
    let fps = f64::from(r.numerator()) / f64::from(r.denominator());
    (fps.is_finite() && fps > 0.0).then_some(fps)
}

/// Hash every `frame_mod`-th frame: `⌊seconds_per_hash · fps⌋`, at least 1.
fn frame_mod(seconds_per_hash: f64, fps: f64) -> u64 {
    let frames = seconds_per_hash * fps;
    if frames.is_finite() && frames >= 1.0 {
        // Truncates like the reference's `static_cast<int>`; saturates instead of wrapping.
        frames as u64
    } else {
        1
    }
}

/// Per-frame state of [`hash_video`]: limits, the frame counter, the scaler, the hashes.
struct FrameHasher<'a> {
    limits: &'a VideoLimits,
    fps: f64,
    frame_mod: u64,
    downsample: Option<u32>,
    decoded: u64,
    scaler: Option<(scaling::Context, frame::Video)>,
    hashes: Vec<VpdqFrame>,
}

impl FrameHasher<'_> {
    fn push(&mut self, frame: &mut frame::Video) -> Result<ControlFlow<()>, MediaError> {
        let frame_number = self.decoded;
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
        let timestamp = f64::from(frame_number as f32 / self.fps as f32);
        if timestamp > self.limits.max_duration_s {
            return Err(MediaError::TooLong {
                duration_s: timestamp,
                max_s: self.limits.max_duration_s,
            });
        }
        if !frame_number.is_multiple_of(self.frame_mod) {
            return Ok(ControlFlow::Continue(()));
        }
        let (out_w, out_h) = match self.downsample {
            Some(n) => (n, n),
            None => (width, height),
        };
        let (hash, quality) = if width == 0 || height == 0 {
            (PdqHash::default(), 0)
        } else {
            let rgb = self.convert_to_rgb(frame, out_w, out_h)?;
            hash_rgb_frame(out_w, out_h, &rgb)
        };
        self.hashes.push(VpdqFrame {
            frame_number,
            quality,
            hash,
            timestamp,
        });
        Ok(ControlFlow::Continue(()))
    }

    /// `frame` as packed RGB24 at `width × height`, converted with `SWS_AREA` like the
    /// reference. The scaler is rebuilt when the decoded frames change format or size.
    fn convert_to_rgb(
        &mut self,
        frame: &frame::Video,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, MediaError> {
        let scale_error =
            |e: ffmpeg::Error| MediaError::Decode(format!("cannot convert a frame to RGB: {e}"));
        let stale = self.scaler.as_ref().is_none_or(|(context, _)| {
            let (input, output) = (context.input(), context.output());
            input.format != frame.format()
                || input.width != frame.width()
                || input.height != frame.height()
                || output.width != width
                || output.height != height
        });
        if stale {
            let context = scaling::Context::get(
                frame.format(),
                frame.width(),
                frame.height(),
                Pixel::RGB24,
                width,
                height,
                scaling::Flags::AREA,
            )
            .map_err(scale_error)?;
            self.scaler = Some((context, frame::Video::empty()));
        }
        let Some((context, out)) = &mut self.scaler else {
            return Err(MediaError::Decode("no RGB converter".into()));
        };
        context.run(frame, out).map_err(scale_error)?;
        decode::pack_rows(out, width as usize * 3, height as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_mod_truncates_and_is_at_least_one() {
        let cases = [
            (0.0, 30.0, 1),
            (1.0, 30.0, 30),
            (1.0, 29.97, 29),
            (0.5, 25.0, 12),
            (1.0, 0.5, 1),
            (-2.0, 30.0, 1),
            (f64::NAN, 30.0, 1),
            (f64::INFINITY, 30.0, 1),
            (1e30, 30.0, u64::MAX),
        ];
        for (seconds, fps, expected) in cases {
            assert_eq!(
                frame_mod(seconds, fps),
                expected,
                "{seconds} s at {fps} fps"
            );
        }
    }

    #[test]
    fn frame_rate_prefers_the_average_and_falls_back_to_the_base_rate() {
        let r = Rational::new;
        assert_eq!(frame_rate(r(30, 1), r(60, 1)), Some(30.0));
        assert_eq!(frame_rate(r(0, 1), r(25, 1)), Some(25.0));
        assert_eq!(frame_rate(r(30, 0), r(24, 1)), Some(24.0));
        assert_eq!(frame_rate(r(0, 0), r(0, 1)), None);
        assert_eq!(frame_rate(r(-30, 1), r(25, 1)), None);
    }

    #[test]
    fn lines_round_trip_in_the_reference_format() {
        let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n\
                    \n\
                    31,7,c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c,1.033\n";
        let frames = parse_hash_file(text).expect("valid");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].frame_number, 31);
        assert_eq!(frames[1].quality, 7);
        let lines: Vec<String> = frames.iter().map(format_line).collect();
        let expected: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn timestamps_print_with_three_decimals() {
        let frame = VpdqFrame {
            frame_number: 2,
            quality: 50,
            hash: PdqHash::default(),
            timestamp: f64::from(2f32 / 30f32),
        };
        assert!(format_line(&frame).ends_with(
            ",50,0000000000000000000000000000000000000000000000000000000000000000,0.067"
        ));
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let hash = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";
        let cases = [
            format!("0,100,{hash}"),
            format!("0,100,{hash},0.0,extra"),
            format!("x,100,{hash},0.000"),
            format!("0,101,{hash},0.000"),
            format!("0,-1,{hash},0.000"),
            "0,100,abc,0.000".to_string(),
            format!("0,100,{hash},nan"),
            format!("0,100,{hash},-1"),
        ];
        for bad in cases {
            let text = format!("0,100,{hash},0.000\n{bad}\n");
            let err = parse_hash_file(&text).expect_err(&bad);
            assert_eq!(err.line, 2, "{bad}: {err}");
        }
    }

    #[test]
    fn rgb_buffers_of_the_wrong_size_hash_to_zero_quality() {
        assert_eq!(hash_rgb_frame(10, 10, &[0; 299]), (PdqHash::default(), 0));
        assert_eq!(
            hash_rgb_frame(u32::MAX, u32::MAX, &[]),
            (PdqHash::default(), 0)
        );
    }
}
