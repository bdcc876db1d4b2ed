//! `cargo xtask bench text`: throughput and latency of the text engine on 200,000 real messages
//! (SMS Spam Collection + Davidson tweets, repeated), single-threaded, side by side with the
//! `rustrict` crate on the same messages in the same run, and with a 100,000-term custom library.
//!
//! Pin it to one core for stable figures: `taskset -c 1 cargo xtask bench text`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rampart_text::library::{LibraryKind, Severity, TermLibrary};
use rampart_text::{ScanOptions, TextEngine};
use rampart_textmodel::TextModels;

/// Messages per run, as the issue asks.
const MESSAGES: usize = 200_000;

/// One measured row.
struct Row {
    name: String,
    elapsed: Duration,
    latencies_ns: Vec<u64>,
    bytes: usize,
    flagged: usize,
}

impl Row {
    fn print(&self, reference: Option<&Row>) {
        let secs = self.elapsed.as_secs_f64();
        let msgs = self.latencies_ns.len() as f64 / secs;
        let mbs = self.bytes as f64 / secs / 1e6;
        let mut sorted = self.latencies_ns.clone();
        sorted.sort_unstable();
        let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0;
        let versus = reference
            .map(|r| {
                let rmsgs = r.latencies_ns.len() as f64 / r.elapsed.as_secs_f64();
                format!("{:>6.2}x", msgs / rmsgs)
            })
            .unwrap_or_default();
        println!(
            "{:<44} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>8} {}",
            self.name,
            msgs,
            mbs,
            pct(0.5),
            pct(0.99),
            pct(0.999),
            self.flagged,
            versus
        );
    }
}

fn measure(name: &str, messages: &[String], mut f: impl FnMut(&str) -> bool) -> Row {
    // Warm-up: one pass over the first 10,000 messages.
    for m in messages.iter().take(10_000) {
        black_box(f(m));
    }
    let mut latencies_ns = Vec::with_capacity(messages.len());
    let mut flagged = 0;
    let started = Instant::now();
    for m in messages {
        let t = Instant::now();
        if black_box(f(m)) {
            flagged += 1;
        }
        latencies_ns.push(t.elapsed().as_nanos() as u64);
    }
    Row {
        name: name.to_owned(),
        elapsed: started.elapsed(),
        latencies_ns,
        bytes: messages.iter().map(String::len).sum(),
        flagged,
    }
}

/// Counted as flagged: any signal at or above the default review threshold of most labels.
fn flags(signals: &[rampart_types::Signal]) -> bool {
    signals.iter().any(|s| s.score >= 0.4)
}

/// Reads the SMS and Davidson texts and repeats them to `MESSAGES`.
pub fn load_messages(corpus: &Path) -> Result<Vec<String>> {
    let mut base = Vec::new();
    let sms = std::fs::read_to_string(corpus.join("sms-spam/SMSSpamCollection"))
        .context("reading the SMS Spam Collection")?;
    base.extend(
        sms.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(_, t)| t.to_owned()),
    );
    let mut reader = csv::Reader::from_path(corpus.join("davidson/labeled_data.csv"))
        .context("reading Davidson")?;
    for row in reader.records() {
        base.push(row?.get(6).unwrap_or_default().to_owned());
    }
    Ok(base.iter().cycle().take(MESSAGES).cloned().collect())
}

/// A deterministic 100,000-term library of pseudo-words and two-word phrases.
pub fn synthetic_library(terms: usize) -> TermLibrary {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let consonants = b"bcdfghjklmnprstvwz";
    let vowels = b"aeiou";
    let word = |len: usize, next: &mut dyn FnMut() -> u64| -> String {
        (0..len)
            .map(|i| {
                let set: &[u8] = if i % 2 == 0 { consonants } else { vowels };
                set[(next() % set.len() as u64) as usize] as char
            })
            .collect()
    };
    let mut source = String::new();
    for i in 0..terms {
        let len = 5 + (next() % 8) as usize;
        let w = word(len, &mut next);
        if i % 5 == 0 {
            let second = word(4 + (next() % 4) as usize, &mut next);
            source.push_str(&format!("{w} {second}\n"));
        } else {
            source.push_str(&w);
            source.push('\n');
        }
    }
    TermLibrary::parse(
        "bench-100k",
        LibraryKind::Review,
        "custom:bench".parse().expect("valid label"),
        Severity::STRONG,
        &source,
    )
    .expect("synthetic library parses")
}

/// Peak resident set size of this process so far, from /proc (Linux), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn bench_text(corpus: &Path, models_dir: &Path) -> Result<()> {
    let messages = load_messages(corpus)?;
    let total_mb = messages.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    println!(
        "text benchmark: {} messages ({total_mb:.1} MB, mean {:.0} bytes), one thread",
        messages.len(),
        total_mb * 1e6 / messages.len() as f64
    );

    let terms_only = ScanOptions {
        models: false,
        contacts: false,
        ..ScanOptions::default()
    };
    let engine = TextEngine::with_builtin_libraries();
    println!(
        "peak RSS after building the built-in libraries: {:.1} MB",
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    println!(
        "\n{:<44} {:>10} {:>8} {:>8} {:>8} {:>9} {:>8} vs rustrict",
        "engine", "msgs/s", "MB/s", "p50 µs", "p99 µs", "p99.9 µs", "flagged"
    );
    let rustrict = measure(
        "rustrict 0.7 (Censor::analyze, is(INAPPROPRIATE))",
        &messages,
        |m| {
            rustrict::Censor::from_str(m)
                .analyze()
                .is(rustrict::Type::INAPPROPRIATE)
        },
    );
    rustrict.print(None);

    let rampart_terms = measure("rampart: normalise + built-in libraries", &messages, |m| {
        flags(&engine.scan(m, &terms_only).signals)
    });
    rampart_terms.print(Some(&rustrict));

    let all_detectors = ScanOptions {
        models: false,
        ..ScanOptions::default()
    };
    measure("rampart: + PII/ads detectors", &messages, |m| {
        flags(&engine.scan(m, &all_detectors).signals)
    })
    .print(Some(&rustrict));

    match TextModels::load_dir(models_dir) {
        Ok(models) => {
            engine.set_models(Some(models));
            measure("rampart: + PII/ads + 3 linear models", &messages, |m| {
                flags(&engine.scan(m, &ScanOptions::default()).signals)
            })
            .print(Some(&rustrict));
            engine.set_models(None);
        }
        Err(e) => println!(
            "(models not loaded from {}: {e}; run ./setup.sh)",
            models_dir.display()
        ),
    }

    let built = Instant::now();
    engine.upsert_library(synthetic_library(100_000))?;
    let build_ms = built.elapsed().as_secs_f64() * 1e3;
    let with_100k = measure("rampart: built-in + 100,000-term library", &messages, |m| {
        flags(&engine.scan(m, &terms_only).signals)
    });
    with_100k.print(Some(&rustrict));

    let slowdown = with_100k.elapsed.as_secs_f64() / rampart_terms.elapsed.as_secs_f64();
    println!(
        "\n100k-term library: compiled and swapped in {build_ms:.0} ms; scanning {slowdown:.2}x the time of built-in only (goal ≤ 2x)"
    );
    println!(
        "peak RSS of the whole run: {:.1} MB",
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    Ok(())
}
