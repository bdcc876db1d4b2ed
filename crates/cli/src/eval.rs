//! `rampart eval text`: the text judgement measured on the test splits of the repository's
//! corpora (`data/text`), for stage 1 alone (term libraries + linear models) and for the cascade
//! (stage 1 + stage 2), under the policy:
//! - per label: precision, recall and false-positive rate on the functional suite;
//! - per functional case type: accuracy;
//! - the acceptance figures (ordinary sentences and Scunthorpe-style sentences flagged, hate
//!   recall beside non-hateful cases flagged, threat and self-harm-intent recall, everyday SMS
//!   flagged, stage-2 escalation rate);
//! - each linear model alone on the tweet and SMS corpora, as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use rampart_textmodel::corpus::{self, Split, Task};
use rampart_textmodel::eval::{EvalRow, Metrics};
use rampart_textmodel::functional::{self, Case, CaseGroup};
use rampart_textmodel::{LinearModel, TextModels};
use rampart_types::{Label, Suggestion, Verdict};
use serde::Serialize;

use crate::datadir::DataDir;
use rampart_moderate::TextModerator;

#[derive(Args)]
pub struct EvalArgs {
    /// The text corpora (default: the repository's data/text, or $RAMPART_CORPUS).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// A TOML policy for the engine rows (default: the data dir's, else the built-in policy).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Print JSON lines instead of tables.
    #[arg(long)]
    json: bool,
    /// Which split of the functional suite to measure: test (default) or validation.
    #[arg(long, default_value = "test")]
    split: String,
    /// Also print every case the cascade gets wrong in the acceptance groups (hateful,
    /// non-hateful, threat, self-harm intent, benign, Scunthorpe): whether stage 2 read it, the
    /// flagged labels and the expected label's score. For finding what to fix next.
    #[arg(long)]
    misses: bool,
}

/// The labels a functional case can expect.
const JUDGED: [Label; 6] = [
    Label::Harassment,
    Label::Hate,
    Label::Violence,
    Label::SelfHarm,
    Label::Sexual,
    Label::Profanity,
];

/// The labels that say a message is abusive (profanity alone is not abuse).
const ABUSE: [Label; 5] = [
    Label::Harassment,
    Label::Hate,
    Label::Violence,
    Label::SelfHarm,
    Label::Sexual,
];

/// One acceptance figure of one system.
#[derive(Debug, Clone, Serialize)]
pub struct Acceptance {
    pub system: String,
    pub figure: String,
    pub value: f64,
    pub count: usize,
    pub of: usize,
}

/// What a verdict flagged (labels at review or above).
fn flagged(verdict: &Verdict) -> Vec<Label> {
    verdict
        .labels
        .iter()
        .filter(|l| l.suggestion >= Suggestion::Review)
        .map(|l| l.label.clone())
        .collect()
}

/// A case is handled correctly when every abuse label it expects is flagged and, for a case
/// that expects no abuse label, none is flagged (and for `none` cases nothing at all). An
/// expected `profanity` is not required: the suite marks every swear word, while the profanity
/// library reviews only strong ones (its per-label row shows how often they agree).
fn correct(case: &Case, flags: &[Label]) -> bool {
    let required: Vec<&Label> = case.labels.iter().filter(|l| ABUSE.contains(l)).collect();
    if !required.iter().all(|l| flags.contains(l)) {
        return false;
    }
    if case.labels.is_empty() {
        return flags.iter().all(|l| !JUDGED.contains(l));
    }
    if required.is_empty() {
        return flags.iter().all(|l| !ABUSE.contains(l));
    }
    true
}

/// Prints the members of a case group the system got wrong (see `--misses`).
fn print_misses(
    cases: &[Case],
    verdicts: &[Verdict],
    flags: &[Vec<Label>],
    members: &[usize],
    group: CaseGroup,
    label: Option<&Label>,
) {
    for &i in members {
        let wrong = match label {
            Some(label) => !flags[i].contains(label),
            None => !flags[i].is_empty(),
        };
        if !wrong {
            continue;
        }
        let score = label
            .and_then(|l| verdicts[i].labels.iter().find(|v| &v.label == l))
            .map_or(0.0, |v| v.score);
        let flagged: Vec<&str> = flags[i].iter().map(Label::as_str).collect();
        println!(
            "miss\t{group:?}\t{}\t{}\tstage2={}\tscore={score:.2}\tflagged={}\t{}",
            cases[i].template,
            cases[i].case,
            escalated(&verdicts[i]),
            flagged.join(","),
            cases[i].text
        );
    }
}

/// Whether stage 2 read the text (its evidence names the heads).
fn escalated(verdict: &Verdict) -> bool {
    verdict.models.iter().any(|m| m.starts_with("text-heads@"))
}

pub fn eval_text(data: &Path, args: EvalArgs) -> Result<()> {
    let corpus_dir = match args.corpus {
        Some(dir) => dir,
        None => corpus::default_corpus_dir()
            .context("text corpora not found: pass --corpus (the repository's data/text)")?,
    };
    let split = match args.split.as_str() {
        "test" => Split::Test,
        "validation" => Split::Validation,
        other => bail!("--split must be test or validation, not {other}"),
    };
    let models_dir = rampart_textmodel::default_models_dir();
    let models = TextModels::load_dir(&models_dir).with_context(|| {
        format!(
            "loading the stage-1 models from {} (run ./setup.sh)",
            models_dir.display()
        )
    })?;
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let engine = std::sync::Arc::new(dir.text_engine()?);
    if engine.stage2().is_none() {
        bail!(
            "stage 2 (sentence encoder and heads) not loaded from {}: run ./setup.sh",
            models_dir.display()
        );
    }
    let cascade = TextModerator::new(engine.clone(), policy.clone());
    let mut stage1_policy = policy;
    stage1_policy.text.stage2 = false;
    let stage1 = TextModerator::new(engine, stage1_policy);
    let policy_id = cascade.policy.id();

    let cases: Vec<Case> = functional::load(&corpus_dir)?
        .into_iter()
        .filter(|c| c.split() == split)
        .collect();
    let ham = corpus::ham_task(&corpus_dir)?;
    let everyday: Vec<&str> = match split {
        Split::Test => ham.2.iter().map(|(t, _)| t.as_str()).collect(),
        _ => ham.1.iter().map(|(t, _)| t.as_str()).collect(),
    };

    let mut label_rows = Vec::new();
    let mut case_rows: BTreeMap<String, Vec<(String, usize, usize)>> = BTreeMap::new();
    let mut acceptance = Vec::new();
    for (system, moderator) in [
        ("stage 1".to_owned(), &stage1),
        ("cascade".to_owned(), &cascade),
    ] {
        let system = format!("{system} ({policy_id})");
        let verdicts: Vec<Verdict> = cases
            .iter()
            .map(|c| moderator.verdict(&c.text, None))
            .collect();
        let flags: Vec<Vec<Label>> = verdicts.iter().map(flagged).collect();
        for label in JUDGED {
            let scored: Vec<(f32, bool)> = cases
                .iter()
                .zip(&flags)
                .map(|(c, f)| (f32::from(u8::from(f.contains(&label))), c.has(&label)))
                .collect();
            label_rows.push(EvalRow {
                system: system.clone(),
                task: format!("{} (functional suite)", label.as_str()),
                operating_point: "suggestion ≥ review".into(),
                metrics: Metrics::at(&scored, 0.5),
            });
        }
        let mut per_case: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (case, f) in cases.iter().zip(&flags) {
            let entry = per_case.entry(case.case.as_str()).or_default();
            entry.1 += 1;
            if correct(case, f) {
                entry.0 += 1;
            }
        }
        for (case, (ok, n)) in per_case {
            case_rows
                .entry(case.to_owned())
                .or_default()
                .push((system.clone(), ok, n));
        }
        let mut figure = |name: &str, hits: usize, of: usize| {
            acceptance.push(Acceptance {
                system: system.clone(),
                figure: name.to_owned(),
                value: if of == 0 {
                    0.0
                } else {
                    hits as f64 / of as f64
                },
                count: hits,
                of,
            });
        };
        let group = |g: CaseGroup| -> Vec<usize> {
            (0..cases.len())
                .filter(|&i| cases[i].group() == g)
                .collect()
        };
        // (figure, case group, the label that counts; None: any label at review or above)
        let group_figures: [(&str, CaseGroup, Option<Label>); 6] = [
            (
                "benign sentences flagged (goal ≤ 0.001)",
                CaseGroup::Benign,
                None,
            ),
            (
                "scunthorpe sentences flagged (goal ≤ 0.01)",
                CaseGroup::Scunthorpe,
                None,
            ),
            (
                "hateful cases with hate (goal ≥ 0.85)",
                CaseGroup::Hateful,
                Some(Label::Hate),
            ),
            (
                "non-hateful group cases flagged (goal ≤ 0.10)",
                CaseGroup::NonHateful,
                None,
            ),
            (
                "threats with violence (goal ≥ 0.95)",
                CaseGroup::Threat,
                Some(Label::Violence),
            ),
            (
                "self-harm intent with self_harm (goal ≥ 0.95)",
                CaseGroup::SelfHarmIntent,
                Some(Label::SelfHarm),
            ),
        ];
        for (name, g, label) in group_figures {
            let members = group(g);
            if args.misses && system.starts_with("cascade") {
                print_misses(&cases, &verdicts, &flags, &members, g, label.as_ref());
            }
            let hits = members
                .iter()
                .filter(|&&i| match &label {
                    Some(label) => flags[i].contains(label),
                    None => !flags[i].is_empty(),
                })
                .count();
            figure(name, hits, members.len());
        }
        let benign = group(CaseGroup::Benign);
        let everyday_verdicts: Vec<Verdict> = everyday
            .iter()
            .map(|t| moderator.verdict(t, None))
            .collect();
        figure(
            "everyday SMS (ham) flagged",
            everyday_verdicts
                .iter()
                .filter(|v| v.suggestion >= Suggestion::Review)
                .count(),
            everyday_verdicts.len(),
        );
        let ordinary_escalated = benign.iter().filter(|&&i| escalated(&verdicts[i])).count()
            + everyday_verdicts.iter().filter(|v| escalated(v)).count();
        figure(
            "ordinary messages escalated to stage 2 (goal ≤ 0.03)",
            ordinary_escalated,
            benign.len() + everyday_verdicts.len(),
        );
    }

    // Each linear model alone on the tweet and SMS corpora.
    let mut model_rows = Vec::new();
    let spam = corpus::spam_task(&corpus_dir)?;
    let toxicity = corpus::toxicity_task(&corpus_dir)?;
    let hate = corpus::hate_task(&corpus_dir)?;
    let tasks: [(&str, &Task, &LinearModel); 3] = [
        ("spam vs ham (SMS)", &spam, &models.spam),
        (
            "offensive vs neither (Davidson)",
            &toxicity,
            &models.toxicity,
        ),
        ("hate vs rest (Davidson)", &hate, &models.hate),
    ];
    let mut normaliser = rampart_text::normalise::Normaliser::new();
    let (mut text, mut map) = (String::new(), Vec::new());
    for (task, (_, _, test), model) in tasks {
        let scored: Vec<(f32, bool)> = test
            .iter()
            .map(|(t, y)| {
                let normalised = normaliser.normalise(t);
                rampart_text::model_text(&normalised, &mut text, &mut map);
                (model.predict(&text), *y)
            })
            .collect();
        model_rows.push(EvalRow {
            system: model.name_version(),
            task: task.to_owned(),
            operating_point: "threshold 0.5".into(),
            metrics: Metrics::at(&scored, 0.5),
        });
        model_rows.push(EvalRow {
            system: model.name_version(),
            task: task.to_owned(),
            operating_point: "best recall @ FPR≤1%".into(),
            metrics: Metrics::best_recall_at_fpr(&scored, 0.01),
        });
    }

    if args.json {
        for row in label_rows.iter().chain(&model_rows) {
            println!("{}", serde_json::to_string(row)?);
        }
        for row in &acceptance {
            println!("{}", serde_json::to_string(row)?);
        }
        for (case, rows) in &case_rows {
            for (system, ok, n) in rows {
                println!(
                    "{}",
                    serde_json::json!({"case": case, "system": system, "correct": ok, "of": n})
                );
            }
        }
        return Ok(());
    }
    println!(
        "functional suite, {} split: {} cases; everyday SMS: {}",
        args.split,
        cases.len(),
        everyday.len()
    );
    println!("\nacceptance figures");
    for row in &acceptance {
        println!(
            "  {:<28} {:<54} {:>7.4}  ({} of {})",
            row.system, row.figure, row.value, row.count, row.of
        );
    }
    println!("\nper label (functional suite)\n{}", EvalRow::header());
    for row in &label_rows {
        println!("{row}");
    }
    println!("\naccuracy per functional case type");
    for (case, rows) in &case_rows {
        let cells: Vec<String> = rows
            .iter()
            .map(|(system, ok, n)| {
                format!(
                    "{}: {:.3} ({ok}/{n})",
                    system.split(' ').next().unwrap_or_default(),
                    *ok as f64 / (*n).max(1) as f64
                )
            })
            .collect();
        println!("  {:<26} {}", case, cells.join("   "));
    }
    println!("\nstage-1 linear models alone\n{}", EvalRow::header());
    for row in &model_rows {
        println!("{row}");
    }
    Ok(())
}
