//! The text judgement end to end: the real `rampart` binary with both stages loaded (the models
//! that `./setup.sh` fetches and trains; a missing model fails these tests with the setup step
//! named), on the sentences of the text-judgement issue, and the acceptance figures of
//! `rampart eval text` on the repository's test split.

mod common;

use common::{rampart_at as rampart, temp_dir};

use serde_json::Value;

/// The verdict for one text; fails when a stage is not loaded.
fn verdict(data: &std::path::Path, text: &str) -> Value {
    let out = rampart(data, &["scan", "text", text]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("not loaded"),
        "a text model is missing (run ./setup.sh): {stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).expect("one JSON verdict")
}

fn label<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == name)
}

/// The suggestion of a label in a verdict (`pass` when absent).
fn suggestion_of(v: &Value, name: &str) -> String {
    label(v, name).map_or("pass".to_owned(), |l| {
        l["suggestion"].as_str().unwrap().to_owned()
    })
}

#[test]
fn the_sentences_of_the_issue_get_the_verdicts_it_asks_for() {
    let dir = temp_dir("judge-table");
    let data = &dir.0;
    // (text, overall suggestion allowed, labels that must be at review or above)
    let table: &[(&str, &[&str], &[&str])] = &[
        ("Buy a hoodie.", &["pass"], &[]),
        ("I love my gay brother", &["pass"], &[]),
        (
            "I hope you die in a fire",
            &["review", "block"],
            &["violence|harassment"],
        ),
        (
            "you should hang yourself",
            &["block"],
            &["harassment", "self_harm"],
        ),
        (
            "nobody would miss you if you were gone",
            &["review", "block"],
            &[],
        ),
        (
            "I'm going to end it all tonight, I have the pills ready",
            &["review"],
            &["self_harm"],
        ),
        (
            "women are too stupid to vote",
            &["review", "block"],
            &["hate"],
        ),
        (
            "muslims are a disease on this country",
            &["block"],
            &["hate"],
        ),
        (
            "Saying that immigrants are vermin is disgusting.",
            &["pass"],
            &[],
        ),
        ("He is a Dickens scholar.", &["pass"], &[]),
        ("A bitter taste.", &["pass"], &[]),
        ("The shuttlecock flew over the net.", &["pass"], &[]),
        ("Hello Mr Cummings", &["pass"], &[]),
        ("Please assess the damage.", &["pass"], &[]),
    ];
    let mut failures = Vec::new();
    for (text, allowed, labels) in table {
        let v = verdict(data, text);
        let got = v["suggestion"].as_str().unwrap();
        if !allowed.contains(&got) {
            failures.push(format!("{text:?}: {got}, want one of {allowed:?}: {v}"));
            continue;
        }
        for want in *labels {
            let any = want
                .split('|')
                .any(|name| suggestion_of(&v, name) != "pass");
            if !any {
                failures.push(format!("{text:?}: label {want} not flagged: {v}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn self_harm_intent_is_reviewed_never_blocked_and_its_evidence_names_both_stages() {
    let dir = temp_dir("judge-stages");
    let data = &dir.0;
    let v = verdict(
        data,
        "I'm going to end it all tonight, I have the pills ready",
    );
    assert_eq!(v["suggestion"], "review");
    let models: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        models.iter().any(|m| m.starts_with("text-heads@")),
        "{models:?}"
    );
    assert!(
        models.iter().any(|m| m.starts_with("all-MiniLM-L6-v2@")),
        "{models:?}"
    );
    assert!(
        models.iter().any(|m| m.starts_with("text-toxicity@")),
        "{models:?}"
    );
    // Stage 2's evidence names its heads, the encoder and why the text was escalated, and
    // nests stage 1's scores.
    let stage2 = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["evidence"].as_array().unwrap())
        .find(|e| e["kind"] == "model" && e["model"].as_str().unwrap().starts_with("text-heads@"))
        .unwrap_or_else(|| panic!("no stage-2 evidence: {v}"));
    let detail = stage2["detail"].as_str().unwrap();
    assert!(detail.contains("encoder=all-MiniLM-L6-v2@"), "{detail}");
    assert!(detail.contains("escalated_by="), "{detail}");
    assert!(stage2["score"].as_f64().is_some());
    let nested = stage2["evidence"].as_array().unwrap();
    assert!(
        nested.iter().any(|e| e["model"]
            .as_str()
            .unwrap_or("")
            .starts_with("text-toxicity@")),
        "{stage2}"
    );
}

#[test]
fn a_policy_switch_turns_stage_2_off() {
    let dir = temp_dir("judge-switch");
    let data = &dir.0;
    let policy = data.join("stage1.toml");
    std::fs::write(
        &policy,
        "name = \"stage1\"\nversion = 1\n[text]\nstage2 = false\n",
    )
    .unwrap();
    let out = rampart(
        data,
        &[
            "scan",
            "text",
            "--policy",
            policy.to_str().unwrap(),
            "women are too stupid to vote",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = v["models"].to_string();
    assert!(!models.contains("text-heads"), "{models}");
    assert!(models.contains("text-toxicity"), "{models}");
}

/// The cascade's figures on the test split may not fall below what this version measured
/// (MODELS.md), less a margin of about 0.04 for retraining on other machines (the
/// fine-tuning's float sums may round differently with other thread counts or CPUs). The suite
/// grew on 2026-12-08 by 332 harder templates (veiled threats, places and times, emoji), which
/// moved the recall floors down with the measured figures (hate 0.75 → 0.71, threats
/// 0.66 → 0.63 with the same models' design).
/// These are regression floors, not the issue's goals: `rampart eval text` prints
/// each figure beside its goal (benign ≤ 0.001, Scunthorpe ≤ 0.01, hate recall ≥ 0.85 with
/// non-hateful flagged ≤ 0.10, threat and self-harm-intent recall ≥ 0.95, escalation ≤ 0.03),
/// and the goals not yet met are listed in MODELS.md.
#[test]
fn the_cascade_keeps_its_measured_figures_on_the_test_split() {
    let dir = temp_dir("judge-eval");
    let data = &dir.0;
    let out = rampart(data, &["eval", "text", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let figure = |system: &str, name: &str| -> f64 {
        rows.iter()
            .find(|r| {
                r["system"].as_str().unwrap_or("").starts_with(system)
                    && r["figure"].as_str().is_some_and(|f| f.starts_with(name))
            })
            .unwrap_or_else(|| panic!("no figure {name} for {system}"))["value"]
            .as_f64()
            .unwrap()
    };
    let mut failures = Vec::new();
    let mut at_most = |name: &str, limit: f64| {
        let v = figure("cascade", name);
        if v > limit {
            failures.push(format!("{name}: {v:.4} > {limit}"));
        }
    };
    at_most("benign sentences flagged", 0.02);
    at_most("scunthorpe sentences flagged", 0.05);
    at_most("non-hateful group cases flagged", 0.15);
    at_most("ordinary messages escalated", 0.075);
    at_most("everyday SMS (ham) flagged", 0.03);
    let mut at_least = |name: &str, limit: f64| {
        let v = figure("cascade", name);
        if v < limit {
            failures.push(format!("{name}: {v:.4} < {limit}"));
        }
    };
    at_least("hateful cases with hate", 0.66);
    at_least("threats with violence", 0.58);
    at_least("self-harm intent with self_harm", 0.65);
    // The cascade is better than stage 1 alone where stage 2 is meant to help.
    assert!(
        figure("cascade", "benign sentences flagged")
            < figure("stage 1", "benign sentences flagged"),
        "stage 2 must clear stage 1's false positives"
    );
    assert!(
        figure("cascade", "threats with violence") > figure("stage 1", "threats with violence")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
