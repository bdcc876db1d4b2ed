//! Project tasks that are not part of the product: seeding built-in libraries from the shared
//! corpora, training the text models, and benchmarks.
//!
//! Run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

/// The allocator of the `rampart` binary, so benchmarks measure what the product runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod bench_index;
mod bench_pdq;
mod bench_video;
mod seed;
mod train;
mod venv;

#[derive(Parser)]
#[command(name = "xtask", about = "Rampart project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Regenerate a built-in library from the repository's corpora.
    Seed {
        /// Which library: `profanity`.
        what: String,
        /// The text corpora (default: the repository's data/text, or $RAMPART_CORPUS).
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
    /// Train models from the repository's corpora.
    Train {
        /// Which models: `text`.
        what: String,
        /// Only choose the gate's thresholds again, with the models already in `--out` (for
        /// tuning the gate's cue lists without retraining).
        #[arg(long)]
        gate_only: bool,
        /// The text corpora (default: the repository's data/text, or $RAMPART_CORPUS).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Where to write the model files (default: $RAMPART_MODELS or ~/.cache/rampart/models).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a benchmark and print its figures.
    Bench {
        /// Which benchmark: `text`, `index` (Hamming index vs FAISS), `pdq` (decode + PDQ vs
        /// pdqhash + Pillow), `video` (video verdicts vs a bare ffmpeg decode).
        what: String,
        /// The text corpora (default: the repository's data/text, or $RAMPART_CORPUS).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// `index`: database sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        sizes: Vec<usize>,
        /// `index`: number of queries (half with a planted neighbour).
        #[arg(long, default_value_t = 1000)]
        queries: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Seed { what, corpus } => {
            let corpus = corpus.map_or_else(text_corpus_dir, Ok)?;
            match what.as_str() {
                "profanity" => seed::seed_profanity(
                    &corpus,
                    &workspace_root().join("crates/text/libraries/profanity-en.lib"),
                ),
                other => bail!("unknown library '{other}': use profanity"),
            }
        }
        Task::Train {
            what,
            corpus,
            out,
            gate_only,
        } => {
            if what != "text" {
                bail!("unknown model set '{what}': use text");
            }
            let corpus = corpus.map_or_else(text_corpus_dir, Ok)?;
            let out = out.unwrap_or_else(rampart_textmodel::default_models_dir);
            if gate_only {
                train::recalibrate_gate(&corpus, &out)
            } else {
                train::train_text(&corpus, &out)
            }
        }
        Task::Bench {
            what,
            corpus,
            sizes,
            queries,
        } => match what.as_str() {
            "text" => {
                let corpus = corpus.map_or_else(text_corpus_dir, Ok)?;
                bench::bench_text(&corpus, &rampart_textmodel::default_models_dir())
            }
            "index" => {
                let out = std::env::temp_dir().join("rampart-bench-index");
                bench_index::bench_index(&sizes, queries, &out)
            }
            "pdq" => {
                let mut dirs = vec![testdata_dir()?];
                dirs.extend(full_testdata_dir());
                bench_pdq::bench_pdq(&dirs)
            }
            "video" => bench_video::bench_video(&testdata_dir()?),
            other => bail!("unknown benchmark '{other}': use text, index, pdq or video"),
        },
    }
}

/// The workspace root: the parent of this crate's directory as cargo names it at run time
/// (`cargo xtask`), else the nearest directory holding `xtask/Cargo.toml` from the working
/// directory up (`setup.sh` runs the binary from the root), else where this crate was built.
/// Run time first: the build cache is shared between copies of the repository (`.ci/run`), so
/// the binary may have been built from another copy.
fn workspace_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        if let Some(root) = Path::new(&dir).parent() {
            return root.to_path_buf();
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(root) = cwd
            .ancestors()
            .find(|d| d.join("xtask/Cargo.toml").is_file())
        {
            return root.to_path_buf();
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The repository's text corpora (`data/text`, or `$RAMPART_CORPUS`).
fn text_corpus_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("RAMPART_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("data/text"),
    };
    if !dir.is_dir() {
        bail!("text corpora not found at {}", dir.display());
    }
    Ok(dir)
}

/// The test fixtures of the image and video benchmarks: `$RAMPART_TESTDATA`, else the
/// repository's `data/testdata` (whose `media/` `./setup.sh` makes).
fn testdata_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("RAMPART_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("data/testdata"),
    };
    if !dir.is_dir() {
        bail!("test data not found at {}", dir.display());
    }
    Ok(dir)
}

/// The full fixture set the repository's test data was trimmed from, when it is beside the
/// workspace (`../shared/testdata`): the PDQ benchmark times its 12 MP photo. Optional.
fn full_testdata_dir() -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/testdata");
    dir.is_dir().then_some(dir)
}
