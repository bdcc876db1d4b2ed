//! The functional suite: short messages written for the purpose, one functional case type each
//! (direct hate, dehumanisation, threats, disclosure of self-harm intent, counter-speech,
//! negation, recipes, Scunthorpe-style names…), in `data/text/functional/*.tsv`, plus the
//! TOXIGEN prompt sentences in `data/text/toxigen/toxigen.tsv` (provenance in
//! `data/README.md`).
//!
//! File format: UTF-8, tab-separated, header `template<TAB>case<TAB>labels<TAB>text`; `labels`
//! is a comma-separated list of the labels the message must be flagged with, or `none`.
//!
//! The split of a case is a function of its **template** (a family of paraphrases), not of its
//! text, so no test sentence shares a template with a training one.

use std::path::{Path, PathBuf};

use rampart_types::Label;

use crate::corpus::{split_of, CorpusError, Split};

/// One test case of the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The paraphrase family; the split is decided by it.
    pub template: String,
    /// The functional case type, e.g. `hate_dehumanisation` or `benign_recipe`.
    pub case: String,
    /// The labels the message must be flagged with; empty: it must pass.
    pub labels: Vec<Label>,
    pub text: String,
}

impl Case {
    /// The split this case belongs to.
    pub fn split(&self) -> Split {
        split_of(&self.template)
    }

    /// True when the message must be flagged with `label`.
    pub fn has(&self, label: &Label) -> bool {
        self.labels.contains(label)
    }

    /// The acceptance group of the case type.
    pub fn group(&self) -> CaseGroup {
        CaseGroup::of(&self.case)
    }
}

/// Case types grouped the way the acceptance criteria count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseGroup {
    /// Ordinary sentences of everyday registers (`benign_*`): must pass.
    Benign,
    /// Innocent sentences with words that contain or resemble a term: must pass.
    Scunthorpe,
    /// Hateful messages (`hate_*`, TOXIGEN's hateful prompts): must carry `hate`.
    Hateful,
    /// Non-hateful messages about groups (counter-speech, quoting, negation, neutral and positive
    /// mentions, reclaimed words, TOXIGEN's neutral prompts): must not carry `hate`.
    NonHateful,
    /// Threats to a person, a place or a group, and wishing harm.
    Threat,
    /// Disclosure of self-harm intent or of ongoing self-harm.
    SelfHarmIntent,
    /// Everything else (harassment, sexual, incitement, and their hard negatives).
    Other,
}

impl CaseGroup {
    /// The group of a case type name.
    pub fn of(case: &str) -> CaseGroup {
        match case {
            c if c.starts_with("benign_") => CaseGroup::Benign,
            "scunthorpe" => CaseGroup::Scunthorpe,
            c if c.starts_with("hate_") || c == "toxigen_hate" => CaseGroup::Hateful,
            "counter_speech"
            | "quoting_reporting"
            | "negation"
            | "reclaimed"
            | "neutral_group"
            | "positive_group"
            | "group_policy_debate"
            | "insult_nonprotected"
            | "toxigen_neutral" => CaseGroup::NonHateful,
            "threat_person" | "threat_group_place" | "wish_harm" => CaseGroup::Threat,
            "self_harm_intent" | "self_harm_ongoing" => CaseGroup::SelfHarmIntent,
            _ => CaseGroup::Other,
        }
    }

    /// A short name for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseGroup::Benign => "benign (ordinary registers)",
            CaseGroup::Scunthorpe => "scunthorpe (innocent look-alikes)",
            CaseGroup::Hateful => "hateful",
            CaseGroup::NonHateful => "non-hateful group mentions",
            CaseGroup::Threat => "threats",
            CaseGroup::SelfHarmIntent => "self-harm intent",
            CaseGroup::Other => "other",
        }
    }
}

/// The suite's files under `corpus_dir`, in a fixed order.
pub fn files(corpus_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir.join("functional"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let toxigen = corpus_dir.join("toxigen/toxigen.tsv");
    if toxigen.is_file() {
        files.push(toxigen);
    }
    files
}

/// Reads every case of the suite; a malformed row is an error naming its file and line.
pub fn load(corpus_dir: &Path) -> Result<Vec<Case>, CorpusError> {
    let files = files(corpus_dir);
    if files.is_empty() {
        return Err(CorpusError::Read {
            path: corpus_dir.join("functional").display().to_string(),
            reason: "no functional suite files (*.tsv)".to_owned(),
        });
    }
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| CorpusError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        cases.extend(parse(&text).map_err(|reason| CorpusError::Read {
            path: path.display().to_string(),
            reason,
        })?);
    }
    Ok(cases)
}

/// Parses one suite file.
pub fn parse(source: &str) -> Result<Vec<Case>, String> {
    let mut lines = source.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim_end() == "template\tcase\tlabels\ttext" => {}
        _ => return Err("missing header 'template<TAB>case<TAB>labels<TAB>text'".to_owned()),
    }
    let mut cases = Vec::new();
    for (index, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(4, '\t').collect();
        let [template, case, labels, text] = fields[..] else {
            return Err(format!(
                "line {}: expected 4 tab-separated fields",
                index + 1
            ));
        };
        let labels = if labels.trim() == "none" {
            Vec::new()
        } else {
            labels
                .split(',')
                .map(|l| {
                    l.trim()
                        .parse::<Label>()
                        .map_err(|e| format!("line {}: {e}", index + 1))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        cases.push(Case {
            template: template.trim().to_owned(),
            case: case.trim().to_owned(),
            labels,
            text: text.trim().to_owned(),
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_with_their_labels_and_the_split_follows_the_template() {
        let cases = parse(
            "template\tcase\tlabels\ttext\nt-1\tthreat_person\tviolence,harassment\tI will hurt you\nt-1\tthreat_person\tviolence,harassment\ti will hurt u\nb-1\tbenign_recipe\tnone\tAdd the eggs.\n",
        )
        .unwrap();
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].labels, vec![Label::Violence, Label::Harassment]);
        assert!(cases[2].labels.is_empty());
        assert_eq!(cases[0].split(), cases[1].split());
        assert_eq!(cases[0].group(), CaseGroup::Threat);
        assert_eq!(cases[2].group(), CaseGroup::Benign);
    }

    #[test]
    fn malformed_rows_are_errors() {
        assert!(parse("no header\n").is_err());
        assert!(parse("template\tcase\tlabels\ttext\nonly\ttwo\n").is_err());
        assert!(parse("template\tcase\tlabels\ttext\nt\tc\tpolitics\tx\n").is_err());
    }
}
