//! The `rampart` binary: the command line of the README (`rampart --help`).
//!
//! Verdicts go to stdout as JSON, one line per input (a file's verdict carries its `file`; an
//! input that could not be judged gets an error line with its stable code instead), diagnostics
//! to stderr. Exit codes: 0 success, 1 when a verdict reaches `--fail-on`, 2 for usage or input
//! errors (with a one-line reason per failed input on stderr).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc: the server allocates small, short-lived buffers per request from several
/// threads, where glibc's malloc showed up at ~10 % of the profile (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit_cmd;
mod bank_cmd;
mod datadir;
mod eval;
mod eval_image;
mod image_cmd;
mod library_cmd;
mod media_cmd;
mod scan;
mod serve_cmd;
mod testdata;

/// Rampart: a self-hostable content-moderation engine.
#[derive(Parser)]
#[command(name = "rampart", version, about, propagate_version = true)]
struct Cli {
    /// The local data dir (libraries, policy, banks).
    #[arg(
        long,
        global = true,
        env = "RAMPART_DATA",
        default_value = "./rampart-data"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Moderate content and print verdicts as JSON.
    Scan {
        #[command(subcommand)]
        what: ScanWhat,
    },
    /// Hash images (PDQ like the reference tool, or MD5/SHA-256) and videos (vPDQ).
    Hash {
        #[command(subcommand)]
        what: HashWhat,
    },
    /// Manage hash banks (known images) in the data dir.
    Bank {
        #[command(subcommand)]
        action: bank_cmd::BankAction,
    },
    /// Manage term libraries in the data dir.
    Library {
        #[command(subcommand)]
        action: library_cmd::LibraryAction,
    },
    /// Measure accuracy on a labelled corpus.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
    },
    /// Run the HTTP API (docs/API.md).
    Serve(serve_cmd::ServeArgs),
    /// Manage API keys in the store.
    Keys {
        #[command(subcommand)]
        action: serve_cmd::KeysAction,
    },
    /// Verify a tenant's audit chain, print its head, check a published head.
    Audit {
        #[command(subcommand)]
        action: audit_cmd::AuditAction,
    },
    /// Run video and audio jobs from NATS JetStream (scale-out), and send their webhooks.
    Worker(serve_cmd::WorkerArgs),
}

#[derive(Subcommand)]
enum HashWhat {
    #[command(flatten)]
    Image(image_cmd::HashWhat),
    /// vPDQ: `frame,quality,hash,timestamp` per frame, like the reference's vpdq-hash-video.
    Vpdq(media_cmd::VpdqArgs),
}

#[derive(Subcommand)]
enum ScanWhat {
    /// Moderate text given as an argument, or read from stdin with `-` (or no argument).
    Text(scan::TextArgs),
    /// Moderate image files: hash banks, image model, QR codes and OCR; one line per file, its
    /// verdict or its error.
    Image(image_cmd::ImageArgs),
    /// Moderate videos: sampled frames (banks, image model, QR, OCR), vPDQ against video
    /// banks, and speech in the audio track; evidence carries t_start/t_end; one line per
    /// file, its verdict or its error.
    Video(media_cmd::MediaArgs),
    /// Moderate audio files: speech recognition, then the text engine; evidence carries
    /// t_start/t_end and the recognised words; one line per file, its verdict or its error.
    Audio(media_cmd::MediaArgs),
}

#[derive(Subcommand)]
enum EvalWhat {
    /// Precision, recall, F1 and false-positive rate per label on the text corpora's
    /// test split (data/text), for each model and for the whole engine under the policy.
    Text(eval::EvalArgs),
    /// PDQ matching (reference needles/haystack, edited copies vs other images) and the image
    /// model's false-positive rate on the PDQ fixtures (data/testdata/pdq).
    Image(eval_image::EvalImageArgs),
    /// Word error rate and real-time factor of speech recognition on the speech fixtures.
    Speech(media_cmd::EvalSpeechArgs),
}

/// The verdict level at which `--fail-on` makes the command exit 1.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FailOn {
    Review,
    Block,
}

/// Exit 1 when the worst verdict reaches `--fail-on`, else 0.
pub fn exit_for(worst: rampart_types::Suggestion, fail_on: Option<FailOn>) -> ExitCode {
    use rampart_types::Suggestion;
    let failed = match fail_on {
        Some(FailOn::Review) => worst >= Suggestion::Review,
        Some(FailOn::Block) => worst >= Suggestion::Block,
        None => false,
    };
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// An error that maps to exit code 2 with a one-line reason.
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

fn main() -> ExitCode {
    // The sentence encoder of stage 2 runs on the thread that asks (one message is too small to
    // share); without this its math library would start a thread pool per core and contend with
    // the server's own workers. Set before any thread starts; an operator's value wins.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan {
            what: ScanWhat::Text(args),
        } => scan::scan_text(&cli.data, args),
        Command::Scan {
            what: ScanWhat::Image(args),
        } => image_cmd::scan_image(&cli.data, args),
        Command::Scan {
            what: ScanWhat::Video(args),
        } => media_cmd::scan_media(&cli.data, media_cmd::MediaKind::Video, args),
        Command::Scan {
            what: ScanWhat::Audio(args),
        } => media_cmd::scan_media(&cli.data, media_cmd::MediaKind::Audio, args),
        Command::Hash {
            what: HashWhat::Image(what),
        } => image_cmd::hash(what),
        Command::Hash {
            what: HashWhat::Vpdq(args),
        } => media_cmd::hash_vpdq(args),
        Command::Eval {
            what: EvalWhat::Speech(args),
        } => media_cmd::eval_speech(args).map(|()| ExitCode::SUCCESS),
        Command::Worker(args) => serve_cmd::worker(&cli.data, args).map(|()| ExitCode::SUCCESS),
        Command::Bank { action } => bank_cmd::run(&cli.data, action).map(|()| ExitCode::SUCCESS),
        Command::Library { action } => {
            library_cmd::run(&cli.data, action).map(|()| ExitCode::SUCCESS)
        }
        Command::Eval {
            what: EvalWhat::Text(args),
        } => eval::eval_text(&cli.data, args).map(|()| ExitCode::SUCCESS),
        Command::Eval {
            what: EvalWhat::Image(args),
        } => eval_image::eval_image(&cli.data, args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve_cmd::serve(&cli.data, args).map(|()| ExitCode::SUCCESS),
        Command::Keys { action } => serve_cmd::keys(&cli.data, action).map(|()| ExitCode::SUCCESS),
        Command::Audit { action } => audit_cmd::run(&cli.data, action),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let reason = error
                .chain()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(": ")
                .replace('\n', " ");
            eprintln!("rampart: {reason}");
            ExitCode::from(2)
        }
    }
}
