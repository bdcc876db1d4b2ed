//! Samples frames from a video and prints one line per sample:
//! `frame_number t reason widthxheight`, then a summary line.
//!
//! `cargo run --release -p rampart-media --example sample -- FILE [--no-scene]`

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use rampart_media::video::{sample_frames, SamplingOptions, VideoLimits};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: sample FILE [--no-scene]");
        return ExitCode::FAILURE;
    };
    let mut opts = SamplingOptions::default();
    if args.any(|a| a == "--no-scene") {
        opts.scene_threshold = None;
    }
    let result = sample_frames(&path, &opts, &VideoLimits::default(), |frame| {
        println!(
            "{:6} {:9.3} {:?} {}x{}",
            frame.frame_number, frame.t, frame.reason, frame.width, frame.height
        );
        ControlFlow::Continue(())
    });
    match result {
        Ok(summary) => {
            println!("{summary:?}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error} ({})", error.code());
            ExitCode::FAILURE
        }
    }
}
