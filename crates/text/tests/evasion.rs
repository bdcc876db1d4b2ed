//! The evasion and innocence tables of issue 3: every evasive spelling is flagged with the right
//! label and a span that points at the original characters; no innocent sentence is flagged.

use rampart_text::{ScanOptions, TextEngine};
use rampart_types::{Label, Signal};

fn terms_only() -> ScanOptions {
    ScanOptions {
        models: false,
        contacts: false,
        ..ScanOptions::default()
    }
}

fn scan(engine: &TextEngine, text: &str) -> Vec<Signal> {
    engine.scan(text, &terms_only()).signals
}

/// (text, label, the original characters the evidence must point at)
const EVASIONS: &[(&str, &str, &str)] = &[
    ("ｆｕｃｋ this", "profanity", "ｆｕｃｋ"),
    ("oh 𝐟𝐮𝐜𝐤 that", "profanity", "𝐟𝐮𝐜𝐤"),
    ("𝓯𝓾𝓬𝓴 that", "profanity", "𝓯𝓾𝓬𝓴"),
    ("𝔣𝔲𝔠𝔨 that", "profanity", "𝔣𝔲𝔠𝔨"),
    ("ⓕⓤⓒⓚ it", "profanity", "ⓕⓤⓒⓚ"),
    ("⒡⒰⒞⒦ it", "profanity", "⒡⒰⒞⒦"),
    ("ꜰᴜᴄᴋ it", "profanity", "ꜰᴜᴄᴋ"),
    ("fцck it", "profanity", "fцck"),
    ("fuсk it", "profanity", "fuсk"),
    ("ѕһіт happens", "profanity", "ѕһіт"),
    ("Ꮯunt", "profanity", "Ꮯunt"),
    ("fսck it", "profanity", "fսck"),
    ("you ΒΙΤCΗ", "profanity", "ΒΙΤCΗ"),
    ("ЅΗΙΤ happens", "profanity", "ЅΗΙΤ"),
    ("f\u{200B}uck it", "profanity", "f\u{200B}uck"),
    (
        "f\u{200C}u\u{200D}ck it",
        "profanity",
        "f\u{200C}u\u{200D}ck",
    ),
    ("f\u{2060}uck it", "profanity", "f\u{2060}uck"),
    ("f\u{00AD}uck it", "profanity", "f\u{00AD}uck"),
    ("\u{FEFF}fuck it", "profanity", "fuck"),
    ("fu\u{FE0F}ck it", "profanity", "fu\u{FE0F}ck"),
    ("oh \u{202E}kcuf\u{202C} it", "profanity", "kcuf"),
    (
        "f\u{E0020}u\u{E0041}ck it",
        "profanity",
        "f\u{E0020}u\u{E0041}ck",
    ),
    ("fück it", "profanity", "fück"),
    (
        "f\u{0336}u\u{0336}c\u{0336}k\u{0336} it",
        "profanity",
        "f\u{0336}u\u{0336}c\u{0336}k\u{0336}",
    ),
    (
        "f\u{0334}\u{0321}\u{031B}u\u{0338}\u{0322}\u{035D}c\u{0337}\u{0328}k\u{0335}\u{0322} it",
        "profanity",
        "f\u{0334}\u{0321}\u{031B}u\u{0338}\u{0322}\u{035D}c\u{0337}\u{0328}k\u{0335}\u{0322}",
    ),
    ("$h1t happens", "profanity", "$h1t"),
    ("you b!7ch", "profanity", "b!7ch"),
    ("sh!t happens", "profanity", "sh!t"),
    ("what an a$$hole", "profanity", "a$$hole"),
    ("fuuuuuck", "profanity", "fuuuuuck"),
    ("you biiiitch", "profanity", "biiiitch"),
    ("f.u.c.k this", "profanity", "f.u.c.k"),
    ("f u c k this", "profanity", "f u c k"),
    ("f-u-c-k this", "profanity", "f-u-c-k"),
    ("f_u_c_k this", "profanity", "f_u_c_k"),
    ("f*u*c*k this", "profanity", "f*u*c*k"),
    ("🇫🇺🇨🇰 this", "profanity", "🇫🇺🇨🇰"),
    ("🅵🆄🅲🅺 this", "profanity", "🅵🆄🅲🅺"),
    ("fu©k this", "profanity", "fu©k"),
    ("ˢʰᶦᵗ happens", "profanity", "ˢʰᶦᵗ"),
    ("FUCK THIS", "profanity", "FUCK"),
    ("FuCk this", "profanity", "FuCk"),
    ("c.u.n.t", "profanity", "c.u.n.t"),
    ("you f@gg0t", "hate", "f@gg0t"),
    ("just k y s", "harassment", "k y s"),
    ("go k!ll yourself", "harassment", "go k!ll yourself"),
    ("i will k1ll you", "violence", "i will k1ll you"),
    ("s3nd nud3s", "sexual", "s3nd nud3s"),
    ("thinking about 𝐬𝐮𝐢𝐜𝐢𝐝𝐞", "self_harm", "𝐬𝐮𝐢𝐜𝐢𝐝𝐞"),
    (
        "you are a f\u{200B}u\u{0441}king idiot",
        "profanity",
        "f\u{200B}u\u{0441}king",
    ),
    (
        "you are a stupid idiot",
        "harassment",
        "you are a stupid idiot",
    ),
    ("fuuuck yoouuu", "harassment", "fuuuck yoouuu"),
];

#[test]
fn every_evasion_is_flagged_at_its_original_characters() {
    let engine = TextEngine::with_builtin_libraries();
    let mut failures = Vec::new();
    for (text, label, matched) in EVASIONS {
        let label: Label = label.parse().unwrap();
        let signals = scan(&engine, text);
        let hit = signals
            .iter()
            .find(|s| s.label == label && s.evidence.matched.as_deref() == Some(*matched));
        match hit {
            Some(signal) => {
                let span = signal.evidence.span.expect("term evidence has a span");
                assert_eq!(&text[span.start..span.end], *matched, "span of {text:?}");
            }
            None => failures.push(format!(
                "{text:?}: expected {label} at {matched:?}, got {:?}",
                signals
                    .iter()
                    .map(|s| (s.label.as_str().to_owned(), s.evidence.matched.clone()))
                    .collect::<Vec<_>>()
            )),
        }
    }
    assert!(EVASIONS.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} evasions missed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every evasion class still yields the label that says what happened, not only profanity:
/// (evasion class, text, label).
const LABELS: &[(&str, &str, &str)] = &[
    ("leet", "ur a l0ser", "harassment"),
    ("leet", "y0u b!7ch", "harassment"),
    ("leet", "i h0pe y0u d1e", "violence"),
    ("leet", "g0 k1ll y0urself", "self_harm"),
    ("leet", "I w@nt to d1e", "self_harm"),
    ("leet", "sh0w me y0ur t1ts", "sexual"),
    ("leet", "k1ll all j3ws", "hate"),
    ("separators", "y.o.u i.d.i.o.t", "harassment"),
    ("separators", "u r a b i t c h", "harassment"),
    ("separators", "k.y.s", "self_harm"),
    ("repetition", "you biiiitch", "harassment"),
    ("repetition", "youuuu idiooot", "harassment"),
    ("repetition", "send nuuuudes", "sexual"),
    ("confusables", "you ΒΙΤCΗ", "harassment"),
    (
        "confusables",
        "y\u{043E}u \u{0456}d\u{0456}\u{043E}t",
        "harassment",
    ),
    ("small capitals", "ʏᴏᴜ ɪᴅɪᴏᴛ", "harassment"),
    ("zero-width", "you i\u{200B}di\u{200C}ot", "harassment"),
    ("tag characters", "you i\u{E0041}diot", "harassment"),
    ("bidi reversal", "\u{202E}toidi uoy\u{202C}", "harassment"),
    ("diacritics", "yöu ïdiöt", "harassment"),
    (
        "strikethrough",
        "you i\u{0336}d\u{0336}i\u{0336}o\u{0336}t\u{0336}",
        "harassment",
    ),
    ("fullwidth", "ｙｏｕ ｉｄｉｏｔ", "harassment"),
    ("mathematical letters", "𝐲𝐨𝐮 𝐢𝐝𝐢𝐨𝐭", "harassment"),
    ("enclosed letters", "ⓨⓞⓤ ⓘⓓⓘⓞⓣ", "harassment"),
    ("emoji letters", "🅨🅞🅤 🅘🅓🅘🅞🅣", "harassment"),
    ("mixed", "u r a f*ckin l0ser", "harassment"),
    (
        "mixed",
        "Y\u{200B}O\u{200B}U'RE A ƒÜÇKİNG ΜΟRΟΝ",
        "harassment",
    ),
];

#[test]
fn every_evasion_class_keeps_its_label() {
    let engine = TextEngine::with_builtin_libraries();
    let mut failures = Vec::new();
    for (class, text, label) in LABELS {
        let label: Label = label.parse().unwrap();
        let signals = scan(&engine, text);
        if !signals.iter().any(|s| s.label == label) {
            failures.push(format!(
                "{class}: {text:?}: expected {label}, got {:?}",
                signals
                    .iter()
                    .map(|s| (s.label.as_str().to_owned(), s.evidence.matched.clone()))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} evasions lost their label:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn evidence_names_the_tricks_undone() {
    let engine = TextEngine::with_builtin_libraries();
    let signals = scan(&engine, "f\u{200B}ü©k");
    let tricks = &signals
        .iter()
        .find(|s| s.label == Label::Profanity)
        .expect("flagged")
        .evidence
        .tricks;
    let names: Vec<String> = tricks
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    for expected in ["\"zero_width\"", "\"diacritic\"", "\"emoji_letter\""] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

const INNOCENT: &[&str] = &[
    "I grew up in Scunthorpe.",
    "Penistone is a market town in South Yorkshire.",
    "The assassin was never caught.",
    "Let's grab a cocktail after work.",
    "My therapist says I'm making progress.",
    "Add shiitake mushrooms to the broth.",
    "Please read the documentation first.",
    "We read Dickens in school.",
    "Middlesex County Cricket Club won the toss.",
    "Essex and Sussex are on the coast.",
    "The class passed the exam.",
    "Cockburn Street is in Edinburgh.",
    "Arsenal won the match on Saturday.",
    "Shell is an oil company.",
    "The butterfly landed on a buttercup.",
    "Analysis shows a steady drop.",
    "Pass me the title deeds.",
    "The hotel is in Clitheroe.",
    "Grape juice is sweet.",
    "As sure as eggs is eggs.",
    "The grass hopper jumped over the fence.",
    "The Titanic sank in 1912.",
    "Matsushita makes televisions.",
    "Cumbria is beautiful in autumn.",
    "Add cumin to the stew.",
    "The bass player was great.",
    "Fire retardant chemicals stop the spread.",
    "Niger is a country in West Africa.",
    "The spice trade flourished in Venice.",
    "Moby Dick is a novel by Herman Melville.",
    "Pussy willow blooms in spring.",
    "Homo sapiens evolved in Africa.",
    "The scrapbook was a lovely gift.",
    "Wankel engines are rotary engines.",
    "The 69th regiment marched at dawn.",
    "It cost $100 in 2024 and 3.50 for delivery.",
    "I'm dying to see the new film.",
    "We killed it at the concert last night.",
    "Sextant navigation is old-school.",
    "Hitchcock films are classics.",
    "Hello, world!",
    "The document was 12 pages long.",
    "Mr. Dickerson assessed the cockpit.",
    "She is a hairdresser in Bangkok.",
    "Pen Island sells pens.",
    "Kill the process with SIGTERM, then restart it.",
    "The shuttlecock flew over the net.",
    "I need to pass the bass to Cass.",
    // The evasion rules (repetition, plural, leet, joined letters) never reach a real word.
    "Hello Mr Cummings",
    "Please assess the situation.",
    "Brian Cox presents the show.",
    "Shiite pilgrims walked to Karbala.",
    "Whisk the batter until smooth.",
    "Fold the sheets.",
    "G o o d n i g h t",
];

#[test]
fn innocent_sentences_are_not_flagged() {
    let engine = TextEngine::with_builtin_libraries();
    let mut failures = Vec::new();
    for text in INNOCENT {
        let signals = scan(&engine, text);
        if !signals.is_empty() {
            failures.push(format!(
                "{text:?}: {:?}",
                signals
                    .iter()
                    .map(|s| (s.label.as_str().to_owned(), s.evidence.matched.clone()))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(INNOCENT.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} innocent sentences flagged:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn libraries_are_swapped_without_a_restart() {
    use rampart_text::library::{LibraryKind, Severity, TermLibrary};
    let engine = TextEngine::with_builtin_libraries();
    let custom = |terms: &str| {
        TermLibrary::parse(
            "scams",
            LibraryKind::Block,
            "custom:scams".parse().unwrap(),
            Severity::STRONG,
            terms,
        )
        .unwrap()
    };
    assert!(scan(&engine, "send gift cards").is_empty());
    engine.upsert_library(custom("gift cards")).unwrap();
    assert_eq!(scan(&engine, "send gift cards").len(), 1);
    engine.upsert_library(custom("wire transfer")).unwrap();
    assert!(scan(&engine, "send gift cards").is_empty());
    assert!(engine.remove_library("scams").unwrap());
    assert!(scan(&engine, "wire transfer").is_empty());
}

#[test]
fn scans_run_concurrently_with_library_swaps() {
    use rampart_text::library::{LibraryKind, Severity, TermLibrary};
    use std::sync::Arc;
    let engine = Arc::new(TextEngine::with_builtin_libraries());
    let reader = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            for _ in 0..2000 {
                let signals = engine.scan("fuck this", &terms_only()).signals;
                assert!(signals.iter().any(|s| s.label == Label::Profanity));
            }
        })
    };
    for i in 0..20 {
        let lib = TermLibrary::parse(
            "churn",
            LibraryKind::Review,
            "custom:churn".parse().unwrap(),
            Severity::STRONG,
            &format!("word{i}"),
        )
        .unwrap();
        engine.upsert_library(lib).unwrap();
    }
    reader.join().unwrap();
}
