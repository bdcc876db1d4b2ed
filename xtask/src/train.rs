//! `cargo xtask train text`: trains both stages of the text judgement from the repository's
//! corpora (`data/text`), calibrates them on the validation splits, writes them to the models
//! dir and prints their test-split metrics. Deterministic: the same corpora and encoder give the
//! same files.
//!
//! - Stage 1: the three linear models (toxicity, hate, spam) over the model text (the
//!   normaliser's output, as the engine computes it).
//! - Stage 2: one logistic head per label over the sentence encoder's embedding, trained on the
//!   functional suite, TOXIGEN and everyday SMS.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use rampart_text::normalise::Normaliser;
use rampart_textencoder::tune::TuneConfig;
use rampart_textencoder::SentenceEncoder;
use rampart_textmodel::corpus::{self, Split, Task};
use rampart_textmodel::eval::{EvalRow, Metrics};
use rampart_textmodel::functional::{self, Case, CaseGroup};
use rampart_textmodel::heads::{
    train_head, HeadConfig, ESCALATION_BUDGET, HEAD_LABELS, STAGE1_STANDS_BUDGET,
};
use rampart_textmodel::{
    train, EmbeddingHeads, Gate, LinearModel, Reason, TrainConfig, GATE_FILE, HATE_FILE,
    HEADS_FILE, HEADS_VERSION, MODEL_VERSION, SELF_HARM_FILE, SPAM_FILE, TOXICITY_FILE,
};
use rampart_types::Label;

/// The text the models read for `text` (the engine's [`rampart_text::model_text`]).
pub fn model_text(normaliser: &mut Normaliser, text: &str) -> String {
    let normalised = normaliser.normalise(text);
    let (mut out, mut map) = (String::new(), Vec::new());
    rampart_text::model_text(&normalised, &mut out, &mut map);
    out
}

/// The weight of a labelled message in the fine-tuning loss (ordinary and hard negatives: 1).
const LABELLED_WEIGHT: f32 = 2.0;

/// The labels stage 1's toxicity model counts as abusive.
fn abusive(case: &Case) -> bool {
    [
        Label::Harassment,
        Label::Hate,
        Label::Violence,
        Label::Sexual,
    ]
    .iter()
    .any(|l| case.has(l))
}

fn split_cases(cases: &[Case], positive: impl Fn(&Case) -> bool) -> Task {
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for case in cases {
        let example = (case.text.clone(), positive(case));
        match case.split() {
            Split::Train => tr.push(example),
            Split::Validation => va.push(example),
            Split::Test => te.push(example),
        }
    }
    (tr, va, te)
}

fn join(mut a: Task, b: Task) -> Task {
    a.0.extend(b.0);
    a.1.extend(b.1);
    a.2.extend(b.2);
    a
}

fn to_model_text(task: Task, normaliser: &mut Normaliser) -> Task {
    let mut convert = |v: Vec<(String, bool)>| {
        v.into_iter()
            .map(|(t, y)| (model_text(normaliser, &t), y))
            .collect::<Vec<_>>()
    };
    (convert(task.0), convert(task.1), convert(task.2))
}

pub fn train_text(corpus_dir: &Path, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let fingerprint = corpus::fingerprint(corpus_dir);
    let cases = functional::load(corpus_dir)?;
    let mut normaliser = Normaliser::new();
    let ham = corpus::ham_task(corpus_dir)?;
    // Toxicity and hate learn from the functional suite (abuse and its hard negatives, ordinary
    // registers) and everyday SMS. Davidson's tweets are left out of them: three in four are
    // labelled offensive, so a word model trained on them calls most ordinary sentences
    // offensive (MODELS.md); they stay an evaluation set.
    let toxicity = corpus::with_extra_negatives(split_cases(&cases, abusive), &ham);
    let hate = corpus::with_extra_negatives(split_cases(&cases, |c| c.has(&Label::Hate)), &ham);
    let self_harm = corpus::with_extra_negatives(
        split_cases(&cases, |c| {
            matches!(c.case.as_str(), "self_harm_intent" | "self_harm_ongoing")
        }),
        &ham,
    );
    // Spam: the SMS collection, with every suite message as a legitimate one, so prices,
    // numbers and shop talk of ordinary registers are not spam by themselves.
    let spam = join(
        corpus::spam_task(corpus_dir)?,
        split_cases(&cases, |_| false),
    );
    let tasks: [(&str, &str, Task, TrainConfig); 4] = [
        (
            "text-toxicity",
            TOXICITY_FILE,
            toxicity,
            TrainConfig::default(),
        ),
        (
            "text-hate",
            HATE_FILE,
            hate,
            TrainConfig {
                positive_weight: 3.0,
                ..TrainConfig::default()
            },
        ),
        ("text-spam", SPAM_FILE, spam, TrainConfig::default()),
        (
            "text-self-harm",
            SELF_HARM_FILE,
            self_harm,
            TrainConfig {
                positive_weight: 3.0,
                ..TrainConfig::default()
            },
        ),
    ];
    println!("stage 1: linear models over word unigrams and bigrams");
    println!("{}", EvalRow::header());
    for (name, file, task, config) in tasks {
        let started = Instant::now();
        let (tr, va, te) = to_model_text(task, &mut normaliser);
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
            println!(
                "{}",
                EvalRow {
                    system: model.name_version(),
                    task: format!("{name} test split ({} train)", tr.len()),
                    operating_point: point.to_owned(),
                    metrics: m,
                }
            );
        }
        eprintln!(
            "trained {} in {:.1} s -> {}",
            model.name_version(),
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    train_gate(&cases, &ham, &mut normaliser, fingerprint, out_dir)?;
    train_heads(corpus_dir, out_dir, &cases, &mut normaliser)
}

/// The learned gate of stage 2: every suite message that is not an ordinary one (abuse and its
/// hard negatives: counter-speech, quoting, negation, group mentions…) against ordinary
/// sentences, innocent look-alikes and everyday SMS, over the model text and the gate's cue
/// markers ([`Gate::learned_input`]). It decides who stage 2 reads, so it learns "worth a
/// closer reading", not any one label.
fn train_gate(
    cases: &[Case],
    ham: &Task,
    normaliser: &mut Normaliser,
    fingerprint: u64,
    out_dir: &Path,
) -> Result<()> {
    let task = corpus::with_extra_negatives(
        split_cases(cases, |c| {
            !matches!(c.group(), CaseGroup::Benign | CaseGroup::Scunthorpe)
        }),
        ham,
    );
    let cues = Gate::english();
    let mut input = |v: Vec<(String, bool)>| -> Vec<(String, bool)> {
        v.into_iter()
            .map(|(t, y)| (cues.learned_input(&model_text(normaliser, &t)), y))
            .collect()
    };
    let (tr, va, te) = (input(task.0), input(task.1), input(task.2));
    let model = train(
        "text-gate",
        MODEL_VERSION,
        fingerprint,
        &tr,
        &va,
        &TrainConfig::default(),
    );
    let scored: Vec<(f32, bool)> = te.iter().map(|(t, y)| (model.predict(t), *y)).collect();
    println!(
        "{}",
        EvalRow {
            system: model.name_version(),
            task: format!("not ordinary, test split ({} train)", tr.len()),
            operating_point: "best recall @ FPR≤1%".to_owned(),
            metrics: Metrics::best_recall_at_fpr(&scored, 0.01),
        }
    );
    model.save(&out_dir.join(GATE_FILE))?;
    Ok(())
}

/// One row of stage 2's training data: (model text, labels, split, ordinary).
type HeadRow = (String, Vec<Label>, Split, bool);

/// Stage 2's rows: the functional suite and everyday SMS (negatives for every head).
fn head_rows(
    corpus_dir: &Path,
    cases: &[Case],
    normaliser: &mut Normaliser,
) -> Result<Vec<HeadRow>> {
    let mut rows: Vec<HeadRow> = cases
        .iter()
        .map(|c| {
            let ordinary = matches!(c.group(), CaseGroup::Benign | CaseGroup::Scunthorpe);
            (
                model_text(normaliser, &c.text),
                c.labels.clone(),
                c.split(),
                ordinary,
            )
        })
        .collect();
    for sms in corpus::load_sms(corpus_dir)?
        .into_iter()
        .filter(|s| !s.spam)
    {
        let split = corpus::split_of(&sms.text);
        rows.push((model_text(normaliser, &sms.text), Vec::new(), split, true));
    }
    Ok(rows)
}

/// `cargo xtask train text --gate-only`: trains the learned gate again and chooses the gate's
/// thresholds with the other models already in `out_dir`, rewriting them into the heads file.
pub fn recalibrate_gate(corpus_dir: &Path, out_dir: &Path) -> Result<()> {
    let cases = functional::load(corpus_dir)?;
    let mut normaliser = Normaliser::new();
    let ham = corpus::ham_task(corpus_dir)?;
    train_gate(
        &cases,
        &ham,
        &mut normaliser,
        corpus::fingerprint(corpus_dir),
        out_dir,
    )?;
    let rows = head_rows(corpus_dir, &cases, &mut normaliser)?;
    let path = out_dir.join(HEADS_FILE);
    let mut heads = EmbeddingHeads::load(&path)?;
    let (escalate_from, stands_from, gate_from) = stage1_thresholds(out_dir, &rows)?;
    heads.escalate_from = Some(escalate_from);
    heads.stage1_stands_from = Some(stands_from);
    heads.gate_from = Some(gate_from);
    heads.save(&path)?;
    eprintln!("gate thresholds rewritten into {}", path.display());
    Ok(())
}

/// Stage 2: embeds the training texts once and fits one head per label.
fn train_heads(
    corpus_dir: &Path,
    out_dir: &Path,
    cases: &[Case],
    normaliser: &mut Normaliser,
) -> Result<()> {
    let encoder_dir = out_dir.join(rampart_textencoder::ENCODER_DIR);
    let encoder = SentenceEncoder::load(&encoder_dir).with_context(|| {
        format!(
            "loading the sentence encoder from {} (scripts/fetch-models.sh fetches it; ./setup.sh runs that)",
            encoder_dir.display()
        )
    })?;
    let started = Instant::now();
    let mut rows = head_rows(corpus_dir, cases, normaliser)?;
    rows.retain(|(_, _, split, _)| *split != Split::Test);

    // Fine-tune the encoder's top layers on the train split (all five labels at once), then
    // embed every row with the tuned encoder. The lower layers run once per text.
    let texts: Vec<&str> = rows.iter().map(|(t, _, _, _)| t.as_str()).collect();
    let mut config = TuneConfig::default();
    // Overrides for experiments (the defaults are what setup.sh trains).
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
    if let Some(v) = env("RAMPART_TUNE_LAYERS") {
        config.layers = v as usize;
    }
    if let Some(v) = env("RAMPART_TUNE_EPOCHS") {
        config.epochs = v as usize;
    }
    if let Some(v) = env("RAMPART_TUNE_BATCH") {
        config.batch_size = v as usize;
    }
    if let Some(v) = env("RAMPART_TUNE_LR") {
        config.layer_learning_rate = v;
    }
    let mut tuning = encoder.tuning(&texts, config.layers)?;
    eprintln!(
        "stage 2: the frozen layers over {} texts in {:.1} s",
        texts.len(),
        started.elapsed().as_secs_f64()
    );
    let examples: Vec<(usize, Vec<f32>, f32)> = rows
        .iter()
        .enumerate()
        .filter(|(_, (_, _, split, _))| *split == Split::Train)
        .map(|(i, (_, labels, _, _))| {
            let targets = HEAD_LABELS
                .iter()
                .map(|l| f32::from(u8::from(labels.contains(l))))
                .collect();
            // Labelled messages count twice: they are one in three of the rows, and a missed
            // threat costs more than a closer reading of an ordinary message (the heads'
            // operating points, chosen on the validation split, keep the false positives in
            // budget).
            let weight = if labels.is_empty() {
                1.0
            } else {
                LABELLED_WEIGHT
            };
            (i, targets, weight)
        })
        .collect();
    tuning.train(&examples, &config, |r| {
        eprintln!(
            "stage 2: fine-tuning the top {} layers, epoch {}: loss {:.4} ({:.1} s)",
            config.layers, r.epoch, r.mean_loss, r.seconds
        );
    })?;
    let embeddings = tuning.embed_all()?;
    let tuned_path = out_dir.join(rampart_textencoder::TUNED_FILE);
    tuning.tuned_layers()?.save(&tuned_path)?;
    let encoder = SentenceEncoder::load_tuned(&encoder_dir, &tuned_path)?;
    eprintln!(
        "stage 2: tuned {} on {} texts and embedded {} in {:.1} s",
        encoder.name_version(),
        examples.len(),
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let mut heads = Vec::new();
    println!(
        "stage 2: heads over {} (validation split)",
        encoder.name_version()
    );
    for label in HEAD_LABELS {
        let pick = |split: Split| -> Vec<(&[f32], bool)> {
            rows.iter()
                .zip(&embeddings)
                .filter(|((_, _, s, _), _)| *s == split)
                .map(|((_, labels, _, _), e)| (e.as_slice(), labels.contains(&label)))
                .collect()
        };
        let (tr, va) = (pick(Split::Train), pick(Split::Validation));
        let ordinary: Vec<bool> = rows
            .iter()
            .filter(|(_, _, s, _)| *s == Split::Validation)
            .map(|(_, _, _, o)| *o)
            .collect();
        let head = train_head(label.clone(), &tr, &va, &ordinary, &HeadConfig::default());
        let scored: Vec<(f32, bool)> = va.iter().map(|(e, y)| (head.score(e), *y)).collect();
        let m = Metrics::at(&scored, rampart_textmodel::heads::OPERATING_SCORE);
        println!(
            "  {:<10} operating point p={:.3}  validation precision {:.3} recall {:.3} FPR {:.4} ({} positives of {})",
            label.as_str(),
            head.operating_point,
            m.precision,
            m.recall,
            m.fpr,
            m.tp + m.fn_,
            va.len()
        );
        heads.push(head);
    }
    let (escalate_from, stands_from, gate_from) = stage1_thresholds(out_dir, &rows)?;
    let heads = EmbeddingHeads {
        escalate_from: Some(escalate_from),
        stage1_stands_from: Some(stands_from),
        gate_from: Some(gate_from),
        name: "text-heads".to_owned(),
        version: HEADS_VERSION,
        encoder: encoder.name_version(),
        dim: rampart_textencoder::DIM,
        heads,
    };
    let path = out_dir.join(HEADS_FILE);
    heads.save(&path)?;
    eprintln!(
        "trained {} in {:.1} s -> {}",
        heads.name_version(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

/// One validation message as the gate's threshold search sees it.
struct GateRow {
    /// The highest stage-1 abuse score.
    stage1: f32,
    /// The learned gate's score.
    learned: f32,
    /// Escalated by a term hit whatever the thresholds.
    by_terms: bool,
    /// An ordinary message (benign, Scunthorpe-style, everyday SMS).
    ordinary: bool,
    /// A message with at least one label.
    labelled: bool,
}

/// Which validation messages a line of the gate report counts: (labels, ordinary) → member.
type KindFilter = Box<dyn Fn(&[Label], bool) -> bool>;

/// Three thresholds chosen on the validation split, with the stage-1 models and the learned
/// gate just trained into `out_dir` (rows are (model text, labels, split, ordinary)):
/// - the stage-1 score and the learned gate's score from which the gate escalates: together
///   with term hits, they may escalate at most [`ESCALATION_BUDGET`] of the
///   ordinary messages (ordinary and Scunthorpe sentences, everyday SMS); of the pairs that
///   keep the budget, the one that escalates the most labelled messages;
/// - the score from which a stage-1 score stands on its own when stage 2 is loaded: the
///   lowest that at most [`STAGE1_STANDS_BUDGET`] of the ordinary messages reach.
fn stage1_thresholds(out_dir: &Path, rows: &[HeadRow]) -> Result<(f32, f32, f32)> {
    let models = rampart_textmodel::TextModels::load_dir(out_dir)?;
    let gate_model = LinearModel::load(&out_dir.join(GATE_FILE))?;
    let engine = rampart_text::TextEngine::with_builtin_libraries();
    let terms_only = rampart_text::ScanOptions {
        models: false,
        contacts: false,
        ..rampart_text::ScanOptions::default()
    };
    // Term hits, the one reason that escalates beside the two scores (the cue lists are the
    // learned gate's features).
    let cues = Gate::english().with_uncertain_from(1.0);
    let scored: Vec<GateRow> = rows
        .iter()
        .filter(|(_, _, split, _)| *split == Split::Validation)
        .map(|(text, labels, _, ordinary)| {
            let stage1 = rampart_textmodel::max_abuse_score(&models.score(text));
            let signals = engine.scan(text, &terms_only).signals;
            let abuse = signals
                .iter()
                .any(|s| rampart_text::cascade::escalating_label(&s.label));
            let profanity = signals.iter().any(|s| s.label == Label::Profanity);
            let by_terms = cues
                .reasons(text, abuse, profanity, 0.0)
                .contains(&Reason::TermHit);
            GateRow {
                stage1,
                learned: gate_model.predict(&cues.learned_input(text)),
                by_terms,
                ordinary: *ordinary,
                labelled: !labels.is_empty(),
            }
        })
        .collect();
    let ordinary_count = scored.iter().filter(|r| r.ordinary).count();
    // RAMPART_ESCALATION_BUDGET overrides the budget for experiments.
    let budget = std::env::var("RAMPART_ESCALATION_BUDGET")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(ESCALATION_BUDGET);
    let allowed = (ordinary_count as f64 * budget).floor() as usize;
    // Candidate thresholds: just above each of the highest-scoring ordinary messages (a lower
    // threshold alone escalates more than the budget), and "never".
    let candidates = |pick: fn(&GateRow) -> f32| -> Vec<f32> {
        let mut c: Vec<f32> = scored
            .iter()
            .filter(|r| r.ordinary)
            .map(|r| (pick(r) + 1e-4).clamp(0.05, 1.01))
            .collect();
        c.sort_by(|a, b| b.total_cmp(a));
        c.truncate(allowed + 1);
        c.push(1.01);
        c.dedup();
        c
    };
    let (stage1_candidates, gate_candidates) =
        (candidates(|r| r.stage1), candidates(|r| r.learned));
    let escalated = |r: &GateRow, s: f32, g: f32| r.by_terms || r.stage1 >= s || r.learned >= g;
    let mut best = (0usize, 1.01f32, 1.01f32);
    for &s in &stage1_candidates {
        for &g in &gate_candidates {
            let ordinary = scored
                .iter()
                .filter(|r| r.ordinary && escalated(r, s, g))
                .count();
            if ordinary > allowed {
                continue;
            }
            let labelled = scored
                .iter()
                .filter(|r| r.labelled && escalated(r, s, g))
                .count();
            if labelled > best.0 {
                best = (labelled, s, g);
            }
        }
    }
    let (_, escalate_from, gate_from) = best;
    let mut ordinary: Vec<f32> = scored
        .iter()
        .filter(|r| r.ordinary)
        .map(|r| r.stage1)
        .collect();
    ordinary.sort_by(|a, b| b.total_cmp(a));
    let stands_from = ordinary
        .get((ordinary.len() as f64 * STAGE1_STANDS_BUDGET).floor() as usize)
        .map_or(1.0, |s| s + 1e-4)
        .clamp(0.5, 1.0);
    let count = |f: &dyn Fn(&GateRow) -> bool| {
        (
            scored.iter().filter(|r| r.ordinary && f(r)).count(),
            scored.iter().filter(|r| r.labelled && f(r)).count(),
        )
    };
    let labelled_count = scored.iter().filter(|r| r.labelled).count();
    for (what, (o, l)) in [
        ("term hits", count(&|r| r.by_terms)),
        (
            &format!("stage-1 score ≥ {escalate_from:.3}") as &str,
            count(&|r| r.stage1 >= escalate_from),
        ),
        (
            &format!("learned gate ≥ {gate_from:.3}"),
            count(&|r| r.learned >= gate_from),
        ),
        (
            "the gate (any of these)",
            count(&|r| escalated(r, escalate_from, gate_from)),
        ),
        (
            &format!("stage-1 score ≥ {stands_from:.3} (stands on its own)"),
            count(&|r| r.stage1 >= stands_from),
        ),
    ] {
        println!(
            "validation: {what} escalates {o} of {ordinary_count} ordinary and {l} of {labelled_count} labelled messages"
        );
    }
    report_gate(rows, &models, escalate_from, &gate_model, gate_from);
    Ok((escalate_from, stands_from, gate_from))
}

/// Prints, per kind of validation message, the share the gate escalates with each cue list
/// escalating by itself (and stage-1 scores; term hits are not counted here) and with the
/// learned gate weighing the cues instead.
fn report_gate(
    rows: &[HeadRow],
    models: &rampart_textmodel::TextModels,
    escalate_from: f32,
    gate_model: &LinearModel,
    gate_from: f32,
) {
    let cues = Gate::english().with_uncertain_from(escalate_from);
    let learned = cues.clone().with_learned(gate_model.clone(), gate_from);
    let kinds: [(&str, KindFilter); 5] = [
        ("ordinary", Box::new(|_, ordinary| ordinary)),
        (
            "threats (violence)",
            Box::new(|labels: &[Label], _| labels.contains(&Label::Violence)),
        ),
        (
            "self-harm",
            Box::new(|labels: &[Label], _| labels.contains(&Label::SelfHarm)),
        ),
        (
            "hate",
            Box::new(|labels: &[Label], _| labels.contains(&Label::Hate)),
        ),
        (
            "other non-ordinary",
            Box::new(|labels: &[Label], ordinary| labels.is_empty() && !ordinary),
        ),
    ];
    for (name, member) in kinds {
        let texts: Vec<&str> = rows
            .iter()
            .filter(|(_, labels, split, ordinary)| {
                *split == Split::Validation && member(labels, *ordinary)
            })
            .map(|(t, _, _, _)| t.as_str())
            .collect();
        let escalated = |gate: &Gate| {
            texts
                .iter()
                .filter(|t| {
                    let stage1 = rampart_textmodel::max_abuse_score(&models.score(t));
                    !gate.reasons(t, false, false, stage1).is_empty()
                })
                .count()
        };
        println!(
            "gate on validation {name}: {} of {} escalated with cue rules, {} with the learned gate (≥ {gate_from:.3}) instead",
            escalated(&cues),
            texts.len(),
            escalated(&learned),
        );
    }
}
