//! Latency of the NSFW classifier: model load once, then preprocessing and inference per
//! image (min and median over repeated runs). Run pinned to one core, release build:
//!
//! ```text
//! taskset -c 1 cargo run --release -p rampart-imagemodel --example nsfw_latency -- IMAGE.rgb...
//! ```
//!
//! Arguments are `WIDTHxHEIGHT:PATH` of raw RGB8 files, or nothing to use synthetic images of
//! common sizes. Models come from `$RAMPART_MODELS` (see scripts/fetch-models.sh).

use std::time::{Duration, Instant};

use rampart_imagemodel::{preprocess, ModelPaths, NsfwModel};

const RUNS: usize = 30;

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[0]), ms(v[v.len() / 2]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut images: Vec<(String, u32, u32, Vec<u8>)> = Vec::new();
    for arg in std::env::args().skip(1) {
        let (size, path) = arg.split_once(':').ok_or("expected WIDTHxHEIGHT:PATH")?;
        let (w, h) = size.split_once('x').ok_or("expected WIDTHxHEIGHT")?;
        images.push((
            path.to_owned(),
            w.parse()?,
            h.parse()?,
            std::fs::read(path)?,
        ));
    }
    if images.is_empty() {
        for (w, h) in [(256u32, 256u32), (640, 360), (1600, 1004), (4032, 3024)] {
            let rgb = (0..(w * h * 3) as usize).map(|i| (i % 251) as u8).collect();
            images.push((format!("synthetic {w}x{h}"), w, h, rgb));
        }
    }

    let t = Instant::now();
    let model = NsfwModel::from_paths(&ModelPaths::from_env()?)?;
    println!(
        "load (ONNX Runtime + session): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let first = model.score_tensor(vec![0.0; rampart_imagemodel::INPUT_LEN])?;
    println!(
        "first inference (warm-up): {:.1} ms (score {first:.6})",
        t.elapsed().as_secs_f64() * 1e3
    );

    println!("image | preprocess min / median ms | inference min / median ms | score");
    for (name, w, h, rgb) in &images {
        let (mut pre, mut inf) = (Vec::new(), Vec::new());
        let mut score = 0.0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let x = preprocess(*w, *h, rgb)?;
            pre.push(t.elapsed());
            let t = Instant::now();
            score = model.score_tensor(x)?;
            inf.push(t.elapsed());
        }
        let (p0, p50) = stats(pre);
        let (i0, i50) = stats(inf);
        println!("{name} ({w}x{h}) | {p0:.2} / {p50:.2} | {i0:.2} / {i50:.2} | {score:.7}");
    }
    Ok(())
}
