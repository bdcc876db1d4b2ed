//! `rampart eval text`: precision, recall, F1 and false-positive rate on the test split of the
//! shared corpora, for each model alone and for the whole engine (libraries + detectors + models)
//! under the policy.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rampart_textmodel::corpus::{self, Task};
use rampart_textmodel::eval::{EvalRow, Metrics};
use rampart_textmodel::{LinearModel, TextModels};
use rampart_types::{Label, Suggestion};

use crate::datadir::DataDir;
use rampart_moderate::TextModerator;

#[derive(Args)]
pub struct EvalArgs {
    /// The shared text corpora (default: $RAMPART_TESTDATA/text, else ../shared/testdata/text).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// A TOML policy for the engine rows (default: the data dir's, else the built-in policy).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn eval_text(data: &Path, args: EvalArgs) -> Result<()> {
    let corpus_dir = match args.corpus {
        Some(dir) => dir,
        None => corpus::default_corpus_dir()
            .context("shared corpora not found: pass --corpus or set RAMPART_TESTDATA")?,
    };
    let models_dir = rampart_textmodel::default_models_dir();
    let models = TextModels::load_dir(&models_dir).with_context(|| {
        format!(
            "loading models from {} (run ./setup.sh)",
            models_dir.display()
        )
    })?;
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let engine = dir.text_engine()?;
    let moderator = TextModerator::new(engine, policy);
    let policy_id = moderator.policy.id();

    let mut rows = Vec::new();
    let spam = corpus::spam_task(&corpus_dir)?;
    let toxicity = corpus::toxicity_task(&corpus_dir)?;
    let hate = corpus::hate_task(&corpus_dir)?;
    let tasks: [(&str, &Task, &LinearModel, &[Label]); 3] = [
        ("spam vs ham (SMS)", &spam, &models.spam, &[Label::Spam]),
        (
            "offensive vs neither (Davidson)",
            &toxicity,
            &models.toxicity,
            &[Label::Profanity, Label::Hate, Label::Harassment],
        ),
        (
            "hate vs rest (Davidson)",
            &hate,
            &models.hate,
            &[Label::Hate],
        ),
    ];
    for (task, (_, _, test), model, labels) in tasks {
        let scored: Vec<(f32, bool)> = test.iter().map(|(t, y)| (model.predict(t), *y)).collect();
        rows.push(EvalRow {
            system: model.name_version(),
            task: task.to_owned(),
            operating_point: "threshold 0.5".into(),
            metrics: Metrics::at(&scored, 0.5),
        });
        rows.push(EvalRow {
            system: model.name_version(),
            task: task.to_owned(),
            operating_point: "best recall @ FPR≤1%".into(),
            metrics: Metrics::best_recall_at_fpr(&scored, 0.01),
        });
        // The whole engine: flagged when any of the task's labels reaches review.
        let engine_scored: Vec<(f32, bool)> = test
            .iter()
            .map(|(t, y)| {
                let verdict = moderator.verdict(t, None);
                let flagged = verdict
                    .labels
                    .iter()
                    .any(|l| labels.contains(&l.label) && l.suggestion >= Suggestion::Review);
                (if flagged { 1.0 } else { 0.0 }, *y)
            })
            .collect();
        rows.push(EvalRow {
            system: format!("engine ({policy_id})"),
            task: task.to_owned(),
            operating_point: "suggestion ≥ review".into(),
            metrics: Metrics::at(&engine_scored, 0.5),
        });
    }

    // Everyday messages (SMS ham, test split): how often does the engine flag anything at all?
    let ham = corpus::ham_task(&corpus_dir)?;
    let everyday: Vec<(f32, bool)> = ham
        .2
        .iter()
        .map(|(t, y)| {
            let verdict = moderator.verdict(t, None);
            let flagged = verdict.suggestion >= Suggestion::Review;
            (if flagged { 1.0 } else { 0.0 }, *y)
        })
        .collect();
    rows.push(EvalRow {
        system: format!("engine ({policy_id})"),
        task: "any label on everyday SMS (ham)".to_owned(),
        operating_point: "suggestion ≥ review".into(),
        metrics: Metrics::at(&everyday, 0.5),
    });

    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
    } else {
        println!(
            "test split: SMS {} messages, Davidson {} tweets",
            spam.2.len(),
            toxicity.2.len()
        );
        println!("{}", EvalRow::header());
        for row in &rows {
            println!("{row}");
        }
    }
    Ok(())
}
