//! `cargo xtask bench video`: seconds of video moderated per wall-clock second, decode
//! included, beside a bare `ffmpeg` decode of the same file at the same sampling rate, in one
//! run. The goal (issue 6) is within 1.5× of bare decoding.
//!
//! Rows per fixture: the `ffmpeg` program decoding and converting one frame per second to RGB
//! (`-vf fps=1 -f rawvideo -pix_fmt rgb24`, output discarded); Rampart's sampler alone
//! (decode, cut detection, RGB of the sampled frames); the video part of a verdict ("frames":
//! sampler, then PDQ banks, image model, QR, OCR on every sampled frame, vPDQ — the default
//! policy with speech recognition off); and the whole verdict (the same plus speech
//! recognition of the audio track, at the same time), with its CPU time (all threads, mean
//! per run). Each is timed `RUNS` times after one warm-up run; the median is printed. Models
//! load once, before timing (a server loads them once too). A table of the detectors' cost
//! per sampled frame follows.

use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rampart_image::DecodedImage;
use rampart_media::video::{probe, sample_frames, SamplingOptions, VideoLimits};
use rampart_moderate::{DataDir, MediaModerator};
use rampart_policy::Policy;
use rampart_speech::eval::process_cpu_time;

const RUNS: usize = 5;
const FILES: &[&str] = &[
    "banned-insert.mp4",
    "clean-testsrc.mp4",
    "clean-testsrc.webm",
    "burned-text.mp4",
    "spoken-threat.mp4",
];

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(run: impl FnMut() -> Result<()>) -> Result<Duration> {
    Ok(time_and_cpu(run)?.0)
}

/// The median wall time of `RUNS` runs after a warm-up, and the mean CPU time of this
/// process (all threads) per run.
fn time_and_cpu(mut run: impl FnMut() -> Result<()>) -> Result<(Duration, Duration)> {
    run()?;
    let mut times = Vec::with_capacity(RUNS);
    let cpu_before = process_cpu_time();
    for _ in 0..RUNS {
        let started = Instant::now();
        run()?;
        times.push(started.elapsed());
    }
    let cpu = process_cpu_time().saturating_sub(cpu_before) / RUNS as u32;
    Ok((median(times), cpu))
}

pub fn bench_video(testdata: &Path) -> Result<()> {
    let dir = testdata.join("media").join("video");
    if Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        bail!("the ffmpeg program is needed (./setup.sh installs it)");
    }
    let data = std::env::temp_dir().join("rampart-bench-video");
    std::fs::create_dir_all(&data)?;
    let mut notes = Vec::new();
    let moderator = DataDir::new(&data)
        .media_moderator(Policy::default(), &mut |note| notes.push(note))
        .context("loading the detectors")?;
    // The same detectors without speech recognition: the video part of a verdict alone.
    let mut silent_policy = Policy::default();
    silent_policy.media.speech = false;
    let frames_only = DataDir::new(&data)
        .media_moderator(silent_policy, &mut |note| notes.push(note))
        .context("loading the detectors")?;
    notes.dedup();
    for note in notes {
        eprintln!("note: {note}");
    }
    let limits = VideoLimits::default();
    println!(
        "video scanning vs bare ffmpeg decode at 1 frame/s (median of {RUNS}, after a warm-up; models {})",
        if moderator.speech.is_some() { "image + speech" } else { "image only" }
    );
    println!(
        "{:<20} {:>7} {:>9} {:>9} {:>9} {:>7} {:>9} {:>7} {:>9} {:>9}",
        "file",
        "video s",
        "ffmpeg s",
        "sampler s",
        "frames s",
        "ratio",
        "verdict s",
        "ratio",
        "video s/s",
        "CPU s"
    );
    for name in FILES {
        let path = dir.join(name);
        let info = probe(&path, &limits).with_context(|| format!("probing {name}"))?;
        let seconds = info.duration_s.unwrap_or(0.0);
        let ffmpeg = time(|| {
            let status = Command::new("ffmpeg")
                .args(["-nostdin", "-v", "error", "-i"])
                .arg(&path)
                .args(["-vf", "fps=1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
                .stdout(Stdio::null())
                .status()?;
            if !status.success() {
                bail!("ffmpeg failed on {name}");
            }
            Ok(())
        })?;
        let sampler = time(|| {
            sample_frames(&path, &SamplingOptions::default(), &limits, |_| {
                ControlFlow::Continue(())
            })?;
            Ok(())
        })?;
        let frames = time(|| {
            frames_only
                .video_verdict(&path, String::new(), None, &mut |_| true)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))
        })?;
        let (verdict, verdict_cpu) = time_and_cpu(|| {
            moderator
                .video_verdict(&path, String::new(), None, &mut |_| true)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))
        })?;
        println!(
            "{:<20} {:>7.1} {:>9.3} {:>9.3} {:>9.3} {:>6.2}x {:>9.3} {:>6.2}x {:>9.1} {:>9.3}",
            name,
            seconds,
            ffmpeg.as_secs_f64(),
            sampler.as_secs_f64(),
            frames.as_secs_f64(),
            frames.as_secs_f64() / ffmpeg.as_secs_f64(),
            verdict.as_secs_f64(),
            verdict.as_secs_f64() / ffmpeg.as_secs_f64(),
            seconds / verdict.as_secs_f64(),
            verdict_cpu.as_secs_f64(),
        );
    }
    stage_breakdown(&dir, &moderator, &limits)
}

/// Where the detectors' time goes: the mean milliseconds per sampled frame of each stage,
/// run one after another on the frames the sampler hands out (so without the overlap with
/// decoding that the verdict has).
fn stage_breakdown(dir: &Path, moderator: &MediaModerator, limits: &VideoLimits) -> Result<()> {
    println!();
    println!("detector stages, mean ms per sampled frame (one thread, frames decoded beforehand)");
    println!(
        "{:<20} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "file", "frames", "pdq+bank", "model", "qr", "lettering", "ocr"
    );
    let detectors = &moderator.image.detectors;
    for name in FILES {
        let mut frames = Vec::new();
        sample_frames(
            &dir.join(name),
            &SamplingOptions::default(),
            limits,
            |frame| {
                frames.push(frame);
                ControlFlow::Continue(())
            },
        )?;
        let images: Vec<DecodedImage> = frames
            .into_iter()
            .filter_map(|f| DecodedImage::from_rgb_frame(f.width, f.height, f.rgb))
            .collect();
        if images.is_empty() {
            continue;
        }
        let per_frame = |stage: &mut dyn FnMut(&DecodedImage) -> Result<()>| -> Result<f64> {
            let started = Instant::now();
            for image in &images {
                stage(image)?;
            }
            Ok(started.elapsed().as_secs_f64() * 1000.0 / images.len() as f64)
        };
        let banks = per_frame(&mut |image| {
            moderator.image.scan_frame_banks(image, Some(0.0));
            Ok(())
        })?;
        let model = match &detectors.nsfw {
            Some(model) => per_frame(&mut |image| {
                model.score_rgb(image.width, image.height, &image.to_rgb())?;
                Ok(())
            })?,
            None => f64::NAN,
        };
        let qr = per_frame(&mut |image| {
            rampart_image::find_qr_codes(image);
            Ok(())
        })?;
        let lettering = per_frame(&mut |image| {
            rampart_image::text_regions(image);
            Ok(())
        })?;
        let ocr = match &detectors.ocr {
            Some(ocr) => per_frame(&mut |image| {
                let regions = rampart_image::text_regions(image);
                ocr.recognise_regions(image, &regions)?;
                Ok(())
            })?,
            None => f64::NAN,
        };
        println!(
            "{:<20} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            name,
            images.len(),
            banks,
            model,
            qr,
            lettering,
            ocr
        );
    }
    Ok(())
}
