//! Latency of one `embed()` call on short messages, and the memory the loaded encoder takes.
//! Run single-threaded, pinned to one core, release build:
//!
//! ```text
//! RAYON_NUM_THREADS=1 taskset -c 1 cargo run --release -p rampart-textencoder --example encoder_latency
//! ```
//!
//! Prints load time, peak RSS after load (`VmHWM` of /proc/self/status), p50/p99 of `embed()`
//! over 10-20 word sentences, and the throughput of `embed_batch()`. Models come from
//! `$RAMPART_MODELS` (see scripts/fetch-models.sh).

use std::time::{Duration, Instant};

use rampart_textencoder::{default_dir, SentenceEncoder};

const SENTENCES: [&str; 8] = [
    "A man is playing a guitar on the street corner for spare change.",
    "The stock market fell sharply today after the central bank raised interest rates again.",
    "you are a complete idiot and everyone in this group chat hates you",
    "Click here to claim your free prize before the offer expires tonight at midnight",
    "Can someone tell me what time the meeting starts tomorrow morning please",
    "I will find where you live and make you regret posting that comment",
    "Great game last night, the defence finally held up in the second half",
    "Buy cheap followers and likes now, instant delivery, no password needed",
];
const RUNS: usize = 100;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "RAYON_NUM_THREADS={}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "(unset)".into())
    );
    let t = Instant::now();
    let encoder = SentenceEncoder::load(&default_dir()?)?;
    println!("load: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    println!(
        "after load: VmHWM {} MiB, VmRSS {} MiB",
        status_kib("VmHWM:") / 1024,
        status_kib("VmRSS:") / 1024
    );

    let t = Instant::now();
    encoder.embed(SENTENCES[0])?;
    println!(
        "first embed (warm-up): {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let mut times = Vec::with_capacity(RUNS * SENTENCES.len());
    for _ in 0..RUNS {
        for s in SENTENCES {
            let t = Instant::now();
            let e = encoder.embed(s)?;
            times.push(t.elapsed());
            std::hint::black_box(e);
        }
    }
    println!(
        "threads in the process after the calls: {}",
        status_kib("Threads:")
    );
    times.sort();
    println!(
        "embed() over {} calls, 10-20 words: p50 {:.2} ms, p99 {:.2} ms, min {:.2} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 0.0)
    );

    let texts: Vec<&str> = SENTENCES.iter().copied().cycle().take(256).collect();
    let t = Instant::now();
    encoder.embed_batch(&texts)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "embed_batch(): {} texts in {:.0} ms ({:.2} ms per text)",
        texts.len(),
        secs * 1e3,
        secs * 1e3 / texts.len() as f64
    );
    println!(
        "end: VmHWM {} MiB, VmRSS {} MiB, {} threads in the process",
        status_kib("VmHWM:") / 1024,
        status_kib("VmRSS:") / 1024,
        status_kib("Threads:")
    );
    Ok(())
}
