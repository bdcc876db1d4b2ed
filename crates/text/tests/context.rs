//! Context: innocent uses of listed words pass, and abuse carries the label that says what
//! happened (an insult aimed at someone is harassment, not only profanity).
//!
//! Built-in libraries only, no models. The default policy reviews a label at a score of 0.4 and
//! blocks at 0.8 (0.85 for sexual; self_harm never blocks): a sentence "passes" when no signal
//! reaches 0.4.

use rampart_text::{ScanOptions, TextEngine};
use rampart_types::{Label, Signal};

/// The default policy's review threshold (every label but spam, ads and pii).
const REVIEW: f32 = 0.4;

fn block_threshold(label: &Label) -> f32 {
    match label {
        Label::Sexual | Label::Illicit => 0.85,
        Label::SelfHarm => 1.01,
        _ => 0.8,
    }
}

fn scan(engine: &TextEngine, text: &str) -> Vec<Signal> {
    let options = ScanOptions {
        models: false,
        contacts: false,
        ..ScanOptions::default()
    };
    engine.scan(text, &options).signals
}

fn describe(signals: &[Signal]) -> String {
    let found: Vec<String> = signals
        .iter()
        .map(|s| {
            format!(
                "{} {:.2} {:?}",
                s.label.as_str(),
                s.score,
                s.evidence.matched.as_deref().unwrap_or("")
            )
        })
        .collect();
    format!("[{}]", found.join(", "))
}

/// Innocent sentences: names, places, tools, animals, food, idioms, counter-speech.
const INNOCENT: &[&str] = &[
    // The evasion rules must not turn real words into terms.
    "Hello Mr Cummings",
    "Please assess the damage before Monday.",
    "The assessor assesses each claim.",
    "Brian Cox presents the show.",
    "He is a Dickens scholar.",
    "A bitter taste.",
    "I love my gay brother",
    "Buy a hoodie.",
    "The child sobs quietly.",
    "Whisk the cake batter.",
    "Shiite and Sunni Muslims pray together.",
    "Add the spices and the spikes of rosemary.",
    "Change the bed sheet.",
    "He cocked his head and listened.",
    // Tools.
    "The stopcock is under the sink.",
    "The ball cock in the cistern is stuck.",
    "Tighten the screw with a screwdriver.",
    // Places.
    "I grew up in Scunthorpe, not far from Penistone.",
    "Middlesex and Sussex played at Lord's.",
    "We drove through Cockburnspath to Clitheroe.",
    "The ferry stops at Twatt on Orkney.",
    "Offa's Dyke runs along the border.",
    // People.
    "We read Dickens and E. E. Cummings at school.",
    "John Hancock signed first.",
    "Claude Cockburn was a journalist.",
    "Dick Van Dyke danced on the rooftops.",
    "Gaylord Perry pitched for the Giants.",
    // Animals and plants.
    "A blue tit and two great tits came to the feeder.",
    "Our bitch had six puppies last night.",
    "The bitch is due to start whelping on Friday.",
    "The rooster is a fine cock, he crowed at dawn.",
    "A crow sat on the fence.",
    "Swine flu spread quickly.",
    "My Maine Coon sleeps all day.",
    "The horny toad lives in the desert.",
    "A sperm whale surfaced.",
    // Food.
    "Add shiitake mushrooms to the broth.",
    "Faggots and peas for tea tonight.",
    "We had spotted dick for pudding.",
    "A bowl of cock-a-leekie soup.",
    "A jam tart and a cup of tea.",
    // Idioms.
    "I'm dying to see it!",
    "kill me now lol this meeting",
    "My feet are killing me.",
    "You killed it last night!",
    "Life's a bitch sometimes.",
    "Karma is a bitch.",
    "I'll shoot you an email tomorrow.",
    "There is a chink in the armour.",
    "The kitchen was spic and span.",
    "Don't kill yourself over it.",
    "Careful, you could hurt yourself.",
    "Cut yourself some slack.",
    "You'll just shoot yourself in the foot.",
    "I want to die laughing at this.",
    "I won't be here tomorrow, I'm on holiday.",
    "I hope you get better soon.",
    "You are not an idiot.",
    "You're a dog person, I can tell.",
    "You're a pig farmer, right?",
    "It was brand spanking new.",
    "A slit in the fabric.",
    "Suicide bombers attacked the market.",
    "That was political suicide.",
    "Bullshit Bingo is a game at work.",
    // Counter-speech and news.
    "Saying that immigrants are vermin is disgusting.",
    "Calling refugees rats is dehumanising.",
    "The claim that women are inferior is a myth.",
    "It's wrong to say gays are an abomination.",
    "Immigrants are not vermin.",
    "The crowd chanted that Jews are rats; police condemned it.",
];

#[test]
fn innocent_uses_pass() {
    let engine = TextEngine::with_builtin_libraries();
    let failures: Vec<String> = INNOCENT
        .iter()
        .filter_map(|text| {
            let signals = scan(&engine, text);
            signals
                .iter()
                .any(|s| s.score >= REVIEW)
                .then(|| format!("{text:?}: {}", describe(&signals)))
        })
        .collect();
    assert!(INNOCENT.len() >= 60);
    assert!(
        failures.is_empty(),
        "{} innocent sentences reach review:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// How far a label must go under the default policy.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// Review or block.
    Review,
    /// Review, not block.
    ReviewOnly,
    /// Block.
    Block,
}

/// (text, the labels it must carry and how far each goes)
const ABUSIVE: &[(&str, &[(&str, Level)])] = &[
    // Insults aimed at someone are harassment, whatever the spelling.
    ("you are an idiot", &[("harassment", Level::Review)]),
    ("ur a bitch", &[("harassment", Level::Review)]),
    ("u r a f*ckin l0ser", &[("harassment", Level::Review)]),
    ("y.o.u i.d.i.o.t", &[("harassment", Level::Review)]),
    ("you biiiitch", &[("harassment", Level::Review)]),
    ("your a stupid cunt", &[("harassment", Level::Review)]),
    ("shut up you whore", &[("harassment", Level::Review)]),
    ("shut up, loser", &[("harassment", Level::Review)]),
    ("you're all morons", &[("harassment", Level::Review)]),
    ("are you retarded?", &[("harassment", Level::Review)]),
    ("@dave is a cunt", &[("harassment", Level::Review)]),
    ("Sarah is such a slut", &[("harassment", Level::Review)]),
    ("he's a fucking dickhead", &[("harassment", Level::Review)]),
    ("you're a snake.", &[("harassment", Level::Review)]),
    (
        "you're a f@gg0t",
        &[("harassment", Level::Review), ("hate", Level::Block)],
    ),
    // Slurs are hate.
    ("those n1ggers", &[("hate", Level::Block)]),
    ("what a retard", &[("hate", Level::Block)]),
    ("stupid faggot", &[("hate", Level::Block)]),
    // Wishing death or harm; threats.
    (
        "I hope you die in a fire",
        &[("violence", Level::Block), ("harassment", Level::Block)],
    ),
    (
        "i hope u get cancer",
        &[("violence", Level::Block), ("harassment", Level::Block)],
    ),
    ("I will kill you", &[("violence", Level::Block)]),
    ("someone should shoot you", &[("violence", Level::Block)]),
    // Incitement to self-harm: severe harassment, and self_harm.
    (
        "you should hang yourself",
        &[("harassment", Level::Block), ("self_harm", Level::Review)],
    ),
    (
        "just k y s",
        &[("harassment", Level::Block), ("self_harm", Level::Review)],
    ),
    (
        "why don't you kill urself",
        &[("harassment", Level::Block), ("self_harm", Level::Review)],
    ),
    // Social exclusion.
    (
        "nobody would miss you if you were gone",
        &[("harassment", Level::ReviewOnly)],
    ),
    (
        "the world would be a better place without you",
        &[("harassment", Level::Review)],
    ),
    // Suicidal intent or a plan: review, never block.
    (
        "I'm going to end it all tonight, I have the pills ready",
        &[("self_harm", Level::ReviewOnly)],
    ),
    (
        "I wrote my goodbye letter",
        &[("self_harm", Level::ReviewOnly)],
    ),
    (
        "i won't be here tomorrow",
        &[("self_harm", Level::ReviewOnly)],
    ),
    (
        "everyone would be better off without me",
        &[("self_harm", Level::ReviewOnly)],
    ),
    ("I want to die", &[("self_harm", Level::ReviewOnly)]),
    // Dehumanisation and exclusion of protected groups.
    (
        "muslims are a disease on this country",
        &[("hate", Level::Block)],
    ),
    ("immigrants are vermin", &[("hate", Level::Block)]),
    ("black people are animals", &[("hate", Level::Block)]),
    ("kill all jews", &[("hate", Level::Block)]),
    ("gas the gays", &[("hate", Level::Block)]),
    ("deport all refugees", &[("hate", Level::Block)]),
    (
        "women shouldn't be allowed to vote",
        &[("hate", Level::Block)],
    ),
    ("trans people are mentally ill", &[("hate", Level::Block)]),
    ("women are too stupid to drive", &[("hate", Level::Block)]),
    ("mu$lims are r@ts", &[("hate", Level::Block)]),
    // Sexual terms and solicitation.
    ("send nudes", &[("sexual", Level::Review)]),
    ("show me your tits", &[("sexual", Level::Review)]),
    ("wanna suck my dick", &[("sexual", Level::Review)]),
    ("let me eat your pussy", &[("sexual", Level::Review)]),
    ("dm me ur nude pics", &[("sexual", Level::Review)]),
    ("she gave him a blowjob", &[("sexual", Level::Review)]),
];

#[test]
fn abuse_carries_the_label_that_says_what_happened() {
    let engine = TextEngine::with_builtin_libraries();
    let mut failures = Vec::new();
    for (text, expected) in ABUSIVE {
        let signals = scan(&engine, text);
        for (label, level) in *expected {
            let label: Label = label.parse().unwrap();
            let score = signals
                .iter()
                .filter(|s| s.label == label)
                .map(|s| s.score)
                .fold(0.0f32, f32::max);
            let block = block_threshold(&label);
            let ok = match level {
                Level::Review => score >= REVIEW,
                Level::ReviewOnly => (REVIEW..block).contains(&score),
                Level::Block => score >= block,
            };
            if !ok {
                failures.push(format!(
                    "{text:?}: expected {} at {level:?}, got {}",
                    label.as_str(),
                    describe(&signals)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} labels missing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hate_library_hits_are_candidates_for_the_second_stage() {
    let engine = TextEngine::with_builtin_libraries();
    let libraries = engine.libraries();
    let hate = libraries
        .iter()
        .find(|l| l.name == "builtin:hate-en")
        .expect("hate-en is built in");
    assert!(hate.confirm);
    assert_eq!(hate.label, Label::Hate);
    assert!(libraries
        .iter()
        .filter(|l| l.name != "builtin:hate-en")
        .all(|l| !l.confirm));
}

#[test]
fn rules_shared_between_libraries_stay_in_step() {
    let engine = TextEngine::with_builtin_libraries();
    let libraries = engine.libraries();
    let definition = |library: &str, name: &str| -> String {
        libraries
            .iter()
            .find(|l| l.name == library)
            .and_then(|l| l.definitions.iter().find(|d| d.name == name))
            .map(|d| d.pattern.clone())
            .unwrap_or_else(|| panic!("{library} defines {name}"))
    };
    for (other, name) in [
        ("builtin:self-harm-en", "INCITE"),
        ("builtin:self-harm-en", "KYS"),
        ("builtin:threats-en", "HARM"),
        ("builtin:threats-en", "WISH"),
        ("builtin:threats-en", "FIRE"),
    ] {
        assert_eq!(
            definition("builtin:harassment-en", name),
            definition(other, name),
            "{name} differs between builtin:harassment-en and {other}"
        );
    }
}
