//! `rampart scan video|audio`, `rampart hash vpdq` and `rampart eval speech`.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rampart_media::video::VideoLimits;
use rampart_media::vpdq::{format_line, hash_video, VpdqOptions};
use rampart_types::{ErrorCode, Verdict};
use sha2::{Digest, Sha256};

use crate::datadir::DataDir;
use crate::scan::judge_files;
use crate::FailOn;

#[derive(Args)]
pub struct MediaArgs {
    /// The video or audio files (the container and codecs are read from the bytes, not the
    /// extension).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A TOML policy file (default: policy.toml in the data dir, else the built-in policy).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Exit 1 when any verdict reaches this level.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// The caller's id for the content, copied into `content_ref.client_id`.
    #[arg(long)]
    client_id: Option<String>,
}

/// Video or audio.
#[derive(Clone, Copy, PartialEq)]
pub enum MediaKind {
    Video,
    Audio,
}

/// One line per file, in order: its verdict (with `file`), or, when it cannot be moderated,
/// an error line (also reported on stderr); the command then exits 2 after the others.
pub fn scan_media(data: &Path, kind: MediaKind, args: MediaArgs) -> Result<ExitCode> {
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let moderator = dir.media_moderator(policy)?;
    judge_files(&args.files, args.fail_on, |file| match file_sha256(file) {
        Ok(sha256) => moderate_file(&moderator, kind, file, sha256, args.client_id.clone())
            .map_err(|e| (e.code(), e.to_string())),
        Err(e) => Err((ErrorCode::InvalidRequest, e.to_string())),
    })
}

/// One file's verdict, with a progress bar on a terminal.
fn moderate_file(
    moderator: &rampart_moderate::MediaModerator,
    kind: MediaKind,
    file: &Path,
    sha256: String,
    client_id: Option<String>,
) -> std::result::Result<Verdict, rampart_moderate::MediaModerateError> {
    let bar = progress_bar();
    let mut report = |fraction: f32| {
        if let Some(bar) = &bar {
            bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
        }
        true
    };
    let result = match kind {
        MediaKind::Video => moderator.video_verdict(file, sha256, client_id, &mut report),
        MediaKind::Audio => moderator.audio_verdict(file, sha256, client_id, &mut report),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// A progress bar on stderr when it is a terminal (per mille of the work).
fn progress_bar() -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(1000);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_bar} {percent:>3}% {elapsed}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// SHA-256 of a file, streamed.
fn file_sha256(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a file"));
    }
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

#[derive(Args)]
pub struct VpdqArgs {
    /// The video file.
    file: PathBuf,
    /// Hash one frame every this many seconds (0: every frame, the reference's default).
    #[arg(long, default_value_t = 0.0)]
    seconds_per_hash: f64,
    /// Rescale frames to N×N before hashing (the reference's `-s`; default: native size).
    #[arg(long)]
    downsample: Option<u32>,
}

/// `frame,quality,hash,timestamp` per hashed frame, like the reference's vpdq-hash-video.
pub fn hash_vpdq(args: VpdqArgs) -> Result<ExitCode> {
    let options = VpdqOptions {
        seconds_per_hash: args.seconds_per_hash,
        downsample: args.downsample,
    };
    match hash_video(&args.file, &options, &VideoLimits::default()) {
        Ok(frames) => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            for frame in &frames {
                if writeln!(out, "{}", format_line(frame)).is_err() {
                    break;
                }
            }
            out.flush().ok();
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!(
                "rampart: {}: {}: {error}",
                error.code().as_str(),
                args.file.display()
            );
            Ok(ExitCode::from(2))
        }
    }
}

#[derive(Args)]
pub struct EvalSpeechArgs {
    /// The speech fixtures with `transcripts.csv` (default: the repository's
    /// data/testdata/media/speech, made by ./setup.sh; or $RAMPART_TESTDATA/media/speech).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Whisper threads (the real-time factor goal is single-threaded).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Give Whisper's encoder its full 30 s context for every window, as whisper.cpp does by
    /// default, instead of the window's length plus 7 s (for comparison).
    #[arg(long)]
    full_context: bool,
    /// Another whisper.cpp GGML model file to evaluate instead of the installed tiny.en
    /// (e.g. Whisper base converted with scripts/convert-whisper-ct2-to-ggml.py).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Also print each file's transcript beside its reference.
    #[arg(long)]
    transcripts: bool,
}

/// Word error rate and real-time factor of speech recognition on the speech fixtures.
pub fn eval_speech(args: EvalSpeechArgs) -> Result<()> {
    let (dir, hint) = match args.dir {
        Some(dir) => (dir, ""),
        None => (
            crate::testdata::default_dir().join("media/speech"),
            " (./setup.sh makes the speech fixtures: data/testdata/media/README.md)",
        ),
    };
    let csv_path = dir.join("transcripts.csv");
    let mut reader = csv::Reader::from_path(&csv_path)
        .with_context(|| format!("reading {}{hint}", csv_path.display()))?;
    // One reference text per file; long-talk's sentences are joined in order.
    let mut references: BTreeMap<String, String> = BTreeMap::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", csv_path.display()))?;
        let (file, text) = (row.get(0).unwrap_or(""), row.get(3).unwrap_or(""));
        let entry = references.entry(file.to_owned()).or_default();
        if !entry.is_empty() && !text.is_empty() {
            entry.push(' ');
        }
        entry.push_str(text);
    }
    let model_path = args.model.unwrap_or_else(|| {
        rampart_textmodel::default_models_dir().join(rampart_speech::MODEL_FILE)
    });
    let model = rampart_speech::SpeechModel::load(&model_path).with_context(|| {
        format!(
            "loading {} (run scripts/fetch-models.sh)",
            model_path.display()
        )
    })?;
    let mut items = Vec::new();
    for (file, reference) in references {
        let path = dir.join(&file);
        let mut samples = Vec::new();
        rampart_media::audio::decode_audio(
            &path,
            &rampart_media::audio::AudioLimits::default(),
            30.0,
            |chunk, _t| {
                samples.extend_from_slice(chunk);
                ControlFlow::Continue(())
            },
        )
        .with_context(|| format!("decoding {}", path.display()))?;
        items.push(rampart_speech::eval::EvalItem {
            name: file,
            reference,
            samples,
        });
    }
    let options = rampart_speech::TranscribeOptions {
        threads: args.threads.max(1),
        fit_context_margin_s: if args.full_context {
            None
        } else {
            rampart_speech::TranscribeOptions::default().fit_context_margin_s
        },
        ..Default::default()
    };
    let report =
        rampart_speech::eval::evaluate(&model, &items, &options).context("speech recognition")?;
    println!(
        "speech recognition: {} on {}",
        model.name_version(),
        dir.display()
    );
    if args.transcripts {
        for (row, item) in report.rows.iter().zip(&items) {
            println!("{}", row.name);
            println!("  reference:  {}", item.reference);
            println!("  transcript: {}", row.hypothesis);
        }
        println!();
    }
    println!("{report}");
    Ok(())
}

/// A vPDQ bank entry for a video file: one frame hash per second at native resolution (the
/// sampling `rampart scan video` matches against).
pub fn video_entry(file: &Path) -> Result<rampart_hashbank::bank::Entry> {
    let options = VpdqOptions {
        seconds_per_hash: 1.0,
        downsample: None,
    };
    let frames = hash_video(file, &options, &VideoLimits::default()).map_err(|e| {
        crate::InputError(format!("{}: {}: {e}", e.code().as_str(), file.display()))
    })?;
    if frames.is_empty() {
        anyhow::bail!(crate::InputError(format!(
            "decode_failed: {}: the video has no frames to hash",
            file.display()
        )));
    }
    let features = frames
        .into_iter()
        .map(|f| rampart_hashbank::VpdqFeature {
            hash: f.hash,
            quality: f.quality,
        })
        .collect();
    Ok(rampart_hashbank::bank::Entry::new(
        rampart_hashbank::bank::EntryHash::Vpdq(features),
    ))
}
