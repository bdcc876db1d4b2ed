//! The escalation gate: decides which messages stage 2 (the sentence-encoder heads) reads.
//!
//! Stage 2 costs milliseconds where stage 1 costs microseconds, so only messages with a reason
//! for a closer reading are escalated:
//! - a term hit of a label stage 2 judges (harassment, hate, violence, self-harm, sexual), or a
//!   profanity hit in a message that addresses someone;
//! - a stage-1 model score in the uncertain band (at or above [`UNCERTAIN_FROM`]);
//! - a mention of a protected group (so both hate and counter-speech get read closely);
//! - the second person with a violent or demeaning word (`… you … die`);
//! - a violent act (`shoot up`, `bomb`, `stab`) with the first or second person;
//! - the first person with a self-harm cue (`… I … pills`);
//! - a sexual cue word.
//!
//! Those cue conditions escalate by themselves only when there is no learned gate. With one
//! (what `cargo xtask train text` produces), they are its features instead:
//! - the **learned gate** (`text-gate`, a linear model over the same word features as stage 1
//!   plus one marker per cue condition, [`Gate::learned_input`], trained by `cargo xtask train
//!   text` to tell ordinary messages from everything else of the functional suite) scoring at
//!   or above a threshold chosen on the validation split. A cue list alone escalates every
//!   ordinary message that happens to use its words (3 % of them, measured); the learned gate
//!   weighs the cues with the words around them and generalises from every threat, self-harm
//!   and hate template of the training split.
//!
//! The cue words are data (`data/gate-en.txt`), matched on whole words of the normalised text.

use std::collections::HashSet;

use crate::LinearModel;

/// Stage-1 model scores from here up are uncertain enough to escalate.
pub const UNCERTAIN_FROM: f32 = 0.3;

const GATE_EN: &str = include_str!("../data/gate-en.txt");

/// Why a message was escalated, as named in the verdict's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    TermHit,
    Stage1Uncertain,
    GroupMention,
    SecondPersonViolence,
    ViolentAct,
    SelfHarmCue,
    SexualCue,
    /// The learned gate model scored at or above its threshold.
    LearnedGate,
}

impl Reason {
    /// The name used in evidence details.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TermHit => "term_hit",
            Reason::Stage1Uncertain => "stage1_uncertain",
            Reason::GroupMention => "group_mention",
            Reason::SecondPersonViolence => "second_person_violence",
            Reason::ViolentAct => "violent_act",
            Reason::SelfHarmCue => "self_harm_cue",
            Reason::SexualCue => "sexual_cue",
            Reason::LearnedGate => "learned_gate",
        }
    }
}

/// The cue-word lists.
#[derive(Debug, Clone)]
pub struct Gate {
    group: HashSet<String>,
    second_person: HashSet<String>,
    violent: HashSet<String>,
    violent_act: HashSet<String>,
    first_person: HashSet<String>,
    self_harm: HashSet<String>,
    sexual: HashSet<String>,
    counter_speech: Vec<regex::Regex>,
    /// The stage-1 score from which a message is escalated (default [`UNCERTAIN_FROM`]; the
    /// trained heads carry one chosen on the validation split).
    uncertain_from: f32,
    /// The learned gate and the score from which it escalates.
    learned: Option<(LinearModel, f32)>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate::english()
    }
}

impl Gate {
    /// The built-in English cue lists.
    pub fn english() -> Self {
        Gate::parse(GATE_EN)
    }

    /// The gate with another stage-1 escalation threshold (see [`Gate::reasons`]).
    pub fn with_uncertain_from(mut self, score: f32) -> Self {
        self.uncertain_from = score.clamp(0.0, 1.0);
        self
    }

    /// The gate with a learned gate model that escalates a message scoring at least `from`.
    pub fn with_learned(mut self, model: LinearModel, from: f32) -> Self {
        self.learned = Some((model, from.clamp(0.0, 1.0)));
        self
    }

    /// The learned gate model's score for `text` (the model text), when there is one.
    pub fn learned_score(&self, text: &str) -> Option<f32> {
        self.learned
            .as_ref()
            .map(|(model, _)| model.predict(&self.learned_input(text)))
    }

    /// `name@version` of the learned gate model, when there is one.
    pub fn learned_name(&self) -> Option<String> {
        self.learned.as_ref().map(|(m, _)| m.name_version())
    }

    /// Parses a cue file: `[section]` lines, then one word or two-word phrase per line.
    pub fn parse(source: &str) -> Self {
        let mut gate = Gate {
            group: HashSet::new(),
            second_person: HashSet::new(),
            violent: HashSet::new(),
            violent_act: HashSet::new(),
            first_person: HashSet::new(),
            self_harm: HashSet::new(),
            sexual: HashSet::new(),
            counter_speech: Vec::new(),
            uncertain_from: UNCERTAIN_FROM,
            learned: None,
        };
        let mut section = "";
        for line in source.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = match name {
                    "group" => "group",
                    "second_person" => "second_person",
                    "violent" => "violent",
                    "violent_act" => "violent_act",
                    "first_person" => "first_person",
                    "self_harm" => "self_harm",
                    "sexual" => "sexual",
                    "counter_speech" => "counter_speech",
                    _ => "",
                };
                continue;
            }
            let set = match section {
                "group" => &mut gate.group,
                "second_person" => &mut gate.second_person,
                "violent" => &mut gate.violent,
                "violent_act" => &mut gate.violent_act,
                "first_person" => &mut gate.first_person,
                "self_harm" => &mut gate.self_harm,
                "sexual" => &mut gate.sexual,
                "counter_speech" => {
                    // A line that does not compile is left out (the built-in file is tested).
                    if let Ok(re) = regex::RegexBuilder::new(line)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                    {
                        gate.counter_speech.push(re);
                    }
                    continue;
                }
                _ => continue,
            };
            set.insert(line.to_lowercase());
        }
        gate
    }

    /// The cue reasons of `text`: which cue-list conditions hold (no term hits, no scores).
    fn cues(&self, text: &str) -> Vec<Reason> {
        let words = words(text);
        let has = |set: &HashSet<String>| {
            (1..=MAX_PHRASE_WORDS).any(|n| {
                words
                    .windows(n)
                    .any(|phrase| set.contains(phrase.join(" ").as_str()))
            })
        };
        let second_person = has(&self.second_person);
        let first_person = has(&self.first_person);
        let mut cues = Vec::new();
        if has(&self.group) {
            cues.push(Reason::GroupMention);
        }
        if second_person && has(&self.violent) {
            cues.push(Reason::SecondPersonViolence);
        }
        if (first_person || second_person) && has(&self.violent_act) {
            cues.push(Reason::ViolentAct);
        }
        if first_person && has(&self.self_harm) {
            cues.push(Reason::SelfHarmCue);
        }
        if has(&self.sexual) {
            cues.push(Reason::SexualCue);
        }
        cues
    }

    /// What the learned gate reads: the model text followed by one marker word per cue
    /// reason that holds, so the model weighs the cue lists with the words around them
    /// instead of each cue escalating by itself.
    pub fn learned_input(&self, text: &str) -> String {
        marked(text, &self.cues(text))
    }

    /// The reasons to escalate `text` (the model text; cue lists compared case-insensitively
    /// on whole words and phrases of up to four words), given whether a term of an abuse label
    /// hit, whether a profanity term hit, and the highest stage-1 model score. Empty: stay in
    /// stage 1.
    ///
    /// With a learned gate, the cue lists are its features, not reasons by themselves: a
    /// message is escalated by a term hit, a stage-1 score, or the learned gate (whose reason
    /// is followed by the cues it saw). Without one, each cue escalates by itself.
    pub fn reasons(
        &self,
        text: &str,
        abuse_term_hit: bool,
        profanity_hit: bool,
        stage1_max: f32,
    ) -> Vec<Reason> {
        let mut reasons = Vec::new();
        let addressed = || {
            let words = words(text);
            (1..=MAX_PHRASE_WORDS).any(|n| {
                words
                    .windows(n)
                    .any(|phrase| self.second_person.contains(phrase.join(" ").as_str()))
            })
        };
        if abuse_term_hit || (profanity_hit && addressed()) {
            reasons.push(Reason::TermHit);
        }
        if stage1_max >= self.uncertain_from {
            reasons.push(Reason::Stage1Uncertain);
        }
        match &self.learned {
            Some((model, from)) => {
                let cues = self.cues(text);
                if model.predict(&marked(text, &cues)) >= *from {
                    reasons.push(Reason::LearnedGate);
                    reasons.extend(cues);
                }
            }
            None => reasons.extend(self.cues(text)),
        }
        reasons
    }
}

impl Gate {
    /// True when `text` has a counter-speech or reporting frame (condemning or quoting a claim).
    pub fn counter_speech(&self, text: &str) -> bool {
        self.counter_speech.iter().any(|re| re.is_match(text))
    }

    /// Number of counter-speech frames loaded.
    pub fn counter_speech_frames(&self) -> usize {
        self.counter_speech.len()
    }
}

/// `text` followed by one marker word per cue (what the learned gate reads).
fn marked(text: &str, cues: &[Reason]) -> String {
    let mut input = String::with_capacity(text.len() + 32 * cues.len());
    input.push_str(text);
    for cue in cues {
        input.push_str(" qqcue");
        input.push_str(&cue.as_str().replace('_', ""));
    }
    input
}

/// Longest cue phrase, in words.
const MAX_PHRASE_WORDS: usize = 4;

/// Lower-cased words (letters, digits, apostrophes), at most 256 of them.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '-'))
        .map(|w| {
            w.trim_matches(|c| c == '\'' || c == '’' || c == '-')
                .replace('’', "'")
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .take(256)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_fires_on_its_cue_and_not_on_plain_text() {
        let gate = Gate::english();
        assert!(gate
            .reasons("Add the flour and stir.", false, false, 0.01)
            .is_empty());
        assert!(gate
            .reasons("I hope you die in a fire", false, false, 0.0)
            .contains(&Reason::SecondPersonViolence));
        assert!(gate
            .reasons("muslims are a disease", false, false, 0.0)
            .contains(&Reason::GroupMention));
        assert!(gate
            .reasons("I have the pills ready", false, false, 0.0)
            .contains(&Reason::SelfHarmCue));
        assert!(gate
            .reasons("what do black people think", false, false, 0.0)
            .contains(&Reason::GroupMention));
        assert!(gate
            .reasons("I'm going to shoot up the school", false, false, 0.0)
            .contains(&Reason::ViolentAct));
        assert_eq!(
            gate.reasons("nice", true, false, 0.5),
            vec![Reason::TermHit, Reason::Stage1Uncertain]
        );
        // Profanity escalates only when someone is addressed.
        assert!(gate.reasons("holy shit", false, true, 0.0).is_empty());
        assert_eq!(
            gate.reasons("shit, you", false, true, 0.0),
            vec![Reason::TermHit]
        );
        assert_eq!(
            gate.counter_speech_frames(),
            5,
            "every built-in frame compiles"
        );
        assert!(gate.counter_speech("saying that immigrants are vermin is disgusting."));
        assert!(gate.counter_speech("stop calling refugees parasites"));
        assert!(!gate.counter_speech("immigrants are vermin"));
        // Everyday mentions of women or a Chinese restaurant stay in stage 1.
        assert!(gate
            .reasons(
                "The Dutch women won the final at a Chinese restaurant",
                false,
                false,
                0.0
            )
            .is_empty());
    }

    #[test]
    fn with_a_learned_gate_the_cues_are_its_features_not_reasons() {
        let gate = Gate::english();
        // The cue markers follow the text, one per cue condition that holds.
        let input = gate.learned_input("I hope you die in a fire");
        assert!(
            input.starts_with("I hope you die in a fire qqcue"),
            "{input}"
        );
        assert!(input.contains("qqcuesecondpersonviolence"), "{input}");
        assert_eq!(gate.learned_input("Add the flour."), "Add the flour.");
        // A model that learned the second-person-violence marker, and nothing else.
        let examples: Vec<(String, bool)> = (0..40)
            .flat_map(|i| {
                [
                    (gate.learned_input(&format!("you will die {i}")), true),
                    (gate.learned_input(&format!("the cake {i} is ready")), false),
                ]
            })
            .collect();
        let model = crate::train("gate", 1, 0, &examples, &examples, &Default::default());
        let learned = Gate::english().with_learned(model, 0.5);
        assert_eq!(learned.learned_name().as_deref(), Some("gate@1"));
        let reasons = learned.reasons("you should die", false, false, 0.0);
        assert_eq!(reasons[0], Reason::LearnedGate, "{reasons:?}");
        assert!(
            reasons.contains(&Reason::SecondPersonViolence),
            "{reasons:?}"
        );
        // A group mention alone no longer escalates: the model never saw it as a reason.
        let mention = "the cake for the muslims is ready";
        assert!(learned.reasons(mention, false, false, 0.0).is_empty());
        assert!(gate
            .reasons(mention, false, false, 0.0)
            .contains(&Reason::GroupMention));
        // Term hits and stage-1 scores still escalate by themselves.
        let plain = "the cake is ready";
        assert!(learned.reasons(plain, false, false, 0.0).is_empty());
        assert_eq!(
            learned.reasons(plain, true, false, 0.0),
            vec![Reason::TermHit]
        );
        assert_eq!(
            learned.reasons(plain, false, false, 0.9),
            vec![Reason::Stage1Uncertain]
        );
    }
}
