//! `cargo xtask bench video`: seconds of video moderated per wall-clock second, decode
//! included, beside a bare `ffmpeg` decode of the same file at the same sampling rate, in one
//! run. The goal (issue 6) is within 1.5× of bare decoding.
//!
//! Rows per fixture: the `ffmpeg` program decoding and converting one frame per second to RGB
//! (`-vf fps=1 -f rawvideo -pix_fmt rgb24`, output discarded); Rampart's sampler alone
//! (decode, cut detection, RGB of the sampled frames); and the whole video verdict (sampler,
//! then PDQ banks, image model, QR, OCR on every sampled frame, vPDQ, speech on the audio
//! track) under the default policy. Each is timed `RUNS` times after one warm-up run; the
//! median is printed. Models load once, before timing (a server loads them once too).

use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rampart_media::video::{probe, sample_frames, SamplingOptions, VideoLimits};
use rampart_moderate::DataDir;
use rampart_policy::Policy;

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

fn time(mut run: impl FnMut() -> Result<()>) -> Result<Duration> {
    run()?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run()?;
        times.push(started.elapsed());
    }
    Ok(median(times))
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
    for note in notes {
        eprintln!("note: {note}");
    }
    let limits = VideoLimits::default();
    println!(
        "video scanning vs bare ffmpeg decode at 1 frame/s (median of {RUNS}, after a warm-up; models {})",
        if moderator.speech.is_some() { "image + speech" } else { "image only" }
    );
    println!(
        "{:<20} {:>7} {:>10} {:>10} {:>10} {:>7} {:>12}",
        "file", "video s", "ffmpeg s", "sampler s", "verdict s", "ratio", "video s/s"
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
        let verdict = time(|| {
            moderator
                .video_verdict(&path, String::new(), None, &mut |_| true)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))
        })?;
        println!(
            "{:<20} {:>7.1} {:>10.3} {:>10.3} {:>10.3} {:>6.2}x {:>12.1}",
            name,
            seconds,
            ffmpeg.as_secs_f64(),
            sampler.as_secs_f64(),
            verdict.as_secs_f64(),
            verdict.as_secs_f64() / ffmpeg.as_secs_f64(),
            seconds / verdict.as_secs_f64(),
        );
    }
    Ok(())
}
