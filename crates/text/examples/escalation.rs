//! Prints, for each line of stdin, why stage 2 would read it (the gate's reasons) and the
//! stage-1 model scores: `cargo run --release -p rampart-text --example escalation < texts.txt`.
//! A tool for tuning the gate's cue lists (`crates/textmodel/data/gate-en.txt`).

use std::io::BufRead;

use rampart_text::normalise::Normaliser;
use rampart_text::{model_text, ScanOptions, TextEngine};
use rampart_textmodel::{Gate, TextModels};

fn main() {
    let models = TextModels::load_dir(&rampart_textmodel::default_models_dir())
        .expect("stage-1 models (run ./setup.sh)");
    let engine = TextEngine::with_builtin_libraries();
    let gate = Gate::english();
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
        let reasons: Vec<&str> = gate
            .reasons(&text, abuse, profanity, stage1)
            .iter()
            .map(|r| r.as_str())
            .collect();
        let scores: Vec<String> = scores
            .iter()
            .map(|s| format!("{}={:.2}", s.model, s.score))
            .collect();
        println!("{}\t{}\t{}", reasons.join("+"), scores.join(" "), line);
    }
}
