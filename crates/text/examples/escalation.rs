//! Prints, for each line of stdin, why stage 2 would read it (the gate's reasons), the highest
//! stage-1 abuse score, the learned gate's score and each stage-1 model's score: `cargo run --release -p rampart-text --example escalation < texts.txt`.
//! The gate is the trained one (stage 2's thresholds and learned gate from the models dir). A
//! tool for tuning the gate's cue lists (`crates/textmodel/data/gate-en.txt`).

use std::io::BufRead;

use rampart_text::cascade::Stage2;
use rampart_text::normalise::Normaliser;
use rampart_text::{model_text, ScanOptions, TextEngine};
use rampart_textmodel::TextModels;

fn main() {
    let models_dir = rampart_textmodel::default_models_dir();
    let models = TextModels::load_dir(&models_dir).expect("stage-1 models (run ./setup.sh)");
    let stage2 = Stage2::load(&models_dir).expect("stage 2 (run ./setup.sh)");
    let engine = TextEngine::with_builtin_libraries();
    let mut normaliser = Normaliser::new();
    let (mut text, mut map) = (String::new(), Vec::new());
    let terms_only = ScanOptions {
        models: false,
        contacts: false,
        ..ScanOptions::default()
    };
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("UTF-8 lines");
        model_text(&normaliser.normalise(&line), &mut text, &mut map);
        let scores = models.score(&text);
        let stage1 = rampart_textmodel::max_abuse_score(&scores);
        let signals = engine.scan(&line, &terms_only).signals;
        let abuse = signals
            .iter()
            .any(|s| rampart_text::cascade::escalating_label(&s.label));
        let profanity = signals
            .iter()
            .any(|s| s.label == rampart_text::Label::Profanity);
        let reasons: Vec<&str> = stage2
            .reasons(&text, abuse, profanity, stage1)
            .iter()
            .map(|r| r.as_str())
            .collect();
        let scores: Vec<String> = scores
            .iter()
            .map(|s| format!("{}={:.2}", s.model, s.score))
            .collect();
        let learned = stage2
            .learned_gate_score(&text)
            .map_or_else(|| "-".to_owned(), |s| format!("{s:.4}"));
        println!(
            "{}\t{stage1:.4}\t{learned}\t{}\t{}",
            reasons.join("+"),
            scores.join(" "),
            line
        );
    }
}
