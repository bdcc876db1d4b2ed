//! Transcribes WAV files (16 kHz mono) and prints their segments and the evaluation table.
//!
//! `cargo run --release -p rampart-speech --example transcribe -- FILE.wav...`
//!
//! The reference transcript of each file comes from `transcripts.csv` next to it (columns
//! `file,start_s,end_s,text`, several rows per file joined in order), if there is one. The
//! model is `$RAMPART_MODELS/whisper-tiny.en.ggml.bin` (see `scripts/fetch-models.sh`).
//! Set `THREADS` to use more than one whisper.cpp thread, `FULL_CONTEXT=1` to give the
//! encoder its full 30 s context on every window, `CONTEXT_MARGIN=S` to try another margin.

use std::error::Error;
use std::path::{Path, PathBuf};

use rampart_speech::eval::{evaluate, EvalItem};
use rampart_speech::{default_model_path, SpeechModel, TranscribeOptions, SAMPLE_RATE};

fn main() -> Result<(), Box<dyn Error>> {
    let files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        return Err("usage: transcribe FILE.wav...".into());
    }
    let threads = match std::env::var("THREADS") {
        Ok(t) => t.parse()?,
        Err(_) => 1,
    };
    let model_path = default_model_path()?;
    let model = SpeechModel::load(&model_path)?;
    let items = files
        .iter()
        .map(|path| load_item(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut opts = TranscribeOptions {
        threads,
        ..TranscribeOptions::default()
    };
    if std::env::var_os("FULL_CONTEXT").is_some() {
        opts.fit_context_margin_s = None;
    }
    if let Ok(margin) = std::env::var("CONTEXT_MARGIN") {
        opts.fit_context_margin_s = Some(margin.parse()?);
    }
    let report = evaluate(&model, &items, &opts)?;
    println!(
        "model {} ({}), threads {threads}",
        model.name_version(),
        model_path.display()
    );
    for row in &report.rows {
        println!("\n{}:", row.name);
        for s in &row.segments {
            println!("  [{:7.2} → {:7.2}] {}", s.t_start, s.t_end, s.text);
        }
    }
    println!("\n{report}");
    Ok(())
}

fn load_item(path: &Path) -> Result<EvalItem, Box<dyn Error>> {
    let mut reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    if spec.sample_rate != SAMPLE_RATE || spec.channels != 1 {
        return Err(format!("{}: need 16 kHz mono, got {spec:?}", path.display()).into());
    }
    let samples = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<Vec<_>, _>>()?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let reference = reference_for(path, &name)?;
    Ok(EvalItem {
        name,
        reference,
        samples,
    })
}

/// The rows of `transcripts.csv` beside `path` that belong to `name`, joined.
fn reference_for(path: &Path, name: &str) -> Result<String, Box<dyn Error>> {
    let csv_path = path.with_file_name("transcripts.csv");
    if !csv_path.is_file() {
        return Ok(String::new());
    }
    let mut parts = Vec::new();
    for record in csv::Reader::from_path(csv_path)?.records() {
        let record = record?;
        if record.get(0) == Some(name) {
            parts.push(record.get(3).unwrap_or_default().to_owned());
        }
    }
    Ok(parts.join(" "))
}
