//! Frame sampling and audio decoding on the media fixtures.
//!
//! Fixtures come from `$RAMPART_TESTDATA/media` (default the repository's `data/testdata/media`,
//! made by its `generate.sh`, which `./setup.sh` runs); a missing fixture fails the test. A few
//! tests also build tiny files with the `ffmpeg` program (Debian package `ffmpeg`).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_media::audio::{decode_audio, AudioLimits, AudioSummary, SAMPLE_RATE};
use rampart_media::video::{
    probe, sample_frames, SampleReason, SampleSummary, SampledFrame, SamplingOptions, VideoLimits,
};
use rampart_media::MediaError;
use rampart_pdq::{Layout, PdqHash, Pixels};
use rampart_types::ErrorCode;

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
}

/// A fixture under `media/`, which must exist.
fn fixture(relative: &str) -> PathBuf {
    let path = testdata().join("media").join(relative);
    assert!(
        path.is_file(),
        "missing fixture {}: ./setup.sh makes it (data/testdata/media/README.md)",
        path.display()
    );
    path
}

fn video(name: &str) -> PathBuf {
    fixture(&format!("video/{name}"))
}

fn speech(name: &str) -> PathBuf {
    fixture(&format!("speech/{name}"))
}

/// Runs the `ffmpeg` program with `args` in `dir`, failing the test if it cannot.
fn ffmpeg(dir: &Path, args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run ffmpeg ({e}): apt-get install -y ffmpeg"));
    assert!(status.success(), "ffmpeg {args:?} failed");
}

fn sample_all(
    path: &Path,
    opts: &SamplingOptions,
) -> Result<(Vec<SampledFrame>, SampleSummary), MediaError> {
    let mut frames = Vec::new();
    let summary = sample_frames(path, opts, &VideoLimits::default(), |frame| {
        frames.push(frame);
        ControlFlow::Continue(())
    })?;
    Ok((frames, summary))
}

fn sample_default(path: &Path) -> (Vec<SampledFrame>, SampleSummary) {
    sample_all(path, &SamplingOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pdq(width: u32, height: u32, rgb: &[u8]) -> PdqHash {
    let pixels = Pixels::new(width, height, Layout::Rgb, rgb).expect("RGB24 of the right size");
    rampart_pdq::hash(&pixels).hash
}

fn frame_pdq(frame: &SampledFrame) -> PdqHash {
    pdq(frame.width, frame.height, &frame.rgb)
}

/// The sample closest to `t`.
fn at(frames: &[SampledFrame], t: f64) -> &SampledFrame {
    frames
        .iter()
        .min_by(|a, b| (a.t - t).abs().total_cmp(&(b.t - t).abs()))
        .expect("at least one sample")
}

fn decode_all(path: &Path, chunk_s: f64) -> Result<(Vec<f32>, AudioSummary), MediaError> {
    let mut samples = Vec::new();
    let summary = decode_audio(path, &AudioLimits::default(), chunk_s, |chunk, t| {
        assert_eq!(
            (t * f64::from(SAMPLE_RATE)).round() as usize,
            samples.len(),
            "chunk time must be the index of its first sample"
        );
        samples.extend_from_slice(chunk);
        ControlFlow::Continue(())
    })?;
    Ok((samples, summary))
}

// ---------------------------------------------------------------- video

#[test]
fn banned_insert_is_sampled_every_second_and_at_both_cuts() {
    let (frames, summary) = sample_default(&video("banned-insert.mp4"));
    assert_eq!(summary.decoded_frames, 500);
    assert_eq!(summary.sampled_frames, frames.len() as u64);
    assert!((summary.duration_s - 20.0).abs() < 0.05, "{summary:?}");
    assert_eq!(summary.truncated, None);
    assert!(
        (19..=23).contains(&frames.len()),
        "{} samples",
        frames.len()
    );

    let cuts: Vec<f64> = frames
        .iter()
        .filter(|f| f.reason == SampleReason::SceneChange)
        .map(|f| f.t)
        .collect();
    assert_eq!(cuts.len(), 2, "scene changes at {cuts:?}");
    assert!((cuts[0] - 8.0).abs() <= 0.05, "{cuts:?}");
    assert!((cuts[1] - 11.0).abs() <= 0.05, "{cuts:?}");
    let cut_frames: Vec<u64> = frames
        .iter()
        .filter(|f| f.reason == SampleReason::SceneChange)
        .map(|f| f.frame_number)
        .collect();
    assert_eq!(cut_frames, [200, 275]);

    // One sample in every second of the clip, in order.
    for second in 0..20 {
        let t = f64::from(second);
        assert!(
            frames.iter().any(|f| f.t >= t - 1e-6 && f.t < t + 1.0),
            "no sample in [{t}, {t}+1)"
        );
    }
    assert!(frames.windows(2).all(|w| w[0].t < w[1].t));
    for frame in &frames {
        assert_eq!((frame.width, frame.height), (640, 360));
        assert_eq!(frame.rgb.len(), 640 * 360 * 3);
    }

    // The samples inside the insert show the banned still; the one before does not.
    let still = image::open(video("banned-still.png"))
        .expect("banned-still.png decodes")
        .to_rgb8();
    let still = pdq(still.width(), still.height(), still.as_raw());
    let (t7, t8, t9) = (at(&frames, 7.0), at(&frames, 8.0), at(&frames, 9.0));
    assert!(frame_pdq(t8).distance(&still) <= 16, "t=8 vs still");
    assert!(frame_pdq(t9).distance(&still) <= 16, "t=9 vs still");
    assert!(frame_pdq(t9).distance(&frame_pdq(t8)) <= 16, "t=9 vs t=8");
    assert!(frame_pdq(t7).distance(&frame_pdq(t8)) >= 80, "t=7 vs t=8");
    assert!(frame_pdq(t7).distance(&still) >= 80, "t=7 vs still");
}

#[test]
fn without_scene_detection_only_interval_samples_are_taken() {
    let opts = SamplingOptions {
        scene_threshold: None,
        ..SamplingOptions::default()
    };
    let (frames, _) = sample_all(&video("banned-insert.mp4"), &opts).expect("decodes");
    assert_eq!(frames.len(), 20);
    assert!(frames.iter().all(|f| f.reason == SampleReason::Interval));
    for (k, frame) in frames.iter().enumerate() {
        assert!(
            (frame.t - k as f64).abs() < 0.05,
            "sample {k} at {}",
            frame.t
        );
    }
}

#[test]
fn clean_test_pattern_gives_one_sample_per_second_and_no_scene_change() {
    for (name, seconds, frames_total, codec) in [
        ("clean-testsrc.mp4", 20, 500, "h264"),
        ("clean-testsrc.webm", 5, 125, "vp9"),
    ] {
        let path = video(name);
        let (frames, summary) = sample_default(&path);
        assert_eq!(frames.len(), seconds, "{name}");
        assert!(
            frames.iter().all(|f| f.reason == SampleReason::Interval),
            "{name}: the moving pattern must not look like a cut"
        );
        assert_eq!(summary.decoded_frames, frames_total, "{name}");
        assert!((summary.duration_s - seconds as f64).abs() < 0.05, "{name}");
        assert_eq!(summary.truncated, None, "{name}");

        let info = probe(&path, &VideoLimits::default()).expect("probes");
        assert_eq!((info.width, info.height), (640, 360), "{name}");
        assert!((info.fps - 25.0).abs() < 1e-6, "{name}: {info:?}");
        assert_eq!(info.codec, codec);
        assert!(!info.has_audio, "{name}");
        let duration = info.duration_s.expect("announced duration");
        assert!((duration - seconds as f64).abs() < 0.05, "{name}: {info:?}");
    }
}

#[test]
fn probe_reports_the_audio_track_and_frame_count() {
    let info = probe(&video("spoken-threat.mp4"), &VideoLimits::default()).expect("probes");
    assert!(info.has_audio);
    assert_eq!(info.frames, Some(300));
}

#[test]
fn sampled_frames_are_downscaled_to_max_side_keeping_aspect() {
    let opts = SamplingOptions {
        max_side: Some(320),
        ..SamplingOptions::default()
    };
    let (frames, _) = sample_all(&video("clean-testsrc.webm"), &opts).expect("decodes");
    for frame in &frames {
        assert_eq!((frame.width, frame.height), (320, 180));
        assert_eq!(frame.rgb.len(), 320 * 180 * 3);
    }
}

#[test]
fn a_single_frame_video_gives_one_sample() {
    let (frames, summary) = sample_default(&video("tiny-1frame.mp4"));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].t, 0.0);
    assert_eq!(frames[0].frame_number, 0);
    assert_eq!(summary.decoded_frames, 1);
}

#[test]
fn a_one_pixel_video_decodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:size=2x2:duration=1,scale=1:1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
            "one.mp4",
        ],
    );
    let (frames, summary) = sample_default(&dir.path().join("one.mp4"));
    assert_eq!(summary.decoded_frames, 25);
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0].width, frames[0].height), (1, 1));
    let [r, g, b] = <[u8; 3]>::try_from(frames[0].rgb.as_slice()).expect("one RGB pixel");
    assert!(r > 200 && g < 60 && b < 60, "red, got {r},{g},{b}");
}

#[test]
fn corrupt_video_gives_a_partial_result_without_hanging() {
    match sample_all(&video("corrupt.mp4"), &SamplingOptions::default()) {
        Ok((frames, summary)) => {
            assert!(summary.truncated.is_some(), "{summary:?}");
            assert!((1..500).contains(&summary.decoded_frames), "{summary:?}");
            assert!(!frames.is_empty());
        }
        Err(error) => assert!(matches!(error, MediaError::Decode(_)), "{error}"),
    }
}

#[test]
fn the_callback_can_stop_sampling() {
    let mut seen = 0;
    let summary = sample_frames(
        &video("clean-testsrc.mp4"),
        &SamplingOptions::default(),
        &VideoLimits::default(),
        |_| {
            seen += 1;
            ControlFlow::Break(())
        },
    )
    .expect("decodes");
    assert_eq!(seen, 1);
    assert_eq!(summary.sampled_frames, 1);
    assert!(summary.decoded_frames < 500);
}

#[test]
fn unreadable_inputs_are_refused_with_the_right_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a video, just some text\n".repeat(50)).expect("write");
    let noise = dir.path().join("noise.mp4");
    let bytes: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&noise, bytes).expect("write");
    let missing = dir.path().join("missing.mp4");

    let refused = |path: &Path| {
        let video = sample_all(path, &SamplingOptions::default()).map(|_| ());
        let audio = decode_all(path, 1.0).map(|_| ());
        let probed = probe(path, &VideoLimits::default()).map(|_| ());
        [video, audio, probed].map(|r| r.expect_err("must be refused"))
    };
    for error in refused(&speech("empty.wav")) {
        assert!(matches!(error, MediaError::Empty), "{error}");
        assert_eq!(error.code(), ErrorCode::DecodeFailed);
    }
    for path in [&text, &noise] {
        for error in refused(path) {
            assert!(matches!(error, MediaError::Unsupported(_)), "{error}");
            assert_eq!(error.code(), ErrorCode::UnsupportedMedia);
        }
    }
    for error in refused(&missing) {
        assert!(matches!(error, MediaError::Io(_)), "{error}");
    }
}

#[test]
fn playlists_and_scripts_cannot_make_ffmpeg_open_other_files() {
    // Without the demuxer allowlist FFmpeg opens both (ffprobe: hls 20 s, concat) and
    // decodes `seg.mp4` through them: a way to make the server read other files or URLs.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(video("clean-testsrc.mp4"), dir.path().join("seg.mp4")).expect("copy");
    let hls = dir.path().join("list.m3u8");
    let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:20\n#EXTINF:20.0,\nseg.mp4\n#EXT-X-ENDLIST\n";
    std::fs::write(&hls, playlist).expect("write");
    let concat = dir.path().join("list.txt");
    std::fs::write(&concat, "ffconcat version 1.0\nfile seg.mp4\n").expect("write");
    for path in [hls, concat] {
        let error = sample_all(&path, &SamplingOptions::default()).expect_err("refused");
        assert!(matches!(error, MediaError::Unsupported(_)), "{error}");
        let error = decode_all(&path, 1.0).expect_err("refused");
        assert!(matches!(error, MediaError::Unsupported(_)), "{error}");
    }
}

#[test]
fn an_audio_file_has_no_video_stream() {
    for result in [
        sample_all(&speech("threat.wav"), &SamplingOptions::default()).map(|_| ()),
        probe(&speech("spam-pills.mp3"), &VideoLimits::default()).map(|_| ()),
    ] {
        let error = result.expect_err("no video");
        assert!(matches!(error, MediaError::NoVideoStream), "{error}");
        assert_eq!(error.code(), ErrorCode::UnsupportedMedia);
    }
}

#[test]
fn a_ten_hour_header_is_refused_before_decoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:size=16x16:rate=1",
            "-t",
            "36000",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "51",
            "long.mp4",
        ],
    );
    let path = dir.path().join("long.mp4");
    let size = std::fs::metadata(&path).expect("made").len();
    assert!(size < 5_000_000, "the 10-hour fixture is {size} bytes");

    let error = probe(&path, &VideoLimits::default()).expect_err("too long");
    assert!(
        matches!(error, MediaError::TooLong { duration_s, .. } if (duration_s - 36_000.0).abs() < 1.0),
        "{error}"
    );
    assert_eq!(error.code(), ErrorCode::PayloadTooLarge);
    let mut called = false;
    let error = sample_frames(
        &path,
        &SamplingOptions::default(),
        &VideoLimits::default(),
        |_| {
            called = true;
            ControlFlow::Continue(())
        },
    )
    .expect_err("too long");
    assert!(matches!(error, MediaError::TooLong { .. }), "{error}");
    assert!(!called, "no frame may be decoded");
}

#[test]
fn limits_refuse_long_large_and_many_frame_videos() {
    let path = video("banned-insert.mp4");
    let refuse = |limits: VideoLimits| {
        sample_frames(&path, &SamplingOptions::default(), &limits, |_| {
            ControlFlow::Continue(())
        })
        .expect_err("over a limit")
    };
    let short = refuse(VideoLimits {
        max_duration_s: 10.0,
        ..VideoLimits::default()
    });
    assert!(
        matches!(short, MediaError::TooLong { max_s, .. } if max_s == 10.0),
        "{short}"
    );
    let small = refuse(VideoLimits {
        max_pixels: 640 * 360 - 1,
        ..VideoLimits::default()
    });
    assert!(
        matches!(
            small,
            MediaError::TooLarge {
                width: 640,
                height: 360
            }
        ),
        "{small}"
    );
    let few = refuse(VideoLimits {
        max_decoded_frames: 100,
        ..VideoLimits::default()
    });
    assert!(
        matches!(few, MediaError::TooManyFrames { max: 100 }),
        "{few}"
    );
}

// ---------------------------------------------------------------- audio

#[test]
fn speech_fixtures_decode_to_their_documented_lengths() {
    let cases = [
        ("clean-weather.wav", 3.311),
        ("spam-pills.wav", 4.923),
        ("spam-pills.mp3", 4.923),
        ("spam-pills.opus", 4.923),
        ("threat.wav", 3.287),
        ("profanity.wav", 2.916),
        ("profanity.mp3", 2.916),
        ("profanity.opus", 2.916),
        ("numbers-pii.wav", 4.464),
        ("silence.wav", 5.000),
        ("long-talk.wav", 60.000),
    ];
    for (name, seconds) in cases {
        let (samples, summary) =
            decode_all(&speech(name), 1.0).unwrap_or_else(|e| panic!("{name}: {e}"));
        let length = samples.len() as f64 / f64::from(SAMPLE_RATE);
        assert!(
            (length - seconds).abs() <= 0.1,
            "{name}: {length} s, want {seconds}"
        );
        assert!((summary.duration_s - length).abs() < 1e-9, "{name}");
        assert_eq!(summary.truncated, None, "{name}");
        assert_eq!(summary.channels, 1, "{name}");
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        if name == "silence.wav" {
            assert_eq!(peak, 0.0, "silence must decode to zeros");
        } else {
            assert!(peak > 0.05 && peak <= 1.01, "{name}: peak {peak}");
        }
    }
}

#[test]
fn codecs_and_source_rates_are_reported() {
    for (name, codec, rate) in [
        ("spam-pills.wav", "pcm_s16le", 16_000),
        ("spam-pills.mp3", "mp3", 16_000),
        ("spam-pills.opus", "opus", 48_000),
    ] {
        let (_, summary) = decode_all(&speech(name), 1.0).expect("decodes");
        assert_eq!(summary.codec, codec, "{name}");
        assert_eq!(summary.source_rate, rate, "{name}");
    }
}

#[test]
fn chunks_have_the_requested_length_except_the_last() {
    let mut lengths = Vec::new();
    decode_audio(
        &speech("silence.wav"),
        &AudioLimits::default(),
        2.0,
        |chunk, _| {
            lengths.push(chunk.len());
            ControlFlow::Continue(())
        },
    )
    .expect("decodes");
    assert_eq!(lengths, [32_000, 32_000, 16_000]);
}

#[test]
fn the_audio_callback_can_stop_decoding() {
    let mut chunks = 0;
    decode_audio(
        &speech("long-talk.wav"),
        &AudioLimits::default(),
        1.0,
        |_, _| {
            chunks += 1;
            ControlFlow::Break(())
        },
    )
    .expect("decodes");
    assert_eq!(chunks, 1);
}

#[test]
fn the_audio_track_of_a_video_decodes_with_speech_starting_at_five_seconds() {
    let (samples, summary) = decode_all(&video("spoken-threat.mp4"), 0.5).expect("decodes");
    assert!((summary.duration_s - 12.0).abs() <= 0.1, "{summary:?}");
    assert_eq!(summary.codec, "aac");
    assert_eq!(summary.source_rate, 48_000);
    // The first 10 ms window with real energy.
    let window = (SAMPLE_RATE / 100) as usize;
    let onset = samples
        .chunks(window)
        .position(|w| (w.iter().map(|s| s * s).sum::<f32>() / w.len() as f32).sqrt() > 0.01)
        .expect("speech somewhere") as f64
        * 0.01;
    assert!((4.95..=5.15).contains(&onset), "speech starts at {onset} s");
}

#[test]
fn the_format_is_sniffed_not_taken_from_the_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let renamed = dir.path().join("profanity.mp3");
    std::fs::copy(speech("profanity.wav"), &renamed).expect("copy");
    let (original, _) = decode_all(&speech("profanity.wav"), 1.0).expect("decodes");
    let (sniffed, summary) = decode_all(&renamed, 1.0).expect("decodes despite the name");
    assert_eq!(summary.codec, "pcm_s16le");
    assert_eq!(sniffed, original);
}

#[test]
fn low_rate_stereo_is_upsampled_and_mixed_to_mono() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tone.wav");
    std::fs::write(&path, stereo_tone_wav(8_000, 2.0)).expect("write");
    let (samples, summary) = decode_all(&path, 0.3).expect("decodes");
    assert_eq!((summary.source_rate, summary.channels), (8_000, 2));
    assert!((summary.duration_s - 2.0).abs() < 0.01, "{summary:?}");
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.2, "peak {peak}");
}

/// A 16-bit PCM stereo WAV of a 440 Hz tone, written by hand so the test needs no tools.
fn stereo_tone_wav(rate: u32, seconds: f64) -> Vec<u8> {
    let frames = (f64::from(rate) * seconds) as u32;
    let data_len = frames * 4;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&2u16.to_le_bytes()); // channels
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 4).to_le_bytes());
    wav.extend_from_slice(&4u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let phase = 2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / f64::from(rate);
        let sample = (phase.sin() * 16_000.0) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    wav
}

#[test]
fn corrupt_mp3_gives_partial_audio_marked_truncated() {
    match decode_all(&speech("corrupt.mp3"), 1.0) {
        Ok((samples, summary)) => {
            let length = samples.len() as f64 / f64::from(SAMPLE_RATE);
            assert!(length > 0.1 && length < 1.5, "{length} s, {summary:?}");
            // It ends cleanly between two frames; its Xing header announces 5 s.
            assert!(summary.truncated.is_some(), "{summary:?}");
        }
        Err(error) => assert!(matches!(error, MediaError::Decode(_)), "{error}"),
    }
}

#[test]
fn a_video_without_audio_has_no_audio_stream() {
    let error = decode_all(&video("clean-testsrc.mp4"), 1.0).expect_err("no audio");
    assert!(matches!(error, MediaError::NoAudioStream), "{error}");
    assert_eq!(error.code(), ErrorCode::UnsupportedMedia);
}

#[test]
fn audio_over_the_duration_limit_is_refused() {
    let limits = AudioLimits {
        max_duration_s: 10.0,
    };
    let mut called = false;
    let error = decode_audio(&speech("long-talk.wav"), &limits, 1.0, |_, _| {
        called = true;
        ControlFlow::Continue(())
    })
    .expect_err("60 s is over 10 s");
    assert!(
        matches!(error, MediaError::TooLong { duration_s, max_s } if (duration_s - 60.0).abs() < 0.1 && max_s == 10.0),
        "{error}"
    );
    assert!(!called, "refused from the header, before decoding");
}
