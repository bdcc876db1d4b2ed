//! vPDQ: the matching rule against python-threatexchange's results on the ThreatExchange
//! sample hashes (`data/testdata/vpdq/expected-matches.csv`), and video banks.

use std::path::PathBuf;

use rampart_hashbank::import::{self, ImportFormat, ImportOptions};
use rampart_hashbank::{
    decode_signature, encode_signature, match_vpdq, BankConfig, BankError, BankKind, BankSet,
    Entry, EntryHash, HashBank, PdqHash, VpdqFeature,
};

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
        .join("vpdq")
}

fn read(relative: &str) -> String {
    let path = testdata().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing fixture {} ({e}); see data/testdata/vpdq/README.md, or set RAMPART_TESTDATA",
            path.display()
        )
    })
}

/// A reference hash file's frames, through the importer.
fn frames(relative: &str) -> Vec<VpdqFeature> {
    let text = read(relative);
    let (entries, report) = import::parse(&text, ImportFormat::VpdqHashFile, BankKind::Vpdq, false)
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    assert!(report.skipped.is_empty());
    assert_eq!(entries.len(), 1, "{relative} is one video");
    match &entries[0].1.hash {
        EntryHash::Vpdq(frames) => frames.clone(),
        other => panic!("{relative}: not a vPDQ entry: {other:?}"),
    }
}

const SAMPLES: [&str; 4] = [
    "chair-19-sd-bar",
    "chair-22-sd-grey-bar",
    "pattern-sd-grey-bar",
    "doorknob-hd-no-bar",
];

fn sample(name: &str) -> Vec<VpdqFeature> {
    frames(&format!("sample-hashes/{name}.txt"))
}

#[test]
fn every_pair_matches_as_python_threatexchange_does() {
    let csv = read("expected-matches.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (q_col, c_col) = (col("query"), col("compared"));
    let (qp, cp) = (col("te_query_match_pct"), col("te_compared_match_pct"));
    let (qn, cn) = (col("te_query_frames_used"), col("te_compared_frames_used"));
    let mut rows = 0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let m = match_vpdq(&frames(f[q_col]), &frames(f[c_col]), 31, 50);
        let got = format!(
            "{:.3},{:.3},{},{}",
            m.query_pct, m.compared_pct, m.query_frames_used, m.compared_frames_used
        );
        let want = format!("{},{},{},{}", f[qp], f[cp], f[qn], f[cn]);
        assert_eq!(got, want, "{} vs {}", f[q_col], f[c_col]);
        rows += 1;
    }
    assert_eq!(rows, 16);
}

#[test]
fn matched_query_frames_locate_the_match() {
    let chair19 = sample("chair-19-sd-bar");
    let chair22 = sample("chair-22-sd-grey-bar");
    let m = match_vpdq(&chair22, &chair19, 31, 50);
    assert!(!m.matched_query.is_empty());
    assert!(m.matched_query.windows(2).all(|w| w[0] < w[1]));
    assert!(m.matched_query.iter().all(|&i| chair22[i].quality >= 50));
    let unrelated = match_vpdq(&chair22, &sample("pattern-sd-grey-bar"), 31, 50);
    assert!(unrelated.matched_query.is_empty());
}

#[test]
fn signatures_of_the_samples_round_trip() {
    for name in SAMPLES {
        let frames = sample(name);
        let text = encode_signature(&frames);
        assert_eq!(text.len(), frames.len() * 66);
        assert_eq!(text, text.to_ascii_lowercase());
        assert_eq!(decode_signature(&text).expect(name), frames);
    }
}

fn video_entry(id: &str, name: &str) -> Entry {
    Entry {
        id: id.into(),
        hash: EntryHash::Vpdq(sample(name)),
        quality: None,
        note: Some(format!("{name}.mp4")),
        added: "2025-01-01T00:00:00Z".into(),
    }
}

/// A bank holding chair-19 and pattern, as clips to find.
fn video_set() -> BankSet {
    let mut set = BankSet::new();
    set.create_bank(BankConfig::vpdq("videos", "terrorism"))
        .expect("create");
    set.add_entries(
        "videos",
        [
            video_entry("chair", "chair-19-sd-bar"),
            video_entry("pattern", "pattern-sd-grey-bar"),
        ],
        false,
    )
    .expect("add");
    set
}

#[test]
fn a_bank_video_matches_when_enough_of_its_frames_are_in_the_upload() {
    let set = video_set();
    // chair-22 holds 85.671 % of chair-19's frames: above the default 80 %.
    let hits = set.match_vpdq(&sample("chair-22-sd-grey-bar"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(
        (hit.bank.as_str(), hit.entry_id.as_str()),
        ("videos", "chair")
    );
    assert_eq!(hit.label, "terrorism");
    assert_eq!(hit.note.as_deref(), Some("chair-19-sd-bar.mp4"));
    // The bank entry is the "compared" side: chair-22 (query) vs chair-19 (compared).
    let expected = match_vpdq(
        &sample("chair-22-sd-grey-bar"),
        &sample("chair-19-sd-bar"),
        31,
        50,
    );
    assert_eq!(format!("{:.3}", hit.compared_pct), "100.000");
    assert_eq!(format!("{:.3}", hit.query_pct), "85.671");
    assert_eq!(hit.matched_query, expected.matched_query);

    // The doorknob upload holds no bank video.
    assert!(set.match_vpdq(&sample("doorknob-hd-no-bar")).is_empty());
    // A banned clip inside a longer upload: pattern followed by doorknob.
    let mut long = sample("doorknob-hd-no-bar");
    let offset = long.len();
    long.extend(sample("pattern-sd-grey-bar"));
    let hits = set.match_vpdq(&long);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].entry_id, "pattern");
    assert_eq!(hits[0].compared_pct, 100.0);
    assert!(hits[0].query_pct < 100.0);
    assert!(hits[0].matched_query.iter().all(|&i| i >= offset));
}

#[test]
fn the_match_percentage_is_the_banks_choice() {
    let mut set = BankSet::new();
    let mut strict = BankConfig::vpdq("strict", "terrorism");
    strict.vpdq_match_pct = 90.0;
    set.create_bank(strict).expect("create");
    set.add_entries(
        "strict",
        [video_entry("chair22", "chair-22-sd-grey-bar")],
        false,
    )
    .expect("add");
    // chair-19 holds only 85.671 % of chair-22's frames.
    assert!(set.match_vpdq(&sample("chair-19-sd-bar")).is_empty());
    assert_eq!(set.match_vpdq(&sample("chair-22-sd-grey-bar")).len(), 1);

    let mut bad = BankConfig::vpdq("bad", "terrorism");
    bad.vpdq_match_pct = 120.0;
    assert!(matches!(
        set.create_bank(bad),
        Err(BankError::InvalidMatchPct(_))
    ));
}

#[test]
fn image_and_video_banks_do_not_see_each_others_entries() {
    let mut set = video_set();
    set.create_bank(BankConfig::pdq("images", "terrorism"))
        .expect("create");
    let chair = sample("chair-19-sd-bar");
    let still = chair
        .iter()
        .find(|f| f.quality >= 50)
        .expect("a good frame");
    set.add_entries("images", [Entry::new(EntryHash::Pdq(still.hash))], false)
        .expect("add");
    // A PDQ query equal to a frame of a bank video only matches the image bank.
    let hits = set.match_pdq(&[still.hash], 100);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].bank, "images");
    // A video query only matches the video bank.
    let hits = set.match_vpdq(&chair);
    assert!(hits.iter().all(|h| h.bank == "videos"), "{hits:?}");
    // Kinds are kept apart when adding, too.
    let wrong = set.add_entries("images", [video_entry("v", "pattern-sd-grey-bar")], false);
    assert!(
        matches!(wrong, Err(BankError::WrongKind { .. })),
        "{wrong:?}"
    );
    let wrong = set.add_entries("videos", [Entry::new(EntryHash::Pdq(still.hash))], false);
    assert!(
        matches!(wrong, Err(BankError::WrongKind { .. })),
        "{wrong:?}"
    );
}

#[test]
fn removing_a_video_removes_its_frames() {
    let mut set = video_set();
    assert_eq!(set.remove_entries("videos", ["chair"]).expect("remove"), 1);
    assert!(set.match_vpdq(&sample("chair-22-sd-grey-bar")).is_empty());
    assert_eq!(set.match_vpdq(&sample("pattern-sd-grey-bar")).len(), 1);
}

#[test]
fn a_video_with_no_usable_frame_is_refused_unless_forced() {
    let mut bank = HashBank::new(BankConfig::vpdq("v", "terrorism")).expect("bank");
    let dark = vec![VpdqFeature {
        hash: PdqHash::default(),
        quality: 10,
    }];
    let refused = bank.add(Entry::new(EntryHash::Vpdq(dark.clone())), false);
    assert!(
        matches!(
            refused,
            Err(BankError::LowQuality {
                quality: 10,
                min: 50
            })
        ),
        "{refused:?}"
    );
    bank.add(Entry::new(EntryHash::Vpdq(dark.clone())), true)
        .expect("forced");
    assert!(bank.match_vpdq(&dark).is_empty());
}

#[test]
fn video_banks_survive_a_save_and_load() {
    let dir = std::env::temp_dir().join(format!(
        "rampart-hashbank-vpdq-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    {
        let mut set = BankSet::load(&dir).expect("load empty");
        let mut config = BankConfig::vpdq("videos", "terrorism");
        config.vpdq_match_pct = 85.0;
        set.create_bank(config).expect("create");
        set.add_entries("videos", [video_entry("chair", "chair-19-sd-bar")], false)
            .expect("add");
    }
    let text = std::fs::read_to_string(dir.join("videos.bank.jsonl")).expect("bank file");
    let set = BankSet::load(&dir).expect("reload");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.contains("\"kind\":\"vpdq\""), "{text}");
    assert!(text.contains("\"vpdq_match_pct\":85.0"), "{text}");
    assert!(text.contains(&format!(
        "\"vpdq\":\"{}\"",
        encode_signature(&sample("chair-19-sd-bar"))
    )));
    let bank = set.bank("videos").expect("bank");
    assert_eq!(bank.config().vpdq_match_pct, 85.0);
    assert_eq!(
        bank.entry("chair"),
        Some(&video_entry("chair", "chair-19-sd-bar"))
    );
    assert_eq!(set.match_vpdq(&sample("chair-22-sd-grey-bar")).len(), 1);
}

#[test]
fn bank_files_without_a_match_percentage_still_load() {
    let dir =
        std::env::temp_dir().join(format!("rampart-hashbank-vpdq-old-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("old.bank.jsonl"),
        "{\"rampart_bank\":1,\"name\":\"old\",\"label\":\"terrorism\",\"kind\":\"pdq\"}\n",
    )
    .expect("write");
    let set = BankSet::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let set = set.expect("an old bank file loads");
    let config = set.bank("old").expect("bank").config();
    assert_eq!((config.threshold, config.vpdq_match_pct), (31, 80.0));
}

#[test]
fn importing_a_hash_file_adds_one_video() {
    let mut set = BankSet::new();
    set.create_bank(BankConfig::vpdq("videos", "terrorism"))
        .expect("create");
    let text = read("sample-hashes/pattern-sd-grey-bar.txt");
    let report = set
        .import(
            "videos",
            &text,
            ImportFormat::VpdqHashFile,
            ImportOptions::default(),
        )
        .expect("import");
    assert_eq!(report.added, 1);
    assert_eq!(set.match_vpdq(&sample("pattern-sd-grey-bar")).len(), 1);

    let broken = format!("{text}12,100,nothex,0.400\n");
    let err = import::parse(&broken, ImportFormat::VpdqHashFile, BankKind::Vpdq, false)
        .expect_err("a bad line");
    assert!(matches!(err, BankError::BadLine { line: 207, .. }), "{err}");
    let lenient =
        import::parse(&broken, ImportFormat::VpdqHashFile, BankKind::Vpdq, true).expect("lenient");
    assert_eq!((lenient.0.len(), lenient.1.skipped.len()), (1, 1));
    for (format, kind) in [
        (ImportFormat::VpdqHashFile, BankKind::Pdq),
        (ImportFormat::HashList, BankKind::Vpdq),
    ] {
        assert!(import::parse(&text, format, kind, true)
            .map(|(entries, _)| entries.is_empty())
            .unwrap_or(true));
    }
    assert!(import::parse("", ImportFormat::VpdqHashFile, BankKind::Vpdq, false).is_err());
}
