//! What video and audio decoding share: opening a file safely, reading a stream's announced
//! duration, opening its decoder, and the packet → decoder → frame loop that survives
//! corrupt data.

use std::io;
use std::ops::{ControlFlow, DerefMut};
use std::path::Path;

use ffmpeg::codec::{self, decoder};
use ffmpeg::format::context::Input;
use ffmpeg::{Dictionary, Error, Frame, Packet, Stream};
use ffmpeg_next as ffmpeg;

use crate::error::{init, MediaError};

/// The demuxers FFmpeg may pick, by content sniffing, for an uploaded file.
///
/// Everything else is refused: playlist and reference formats (`hls`, `concat`, `image2`
/// patterns …) would make FFmpeg open other files or URLs, and the long tail of obscure
/// demuxers (including `tty`, which happily "plays" any text file) is attack surface that
/// moderation does not need. Each name matches FFmpeg's demuxer list entry, e.g. `mov`
/// selects `mov,mp4,m4a,3gp,3g2,mj2` and `matroska` selects `matroska,webm`.
const DEMUXERS: &str =
    "mov,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,wav,w64,mp3,flac,aac,aiff,caf,au,amr,gif";

/// At most this many packets in a row may fail to decode before the file is given up on;
/// a few bad packets in a long file are skipped, a stream of garbage is not decoded forever.
const MAX_CONSECUTIVE_ERRORS: u32 = 64;

/// Opens `path` for demuxing, after checking it is a non-empty regular file.
///
/// Only the `file` protocol and the demuxers in [`DEMUXERS`] are allowed, so a hostile
/// upload cannot make FFmpeg fetch URLs or read other local files.
pub(crate) fn open_input(path: &Path) -> Result<Input, MediaError> {
    init();
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(invalid_path("not a regular file"));
    }
    if meta.len() == 0 {
        return Err(MediaError::Empty);
    }
    // Surface permission problems as I/O errors rather than "unsupported".
    drop(std::fs::File::open(path)?);
    let text = path
        .to_str()
        .filter(|s| !s.contains('\0'))
        .ok_or_else(|| invalid_path("the path is not valid UTF-8"))?;
    // The `file:` prefix stops FFmpeg reading `name:rest` as a protocol name.
    let url = format!("file:{text}");
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", DEMUXERS);
    ffmpeg::format::input_with_dictionary(&url, options).map_err(|error| match error {
        Error::Other { errno } if errno == ffmpeg::util::error::EIO => {
            MediaError::Io(io::Error::from_raw_os_error(errno))
        }
        other => MediaError::Unsupported(other.to_string()),
    })
}

fn invalid_path(why: &str) -> MediaError {
    MediaError::Io(io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))
}

/// The duration the container announces for `stream` in seconds: the stream's own duration
/// when it has one, else the container's. `None` when neither is known.
pub(crate) fn announced_duration(input: &Input, stream: &Stream) -> Option<f64> {
    let tb = f64::from(stream.time_base());
    let own = stream.duration();
    if own > 0 && tb > 0.0 {
        return Some(own as f64 * tb);
    }
    let container = input.duration();
    (container > 0).then(|| container as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
}

/// The duration the container announces, as [`announced_duration`], but only when it was
/// read from the file (a header, an index, timestamps), not guessed from the bitrate and the
/// file size: a guess shrinks with a cut-off file and can be far off for variable bitrates,
/// so it cannot tell a short file from a truncated one.
pub(crate) fn trusted_duration(input: &Input, stream: &Stream) -> Option<f64> {
    // SAFETY: `as_ptr` points at the live AVFormatContext that `input` owns; the call only
    // reads one of its fields.
    let method = unsafe { ffmpeg::ffi::av_fmt_ctx_get_duration_estimation_method(input.as_ptr()) };
    if method == ffmpeg::ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE {
        return None;
    }
    announced_duration(input, stream)
}

/// Opens the decoder for `stream` with extra AVCodecContext `options` (e.g. `max_pixels`).
pub(crate) fn open_decoder(
    stream: &Stream,
    options: Dictionary,
) -> Result<decoder::Opened, MediaError> {
    let mut context = codec::Context::from_parameters(stream.parameters())
        .map_err(|e| MediaError::Unsupported(format!("codec parameters: {e}")))?;
    // One decoding thread: the server runs several jobs at once, and frame threading would
    // hold one extra decoded frame per thread.
    context.set_threading(codec::threading::Config::count(1));
    let id = context.id();
    let codec = decoder::find(id)
        .ok_or_else(|| MediaError::Unsupported(format!("no decoder for codec {id:?}")))?;
    let mut decoder = context.decoder();
    decoder.set_packet_time_base(stream.time_base());
    decoder
        .open_as_with(codec, options)
        .map_err(|e| MediaError::Unsupported(format!("cannot open the {id:?} decoder: {e}")))
}

/// How a [`run`] ended.
pub(crate) struct RunEnd {
    /// The first read or decode error, when data was skipped or decoding stopped early.
    pub first_error: Option<String>,
}

/// Reads every packet of stream `index`, decodes it into `frame` and hands each decoded
/// frame to `on_frame`, then flushes the decoder at end of file.
///
/// A packet that fails to demux or decode is skipped (its error kept for the report) until
/// [`MAX_CONSECUTIVE_ERRORS`] fail in a row or the demuxer reports a sticky error; either
/// ends the run like end of file. `on_frame` stops the run early with `Break` or an error.
pub(crate) fn run<F: DerefMut<Target = Frame>>(
    input: &mut Input,
    index: usize,
    decoder: &mut decoder::Opened,
    frame: &mut F,
    mut on_frame: impl FnMut(&mut F) -> Result<ControlFlow<()>, MediaError>,
) -> Result<RunEnd, MediaError> {
    let mut errors = ErrorLog::default();
    loop {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => errors.ok(),
            Err(Error::Eof) => break,
            // The demuxer resyncs past invalid data; anything else is latched and final.
            Err(Error::InvalidData) => {
                if errors.failed("reading", Error::InvalidData) {
                    break;
                }
                continue;
            }
            Err(error) => {
                errors.failed("reading", error);
                break;
            }
        }
        if packet.stream() != index {
            continue;
        }
        match decoder.send_packet(&packet) {
            Ok(()) => errors.ok(),
            Err(error) => {
                if errors.failed("decoding", error) {
                    break;
                }
            }
        }
        if drain(decoder, frame, &mut on_frame, &mut errors)?.is_break() {
            return Ok(errors.end());
        }
    }
    // Flushing after an error is still worth it: the decoder may hold good frames.
    if decoder.send_eof().is_ok() {
        // Whether the caller stopped here or not, the run is over.
        let _ = drain(decoder, frame, &mut on_frame, &mut errors)?;
    }
    Ok(errors.end())
}

/// Receives every frame the decoder has ready.
fn drain<F: DerefMut<Target = Frame>>(
    decoder: &mut decoder::Opened,
    frame: &mut F,
    on_frame: &mut impl FnMut(&mut F) -> Result<ControlFlow<()>, MediaError>,
    errors: &mut ErrorLog,
) -> Result<ControlFlow<()>, MediaError> {
    loop {
        match decoder.receive_frame(frame) {
            Ok(()) => {
                if on_frame(frame)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Err(Error::Eof) => return Ok(ControlFlow::Continue(())),
            Err(Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                return Ok(ControlFlow::Continue(()))
            }
            Err(error) => {
                errors.failed("decoding", error);
                return Ok(ControlFlow::Continue(()));
            }
        }
    }
}

/// Remembers the first error and counts failures in a row.
#[derive(Default)]
struct ErrorLog {
    first: Option<String>,
    in_a_row: u32,
}

impl ErrorLog {
    fn ok(&mut self) {
        self.in_a_row = 0;
    }

    /// Records a failure; true when it is time to give up.
    fn failed(&mut self, doing: &str, error: Error) -> bool {
        self.first
            .get_or_insert_with(|| format!("{doing}: {error}"));
        self.in_a_row += 1;
        self.in_a_row >= MAX_CONSECUTIVE_ERRORS
    }

    fn end(self) -> RunEnd {
        RunEnd {
            first_error: self.first,
        }
    }
}

/// Copies a frame's first plane into a Vec without the per-row padding (video sampling and
/// vPDQ hashing both convert frames with swscale into padded planes).
pub(crate) fn pack_rows(
    frame: &ffmpeg::frame::Video,
    row_len: usize,
    rows: usize,
) -> Result<Vec<u8>, MediaError> {
    let short = || MediaError::Decode("converted frame is smaller than expected".into());
    if frame.planes() == 0 {
        return Err(short());
    }
    let stride = frame.stride(0);
    let data = frame.data(0);
    let mut packed = Vec::with_capacity(row_len * rows);
    for row in 0..rows {
        let start = row * stride;
        let line = data.get(start..start + row_len).ok_or_else(short)?;
        packed.extend_from_slice(line);
    }
    Ok(packed)
}
