//! The term matcher: every phrase of every library compiled into one Aho-Corasick automaton over
//! normalised text, then checked for word boundaries, letter runs and allow-lists.
//!
//! The evasion rules widen a term: extra repeated letters (`fuuuck`), a plural `s`/`es`, leet
//! (`sh1t`), letters joined across separators (`f.u.c.k`). The **dictionary guard** keeps them
//! from reaching real words: a one-word hit that needed one of them is dropped when the word as
//! written (case and diacritics undone) is in the English word list ([`crate::dictionary`]), so
//! `assess` is not `asses`, `Cummings` not `cumming` + `s`, `Cox` not the leet term `c0x`. A word
//! written exactly as a term is never dropped, and evasions are not words (`fuuuck`, `a$$hole`).
//!
//! Regex rules (`re:`) run on the canonical text with runs expanded, and also with long runs
//! written once and twice (`biiitch` → `bitch`). Most texts can match none of them: the regex
//! prefilter (`prefilter.rs`) finds, in one Aho-Corasick pass over each of those texts, the
//! rules whose required words all occur in it, and only those run, only on that text.
//!
//! A [`Matcher`] is immutable once built; [`crate::TextEngine`] swaps a new one in atomically
//! when libraries change, so lookups never take a lock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rampart_types::{ByteSpan, Evidence, EvidenceKind, Signal, Trick};

use crate::dictionary;
use crate::library::{LibraryError, LibraryKind, Rule, TermLibrary};
use crate::normalise::{is_word_char, Normalised, Normaliser, TrickSet, Unit};
use crate::prefilter::{PrefilterScratch, RegexPrefilter};

/// At most this many hits are kept per phrase and per regex in one message.
const MAX_HITS_PER_ATOM: usize = 8;
/// At most this many hits are examined in one message, whatever its length.
const MAX_HITS_PER_MESSAGE: usize = 4096;

/// One phrase in canonical form, as the automaton sees it.
#[derive(Debug, Clone)]
struct Atom {
    /// Minimum run length of each canonical unit (`ass` → `as` with runs [1, 2]).
    runs: Vec<u32>,
    /// Unit positions that must have come from leetspeak (ambiguous `1`/`!`/`|` variants).
    leet_positions: Vec<u16>,
    check_left: bool,
    check_right: bool,
    allow_plural: bool,
    /// The phrase as written needed the normaliser to reach its canonical form (leet `c0x`,
    /// `d!ck`; separators `s.o.b.s`): a plain dictionary word matching it (`Cox`, `Dick`,
    /// `sobs`) is not what the term means.
    written_evasion: bool,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    library: usize,
    term: usize,
    required: Vec<Vec<usize>>,
    excluded: Vec<Vec<usize>>,
}

#[derive(Debug)]
struct RegexRule {
    library: usize,
    term: usize,
    regex: regex::Regex,
    /// Phrases whose presence anywhere in the message silences the regex (`~`).
    excluded: Vec<Vec<usize>>,
    /// Regexes whose match anywhere in the message silences it (`~ {NAME}`).
    excluded_regexes: Vec<regex::Regex>,
}

/// Where one phrase matched, in canonical units.
#[derive(Debug, Clone, Copy)]
struct Hit {
    first: usize,
    last: usize,
    tricks: TrickSet,
    /// The dictionary guard drops this hit as a term: it needed the repetition, plural or leet
    /// rule and its word is a real English word (`assess` for `asses`). It still counts for
    /// allow rules and `~` exclusions, which describe context.
    guarded: bool,
}

/// The verified hits of each atom that has some, in one message.
type AtomHits = HashMap<usize, Vec<Hit>, BuildHasherDefault<AtomIdHasher>>;

/// Hashes an atom id with one multiplication (Fibonacci hashing): the ids are small dense
/// integers, looked up several times per rule, where SipHash's resistance to chosen keys buys
/// nothing.
#[derive(Debug, Default)]
struct AtomIdHasher(u64);

impl Hasher for AtomIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, id: usize) {
        self.0 = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The compiled form of a set of libraries.
#[derive(Debug)]
pub struct Matcher {
    libraries: Vec<Arc<TermLibrary>>,
    automaton: Option<AhoCorasick>,
    /// Atoms sharing the same canonical text, per automaton pattern.
    pattern_atoms: Vec<Vec<usize>>,
    atoms: Vec<Atom>,
    /// For each atom, the rules whose first required alternative contains it.
    rules_by_atom: Vec<Vec<usize>>,
    rules: Vec<CompiledRule>,
    regexes: Vec<RegexRule>,
    /// Which of `regexes` can match a text; `None`: all of them run on every text.
    regex_prefilter: Option<RegexPrefilter>,
}

/// Reusable per-thread buffers for scanning.
#[derive(Debug, Default)]
pub struct ScanScratch {
    normaliser: Normaliser,
    normalised: Normalised,
    hits: AtomHits,
    prefilter: PrefilterScratch,
    /// Which regex rules run on the current text: bit `k` for the `k`th regex text.
    active: Vec<u8>,
}

impl ScanScratch {
    /// The normalised form of the text last scanned (or normalised) with this scratch.
    pub fn normalised(&self) -> &Normalised {
        &self.normalised
    }

    /// Normalises `text` into the scratch without matching (for the models when the term
    /// libraries are off).
    pub fn normalise(&mut self, text: &str) {
        self.normaliser.normalise_into(text, &mut self.normalised);
    }
}

impl Matcher {
    /// A matcher with no libraries.
    pub fn empty() -> Self {
        Matcher::build(Vec::new()).expect("an empty matcher always builds")
    }

    /// Compiles libraries into one automaton.
    pub fn build(libraries: Vec<Arc<TermLibrary>>) -> Result<Self, LibraryError> {
        let mut normaliser = Normaliser::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_index: HashMap<String, usize> = HashMap::new();
        let mut pattern_atoms: Vec<Vec<usize>> = Vec::new();
        let mut atoms: Vec<Atom> = Vec::new();
        let mut atom_index: HashMap<(String, Vec<u32>, Vec<u16>, bool), usize> = HashMap::new();
        let mut rules = Vec::new();
        let mut regexes = Vec::new();

        let mut intern = |canonical: String, atom: Atom| -> usize {
            let key = (
                canonical.clone(),
                atom.runs.clone(),
                atom.leet_positions.clone(),
                atom.written_evasion,
            );
            if let Some(&id) = atom_index.get(&key) {
                return id;
            }
            let id = atoms.len();
            atoms.push(atom);
            atom_index.insert(key, id);
            let pattern = *pattern_index.entry(canonical.clone()).or_insert_with(|| {
                patterns.push(canonical);
                pattern_atoms.push(Vec::new());
                patterns.len() - 1
            });
            pattern_atoms[pattern].push(id);
            id
        };

        for (library_index, library) in libraries.iter().enumerate() {
            for (term_index, term) in library.terms.iter().enumerate() {
                let mut compile = |phrase: &str| -> Vec<usize> {
                    phrase_atoms(&mut normaliser, phrase)
                        .into_iter()
                        .map(|(canonical, atom)| intern(canonical, atom))
                        .collect()
                };
                match &term.rule {
                    Rule::Regex {
                        pattern,
                        excluded,
                        excluded_regexes,
                    } => {
                        regexes.push(RegexRule {
                            library: library_index,
                            term: term_index,
                            regex: pattern.regex().clone(),
                            excluded: excluded.iter().map(|p| compile(p)).collect(),
                            excluded_regexes: excluded_regexes
                                .iter()
                                .map(|p| p.regex().clone())
                                .collect(),
                        });
                    }
                    Rule::Phrases { required, excluded } => {
                        let required: Vec<Vec<usize>> =
                            required.iter().map(|p| compile(p)).collect();
                        let excluded: Vec<Vec<usize>> =
                            excluded.iter().map(|p| compile(p)).collect();
                        if required.iter().any(Vec::is_empty) {
                            continue; // a phrase that normalises to nothing can never match
                        }
                        rules.push(CompiledRule {
                            library: library_index,
                            term: term_index,
                            required,
                            excluded,
                        });
                    }
                }
            }
        }

        let mut rules_by_atom = vec![Vec::new(); atoms.len()];
        for (rule_index, rule) in rules.iter().enumerate() {
            for &atom in &rule.required[0] {
                rules_by_atom[atom].push(rule_index);
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| LibraryError::Line {
                        line: 0,
                        reason: format!("term automaton: {e}"),
                    })?,
            )
        };
        let regex_prefilter = Some(RegexPrefilter::new(
            regexes.iter().map(|r| r.regex.as_str()),
        ));
        Ok(Matcher {
            libraries,
            automaton,
            pattern_atoms,
            atoms,
            rules_by_atom,
            rules,
            regexes,
            regex_prefilter,
        })
    }

    /// The same matcher with every regex rule run on every text: the reference the prefilter
    /// is tested and measured against. Verdicts are the same either way.
    pub fn without_regex_prefilter(mut self) -> Self {
        self.regex_prefilter = None;
        self
    }

    /// Number of regex rules.
    pub fn regex_count(&self) -> usize {
        self.regexes.len()
    }

    /// Number of regex rules without a required literal, which run on every text.
    pub fn always_run_regex_count(&self) -> usize {
        self.regex_prefilter
            .as_ref()
            .map_or(self.regexes.len(), RegexPrefilter::always_run)
    }

    /// The libraries this matcher was built from.
    pub fn libraries(&self) -> &[Arc<TermLibrary>] {
        &self.libraries
    }

    /// Number of distinct phrases in the automaton.
    pub fn phrase_count(&self) -> usize {
        self.atoms.len()
    }

    /// Finds every library hit in `text`. Libraries named in `disabled` are skipped.
    pub fn scan(&self, text: &str, disabled: &[String], scratch: &mut ScanScratch) -> Vec<Signal> {
        let ScanScratch {
            normaliser,
            normalised,
            hits,
            prefilter,
            active,
        } = scratch;
        normaliser.normalise_into(text, normalised);
        hits.clear();
        self.collect_hits(text, normalised, hits);

        let expanded = if self.regexes.is_empty() {
            Vec::new()
        } else {
            regex_texts(normalised)
        };
        self.active_regexes(&expanded, prefilter, active);
        let context = RegexContext {
            text,
            normalised,
            expanded: &expanded,
            active,
            hits,
        };
        // A rule can fire only when its first phrase has a hit.
        let mut candidates: Vec<usize> = hits
            .keys()
            .flat_map(|&atom| self.rules_by_atom[atom].iter().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut allowed: Vec<(usize, usize)> = self.allowed_ranges(&candidates, hits, disabled);
        self.allowed_regex_ranges(&context, disabled, &mut allowed);
        let mut signals = Vec::new();
        for rule_index in candidates {
            let rule = &self.rules[rule_index];
            let library = &self.libraries[rule.library];
            if library.kind == LibraryKind::Allow || disabled.iter().any(|d| *d == library.name) {
                continue;
            }
            self.evaluate_rule(rule, hits, &allowed, text, normalised, &mut signals);
        }
        self.scan_regexes(&context, disabled, &allowed, &mut signals);
        drop_nested_hits(&mut signals);
        drop_repeated_hits(&mut signals);
        signals
    }

    fn collect_hits(&self, text: &str, normalised: &Normalised, hits: &mut AtomHits) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let canonical = normalised.text();
        let mut examined = 0;
        for m in automaton.find_overlapping_iter(canonical) {
            examined += 1;
            if examined > MAX_HITS_PER_MESSAGE {
                break;
            }
            if !normalised.is_unit_start(m.start()) || !normalised.is_unit_start(m.end()) {
                continue;
            }
            let first = normalised.unit_at(m.start());
            let last = if m.end() == canonical.len() {
                normalised.units().len()
            } else {
                normalised.unit_at(m.end())
            };
            for &atom_id in &self.pattern_atoms[m.pattern().as_usize()] {
                let atom_hits = hits.entry(atom_id).or_default();
                if atom_hits.len() >= MAX_HITS_PER_ATOM {
                    continue;
                }
                if let Some(hit) = verify(&self.atoms[atom_id], text, normalised, first, last) {
                    atom_hits.push(hit);
                }
            }
        }
        hits.retain(|_, v| !v.is_empty());
    }

    /// The unit ranges exempted by the phrase rules of allow libraries among `candidates`.
    fn allowed_ranges(
        &self,
        candidates: &[usize],
        hits: &AtomHits,
        disabled: &[String],
    ) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        for rule in candidates.iter().map(|&i| &self.rules[i]) {
            let library = &self.libraries[rule.library];
            if library.kind != LibraryKind::Allow || disabled.iter().any(|d| *d == library.name) {
                continue;
            }
            if let Some(found) = rule_hits(rule, hits, &[], Guard::Ignore) {
                ranges.extend(found.iter().map(|h| (h.first, h.last)));
            }
        }
        ranges
    }

    fn evaluate_rule(
        &self,
        rule: &CompiledRule,
        hits: &AtomHits,
        allowed: &[(usize, usize)],
        text: &str,
        normalised: &Normalised,
        signals: &mut Vec<Signal>,
    ) {
        let Some(found) = rule_hits(rule, hits, allowed, Guard::Apply) else {
            return;
        };
        let library = &self.libraries[rule.library];
        let term = &library.terms[rule.term];
        for hit in found {
            let span = normalised.original_span(hit.first, hit.last);
            let mut evidence = Evidence::new(EvidenceKind::Term).with_span(text, span);
            evidence.library = Some(library.name.clone());
            evidence.term = Some(term.source.clone());
            evidence.tricks = hit.tricks.to_vec();
            signals.push(Signal {
                label: term.label.clone(),
                score: term.severity.score(),
                evidence,
                floor: library.kind.floor(),
                ceiling: None,
            });
        }
    }

    /// Which regex rules may match which of the regex texts (bit `k` for `texts[k]`): those
    /// the prefilter lets through, or without it all of them on all texts.
    fn active_regexes(
        &self,
        texts: &[(String, Vec<u32>)],
        scratch: &mut PrefilterScratch,
        active: &mut Vec<u8>,
    ) {
        match &self.regex_prefilter {
            Some(prefilter) => {
                let mut refs = [""; 3]; // `regex_texts` makes at most three
                for (r, (t, _)) in refs.iter_mut().zip(texts) {
                    *r = t;
                }
                prefilter.candidates(&refs[..texts.len()], scratch, active);
            }
            None => {
                active.clear();
                active.resize(self.regexes.len(), (1u8 << texts.len()) - 1);
            }
        }
    }

    /// Adds the unit ranges matched by the regexes of allow libraries.
    fn allowed_regex_ranges(
        &self,
        context: &RegexContext<'_>,
        disabled: &[String],
        ranges: &mut Vec<(usize, usize)>,
    ) {
        let RegexContext {
            expanded,
            active,
            hits,
            ..
        } = *context;
        for (index, rule) in self.regexes.iter().enumerate() {
            let library = &self.libraries[rule.library];
            if active[index] == 0
                || library.kind != LibraryKind::Allow
                || disabled.iter().any(|d| *d == library.name)
                || any_present(&rule.excluded, hits)
            {
                continue;
            }
            let found = unit_ranges(&rule.regex, expanded, active[index]);
            if !found.is_empty() && !rule.excluded_by_regex(expanded) {
                ranges.extend(found);
            }
        }
    }

    fn scan_regexes(
        &self,
        context: &RegexContext<'_>,
        disabled: &[String],
        allowed: &[(usize, usize)],
        signals: &mut Vec<Signal>,
    ) {
        let RegexContext {
            text,
            normalised,
            expanded,
            active,
            hits,
        } = *context;
        for (index, rule) in self.regexes.iter().enumerate() {
            let library = &self.libraries[rule.library];
            if active[index] == 0
                || library.kind == LibraryKind::Allow
                || disabled.iter().any(|d| *d == library.name)
                || any_present(&rule.excluded, hits)
            {
                continue;
            }
            let term = &library.terms[rule.term];
            let found = unit_ranges(&rule.regex, expanded, active[index]);
            if found.is_empty() || rule.excluded_by_regex(expanded) {
                continue;
            }
            for (first, last) in found {
                if is_allowed(allowed, first, last) {
                    continue;
                }
                let span: ByteSpan = normalised.original_span(first, last);
                let mut evidence = Evidence::new(EvidenceKind::Regex).with_span(text, span);
                evidence.library = Some(library.name.clone());
                evidence.term = Some(term.source.clone());
                evidence.tricks = normalised.tricks(first, last).to_vec();
                signals.push(Signal {
                    label: term.label.clone(),
                    score: term.severity.score(),
                    evidence,
                    floor: library.kind.floor(),
                    ceiling: None,
                });
            }
        }
    }
}

impl RegexRule {
    /// True when a `~ {NAME}` exclusion matches one of the regex texts.
    fn excluded_by_regex(&self, texts: &[(String, Vec<u32>)]) -> bool {
        self.excluded_regexes
            .iter()
            .any(|regex| texts.iter().any(|(text, _)| regex.is_match(text)))
    }
}

/// What a regex rule is checked against: the text, its normalised and expanded forms, which
/// rules may match (the prefilter's candidates), and the phrase hits (for `~` exclusions).
#[derive(Clone, Copy)]
struct RegexContext<'a> {
    text: &'a str,
    normalised: &'a Normalised,
    expanded: &'a [(String, Vec<u32>)],
    active: &'a [u8],
    hits: &'a AtomHits,
}

/// The texts regexes run on, each with its map from bytes to units: the canonical text with
/// runs expanded as written, and when some letter is repeated three times or more, the same
/// with such runs written once and twice (`biiitch` → `bitch`, `asssss` → `ass`).
fn regex_texts(normalised: &Normalised) -> Vec<(String, Vec<u32>)> {
    let mut texts = vec![normalised.expanded()];
    if normalised.has_long_runs() {
        texts.push(normalised.expanded_with_long_runs(Some(1)));
        texts.push(normalised.expanded_with_long_runs(Some(2)));
    }
    texts
}

/// The unit ranges of the first matches of a regex on the regex texts marked in
/// `candidate_texts` (bit `k` for `texts[k]`), without repeats.
fn unit_ranges(
    regex: &regex::Regex,
    texts: &[(String, Vec<u32>)],
    candidate_texts: u8,
) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let candidates = texts
        .iter()
        .enumerate()
        .filter(|(k, _)| candidate_texts & (1 << k) != 0);
    for (_, (expanded, unit_of_byte)) in candidates {
        let found = regex
            .find_iter(expanded)
            .filter(|m| m.start() < m.end())
            .take(MAX_HITS_PER_ATOM)
            .map(|m| {
                (
                    unit_of_byte[m.start()] as usize,
                    unit_of_byte[m.end() - 1] as usize + 1,
                )
            });
        for range in found {
            if !ranges.contains(&range) {
                ranges.push(range);
            }
        }
    }
    ranges
}

/// True when any alternative of any of the phrases has a hit (a `~` exclusion is present).
fn any_present(phrases: &[Vec<usize>], hits: &AtomHits) -> bool {
    phrases
        .iter()
        .any(|alternatives| alternatives.iter().any(|a| hits.contains_key(a)))
}

/// Keeps one hit per library, label and span, the most severe: two rules of a library that
/// match the same words (`ur a bitch` is both `you are <insult>` and a vocative; `f@gg0t` is
/// both `fagot` and `faggot`) make one finding. Quadratic, so only for the usual handful of
/// hits.
fn drop_repeated_hits(signals: &mut Vec<Signal>) {
    if signals.len() < 2 || signals.len() > 256 {
        return;
    }
    let mut kept: Vec<Signal> = Vec::with_capacity(signals.len());
    for signal in signals.drain(..) {
        let same = kept.iter_mut().find(|k| {
            k.label == signal.label
                && k.evidence.span == signal.evidence.span
                && k.evidence.library == signal.evidence.library
        });
        match same {
            Some(k) if k.score >= signal.score => {}
            Some(k) => *k = signal,
            None => kept.push(signal),
        }
    }
    signals.extend(kept);
}

/// Drops a hit lying strictly inside a longer hit of the same library and label (`fuck` inside
/// `fucking`, `suck my dick` inside `wanna suck my dick`), so evidence names the longest term. Quadratic, so only for the usual
/// handful of hits; with more, everything is kept.
fn drop_nested_hits(signals: &mut Vec<Signal>) {
    if signals.len() < 2 || signals.len() > 256 {
        return;
    }
    let spans: Vec<Option<ByteSpan>> = signals.iter().map(|s| s.evidence.span).collect();
    let nested: Vec<bool> = (0..signals.len())
        .map(|i| {
            let Some(inner) = spans[i] else { return false };
            (0..signals.len()).any(|j| {
                j != i
                    && spans[j]
                        .is_some_and(|outer| outer.contains(&inner) && outer.len() > inner.len())
                    && signals[j].label == signals[i].label
                    && signals[j].evidence.library == signals[i].evidence.library
            })
        })
        .collect();
    let mut index = 0;
    signals.retain(|_| {
        let keep = !nested[index];
        index += 1;
        keep
    });
}

fn is_allowed(allowed: &[(usize, usize)], first: usize, last: usize) -> bool {
    allowed.iter().any(|&(a, b)| a <= first && last <= b)
}

/// Whether a rule's required phrases skip hits dropped by the dictionary guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// Term rules: a guarded hit is a real word, not the term.
    Apply,
    /// Allow rules: `blue tits` exempts its words however they were matched.
    Ignore,
}

/// The hits to report for a rule, or `None` when it does not fire. A rule fires when each
/// required phrase has a hit outside the allow-listed ranges (and, under [`Guard::Apply`], not
/// dropped by the dictionary guard) and no excluded phrase has any hit.
fn rule_hits(
    rule: &CompiledRule,
    hits: &AtomHits,
    allowed: &[(usize, usize)],
    guard: Guard,
) -> Option<Vec<Hit>> {
    let phrase_hits = |alternatives: &[usize]| -> Vec<Hit> {
        alternatives
            .iter()
            .filter_map(|a| hits.get(a))
            .flatten()
            .filter(|h| !(guard == Guard::Apply && h.guarded))
            .filter(|h| !is_allowed(allowed, h.first, h.last))
            .copied()
            .collect()
    };
    if any_present(&rule.excluded, hits) {
        return None;
    }
    let mut found = Vec::new();
    for (i, alternatives) in rule.required.iter().enumerate() {
        let mut phrase = phrase_hits(alternatives);
        if phrase.is_empty() {
            return None;
        }
        if i > 0 {
            phrase.truncate(1); // for `a & b`, one piece of evidence per extra phrase
        }
        found.extend(phrase);
    }
    Some(found)
}

/// Checks a raw automaton hit against word boundaries, letter runs and leet requirements, then
/// applies the dictionary guard.
fn verify(
    atom: &Atom,
    text: &str,
    normalised: &Normalised,
    first: usize,
    mut last: usize,
) -> Option<Hit> {
    let units = normalised.units();
    if last - first != atom.runs.len() {
        return None;
    }
    let mut tricks = normalised.tricks(first, last);
    for (k, unit) in units[first..last].iter().enumerate() {
        if unit.run < atom.runs[k] {
            return None;
        }
        if unit.run > atom.runs[k] {
            tricks.insert(Trick::Repetition);
        }
    }
    for &pos in &atom.leet_positions {
        if !units[first + pos as usize].tricks.contains(Trick::Leet) {
            return None;
        }
    }
    let letter_before = atom.check_left && first > 0 && units[first - 1].is_word();
    if letter_before && !units[first].is_soft_boundary() {
        return None;
    }
    let letter_after = atom.check_right && last < units.len() && units[last].is_word();
    let mut plural = false;
    if letter_after && !units[last - 1].is_soft_boundary() {
        let suffix = plural_suffix(normalised, last).filter(|_| atom.allow_plural)?;
        tricks = tricks.union(normalised.tricks(last, last + suffix));
        last += suffix;
        plural = true;
    }
    // Inside letters joined by the separator pass (`n i g` in `G o o d n i g h t`).
    let inside_joined_word = letter_before || (letter_after && !plural);
    let derived = plural
        || inside_joined_word
        || atom.written_evasion
        || tricks.contains(Trick::Repetition)
        || tricks.contains(Trick::Leet);
    Some(Hit {
        first,
        last,
        tricks,
        guarded: derived && is_dictionary_word(text, normalised, first, last),
    })
}

/// True when units `first..last` lie in one word whose original spelling, with only case and
/// diacritics undone, is an English word. Letters joined by the separator pass count as the word
/// they spell (`G o o d n i g h t`). Phrases of several words are never guarded: the words around
/// a term are context enough.
fn is_dictionary_word(text: &str, normalised: &Normalised, first: usize, last: usize) -> bool {
    let units = normalised.units();
    if !units[first..last].iter().all(Unit::is_word) {
        return false;
    }
    let start = units[..first]
        .iter()
        .rposition(|u| !u.is_word())
        .map_or(0, |i| i + 1);
    let end = units[last..]
        .iter()
        .position(|u| !u.is_word())
        .map_or(units.len(), |i| last + i);
    let span = normalised.original_span(start, end);
    let Some(word) = text.get(span.start..span.end) else {
        return false;
    };
    if !units[start..end].iter().any(Unit::is_soft_boundary) {
        return dictionary::is_english_token(word);
    }
    let is_separator = |c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\'');
    let joined: String = word.chars().filter(|&c| !is_separator(c)).collect();
    dictionary::is_english_token(&joined)
}

/// Length in units of an `s` or `es` ending at a word boundary after `at`.
fn plural_suffix(normalised: &Normalised, at: usize) -> Option<usize> {
    let units = normalised.units();
    let ends_word = |i: usize| i >= units.len() || !units[i].is_word();
    match (units.get(at).map(|u| u.ch), units.get(at + 1).map(|u| u.ch)) {
        (Some('s'), _) if ends_word(at + 1) => Some(1),
        (Some('e'), Some('s')) if ends_word(at + 2) => Some(2),
        _ => None,
    }
}

/// The atoms of one phrase: its canonical form and, when it holds `l` or `i`, the variants a
/// leet `1`, `!` or `|` produces (`s1ut` normalises to `siut`, `b|tch` to `bltch`).
fn phrase_atoms(normaliser: &mut Normaliser, phrase: &str) -> Vec<(String, Atom)> {
    let normalised = normaliser.normalise(phrase.trim());
    let units = normalised.units();
    if units.is_empty() || units.iter().all(|u| u.ch == ' ') {
        return Vec::new();
    }
    let canonical: String = units.iter().map(|u| u.ch).collect();
    let first = units[0].ch;
    let last = units[units.len() - 1].ch;
    let base = Atom {
        runs: units.iter().map(|u| u.run).collect(),
        leet_positions: Vec::new(),
        check_left: needs_boundary(first),
        check_right: needs_boundary(last),
        allow_plural: units.len() >= 3 && last.is_ascii_lowercase(),
        written_evasion: written_evasion(normalised.tricks(0, units.len())),
    };
    let mut out = vec![(canonical.clone(), base.clone())];
    for (from, to) in [('l', 'i'), ('i', 'l')] {
        if !canonical.contains(from) || units.len() > u16::MAX as usize {
            continue;
        }
        let positions: Vec<u16> = units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.ch == from)
            .map(|(i, _)| i as u16)
            .collect();
        let variant: String = canonical
            .chars()
            .map(|c| if c == from { to } else { c })
            .collect();
        let mut atom = base.clone();
        atom.leet_positions = positions;
        out.push((variant, atom));
    }
    out
}

/// True when a phrase as written needed an evasion undone to reach its canonical form (`c0x`,
/// `s.o.b.s`, `fцck`). Accents are spelling, not evasion: a term written `café` still matches
/// the word `café`.
fn written_evasion(tricks: TrickSet) -> bool {
    [
        Trick::Leet,
        Trick::Separator,
        Trick::Confusable,
        Trick::EmojiLetter,
    ]
    .into_iter()
    .any(|t| tricks.contains(t))
}

/// Word boundaries apply at edges that are word characters of scripts written with spaces.
fn needs_boundary(c: char) -> bool {
    is_word_char(c) && !is_unspaced_script(c)
}

/// Scripts written without spaces between words (CJK, Thai, Lao, Khmer, Myanmar, Japanese kana).
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x2E80..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Severity;
    use rampart_types::Label;

    fn matcher(libs: &[(&str, LibraryKind, &str)]) -> Matcher {
        let libraries = libs
            .iter()
            .map(|(name, kind, source)| {
                Arc::new(
                    TermLibrary::parse(name, *kind, Label::Profanity, Severity::STRONG, source)
                        .unwrap(),
                )
            })
            .collect();
        Matcher::build(libraries).unwrap()
    }

    fn terms(m: &Matcher, text: &str) -> Vec<(String, String)> {
        let mut scratch = ScanScratch::default();
        let mut out: Vec<(String, String)> = m
            .scan(text, &[], &mut scratch)
            .into_iter()
            .map(|s| (s.evidence.term.unwrap(), s.evidence.matched.unwrap()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn word_boundaries_keep_innocent_words_clean() {
        let m = matcher(&[("p", LibraryKind::Block, "ass\ncock\ntit\ndick")]);
        for clean in [
            "assassin",
            "cocktail",
            "title",
            "Dickens",
            "as sure as",
            "class",
        ] {
            assert!(terms(&m, clean).is_empty(), "{clean} was flagged");
        }
        assert_eq!(
            terms(&m, "what an ass!"),
            vec![("ass".into(), "ass".into())]
        );
        let m = matcher(&[("p", LibraryKind::Block, "twat")]);
        assert_eq!(
            terms(&m, "silly twats"),
            vec![("twat".into(), "twats".into())]
        );
    }

    #[test]
    fn evasion_rules_never_turn_a_dictionary_word_into_a_term() {
        let m = matcher(&[(
            "p",
            LibraryKind::Block,
            "asses\ncumming\nc0x\ntit\nfuck\nshit\nasshole\ncunt\nnig\ncafé",
        )]);
        // repetition (assess → asses), plural (Cummings, tits), a term written in leet (Cox),
        // a term inside letters joined by the separator pass (goodnight)
        for clean in [
            "Please assess the damage",
            "Hello Mr Cummings",
            "Brian Cox on telly",
            "Blue tits nest here",
            "DICKENS'S NOVELS",
            "G o o d n i g h t",
        ] {
            assert!(terms(&m, clean).is_empty(), "{clean} was flagged");
        }
        // the evasions themselves are not words, and a term written plainly always counts
        for (text, term) in [
            ("fuuuuck", "fuck"),
            ("sh1t", "shit"),
            ("a$$hole", "asshole"),
            ("c0x", "c0x"),
            ("cumming soon", "cumming"),
            ("you asses", "asses"),
            ("tit", "tit"),
            ("cuntss", "cunt"),
            ("f\u{200B}uckkk", "fuck"),
            ("u r a c u n t", "cunt"),
            ("n i g", "nig"),
            ("CAFE", "café"), // an accent in a term is spelling, not evasion
        ] {
            let found = terms(&m, text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].0, term, "{text}");
        }
    }

    #[test]
    fn repetition_needs_at_least_the_terms_letters() {
        let m = matcher(&[("p", LibraryKind::Block, "ass\nfuck")]);
        assert!(terms(&m, "as").is_empty());
        assert_eq!(terms(&m, "asssss").len(), 1);
        assert_eq!(terms(&m, "fuuuuck").len(), 1);
    }

    #[test]
    fn and_and_unless_rules() {
        let m = matcher(&[("p", LibraryKind::Block, "buy & pills\nkill ~ time")]);
        assert!(terms(&m, "buy now").is_empty());
        assert_eq!(terms(&m, "buy cheap pills").len(), 2);
        assert!(terms(&m, "kill time").is_empty());
        assert_eq!(
            terms(&m, "kill him"),
            vec![("kill ~ time".into(), "kill".into())]
        );
    }

    #[test]
    fn allow_lists_exempt_covered_words() {
        let m = matcher(&[
            ("p", LibraryKind::Block, "dick"),
            ("a", LibraryKind::Allow, "moby dick"),
        ]);
        assert!(terms(&m, "I read Moby Dick").is_empty());
        assert_eq!(terms(&m, "moby dick, you dick").len(), 1);
    }

    #[test]
    fn ambiguous_leet_variants_need_leet() {
        let m = matcher(&[("p", LibraryKind::Block, "slut\nbitch")]);
        assert_eq!(terms(&m, "s1ut").len(), 1);
        assert_eq!(terms(&m, "b|tch").len(), 1);
        assert!(terms(&m, "siut").is_empty());
    }

    #[test]
    fn regex_rules_run_on_expanded_normalised_text() {
        let m = matcher(&[("p", LibraryKind::Review, r"re:\bki+ll+ (yo)?u\b")]);
        assert_eq!(
            terms(&m, "I will KIIILL u"),
            vec![(
                r"re:\bki+ll+ (yo)?u\b".replace("re:", ""),
                "KIIILL u".into()
            )]
            .into_iter()
            .map(|(t, m)| (format!("re:{t}"), m))
            .collect::<Vec<_>>()
        );
    }

    #[test]
    fn regex_rules_have_unless_exclusions() {
        let m = matcher(&[(
            "p",
            LibraryKind::Review,
            r"re:\b(rats|vermin) are\b ~ disgusting ~ saying that",
        )]);
        assert_eq!(terms(&m, "vermin are everywhere").len(), 1);
        assert!(terms(&m, "saying that vermin are people is odd").is_empty());
        assert!(terms(&m, "Rats are... DISGUSTING").is_empty());
    }

    #[test]
    fn allow_regexes_exempt_what_they_cover() {
        let m = matcher(&[
            ("p", LibraryKind::Block, "chink\nre:\\bis a bitch\\b"),
            (
                "a",
                LibraryKind::Allow,
                "re:\\bchinks? (in|of) (the|his|her|their|its) armou?r\\b\nre:\\b(life|karma) is a bitch\\b ~ you",
            ),
        ]);
        assert!(terms(&m, "a chink in their armour").is_empty());
        assert!(terms(&m, "Karma is a bitch").is_empty());
        assert_eq!(terms(&m, "karma is a bitch, and so are you").len(), 1);
        assert_eq!(terms(&m, "chink").len(), 1);
    }

    #[test]
    fn regexes_also_see_long_runs_written_short() {
        let m = matcher(&[("p", LibraryKind::Review, r"re:\byou (bitch|ass)\b")]);
        assert_eq!(
            terms(&m, "you biiiiitch"),
            vec![(r"re:\byou (bitch|ass)\b".into(), "you biiiiitch".into())]
        );
        assert_eq!(terms(&m, "you asssss").len(), 1);
        assert!(terms(&m, "you as").is_empty());
    }

    #[test]
    fn the_longest_term_of_a_library_wins() {
        let m = matcher(&[("p", LibraryKind::Block, "fuck\nfucking")]);
        assert_eq!(
            terms(&m, "f.u.c.k.i.n.g"),
            vec![("fucking".into(), "f.u.c.k.i.n.g".into())]
        );
    }

    #[test]
    fn spans_point_at_the_original_characters() {
        let m = matcher(&[("p", LibraryKind::Block, "fuck")]);
        let text = "well f\u{200B}ü©k it";
        let found = terms(&m, text);
        assert_eq!(found, vec![("fuck".into(), "f\u{200B}ü©k".into())]);
    }
}
