//! `rampart eval image`: how well the image detectors do on the PDQ fixtures (`data/testdata/pdq`).
//!
//! - The PDQ matcher on the reference's needles and haystack: every pair at distance ≤ 31.
//! - Perceptual matching: the bridge photo's edited copies (blur, sharpen, contrast, resize,
//!   crop to square, colour modes) and its rotations and flips (with dihedral matching) must
//!   match the original in a bank at the default threshold and minimum quality; every other
//!   fixture image must not.
//! - The image model: every fixture image is benign, so this row is a false-positive rate at
//!   the policy's review threshold for `sexual`. There is no labelled nudity corpus here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rampart_hashbank::{BankConfig, BankSet, Entry, EntryHash, HammingIndex};
use rampart_image::{decode, Limits};
use rampart_pdq::PdqHash;
use rampart_textmodel::eval::{EvalRow, Metrics};
use rampart_types::Label;

use crate::datadir::DataDir;

#[derive(Args)]
pub struct EvalImageArgs {
    /// The PDQ fixtures (default: $RAMPART_TESTDATA/pdq, else the repository's data/testdata/pdq).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// A TOML policy (default: the data dir's, else the built-in policy).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

fn hashes(path: &Path) -> Result<Vec<PdqHash>> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().map_err(anyhow::Error::from))
        .collect()
}

fn images(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            images(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("jpg" | "png")) {
            out.push(p);
        }
    }
}

pub fn eval_image(data: &Path, args: EvalImageArgs) -> Result<()> {
    let fixtures = args
        .fixtures
        .unwrap_or_else(|| crate::testdata::default_dir().join("pdq"));
    let mut rows = Vec::new();

    // 1. Needles and haystack, against the reference's pairs.
    let haystack = hashes(&fixtures.join("haystack.txt"))?;
    let needles = hashes(&fixtures.join("needles.txt"))?;
    let expected: HashSet<(usize, usize)> =
        std::fs::read_to_string(fixtures.join("needle-matches.csv"))?
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut f = l.split(',');
                Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
            })
            .collect();
    let mut index = HammingIndex::new();
    for (i, h) in haystack.iter().enumerate() {
        index.insert(i as u32 + 1, *h);
    }
    let mut found = HashSet::new();
    for (n, needle) in needles.iter().enumerate() {
        for (id, _) in index.search(needle, 31) {
            found.insert((n + 1, id as usize));
        }
    }
    let tp = found.intersection(&expected).count();
    let fp = found.len() - tp;
    let fn_ = expected.len() - tp;
    let tn = needles.len() * haystack.len() - tp - fp - fn_;
    rows.push(EvalRow {
        system: "pdq index".into(),
        task: "needle/haystack pairs ≤ 31 (reference)".into(),
        operating_point: "distance ≤ 31".into(),
        metrics: Metrics::from_counts(31.0, tp, fp, tn, fn_),
    });

    // 2. Edited copies of the bridge photo against every other fixture.
    let original = fixtures.join("reg-test-input/dih/bridge-1-original.jpg");
    let mut banks = BankSet::new();
    let mut config = BankConfig::pdq("bridge", "custom:eval");
    config.dihedral = true;
    banks.create_bank(config)?;
    let limits = Limits::default();
    let original_image = decode(&std::fs::read(&original)?, &limits)?;
    let out = rampart_pdq::hash(&original_image.pixels());
    banks.add_entries(
        "bridge",
        [Entry::new(EntryHash::Pdq(out.hash)).with_quality(out.quality)],
        false,
    )?;
    let mut files = Vec::new();
    images(&fixtures, &mut files);
    files.sort();
    let mut scored = Vec::new();
    let mut misses = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&fixtures)
            .unwrap_or(file)
            .display()
            .to_string();
        if rel.starts_with("lossless/") || file == &original {
            continue;
        }
        let is_copy = rel.starts_with("bridge-mods/")
            || rel.starts_with("reg-test-input/dih/")
            || rel.starts_with("misc-images/modes/");
        let image = decode(&std::fs::read(file)?, &limits)?;
        let out = rampart_pdq::hash_dihedral(&image.pixels());
        let hit = !banks.match_pdq(&out.hashes, out.quality).is_empty();
        if hit != is_copy {
            misses.push(format!("{rel} (quality {})", out.quality));
        }
        scored.push((if hit { 1.0 } else { 0.0 }, is_copy));
    }
    rows.push(EvalRow {
        system: "pdq bank (dihedral)".into(),
        task: "edited copies of one photo vs other fixtures".into(),
        operating_point: "distance ≤ 31, quality ≥ 50".into(),
        metrics: Metrics::at(&scored, 0.5),
    });

    // 3. The image model on benign fixtures.
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let review = policy.thresholds(&Label::Sexual).review;
    let detectors = dir.image_detectors(true, false);
    if let Some(model) = &detectors.nsfw {
        let mut benign = Vec::new();
        for file in &files {
            let image = decode(&std::fs::read(file)?, &limits)?;
            let score = model.score_rgb(image.width, image.height, &image.to_rgb())?;
            benign.push((score, false));
        }
        rows.push(EvalRow {
            system: rampart_imagemodel::NAME_VERSION.into(),
            task: format!("sexual on {} benign fixture images", benign.len()),
            operating_point: format!("policy review ({review})"),
            metrics: Metrics::at(&benign, review),
        });
    }

    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
    } else {
        println!("{}", EvalRow::header());
        for row in &rows {
            println!("{row}");
        }
        for miss in misses {
            println!("  wrong call in the copies row: {miss}");
        }
    }
    Ok(())
}
