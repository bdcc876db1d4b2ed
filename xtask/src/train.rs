//! `cargo xtask train text`: trains the three text models from the shared corpora's train split,
//! calibrates them on the validation split, writes them to the models dir and prints their
//! test-split metrics. Deterministic: the same corpus gives byte-identical files.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use rampart_textmodel::corpus::{self, Task};
use rampart_textmodel::eval::{EvalRow, Metrics};
use rampart_textmodel::{train, TrainConfig, HATE_FILE, MODEL_VERSION, SPAM_FILE, TOXICITY_FILE};

pub fn train_text(corpus_dir: &Path, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let fingerprint = corpus::fingerprint(corpus_dir);
    let ham = corpus::ham_task(corpus_dir)?;
    let tasks: [(&str, &str, Task, TrainConfig); 3] = [
        (
            "text-toxicity",
            TOXICITY_FILE,
            corpus::with_extra_negatives(corpus::toxicity_task(corpus_dir)?, &ham),
            TrainConfig::default(),
        ),
        (
            "text-hate",
            HATE_FILE,
            corpus::with_extra_negatives(corpus::hate_task(corpus_dir)?, &ham),
            TrainConfig {
                positive_weight: 3.0,
                ..TrainConfig::default()
            },
        ),
        (
            "text-spam",
            SPAM_FILE,
            corpus::spam_task(corpus_dir)?,
            TrainConfig::default(),
        ),
    ];
    println!("{}", EvalRow::header());
    for (name, file, (tr, va, te), config) in tasks {
        let started = Instant::now();
        let model = train(name, MODEL_VERSION, fingerprint, &tr, &va, &config);
        let path = out_dir.join(file);
        model.save(&path)?;
        let scored: Vec<(f32, bool)> = te.iter().map(|(t, y)| (model.predict(t), *y)).collect();
        for (point, m) in [
            ("threshold 0.5", Metrics::at(&scored, 0.5)),
            (
                "best recall @ FPR≤1%",
                Metrics::best_recall_at_fpr(&scored, 0.01),
            ),
        ] {
            let row = EvalRow {
                system: model.name_version(),
                task: format!("{name} test split ({} train)", tr.len()),
                operating_point: point.to_owned(),
                metrics: m,
            };
            println!("{row}");
        }
        if name != "text-spam" {
            let ham_scored: Vec<(f32, bool)> =
                ham.2.iter().map(|(t, y)| (model.predict(t), *y)).collect();
            let m = Metrics::at(&ham_scored, 0.4);
            eprintln!(
                "  {name}: false-positive rate on SMS ham (test split) at 0.4: {:.4}",
                m.fpr
            );
        }
        eprintln!(
            "trained {} in {:.1} s -> {}",
            model.name_version(),
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    Ok(())
}
