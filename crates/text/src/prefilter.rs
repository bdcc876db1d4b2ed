//! Which regex rules can match a text at all, decided cheaply before any of them runs.
//!
//! Each `re:` rule's syntax tree (read by `regex-syntax` with the flags the rule is compiled
//! with) yields its **required literals**: sets of strings such that every match contains at
//! least one string of each set. `\byou\s+(?:idiot|moron)s?\b` needs `you` at the start of a word
//! and followed by a space, and one of `idiot`, `idiots`, `moron`, `morons` after a space and at
//! the end of a word. A literal keeps what the regex says about its edges (a word boundary `\b`,
//! a space `\s+`), so the one-letter `u` of `\bu\s+r\b` still says something.
//!
//! The literals of all the rules go into one Aho-Corasick automaton (short ones with their
//! space edges as part of the pattern, ` u `); one pass over a text marks the sets that have an
//! occurrence with the right edges, and only the rules whose every set is met run, only on that
//! text. A rule with no usable set (only one-letter words without edges, or an open `\w+`
//! alternative) runs on every text; the built-in libraries have none.
//!
//! The prefilter only ever lets through more texts than the regex matches, never fewer, so a
//! verdict is the same with or without it (`tests/regex_prefilter.rs` checks this on the
//! corpora). The automaton compares ASCII letters without case, as the case-insensitive regexes
//! do; the two non-ASCII characters that also match an ASCII letter (Kelvin sign `K` for `k`,
//! long `ſ` for `s`) make every rule a candidate for the text they are in. Whitespace is read
//! as a space in texts and literals alike.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

/// Most literals a set built by concatenation or alternation may hold; beyond it the parts are
/// kept as separate, shorter sets.
const MAX_SET: usize = 1024;
/// Most characters of a class read as a set of one-character literals (`['’]`).
const MAX_CLASS_CHARS: usize = 16;
/// Shortest literal worth looking for, counting each known edge as one byte: `is` between
/// spaces, or `you`, is worth it; a bare `u` is in nearly every text.
const MIN_LITERAL_WEIGHT: usize = 3;
/// Most sets kept per rule, the most selective first.
const MAX_SETS_PER_RULE: usize = 8;
/// Longest literal searched for with its space edges as part of the pattern (` a `): short
/// words occur often inside longer ones, and each occurrence would need its edges checked.
const SPACED_LITERAL_BYTES: usize = 3;

/// The prefilter of a list of regexes, in their order.
#[derive(Debug)]
pub(crate) struct RegexPrefilter {
    /// Every literal of every set as [`Literal::automaton_pattern`] writes it, compared without
    /// ASCII case, and its start state. A contiguous NFA: a tenth of a DFA's memory and as fast
    /// here, where the scan's other work keeps evicting the tables from the cache. `None`:
    /// every regex runs.
    automaton: Option<(NFA, StateID)>,
    /// For each automaton pattern, its range in `groups`.
    pattern_groups: Vec<(u32, u32)>,
    /// The sets holding a pattern with the same remaining (word boundary) edges.
    groups: Vec<EdgeGroup>,
    /// The sets of all groups, each group's a range.
    group_sets: Vec<u32>,
    /// For each set, the regex it belongs to.
    set_regex: Vec<u32>,
    /// For each regex, how many sets it requires; `None`: it runs on every text.
    required_sets: Vec<Option<u32>>,
}

/// Sets that hold one automaton pattern with the same edges left to check.
#[derive(Debug, Clone, Copy)]
struct EdgeGroup {
    before: Edge,
    after: Edge,
    sets: (u32, u32),
}

/// Per-scan buffers of [`RegexPrefilter::candidates`].
#[derive(Debug, Default)]
pub(crate) struct PrefilterScratch {
    /// Per set: met in the current text.
    set_met: Vec<bool>,
    /// Per regex: how many of its sets are met in the current text.
    sets_met: Vec<u32>,
    /// The current text with every whitespace character written as a space, when it has others.
    folded: String,
}

impl PrefilterScratch {
    fn clear(&mut self, sets: usize, regexes: usize) {
        self.set_met.clear();
        self.set_met.resize(sets, false);
        self.sets_met.clear();
        self.sets_met.resize(regexes, 0);
    }
}

impl RegexPrefilter {
    /// Analyses each regex (as compiled by [`crate::library::compile_regex`]: case-insensitive,
    /// Unicode). A regex the analysis cannot parse runs on every text.
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Self {
        let mut pattern_index: HashMap<String, usize> = HashMap::new();
        // Per automaton pattern: (before, after, set) for each set that holds it.
        let mut holders: Vec<Vec<(Edge, Edge, u32)>> = Vec::new();
        let mut set_regex = Vec::new();
        let mut required_sets = Vec::new();
        for (regex_index, pattern) in patterns.into_iter().enumerate() {
            let sets = required_literals(pattern);
            required_sets.push((!sets.is_empty()).then_some(sets.len() as u32));
            for set in sets {
                let set_id = set_regex.len() as u32;
                set_regex.push(regex_index as u32);
                for literal in set {
                    let (key, before, after) = literal.automaton_pattern();
                    let next = holders.len();
                    let id = *pattern_index.entry(key).or_insert(next);
                    if id == next {
                        holders.push(Vec::new());
                    }
                    holders[id].push((before, after, set_id));
                }
            }
        }
        let mut keys: Vec<(String, usize)> = pattern_index.into_iter().collect();
        keys.sort_unstable_by_key(|(_, id)| *id);
        let automaton = if keys.is_empty() {
            None
        } else {
            NFA::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .prefilter(false)
                .build(keys.iter().map(|(key, _)| key))
                .ok()
                .and_then(|nfa| {
                    let start = nfa.start_state(Anchored::No).ok()?;
                    Some((nfa, start))
                })
        };
        if automaton.is_none() {
            // No literals, or the automaton failed to build: every regex runs.
            required_sets.iter_mut().for_each(|r| *r = None);
        }
        let (mut pattern_groups, mut groups, mut group_sets) = (Vec::new(), Vec::new(), Vec::new());
        for mut holding in holders {
            holding.sort_unstable();
            let first_group = groups.len() as u32;
            for chunk in holding.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                let first_set = group_sets.len() as u32;
                group_sets.extend(chunk.iter().map(|&(_, _, set)| set));
                groups.push(EdgeGroup {
                    before: chunk[0].0,
                    after: chunk[0].1,
                    sets: (first_set, group_sets.len() as u32),
                });
            }
            pattern_groups.push((first_group, groups.len() as u32));
        }
        RegexPrefilter {
            automaton,
            pattern_groups,
            groups,
            group_sets,
            set_regex,
            required_sets,
        }
    }

    /// Number of regexes that run on every text (no usable required literal).
    pub(crate) fn always_run(&self) -> usize {
        self.required_sets.iter().filter(|r| r.is_none()).count()
    }

    /// Sets in `active`, one bit mask per regex, bit `k` when the regex may match `texts[k]`:
    /// each of its sets has a literal in that text. A regex matching a text always has its bit.
    /// At most 8 texts.
    pub(crate) fn candidates(
        &self,
        texts: &[&str],
        scratch: &mut PrefilterScratch,
        active: &mut Vec<u8>,
    ) {
        debug_assert!(texts.len() <= 8);
        let all_texts = (1u16 << texts.len()).wrapping_sub(1) as u8;
        active.clear();
        active.extend(
            self.required_sets
                .iter()
                .map(|r| if r.is_none() { all_texts } else { 0 }),
        );
        let Some((automaton, start)) = &self.automaton else {
            return;
        };
        if texts.iter().any(|t| has_fold_outsider(t)) {
            active.iter_mut().for_each(|a| *a = all_texts);
            return;
        }
        for (k, text) in texts.iter().enumerate() {
            scratch.clear(self.set_regex.len(), self.required_sets.len());
            let mut folded = std::mem::take(&mut scratch.folded);
            let text = fold_spaces(text, &mut folded);
            let mut state = *start;
            for (at, &byte) in text.as_bytes().iter().enumerate() {
                state = automaton.next_state(Anchored::No, state, byte);
                if !automaton.is_match(state) {
                    continue;
                }
                let end = at + 1;
                for index in 0..automaton.match_len(state) {
                    let pattern = automaton.match_pattern(state, index);
                    let start = end - automaton.pattern_len(pattern);
                    let (first, last) = self.pattern_groups[pattern.as_usize()];
                    for group in &self.groups[first as usize..last as usize] {
                        if group.before.holds_before(text, start)
                            && group.after.holds_after(text, end)
                        {
                            self.meet(group.sets, scratch, active, 1 << k);
                        }
                    }
                }
            }
            scratch.folded = folded;
        }
    }

    /// Marks the sets in range `sets` of `group_sets` as met in the current text (`bit`), and
    /// the regexes whose every set is met.
    fn meet(&self, sets: (u32, u32), scratch: &mut PrefilterScratch, active: &mut [u8], bit: u8) {
        for &set in &self.group_sets[sets.0 as usize..sets.1 as usize] {
            if std::mem::replace(&mut scratch.set_met[set as usize], true) {
                continue;
            }
            let regex = self.set_regex[set as usize] as usize;
            scratch.sets_met[regex] += 1;
            if Some(scratch.sets_met[regex]) == self.required_sets[regex] {
                active[regex] |= bit;
            }
        }
    }
}

/// `text` with every whitespace character written as one space, in `buffer` when that changes
/// it. Literals are written the same way, so a space in a pattern stands for any whitespace
/// character, as `\s` does.
fn fold_spaces<'a>(text: &'a str, buffer: &'a mut String) -> &'a str {
    let other_space = |c: char| c != ' ' && is_space(c);
    let has_other = text.bytes().any(|b| matches!(b, b'\t'..=b'\r'))
        || (!text.is_ascii() && text.chars().any(other_space));
    if !has_other {
        return text;
    }
    buffer.clear();
    buffer.extend(text.chars().map(|c| if is_space(c) { ' ' } else { c }));
    buffer
}

/// What a regex says about one edge of a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Edge {
    /// Nothing.
    Any,
    /// A word boundary (`\b`, Unicode word characters).
    WordBoundary,
    /// A whitespace character on the outer side (`\s+`).
    Space,
}

impl Edge {
    /// Whether the edge holds at the start `at` of an occurrence in `text`.
    fn holds_before(self, text: &str, at: usize) -> bool {
        let outside = text[..at].chars().next_back();
        match self {
            Edge::Any => true,
            Edge::Space => outside.is_some_and(is_space),
            Edge::WordBoundary => is_word(outside) != is_word(text[at..].chars().next()),
        }
    }

    /// Whether the edge holds at the end `at` of an occurrence in `text`.
    fn holds_after(self, text: &str, at: usize) -> bool {
        let outside = text[at..].chars().next();
        match self {
            Edge::Any => true,
            Edge::Space => outside.is_some_and(is_space),
            Edge::WordBoundary => is_word(text[..at].chars().next_back()) != is_word(outside),
        }
    }
}

/// Whether `c` is a word character of the regexes' Unicode `\b`.
fn is_word(c: Option<char>) -> bool {
    match c {
        Some(c) if c.is_ascii() => c.is_ascii_alphanumeric() || c == '_',
        Some(c) => regex_syntax::is_word_character(c),
        None => false,
    }
}

/// Whether `c` is in the regexes' `\s` (Unicode `White_Space`).
fn is_space(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, '\t'..='\r' | ' ');
    }
    space_class()
        .ranges()
        .binary_search_by(|r| {
            if r.end() < c {
                std::cmp::Ordering::Less
            } else if r.start() > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `\s` as `regex-syntax` reads it.
fn space_class() -> &'static ClassUnicode {
    static SPACE: OnceLock<ClassUnicode> = OnceLock::new();
    SPACE.get_or_init(|| match regex_syntax::parse(r"\s").map(Hir::into_kind) {
        Ok(HirKind::Class(Class::Unicode(class))) => class,
        _ => ClassUnicode::empty(),
    })
}

/// True when `text` holds a character the automaton cannot fold to the ASCII letter it matches
/// in a case-insensitive regex.
fn has_fold_outsider(text: &str) -> bool {
    !text.is_ascii() && text.chars().any(|c| ascii_fold_outsiders().contains(&c))
}

/// The non-ASCII characters in the simple case folding of the ASCII letters (`K`, `ſ`).
fn ascii_fold_outsiders() -> &'static [char] {
    static OUTSIDERS: OnceLock<Vec<char>> = OnceLock::new();
    OUTSIDERS.get_or_init(|| {
        let mut letters = ClassUnicode::new([ClassUnicodeRange::new('a', 'z')]);
        letters.case_fold_simple();
        letters
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .filter(|c| !c.is_ascii())
            .collect()
    })
}

/// A string every match of some part of a regex contains, ASCII-lowercased, with what the
/// regex says about its two edges.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Literal {
    before: Edge,
    text: String,
    after: Edge,
}

impl Literal {
    fn new(text: String) -> Self {
        Literal {
            before: Edge::Any,
            text,
            after: Edge::Any,
        }
    }

    /// The empty string with an edge on both sides (`\b`) or only one (after `\s+`).
    fn edge(before: Edge, after: Edge) -> Self {
        Literal {
            before,
            text: String::new(),
            after,
        }
    }

    /// The literal as the automaton looks for it, and the edges left to check: its text with
    /// whitespace written as spaces, and when it is short (where most occurrences are inside
    /// other words), a space on each [`Edge::Space`] side.
    fn automaton_pattern(&self) -> (String, Edge, Edge) {
        let spaced = |edge: Edge| edge == Edge::Space && self.text.len() <= SPACED_LITERAL_BYTES;
        let mut pattern = String::with_capacity(self.text.len() + 2);
        if spaced(self.before) {
            pattern.push(' ');
        }
        pattern.extend(self.text.chars().map(|c| if is_space(c) { ' ' } else { c }));
        if spaced(self.after) {
            pattern.push(' ');
        }
        let left = |edge: Edge| if spaced(edge) { Edge::Any } else { edge };
        (pattern, left(self.before), left(self.after))
    }

    /// How much a literal narrows the texts down: its bytes and its known edges.
    fn weight(&self) -> usize {
        self.text.len()
            + usize::from(self.before != Edge::Any)
            + usize::from(self.after != Edge::Any)
    }

    /// `self` followed directly by `next`. Edges that meet in the middle of a word are dropped;
    /// an empty literal lends its edge to the other.
    fn join(&self, next: &Literal) -> Literal {
        match (self.text.is_empty(), next.text.is_empty()) {
            (true, true) => Literal::edge(self.before.max(next.before), self.after.max(next.after)),
            (true, false) => Literal {
                before: self.before.max(next.before),
                ..next.clone()
            },
            (false, true) => Literal {
                after: self.after.max(next.after),
                ..self.clone()
            },
            (false, false) => Literal {
                before: self.before,
                text: format!("{}{}", self.text, next.text),
                after: next.after,
            },
        }
    }
}

/// The required literal sets of a regex, at most [`MAX_SETS_PER_RULE`], the most selective
/// first; empty when there is none worth searching for (or the pattern does not parse).
fn required_literals(pattern: &str) -> Vec<Vec<Literal>> {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
    else {
        return Vec::new();
    };
    let mut sets = Summary::of(&hir).into_sets();
    sets.retain(|set| set.iter().all(|l| l.weight() >= MIN_LITERAL_WEIGHT));
    sets.sort_by_key(|set| std::cmp::Reverse(rank(set)));
    sets.dedup();
    drop_implied(&mut sets);
    sets.truncate(MAX_SETS_PER_RULE);
    sets
}

/// Drops each set that another set implies: one whose every literal is, with the same or
/// stronger edges, a literal of it (`is` after a space, when `is` between spaces is required).
fn drop_implied(sets: &mut Vec<Vec<Literal>>) {
    let mut keep = vec![true; sets.len()];
    for weak in 0..sets.len() {
        let mut edges: HashMap<&str, Vec<(Edge, Edge)>> = HashMap::new();
        for w in &sets[weak] {
            edges.entry(&w.text).or_default().push((w.before, w.after));
        }
        let implied_by = |strong: &[Literal]| {
            strong.iter().all(|s| {
                edges.get(s.text.as_str()).is_some_and(|found| {
                    found.iter().any(|&(before, after)| {
                        (before == Edge::Any || before == s.before)
                            && (after == Edge::Any || after == s.after)
                    })
                })
            })
        };
        keep[weak] = !(0..sets.len())
            .any(|strong| strong != weak && keep[strong] && implied_by(&sets[strong]));
    }
    let mut index = 0;
    sets.retain(|_| {
        index += 1;
        keep[index - 1]
    });
}

/// How selective a set is likely to be: its lightest literal, then fewer literals.
fn rank(set: &[Literal]) -> (usize, std::cmp::Reverse<usize>) {
    let lightest = set.iter().map(Literal::weight).min().unwrap_or(usize::MAX);
    (lightest, std::cmp::Reverse(set.len()))
}

/// What is known of the matches of one part of a regex.
#[derive(Debug, Default)]
struct Summary {
    /// Every string the part matches, when there are few (`(?:idiot|moron)s?` → `idiot`,
    /// `idiots`, `moron`, `morons`). Zero-width assertions match the empty string.
    exact: Option<Vec<Literal>>,
    /// Every match starts with one of these.
    prefix: Option<Vec<Literal>>,
    /// Every match ends with one of these.
    suffix: Option<Vec<Literal>>,
    /// Every match contains one literal of each of these.
    required: Vec<Vec<Literal>>,
    /// The part matches one or more whitespace characters and nothing else (`\s+`).
    space: bool,
}

impl Summary {
    fn exact(literals: Vec<Literal>) -> Self {
        let mut literals = literals;
        literals.sort_unstable();
        literals.dedup();
        Summary {
            exact: Some(literals),
            ..Summary::default()
        }
    }

    fn space() -> Self {
        Summary {
            space: true,
            ..Summary::default()
        }
    }

    fn of(hir: &Hir) -> Self {
        match hir.kind() {
            HirKind::Empty => Summary::exact(vec![Literal::new(String::new())]),
            HirKind::Look(Look::WordUnicode) => {
                Summary::exact(vec![Literal::edge(Edge::WordBoundary, Edge::WordBoundary)])
            }
            HirKind::Look(_) => Summary::exact(vec![Literal::new(String::new())]),
            HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
                Ok(s) => Summary::exact(vec![Literal::new(s.to_ascii_lowercase())]),
                Err(_) => Summary::default(),
            },
            HirKind::Class(Class::Unicode(class)) => class_summary(class),
            HirKind::Class(Class::Bytes(_)) => Summary::default(),
            HirKind::Capture(capture) => Summary::of(&capture.sub),
            HirKind::Repetition(repetition) => {
                let sub = Summary::of(&repetition.sub);
                if repetition.min == 0 {
                    // Optional: only an exact `x?` says anything (`x` or nothing).
                    return match (repetition.max, sub.exact) {
                        (Some(1), Some(mut literals)) => {
                            literals.push(Literal::new(String::new()));
                            Summary::exact(literals)
                        }
                        _ => Summary::default(),
                    };
                }
                if sub.space {
                    return Summary::space();
                }
                Summary {
                    exact: sub.exact.clone().filter(|_| repetition.max == Some(1)),
                    prefix: sub.prefix.or_else(|| sub.exact.clone()),
                    suffix: sub.suffix.or_else(|| sub.exact.clone()),
                    required: sub.required,
                    space: false,
                }
            }
            HirKind::Concat(subs) => Summary::concat(subs.iter().map(Summary::of).collect()),
            HirKind::Alternation(subs) => {
                Summary::alternation(subs.iter().map(Summary::of).collect())
            }
        }
    }

    /// A concatenation: neighbouring exact parts joined (`[Yy][Oo][Uu]` is `you`, not three
    /// one-letter sets) and joined to the prefix of the part after them and the suffix of the
    /// part before them; `\s+` ends the literal before it and starts the one after it.
    fn concat(parts: Vec<Summary>) -> Self {
        let mut sets = Sets::default();
        let mut exact = Some(vec![Literal::new(String::new())]);
        let mut prefix: Option<Vec<Literal>> = None;
        // What every match of the parts so far ends with, and whether it is also what they
        // start with (only exact parts so far, joined without overflow).
        let mut run = vec![Literal::new(String::new())];
        let mut whole = true;
        for part in parts {
            sets.0.extend(part.required);
            let (started, next_run) = if part.space {
                let ended = vec![Literal::edge(Edge::Any, Edge::Space)];
                (ended, vec![Literal::edge(Edge::Space, Edge::Any)])
            } else if let Some(literals) = part.exact {
                exact = exact.and_then(|e| product(&e, &literals));
                let joined;
                (run, joined) = sets.join(run, literals);
                whole &= joined;
                continue;
            } else {
                let next_run = part
                    .suffix
                    .unwrap_or_else(|| vec![Literal::new(String::new())]);
                (part.prefix.unwrap_or_default(), next_run)
            };
            // A part that is not exact: what ends before it joins what it starts with.
            exact = None;
            let started = if started.is_empty() {
                (run, true)
            } else {
                sets.join(run, started)
            };
            if whole {
                prefix = started.1.then(|| started.0.clone());
                whole = false;
            }
            sets.push(started.0);
            run = next_run;
        }
        if let Some(exact) = exact {
            return Summary {
                required: sets.0,
                ..Summary::exact(exact)
            };
        }
        sets.push(run.clone());
        Summary {
            exact: None,
            prefix,
            suffix: Some(run),
            required: sets.0,
            space: false,
        }
    }

    /// An alternation: its exact union, or else the union of the branches' prefixes and
    /// suffixes, and one set made of each branch's most selective set (none when some branch has
    /// none).
    fn alternation(branches: Vec<Summary>) -> Self {
        let union = |pick: &dyn Fn(&Summary) -> Option<&Vec<Literal>>| -> Option<Vec<Literal>> {
            let mut all = Vec::new();
            for branch in &branches {
                all.extend(pick(branch)?.iter().cloned());
                if all.len() > MAX_SET {
                    return None;
                }
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        };
        if let Some(exact) = union(&|b| b.exact.as_ref()) {
            return Summary::exact(exact);
        }
        let prefix = union(&|b| b.prefix.as_ref().or(b.exact.as_ref()));
        let suffix = union(&|b| b.suffix.as_ref().or(b.exact.as_ref()));
        let mut best_of_each: Option<Vec<Literal>> = Some(Vec::new());
        for branch in branches {
            let best = branch
                .into_sets()
                .into_iter()
                .filter(|set| useful(set))
                .max_by_key(|set| rank(set));
            best_of_each = match (best_of_each, best) {
                (Some(mut all), Some(set)) => {
                    all.extend(set);
                    Some(all)
                }
                _ => None,
            };
        }
        let mut required = Vec::new();
        if let Some(mut set) = best_of_each {
            set.sort_unstable();
            set.dedup();
            required.push(set);
        }
        Summary {
            exact: None,
            prefix,
            suffix,
            required,
            space: false,
        }
    }

    /// Everything every match is known to contain, as sets.
    fn into_sets(self) -> Vec<Vec<Literal>> {
        let mut sets = Sets(self.required);
        for set in [self.exact, self.prefix, self.suffix].into_iter().flatten() {
            sets.push(set);
        }
        sets.0
    }
}

/// Required sets being collected; the ones holding an empty literal (which every text contains)
/// are left out.
#[derive(Debug, Default)]
struct Sets(Vec<Vec<Literal>>);

impl Sets {
    fn push(&mut self, set: Vec<Literal>) {
        if useful(&set) {
            self.0.push(set);
        }
    }

    /// `left` followed by `right` and `true`, or when that makes too many literals, `right`
    /// alone and `false` (`left` is kept as a set of its own).
    fn join(&mut self, left: Vec<Literal>, right: Vec<Literal>) -> (Vec<Literal>, bool) {
        match product(&left, &right) {
            Some(joined) => (joined, true),
            None => {
                self.push(left);
                (right, false)
            }
        }
    }
}

fn useful(set: &[Literal]) -> bool {
    !set.iter().any(|l| l.text.is_empty())
}

/// Every literal of `left` followed by one of `right`, if there are at most [`MAX_SET`].
fn product(left: &[Literal], right: &[Literal]) -> Option<Vec<Literal>> {
    if left.len().saturating_mul(right.len()) > MAX_SET {
        return None;
    }
    let mut out: Vec<Literal> = left
        .iter()
        .flat_map(|l| right.iter().map(move |r| l.join(r)))
        .collect();
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// A small class as one-character literals, ASCII-lowercased (`[Yy]` → `y`; the non-ASCII
/// letters that fold to ASCII are left out, since a text holding one skips the prefilter); a
/// class of whitespace as [`Summary::space`].
fn class_summary(class: &ClassUnicode) -> Summary {
    let size: u32 = class
        .iter()
        .map(|r| r.end() as u32 - r.start() as u32 + 1)
        .sum();
    if size as usize > MAX_CLASS_CHARS {
        let mut outside_space = class.clone();
        outside_space.difference(space_class());
        return if outside_space.ranges().is_empty() && size > 0 {
            Summary::space()
        } else {
            Summary::default()
        };
    }
    let outsiders = ascii_fold_outsiders();
    Summary::exact(
        class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .filter(|c| !outsiders.contains(c))
            .map(|c| Literal::new(c.to_ascii_lowercase().to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sets of a pattern, written `_` for a space edge and `|` for a word boundary.
    fn sets(pattern: &str) -> Vec<Vec<String>> {
        let edge = |e: Edge| match e {
            Edge::Any => "",
            Edge::WordBoundary => "|",
            Edge::Space => "_",
        };
        let mut sets: Vec<Vec<String>> = required_literals(pattern)
            .into_iter()
            .map(|set| {
                let mut set: Vec<String> = set
                    .iter()
                    .map(|l| format!("{}{}{}", edge(l.before), l.text, edge(l.after)))
                    .collect();
                set.sort();
                set
            })
            .collect();
        sets.sort();
        sets
    }

    fn strings(list: &[&str]) -> Vec<String> {
        let mut set: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        set.sort();
        set
    }

    #[test]
    fn required_literals_of_rule_shapes() {
        for (pattern, expected) in [
            // case-insensitive letters make one word, not one set per letter; edges are kept
            (
                r"\byou\s+(?:idiot|moron)s?\b",
                vec![
                    strings(&["_idiot|", "_idiots|", "_moron|", "_morons|"]),
                    strings(&["|you_"]),
                ],
            ),
            // a one-letter word between edges still says something
            (
                r"\b(?:u|ya)\s+r\b",
                vec![strings(&["_r|"]), strings(&["|u_", "|ya_"])],
            ),
            // an alternation with an open branch needs one literal per branch; optional parts
            // say nothing
            (
                r"(?:\w+\s+(?:is|was)|hes)\s+(?:a\s+)?jerk",
                vec![strings(&["_is_", "_was_", "hes_"]), strings(&["jerk"])],
            ),
            (
                r"\bi\s+hate\s+['’]em\b",
                vec![
                    strings(&["_'em|", "_’em|"]),
                    strings(&["_hate_"]),
                    strings(&["|i_"]),
                ],
            ),
        ] {
            assert_eq!(sets(pattern), expected, "{pattern}");
        }
    }

    #[test]
    fn rules_without_required_literals_always_run() {
        for pattern in [
            r"\w+",
            r"(?:u|i)\S*",
            r"(?:\w+|kill)\s*\w+",
            r"(?:you)?",
            r"(",
        ] {
            assert!(sets(pattern).is_empty(), "{pattern}: {:?}", sets(pattern));
        }
    }

    #[test]
    fn ascii_shortcuts_agree_with_regex_syntax() {
        for c in (0u8..128).map(char::from) {
            assert_eq!(
                is_word(Some(c)),
                regex_syntax::is_word_character(c),
                "{c:?}"
            );
            let in_class = space_class().iter().any(|r| r.start() <= c && c <= r.end());
            assert_eq!(is_space(c), in_class, "{c:?}");
        }
    }

    #[test]
    fn candidates_need_every_set_and_its_edges() {
        let prefilter =
            RegexPrefilter::new([r"\byou\s+idiot\b", r"\w+", r"\bkill\s+him\b", r"\bu\s+r\b"]);
        assert_eq!(prefilter.always_run(), 1);
        let mut scratch = PrefilterScratch::default();
        let mut active = Vec::new();
        for (text, expected) in [
            ("hello there", [0, 1, 0, 0]),
            ("YOU\tIDIOT", [1, 1, 0, 0]),
            ("you idiots", [0, 1, 0, 0]),
            ("skill him", [0, 1, 0, 0]),
            ("kill him", [0, 1, 1, 0]),
            ("u r", [0, 1, 0, 1]),
            ("you run", [0, 1, 0, 0]),
            // the Kelvin sign matches `k` case-insensitively: every rule is a candidate
            ("\u{212A}ill him", [1, 1, 1, 1]),
        ] {
            prefilter.candidates(&[text], &mut scratch, &mut active);
            assert_eq!(active, expected, "{text}");
        }
        // a regex matches within one text: literals spread over two texts do not make it a
        // candidate
        prefilter.candidates(
            &["you there", "an idiot", "you idiot"],
            &mut scratch,
            &mut active,
        );
        assert_eq!(active, [0b100, 0b111, 0, 0]);
    }
}
