//! Term libraries: the syntax of DESIGN.md §6 and the file format kept in the data dir.
//!
//! One rule per line:
//! - `word` or `multi word phrase`: matches on normalised text at word boundaries;
//! - `a & b`: both must occur in the message (any number of `&`);
//! - `a ~ b`: `a` matches unless `b` occurs in the message (`a & b ~ c ~ d` combines both);
//! - `re:<regex>`: an opt-in regex on the normalised text (linear-time engine, size-limited);
//!   `re:<regex> ~ b ~ c` matches unless phrase `b` or `c` occurs in the message, and
//!   `re:<regex> ~ {NAME}` unless the regex defined as `NAME` matches anywhere in it (write a
//!   tilde between spaces in the regex itself as `[~]`);
//! - `def:NAME=<regex>`: not a rule but a named regex fragment (a vocabulary such as the insults
//!   of a harassment library, or the markers of counter-speech); later `re:` and `def:` lines
//!   use it as `{NAME}`, which stands for `(?:<regex>)`. Names are `A-Z`, digits and `_`,
//!   starting with a letter.
//!
//! `&` and `~` are operators only with a space on each side, so `at&t` stays one term. A line may
//! carry a label and a severity after tabs (`term<TAB>hate<TAB>3`); otherwise the library's apply.
//! `#` starts a comment line.
//!
//! The file form starts with a header line of `key=value` fields:
//! `# rampart-library name=<name> kind=<kind> label=<label> severity=<1-3> [confirm=true]`.
//! `confirm=true` marks the hits of the library as candidates that the second-stage model must
//! confirm when it runs; without it (or when no second stage runs) they stand as written.

use std::fmt;
use std::str::FromStr;

use rampart_types::{Label, Suggestion};

/// Longest accepted term, in bytes.
pub const MAX_TERM_BYTES: usize = 256;
/// Longest accepted `re:` or `def:` source as written, in bytes.
pub const MAX_REGEX_BYTES: usize = 1024;
/// Longest accepted regex once `{NAME}` definitions are expanded, in bytes.
pub const MAX_EXPANDED_REGEX_BYTES: usize = 32 * 1024;
/// Compiled-size limit of one regex (the `regex` crate's `size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What a hit of a library asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LibraryKind {
    /// A hit blocks (the label's suggestion is at least `block`).
    Block,
    /// A hit sends the content to review at least.
    Review,
    /// A hit is scored by its severity and the policy thresholds decide (built-in libraries).
    Flag,
    /// A hit exempts the words it covers from every other library (`moby dick`, `shiitake`).
    Allow,
}

impl LibraryKind {
    /// The least suggestion a hit of this kind produces.
    pub fn floor(self) -> Option<Suggestion> {
        match self {
            LibraryKind::Block => Some(Suggestion::Block),
            LibraryKind::Review => Some(Suggestion::Review),
            LibraryKind::Flag | LibraryKind::Allow => None,
        }
    }

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LibraryKind::Block => "block",
            LibraryKind::Review => "review",
            LibraryKind::Flag => "flag",
            LibraryKind::Allow => "allow",
        }
    }
}

impl FromStr for LibraryKind {
    type Err = LibraryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "block" => Ok(LibraryKind::Block),
            "review" => Ok(LibraryKind::Review),
            "flag" => Ok(LibraryKind::Flag),
            "allow" => Ok(LibraryKind::Allow),
            other => Err(LibraryError::InvalidKind(other.to_owned())),
        }
    }
}

impl fmt::Display for LibraryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a term is, from 1 (mild) to 3 (severe), as in the surge-ai list's ratings.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Severity(f32);

impl Severity {
    pub const MILD: Severity = Severity(1.0);
    pub const STRONG: Severity = Severity(2.0);
    pub const SEVERE: Severity = Severity(3.0);

    /// A severity in 1..=3.
    pub fn new(value: f32) -> Result<Self, LibraryError> {
        if (1.0..=3.0).contains(&value) {
            Ok(Severity(value))
        } else {
            Err(LibraryError::InvalidSeverity(value.to_string()))
        }
    }

    pub fn value(self) -> f32 {
        self.0
    }

    /// The signal score of a hit: 0.30 for mild (1), 0.645 for strong (2), 0.99 for severe (3).
    /// With the default policy (review ≥ 0.4, block ≥ 0.8) mild terms pass, strong ones go to
    /// review and severe ones block.
    pub fn score(self) -> f32 {
        0.30 + 0.345 * (self.0 - 1.0)
    }
}

impl FromStr for Severity {
    type Err = LibraryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let named = match s {
            "mild" => Some(Severity::MILD),
            "strong" => Some(Severity::STRONG),
            "severe" => Some(Severity::SEVERE),
            _ => None,
        };
        if let Some(sev) = named {
            return Ok(sev);
        }
        let value: f32 = s
            .parse()
            .map_err(|_| LibraryError::InvalidSeverity(s.to_owned()))?;
        Severity::new(value)
    }
}

/// One parsed library line.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// All `required` phrases occur and none of `excluded`.
    Phrases {
        required: Vec<String>,
        excluded: Vec<String>,
    },
    /// A regex on the normalised text, unless one of the `excluded` phrases occurs or one of the
    /// `excluded_regexes` matches.
    Regex {
        /// The regex with `{NAME}` definitions expanded.
        pattern: RegexPattern,
        excluded: Vec<String>,
        /// `~ {NAME}` exclusions.
        excluded_regexes: Vec<RegexPattern>,
    },
}

/// A `re:` pattern (definitions expanded), compiled once when the library is parsed with
/// Rampart's limits ([`compile_regex`]). Two patterns are equal when their text is.
#[derive(Clone)]
pub struct RegexPattern(regex::Regex);

impl RegexPattern {
    /// Compiles `pattern`; the error says why it was refused.
    pub fn new(pattern: &str) -> Result<Self, String> {
        compile_regex(pattern).map(RegexPattern)
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The compiled regex.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

impl PartialEq for RegexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for RegexPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RegexPattern").field(&self.as_str()).finish()
    }
}

/// A term of a library with its label and severity.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// The line as written (without label and severity columns), shown in evidence.
    pub source: String,
    pub rule: Rule,
    pub label: Label,
    pub severity: Severity,
}

/// A named regex fragment of a library (`def:NAME=<regex>`), used as `{NAME}` in its regexes.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub name: String,
    /// The fragment as written (it may use earlier definitions).
    pub pattern: String,
}

/// A named list of terms of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct TermLibrary {
    pub name: String,
    pub kind: LibraryKind,
    pub label: Label,
    pub severity: Severity,
    /// Hits of a confirm library are candidates that the second-stage model must confirm when
    /// it runs; without it they stand as written. Set with `confirm=true` in the file header;
    /// false by default.
    pub confirm: bool,
    /// Regex fragments the `re:` terms use, in the order written.
    pub definitions: Vec<Definition>,
    pub terms: Vec<Term>,
}

/// Why a library was refused. Line numbers count from 1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LibraryError {
    #[error("invalid library name '{0}': use 1-64 characters of [a-z0-9_:.-]")]
    InvalidName(String),
    #[error("invalid library kind '{0}': use block, review, flag or allow")]
    InvalidKind(String),
    #[error("invalid severity '{0}': use 1-3 or mild, strong, severe")]
    InvalidSeverity(String),
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("line {line}: regex rejected: {reason}")]
    Regex { line: usize, reason: String },
    #[error("library file has no valid '# rampart-library' header")]
    MissingHeader,
}

impl TermLibrary {
    /// Parses library source text; every line is checked and the first bad one is reported.
    pub fn parse(
        name: &str,
        kind: LibraryKind,
        label: Label,
        severity: Severity,
        source: &str,
    ) -> Result<Self, LibraryError> {
        validate_name(name)?;
        let mut terms = Vec::new();
        let mut definitions = Vec::new();
        let mut fragments = Fragments::default();
        for (index, raw) in source.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim_end_matches('\r');
            if trimmed.trim().is_empty() || trimmed.trim_start().starts_with('#') {
                continue;
            }
            let mut columns = trimmed.split('\t');
            let text = columns.next().unwrap_or_default().trim();
            if let Some(definition) = text.strip_prefix("def:") {
                if columns.any(|c| !c.trim().is_empty()) {
                    return Err(LibraryError::Line {
                        line,
                        reason: "a definition takes no label or severity".to_owned(),
                    });
                }
                definitions.push(fragments.define(definition, line)?);
                continue;
            }
            let term_label = match columns.next().map(str::trim).filter(|s| !s.is_empty()) {
                Some(l) => {
                    l.parse()
                        .map_err(|e: rampart_types::UnknownLabel| LibraryError::Line {
                            line,
                            reason: e.to_string(),
                        })?
                }
                None => label.clone(),
            };
            let term_severity = match columns.next().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => s.parse().map_err(|e: LibraryError| LibraryError::Line {
                    line,
                    reason: e.to_string(),
                })?,
                None => severity,
            };
            let rule = parse_rule(text, line, &fragments)?;
            terms.push(Term {
                source: text.to_owned(),
                rule,
                label: term_label,
                severity: term_severity,
            });
        }
        Ok(TermLibrary {
            name: name.to_owned(),
            kind,
            label,
            severity,
            confirm: false,
            definitions,
            terms,
        })
    }

    /// The file form kept in the data dir: a header line, then one term per line.
    pub fn to_file_string(&self) -> String {
        let mut out = format!(
            "# rampart-library name={} kind={} label={} severity={}{}\n",
            self.name,
            self.kind,
            self.label,
            self.severity.value(),
            if self.confirm { " confirm=true" } else { "" }
        );
        for definition in &self.definitions {
            out.push_str(&format!("def:{}={}\n", definition.name, definition.pattern));
        }
        for term in &self.terms {
            out.push_str(&term.source);
            if term.label != self.label || term.severity != self.severity {
                out.push_str(&format!("\t{}\t{}", term.label, term.severity.value()));
            }
            out.push('\n');
        }
        out
    }

    /// Reads the file form written by [`TermLibrary::to_file_string`].
    pub fn from_file_string(text: &str) -> Result<Self, LibraryError> {
        let header = text.lines().next().ok_or(LibraryError::MissingHeader)?;
        let fields = header
            .strip_prefix("# rampart-library ")
            .ok_or(LibraryError::MissingHeader)?;
        let mut name = None;
        let mut kind = None;
        let mut label = None;
        let mut severity = Severity::STRONG;
        let mut confirm = false;
        for field in fields.split_whitespace() {
            match field.split_once('=') {
                Some(("name", v)) => name = Some(v.to_owned()),
                Some(("kind", v)) => kind = Some(v.parse()?),
                Some(("label", v)) => {
                    label = Some(v.parse().map_err(|_| LibraryError::MissingHeader)?)
                }
                Some(("severity", v)) => severity = v.parse()?,
                Some(("confirm", "true")) => confirm = true,
                Some(("confirm", "false")) => confirm = false,
                _ => return Err(LibraryError::MissingHeader),
            }
        }
        match (name, kind, label) {
            (Some(name), Some(kind), Some(label)) => {
                let mut library = TermLibrary::parse(&name, kind, label, severity, text)?;
                library.confirm = confirm;
                Ok(library)
            }
            _ => Err(LibraryError::MissingHeader),
        }
    }
}

fn validate_name(name: &str) -> Result<(), LibraryError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b':' | b'.')
        })
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(LibraryError::InvalidName(name.to_owned()))
    }
}

/// The definitions read so far, expanded and compiled, for `{NAME}` references.
#[derive(Debug, Default)]
struct Fragments {
    expanded: Vec<(String, RegexPattern)>,
}

impl Fragments {
    /// Reads `NAME=<regex>` (the text after `def:`), checks it and remembers its expansion.
    fn define(&mut self, text: &str, line: usize) -> Result<Definition, LibraryError> {
        let bad = |reason: String| LibraryError::Line { line, reason };
        let (name, pattern) = text
            .split_once('=')
            .ok_or_else(|| bad("a definition is def:NAME=<regex>".to_owned()))?;
        let name = name.trim();
        if !is_definition_name(name) {
            return Err(bad(format!(
                "invalid definition name '{name}': use A-Z, 0-9 and _, starting with a letter"
            )));
        }
        if self.expanded.iter().any(|(n, _)| n == name) {
            return Err(bad(format!("'{name}' is already defined")));
        }
        if pattern.len() > MAX_REGEX_BYTES {
            return Err(LibraryError::Regex {
                line,
                reason: format!(
                    "pattern is {} bytes, the limit is {MAX_REGEX_BYTES}",
                    pattern.len()
                ),
            });
        }
        let expanded = self.expand(pattern, line)?;
        let compiled =
            RegexPattern::new(&expanded).map_err(|reason| LibraryError::Regex { line, reason })?;
        self.expanded.push((name.to_owned(), compiled));
        Ok(Definition {
            name: name.to_owned(),
            pattern: pattern.to_owned(),
        })
    }

    /// Replaces every `{NAME}` outside an escape by `(?:<its expansion>)`.
    fn expand(&self, pattern: &str, line: usize) -> Result<String, LibraryError> {
        let mut out = String::with_capacity(pattern.len());
        let mut rest = pattern;
        while let Some(i) = rest.find(['\\', '{']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(escaped) = tail.strip_prefix('\\') {
                let next = escaped.chars().next().map_or(0, char::len_utf8);
                out.push_str(&tail[..1 + next]);
                rest = &escaped[next..];
                continue;
            }
            let reference = tail[1..]
                .find('}')
                .map(|end| &tail[1..1 + end])
                .filter(|name| is_definition_name(name));
            let Some(name) = reference else {
                out.push('{');
                rest = &tail[1..];
                continue;
            };
            let fragment = self.get(name, line)?;
            out.push_str("(?:");
            out.push_str(fragment.as_str());
            out.push(')');
            if out.len() > MAX_EXPANDED_REGEX_BYTES {
                return Err(LibraryError::Regex {
                    line,
                    reason: format!(
                        "pattern exceeds {MAX_EXPANDED_REGEX_BYTES} bytes once definitions are expanded"
                    ),
                });
            }
            rest = &tail[name.len() + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The compiled definition `name`.
    fn get(&self, name: &str, line: usize) -> Result<&RegexPattern, LibraryError> {
        self.expanded
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, pattern)| pattern)
            .ok_or_else(|| LibraryError::Line {
                line,
                reason: format!("'{{{name}}}' is not defined above this line"),
            })
    }
}

fn is_definition_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64
}

fn parse_rule(text: &str, line: usize, fragments: &Fragments) -> Result<Rule, LibraryError> {
    if let Some(regex_line) = text.strip_prefix("re:") {
        let mut parts = regex_line.split(" ~ ");
        let pattern = parts.next().unwrap_or_default().trim_end();
        let mut excluded = Vec::new();
        let mut excluded_regexes = Vec::new();
        for part in parts.map(str::trim) {
            if part.is_empty() {
                return Err(LibraryError::Line {
                    line,
                    reason: "empty phrase after '~'".to_owned(),
                });
            }
            let reference = part
                .strip_prefix('{')
                .and_then(|p| p.strip_suffix('}'))
                .filter(|name| is_definition_name(name));
            match reference {
                Some(name) => excluded_regexes.push(fragments.get(name, line)?.clone()),
                None => excluded.push(part.to_owned()),
            }
        }
        if pattern.len() > MAX_REGEX_BYTES {
            return Err(LibraryError::Regex {
                line,
                reason: format!(
                    "pattern is {} bytes, the limit is {MAX_REGEX_BYTES}",
                    pattern.len()
                ),
            });
        }
        let pattern = RegexPattern::new(&fragments.expand(pattern, line)?)
            .map_err(|reason| LibraryError::Regex { line, reason })?;
        return Ok(Rule::Regex {
            pattern,
            excluded,
            excluded_regexes,
        });
    }
    if text.len() > MAX_TERM_BYTES {
        return Err(LibraryError::Line {
            line,
            reason: format!(
                "term is {} bytes, the limit is {MAX_TERM_BYTES}",
                text.len()
            ),
        });
    }
    let mut parts = text.split(" ~ ");
    let required: Vec<String> = parts
        .next()
        .unwrap_or_default()
        .split(" & ")
        .map(|p| p.trim().to_owned())
        .collect();
    let excluded: Vec<String> = parts.map(|p| p.trim().to_owned()).collect();
    if required.iter().chain(&excluded).any(|p| p.is_empty()) {
        return Err(LibraryError::Line {
            line,
            reason: "empty phrase around '&' or '~'".to_owned(),
        });
    }
    Ok(Rule::Phrases { required, excluded })
}

/// Compiles a `re:` pattern with Rampart's limits: the `regex` crate's linear-time engine,
/// case-insensitive, a bounded compiled size.
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("compiled pattern exceeds {limit} bytes; simplify it (bounded repetitions like {{1000}} multiply its size)")
            }
            other => other.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str) -> Result<TermLibrary, LibraryError> {
        TermLibrary::parse(
            "t",
            LibraryKind::Block,
            Label::Profanity,
            Severity::STRONG,
            source,
        )
    }

    #[test]
    fn syntax_of_design_section_6() {
        let lib = parse(
            "word\nmulti word phrase\na & b\na ~ b\na & b ~ c ~ d\nre:fo+\nat&t\nre:\\bfo+ ~ not me ~ b\n# comment\n\n",
        )
        .unwrap();
        let rules: Vec<&Rule> = lib.terms.iter().map(|t| &t.rule).collect();
        let phrases = |r: &[&str], e: &[&str]| Rule::Phrases {
            required: r.iter().map(|s| s.to_string()).collect(),
            excluded: e.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(rules.len(), 8);
        assert_eq!(rules[0], &phrases(&["word"], &[]));
        assert_eq!(rules[1], &phrases(&["multi word phrase"], &[]));
        assert_eq!(rules[2], &phrases(&["a", "b"], &[]));
        assert_eq!(rules[3], &phrases(&["a"], &["b"]));
        assert_eq!(rules[4], &phrases(&["a", "b"], &["c", "d"]));
        let regex = |p: &str| RegexPattern::new(p).unwrap();
        assert_eq!(
            rules[5],
            &Rule::Regex {
                pattern: regex("fo+"),
                excluded: vec![],
                excluded_regexes: vec![]
            }
        );
        assert_eq!(rules[6], &phrases(&["at&t"], &[]));
        assert_eq!(
            rules[7],
            &Rule::Regex {
                pattern: regex(r"\bfo+"),
                excluded: vec!["not me".into(), "b".into()],
                excluded_regexes: vec![]
            }
        );
    }

    #[test]
    fn label_and_severity_columns_override_the_library() {
        let lib = parse("slur\thate\t3\nmeh\t\tmild").unwrap();
        assert_eq!(lib.terms[0].label, Label::Hate);
        assert_eq!(lib.terms[0].severity, Severity::SEVERE);
        assert_eq!(lib.terms[1].label, Label::Profanity);
        assert_eq!(lib.terms[1].severity, Severity::MILD);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let cases = [
            ("ok\nre:(unclosed", 2),
            ("ok\nok\nterm\tpolitics", 3),
            ("x\tprofanity\t9", 1),
            ("a &  & b", 1),
            ("re:fo ~  ~ x", 1),
        ];
        for (source, line) in cases {
            let err = parse(source).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!("line {line}:")),
                "{source:?}: {err}"
            );
        }
    }

    #[test]
    fn definitions_name_regex_fragments() {
        let lib = parse(
            "def:INSULT=idiot|moron\ndef:AT_YOU=you {INSULT}\nre:\\b{AT_YOU}\\b ~ not ~ {INSULT}\nre:a\\{2}{INSULT}",
        )
        .unwrap();
        assert_eq!(lib.definitions.len(), 2);
        assert_eq!(lib.terms.len(), 2);
        assert_eq!(lib.terms[0].source, r"re:\b{AT_YOU}\b ~ not ~ {INSULT}");
        let regex = |p: &str| RegexPattern::new(p).unwrap();
        assert_eq!(
            lib.terms[0].rule,
            Rule::Regex {
                pattern: regex(r"\b(?:you (?:idiot|moron))\b"),
                excluded: vec!["not".into()],
                excluded_regexes: vec![regex("idiot|moron")]
            }
        );
        let Rule::Regex { pattern, .. } = &lib.terms[1].rule else {
            panic!("a regex")
        };
        assert_eq!(pattern.as_str(), r"a\{2}(?:idiot|moron)");
        let again = TermLibrary::from_file_string(&lib.to_file_string()).unwrap();
        assert_eq!(again, lib);
    }

    #[test]
    fn bad_definitions_are_reported_with_their_line() {
        let cases = [
            "re:{MISSING}",
            "def:lower=x",
            "def:X=(",
            "def:X=a\ndef:X=b",
            "def:X=a\tprofanity",
            "def:X",
        ];
        for source in cases {
            let err = parse(source).unwrap_err();
            let last = source.lines().count();
            assert!(
                err.to_string().starts_with(&format!("line {last}:")),
                "{source:?}: {err}"
            );
        }
        // doubling definitions cannot blow up memory
        let mut bomb = String::from("def:A0=xxxxxxxxxxxxxxxx\n");
        for i in 1..40 {
            bomb.push_str(&format!("def:A{i}={{A{}}}{{A{}}}\n", i - 1, i - 1));
        }
        assert!(parse(&bomb).is_err());
    }

    #[test]
    fn pathological_regexes_are_rejected_not_run() {
        let huge = format!("re:{}", "a".repeat(MAX_REGEX_BYTES + 1));
        assert!(parse(&huge).is_err());
        let err = parse(r"re:(\w{1,100}){1,100}").unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
        // Backtracking killers are fine: the engine is linear-time.
        assert!(parse("re:(a+)+$").is_ok());
    }

    #[test]
    fn file_form_round_trips() {
        let lib = parse("one\ntwo\thate\t3\na & b").unwrap();
        assert!(!lib.confirm);
        let again = TermLibrary::from_file_string(&lib.to_file_string()).unwrap();
        assert_eq!(again, lib);
    }

    #[test]
    fn confirm_is_a_header_attribute_that_round_trips() {
        let text = "# rampart-library name=h kind=flag label=hate severity=2.8 confirm=true\nx\n";
        let lib = TermLibrary::from_file_string(text).unwrap();
        assert!(lib.confirm);
        assert!(lib.to_file_string().starts_with(
            "# rampart-library name=h kind=flag label=hate severity=2.8 confirm=true\n"
        ));
        assert_eq!(
            TermLibrary::from_file_string(&lib.to_file_string()).unwrap(),
            lib
        );
        let plain = text.replace(" confirm=true", "");
        assert!(!TermLibrary::from_file_string(&plain).unwrap().confirm);
        assert!(!TermLibrary::from_file_string(&plain)
            .unwrap()
            .to_file_string()
            .contains("confirm"));
        let bad = text.replace("confirm=true", "confirm=maybe");
        assert_eq!(
            TermLibrary::from_file_string(&bad),
            Err(LibraryError::MissingHeader)
        );
    }

    #[test]
    fn severity_scores_follow_the_default_thresholds() {
        assert!(Severity::MILD.score() < 0.4);
        assert!((0.4..0.8).contains(&Severity::STRONG.score()));
        assert!(Severity::SEVERE.score() >= 0.8 && Severity::SEVERE.score() <= 1.0);
    }
}
