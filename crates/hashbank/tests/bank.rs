//! Banks: matching rules, persistence, corrupt files and imports.

use std::path::{Path, PathBuf};

use rampart_hashbank::{
    BankConfig, BankError, BankSet, Entry, EntryHash, ImportFormat, ImportOptions,
};
use rampart_pdq::PdqHash;

fn testdata() -> PathBuf {
    match std::env::var_os("RAMPART_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../data/testdata"),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "rampart-hashbank-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn h(s: &str) -> PdqHash {
    s.parse().unwrap()
}

const ORIGINAL: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

fn flip(hash: PdqHash, bits: &[usize]) -> PdqHash {
    let mut x = hash;
    let mut l = x.limbs();
    for &b in bits {
        l[b / 64] ^= 1 << (b % 64);
    }
    x = PdqHash::from_limbs(l);
    x
}

fn pdq_entry(id: &str, hash: PdqHash) -> Entry {
    Entry {
        id: id.into(),
        hash: EntryHash::Pdq(hash),
        quality: Some(90),
        note: Some(format!("source of {id}")),
        added: "2025-01-01T00:00:00Z".into(),
    }
}

#[test]
fn threshold_quality_and_labels() {
    let mut set = BankSet::new();
    set.create_bank(BankConfig::pdq("terror", "terrorism"))
        .unwrap();
    let mut strict = BankConfig::pdq("strict", "custom:strict");
    strict.threshold = 10;
    strict.min_quality = 80;
    set.create_bank(strict).unwrap();

    let base = h(ORIGINAL);
    let near = flip(base, &(0..20).map(|i| i * 7).collect::<Vec<_>>()); // distance 20
    let far = flip(base, &(0..32).map(|i| i * 7).collect::<Vec<_>>()); // distance 32
    set.add_entries("terror", [pdq_entry("a", near), pdq_entry("b", far)], false)
        .unwrap();
    set.add_entries("strict", [pdq_entry("c", flip(base, &[3, 4]))], false)
        .unwrap();

    let hits = set.match_pdq(&[base], 90);
    let got: Vec<(&str, &str, u32)> = hits
        .iter()
        .map(|x| (x.bank.as_str(), x.entry_id.as_str(), x.distance))
        .collect();
    assert_eq!(got, vec![("strict", "c", 2), ("terror", "a", 20)]);
    assert_eq!(hits[0].label, "custom:strict");
    assert_eq!(hits[1].note.as_deref(), Some("source of a"));
    assert_eq!(hits[1].dihedral_variant, None);

    // Quality 70: below strict's 80, above terror's 50.
    let hits = set.match_pdq(&[base], 70);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].bank, "terror");
    assert!(set.match_pdq(&[base], 49).is_empty());

    // Low-quality entries are refused unless forced.
    let low = pdq_entry("low", base).clone();
    let low = Entry {
        quality: Some(30),
        ..low
    };
    assert!(matches!(
        set.add_entries("terror", [low.clone()], false),
        Err(BankError::LowQuality {
            quality: 30,
            min: 50
        })
    ));
    set.add_entries("terror", [low], true).unwrap();
    assert_eq!(set.match_pdq(&[base], 100)[0].entry_id, "low");

    // Duplicate ids and wrong kinds are refused, and the batch is all or nothing.
    let err = set
        .add_entries(
            "terror",
            [pdq_entry("z", base), pdq_entry("a", base)],
            false,
        )
        .unwrap_err();
    assert!(matches!(err, BankError::DuplicateEntry { .. }), "{err}");
    assert!(set.bank("terror").unwrap().entry("z").is_none());
    let md5 = Entry::new(EntryHash::md5("0123456789abcdef0123456789ABCDEF").unwrap());
    assert!(matches!(
        set.add_entries("terror", [md5], false),
        Err(BankError::WrongKind { .. })
    ));

    assert_eq!(set.remove_entries("terror", ["a", "nope"]).unwrap(), 1);
    assert!(set.match_pdq(&[base], 90).iter().all(|x| x.entry_id != "a"));
    assert!(matches!(
        set.create_bank(BankConfig::pdq("Bad Name", "x")),
        Err(BankError::InvalidName(_))
    ));
}

/// The reference's dihedral hashes of one photo: a bank holding its rotation matches the
/// original photo only when the bank is dihedral.
#[test]
fn dihedral_banks_match_any_variant() {
    let csv = std::fs::read_to_string(testdata().join("pdq/expected-dihedral.csv")).unwrap();
    let row: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("reg-test-input/dih/bridge-1-original.jpg,"))
        .unwrap()
        .split(',')
        .collect();
    let variants: Vec<PdqHash> = row[1..9].iter().map(|s| h(s)).collect();
    assert_eq!(variants[0], h(ORIGINAL));

    let mut set = BankSet::new();
    let mut dih = BankConfig::pdq("dih", "sexual_minors");
    dih.dihedral = true;
    set.create_bank(dih).unwrap();
    set.create_bank(BankConfig::pdq("plain", "sexual_minors"))
        .unwrap();
    // A rotated copy of the photo is banked (its rotate90 hash, slightly changed).
    let banked = flip(variants[1], &[0, 100, 200]);
    for bank in ["dih", "plain"] {
        set.add_entries(bank, [pdq_entry("rot", banked)], false)
            .unwrap();
    }
    let hits = set.match_pdq(&variants, 100);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].bank, "dih");
    assert_eq!(hits[0].distance, 3);
    assert_eq!(hits[0].dihedral_variant, Some(1));
    // With only the original hash, nothing.
    assert!(set.match_pdq(&variants[..1], 100).is_empty());
}

#[test]
fn exact_banks_match_digests() {
    let mut set = BankSet::new();
    set.create_bank(BankConfig::exact("known-files", "terrorism"))
        .unwrap();
    let sha = "a".repeat(64);
    set.add_entries(
        "known-files",
        [
            Entry::new(EntryHash::md5("0123456789ABCDEF0123456789abcdef").unwrap()).with_note("x"),
            Entry::new(EntryHash::sha256(&sha).unwrap()),
        ],
        false,
    )
    .unwrap();
    assert!(EntryHash::md5("xyz").is_err());
    let hits = set.match_exact("0123456789abcdef0123456789ABCDEF", "");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].note.as_deref(), Some("x"));
    assert_eq!(hits[0].distance, 0);
    assert_eq!(set.match_exact("", &sha.to_uppercase()).len(), 1);
    assert_eq!(
        set.match_exact("0123456789abcdef0123456789abcdef", &sha)
            .len(),
        2
    );
    assert!(set.match_exact(&"0".repeat(32), &"0".repeat(64)).is_empty());
    // PDQ queries do not look at exact banks.
    assert!(set.match_pdq(&[h(ORIGINAL)], 100).is_empty());
}

#[test]
fn banks_persist_and_reload() {
    let dir = TempDir::new("persist");
    let banks = dir.path().join("banks");
    let haystack = std::fs::read_to_string(testdata().join("pdq/haystack.txt")).unwrap();
    {
        let mut set = BankSet::load(&banks).unwrap();
        let mut cfg = BankConfig::pdq("hay", "custom:hay");
        cfg.dihedral = true;
        set.create_bank(cfg).unwrap();
        set.create_bank(BankConfig::exact("files", "terrorism"))
            .unwrap();
        let report = set
            .import(
                "hay",
                &haystack,
                ImportFormat::HashList,
                ImportOptions::default(),
            )
            .unwrap();
        assert_eq!(report.added, 1350);
        set.add_entries(
            "files",
            [Entry::new(EntryHash::sha256(&"b".repeat(64)).unwrap())
                .with_note("a \"quoted\" note\nwith a newline")],
            false,
        )
        .unwrap();
        set.create_bank(BankConfig::pdq("gone", "x")).unwrap();
        assert!(set.delete_bank("gone").unwrap());
    }
    // Only the two bank files, no temporary files left behind.
    let mut names: Vec<String> = std::fs::read_dir(&banks)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["files.bank.jsonl", "hay.bank.jsonl"]);

    let set = BankSet::load(&banks).unwrap();
    let hay = set.bank("hay").unwrap();
    assert_eq!(hay.len(), 1350);
    assert!(hay.config().dihedral);
    assert_eq!(hay.config().label, "custom:hay");
    let needles = std::fs::read_to_string(testdata().join("pdq/needles.txt")).unwrap();
    let total: usize = needles
        .lines()
        .map(|n| set.match_pdq(&[h(n)], 100).len())
        .sum();
    assert_eq!(total, 250);
    let files = set.list_entries("files").unwrap();
    assert_eq!(
        files[0].note.as_deref(),
        Some("a \"quoted\" note\nwith a newline")
    );
    assert_eq!(set.match_exact("", &"b".repeat(64)).len(), 1);
    // Entries keep their ids, and the header is readable JSON.
    let text = std::fs::read_to_string(banks.join("hay.bank.jsonl")).unwrap();
    assert!(
        text.starts_with("{\"rampart_bank\":1,\"name\":\"hay\""),
        "{text:.200}"
    );
    assert_eq!(text.lines().count(), 1351);
}

#[test]
fn a_corrupt_bank_file_names_the_file_and_line() {
    let dir = TempDir::new("corrupt");
    {
        let mut set = BankSet::load(dir.path()).unwrap();
        set.create_bank(BankConfig::pdq("one", "terrorism"))
            .unwrap();
        set.add_entries(
            "one",
            [pdq_entry("a", h(ORIGINAL)), pdq_entry("b", h(ORIGINAL))],
            false,
        )
        .unwrap();
    }
    let path = dir.path().join("one.bank.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    // A leftover temporary file from a crashed save is ignored and cleaned up.
    let stale = dir.path().join(".one.bank.jsonl.tmp-99999");
    std::fs::write(&stale, "{garbage").unwrap();
    let set = BankSet::load(dir.path()).unwrap();
    assert!(!stale.exists());
    let a = set.bank("one").unwrap().entry("a").unwrap();
    assert_eq!(a, &pdq_entry("a", h(ORIGINAL)));
    assert_eq!(set.match_pdq(&[h(ORIGINAL)], 90).len(), 2);
    let cases = [
        (good.replacen("\"pdq\":\"d8f8", "\"pdq\":\"zzzz", 1), 2),
        (good.replace("\"id\":\"b\"", "\"id\":\"a\""), 3),
        (format!("{good}{{not json\n"), 4),
        (
            good.replacen("\"kind\":\"pdq\"", "\"kind\":\"fuzzy\"", 1),
            1,
        ),
        (String::new(), 1),
    ];
    for (text, line) in cases {
        std::fs::write(&path, &text).unwrap();
        let err = BankSet::load(dir.path()).unwrap_err();
        match &err {
            BankError::Corrupt {
                path: p, line: l, ..
            } => {
                assert_eq!((p.as_path(), *l), (path.as_path(), line), "{err}");
            }
            other => panic!("{other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("one.bank.jsonl:"), "{msg}");
    }
}

#[test]
fn imports_report_bad_lines() {
    let mut set = BankSet::new();
    set.create_bank(BankConfig::pdq("p", "terrorism")).unwrap();
    // The reference pdq-photo-hasher output, from expected.csv (file,hash,quality).
    let csv = std::fs::read_to_string(testdata().join("pdq/expected.csv")).unwrap();
    let hasher_output: String = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}\n", f[1], f[2], f[0])
        })
        .collect();
    let rows = hasher_output.lines().count();
    let low = hasher_output
        .lines()
        .filter(|l| l.split(',').nth(1).unwrap().parse::<u8>().unwrap() < 50)
        .count();
    assert!(low > 0);

    // Strict: the first low-quality line fails the import, naming its line; nothing is added.
    let err = set
        .import(
            "p",
            &hasher_output,
            ImportFormat::PdqPhotoHasher,
            ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, BankError::BadLine { .. }), "{err}");
    assert!(set.bank("p").unwrap().is_empty());

    // Lenient: low-quality lines are skipped and reported.
    let lenient = ImportOptions {
        lenient: true,
        force: false,
    };
    let report = set
        .import("p", &hasher_output, ImportFormat::PdqPhotoHasher, lenient)
        .unwrap();
    assert_eq!((report.added, report.skipped.len()), (rows - low, low));
    let entry = set.bank("p").unwrap().entries().next().unwrap();
    assert!(entry.note.as_deref().unwrap().contains('/'));
    assert!(entry.quality.is_some());

    // Syntax errors carry their line numbers.
    let text = "# a comment\n\n".to_string() + ORIGINAL + "\nnot-a-hash\n" + ORIGINAL + ",101,x\n";
    let err = set
        .import("p", &text, ImportFormat::HashList, ImportOptions::default())
        .unwrap_err();
    assert!(matches!(err, BankError::BadLine { line: 4, .. }), "{err}");
    let err = set
        .import(
            "p",
            &text,
            ImportFormat::PdqPhotoHasher,
            ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, BankError::BadLine { line: 3, .. }), "{err}");
    let report = set
        .import("p", &text, ImportFormat::HashList, lenient)
        .unwrap();
    let lines: Vec<usize> = report
        .skipped
        .iter()
        .map(|e| match e {
            BankError::BadLine { line, .. } => *line,
            _ => 0,
        })
        .collect();
    assert_eq!((report.added, lines), (1, vec![4, 5]));
}

#[test]
fn a_batch_that_fails_leaves_no_new_bank_and_an_old_one_as_it_was() {
    use rampart_hashbank::Batch;
    let dir = std::env::temp_dir().join(format!("rampart-batch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut set = BankSet::load(&dir).unwrap();
    let good = || Entry::new(EntryHash::Pdq(ORIGINAL.parse().unwrap())).with_quality(90);
    let low = || Entry::new(EntryHash::Pdq(ORIGINAL.parse().unwrap())).with_quality(10);
    let batch = |named: Vec<(String, Entry)>| Batch {
        lines: vec![(1, good())],
        named,
    };
    let options = ImportOptions::default();

    let err = set
        .add_batch(
            "new",
            Some(BankConfig::pdq("new", "terrorism")),
            batch(vec![("low.jpg".into(), low())]),
            options,
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("low.jpg: quality 10"), "{err}");
    assert!(set.bank("new").is_none());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no file");

    let report = set
        .add_batch(
            "new",
            Some(BankConfig::pdq("new", "terrorism")),
            batch(vec![("a.jpg".into(), good())]),
            options,
        )
        .unwrap();
    assert_eq!(report.added, 2);
    let saved = std::fs::read_to_string(dir.join("new.bank.jsonl")).unwrap();
    assert!(set
        .add_batch("new", None, batch(vec![("low.jpg".into(), low())]), options)
        .is_err());
    assert_eq!(set.bank("new").unwrap().len(), 2);
    assert_eq!(
        std::fs::read_to_string(dir.join("new.bank.jsonl")).unwrap(),
        saved
    );
    // Lenient skips a refused line, never a named entry.
    let lenient = ImportOptions {
        lenient: true,
        force: false,
    };
    let lines = Batch {
        lines: vec![(1, low()), (2, good())],
        named: Vec::new(),
    };
    let report = set.add_batch("new", None, lines, lenient).unwrap();
    assert_eq!((report.added, report.skipped.len()), (1, 1));
    assert!(set
        .add_batch("new", None, batch(vec![("low.jpg".into(), low())]), lenient)
        .is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
