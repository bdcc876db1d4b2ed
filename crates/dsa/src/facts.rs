//! Plain-language sentences from evidence, for `decision_facts` and the explanations.
//!
//! Art. 24(5) DSA forbids personal data in statements, so the user's own words never appear:
//! no `matched` excerpt, no recognised speech or OCR text, no found e-mail address. What does
//! appear is what the platform's rules consist of: library terms, bank entries, model names,
//! scores, positions and times.

use rampart_types::{Evidence, EvidenceKind, Label, Trick};

/// `s` cut to at most `max` characters on a character boundary, ending in `…` when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

/// One piece of evidence as a phrase, e.g. "matched term 'x' of library 'y' at bytes 10–18
/// after removing zero-width characters".
pub fn describe(evidence: &Evidence) -> String {
    describe_in(evidence, Where::Submitted)
}

/// What text a span indexes: the submission or text extracted from it.
#[derive(Clone, Copy)]
enum Where {
    Submitted,
    Extracted,
}

fn describe_in(ev: &Evidence, place: Where) -> String {
    use EvidenceKind as K;
    match ev.kind {
        K::Term | K::Regex => {
            let what = if ev.kind == K::Term { "term" } else { "rule" };
            let mut s = match &ev.term {
                Some(term) => format!("matched {what} '{term}'"),
                None => format!("matched a {what}"),
            };
            if let Some(library) = &ev.library {
                s += &format!(" of library '{library}'");
            }
            s += &at_span(ev, place);
            s += &tricks_phrase(&ev.tricks);
            s
        }
        K::Model => {
            let model = ev.model.as_deref().unwrap_or("a model");
            let mut s = match ev.score {
                Some(score) => format!("model {model} scored {score:.2}"),
                None => format!("model {model} flagged it"),
            };
            s += &at_time(ev, " at ");
            s
        }
        K::Pii | K::Url => {
            let mut s = format!("found {}", finding_noun(ev));
            if let Some(term) = &ev.term {
                s += &format!(" matching '{term}'");
            }
            if let Some(library) = &ev.library {
                s += &format!(" of library '{library}'");
            }
            s += &at_span(ev, place);
            s
        }
        K::Hash => {
            let subject = match ev.t_start {
                Some(_) => format!("frame{}", at_time(ev, " at ")),
                None => "image".to_owned(),
            };
            let mut s = format!("{subject} matched {}", bank_entry(ev));
            if let Some(d) = ev.distance {
                s += &format!(" at distance {d}");
            }
            if let Some(detail) = &ev.detail {
                s += &format!(" ({detail})");
            }
            s
        }
        K::ExactHash => format!("file is identical to {}", bank_entry(ev)),
        K::Vpdq => {
            let mut s = format!("video matched {}", bank_entry(ev));
            s += &at_time(ev, " at ");
            if let Some(detail) = &ev.detail {
                s += &format!(" ({detail})");
            }
            s
        }
        K::Qr => nested("QR code", ev),
        K::Ocr => match ev.t_start {
            Some(_) => nested(&format!("text in the frame{}", at_time(ev, " at ")), ev),
            None => nested("text in the image", ev),
        },
        K::Asr => match ev.t_start {
            Some(_) => nested(&format!("spoken{}", at_time(ev, " at ")), ev),
            None => nested("speech", ev),
        },
    }
}

/// "`subject`: what was found in it; …" for evidence that holds text evidence.
fn nested(subject: &str, ev: &Evidence) -> String {
    if ev.evidence.is_empty() {
        return format!("{subject} was flagged");
    }
    let inner: Vec<String> = ev
        .evidence
        .iter()
        .map(|e| describe_in(e, Where::Extracted))
        .collect();
    format!("{subject}: {}", inner.join("; "))
}

fn at_span(ev: &Evidence, place: Where) -> String {
    match (ev.span, place) {
        (Some(span), Where::Submitted) => format!(" at bytes {}–{}", span.start, span.end),
        (Some(span), Where::Extracted) => {
            format!(
                " at bytes {}–{} of the extracted text",
                span.start, span.end
            )
        }
        (None, _) => String::new(),
    }
}

/// "`prefix`8.0–11.0 s", or "`prefix`8.0 s" for an instant; empty without times.
fn at_time(ev: &Evidence, prefix: &str) -> String {
    match (ev.t_start, ev.t_end) {
        (Some(a), Some(b)) if b > a => format!("{prefix}{a:.1}–{b:.1} s"),
        (Some(a), _) => format!("{prefix}{a:.1} s"),
        _ => String::new(),
    }
}

fn bank_entry(ev: &Evidence) -> String {
    let entry = ev
        .entry_id
        .as_deref()
        .map_or("an entry".to_owned(), |e| format!("entry {e}"));
    match &ev.bank {
        Some(bank) => format!("{entry} of hash bank {bank}"),
        None => format!("{entry} of a hash bank"),
    }
}

/// The kind of contact detail or link found, never its value.
fn finding_noun(ev: &Evidence) -> String {
    let noun = match ev.detail.as_deref() {
        Some("email") => "an e-mail address",
        Some("phone") => "a phone number",
        Some("card") => "a payment card number",
        Some("iban") => "a bank account number (IBAN)",
        Some("ipv4" | "ipv6" | "ip") => "an IP address",
        Some("handle") => "a messenger contact link",
        Some("url") => "a link",
        Some("domain") => "a domain name",
        Some(other) if ev.kind == EvidenceKind::Pii => return format!("personal data ({other})"),
        Some(other) => return format!("a link ({other})"),
        None if ev.kind == EvidenceKind::Pii => "personal data",
        None => "a link",
    };
    noun.to_owned()
}

/// " after removing zero-width characters and mapping look-alike letters", or empty.
fn tricks_phrase(tricks: &[Trick]) -> String {
    if tricks.is_empty() {
        return String::new();
    }
    let mut phrases: Vec<&str> = Vec::new();
    for t in tricks {
        let p = trick_phrase(*t);
        if !phrases.contains(&p) {
            phrases.push(p);
        }
    }
    format!(" after {}", join_and(&phrases))
}

fn trick_phrase(trick: Trick) -> &'static str {
    match trick {
        Trick::ZeroWidth => "removing zero-width characters",
        Trick::Bidi => "removing bidirectional control characters",
        Trick::Reversed => "reading right-to-left-override text in display order",
        Trick::TagCharacters => "removing invisible tag characters",
        Trick::Diacritic => "removing accents",
        Trick::Strikethrough => "removing strikethrough marks",
        Trick::Zalgo => "removing stacked combining marks",
        Trick::Fullwidth => "mapping fullwidth letters",
        Trick::MathAlphanumeric => "mapping mathematical letters",
        Trick::Enclosed => "mapping circled or enclosed letters",
        Trick::Compatibility => "mapping superscript and small-capital letters",
        Trick::Confusable => "mapping look-alike letters from other scripts",
        Trick::EmojiLetter => "mapping emoji used as letters",
        Trick::Leet => "reading digits and symbols as letters",
        Trick::Repetition => "collapsing repeated letters",
        Trick::Separator => "removing separators between letters",
    }
}

/// What a label means, for sentences: `sexual_minors` → "child sexual abuse material".
pub(crate) fn label_noun(label: &Label) -> String {
    let noun = match label {
        Label::Sexual => "sexual content",
        Label::SexualMinors => "child sexual abuse material",
        Label::Violence => "violent content",
        Label::Terrorism => "terrorist content",
        Label::Hate => "hate speech",
        Label::Harassment => "harassment",
        Label::Profanity => "profanity",
        Label::SelfHarm => "content about self-harm",
        Label::Illicit => "illicit goods (drugs, weapons or contraband)",
        Label::Spam => "spam",
        Label::Ads => "advertising",
        Label::Pii => "personal data",
        Label::Custom(name) => {
            let rule = name.strip_prefix("custom:").unwrap_or(name);
            return format!("content covered by the platform's rule '{rule}'");
        }
    };
    noun.to_owned()
}

/// "a", "a and b", "a, b and c".
pub(crate) fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_types::ByteSpan;

    fn term(term: &str, library: &str, span: (usize, usize), tricks: &[Trick]) -> Evidence {
        let mut ev = Evidence::new(EvidenceKind::Term);
        ev.term = Some(term.into());
        ev.library = Some(library.into());
        ev.span = Some(ByteSpan::new(span.0, span.1));
        ev.matched = Some("PRIVATE WORDS".into());
        ev.tricks = tricks.to_vec();
        ev
    }

    fn hash(bank: &str, entry: &str, distance: u32, t: Option<(f64, f64)>) -> Evidence {
        let mut ev = Evidence::new(EvidenceKind::Hash);
        ev.bank = Some(bank.into());
        ev.entry_id = Some(entry.into());
        ev.distance = Some(distance);
        if let Some((a, b)) = t {
            ev.t_start = Some(a);
            ev.t_end = Some(b);
        }
        ev
    }

    fn with_nested(kind: EvidenceKind, t: Option<(f64, f64)>, inner: Vec<Evidence>) -> Evidence {
        let mut ev = Evidence::new(kind);
        ev.matched = Some("what someone said".into());
        ev.t_start = t.map(|t| t.0);
        ev.t_end = t.map(|t| t.1);
        ev.evidence = inner;
        ev
    }

    #[test]
    fn evidence_reads_as_plain_language() {
        let mut model = Evidence::new(EvidenceKind::Model);
        model.model = Some("text-toxicity@3".into());
        model.score = Some(0.934);
        let mut pii = Evidence::new(EvidenceKind::Pii);
        pii.detail = Some("email".into());
        pii.span = Some(ByteSpan::new(4, 20));
        pii.matched = Some("jane@example.com".into());
        let mut exact = Evidence::new(EvidenceKind::ExactHash);
        exact.bank = Some("csam-known".into());
        exact.entry_id = Some("E17".into());
        let mut vpdq = Evidence::new(EvidenceKind::Vpdq);
        vpdq.bank = Some("terror-videos".into());
        vpdq.entry_id = Some("v9".into());
        vpdq.t_start = Some(3.0);
        vpdq.t_end = Some(42.5);
        let f = "builtin:profanity-en";

        let rows: Vec<(Evidence, &str)> = vec![
            (
                term("fuck", f, (10, 18), &[Trick::ZeroWidth]),
                "matched term 'fuck' of library 'builtin:profanity-en' at bytes 10–18 \
                 after removing zero-width characters",
            ),
            (
                term(
                    "fuck",
                    f,
                    (0, 9),
                    &[Trick::ZeroWidth, Trick::Diacritic, Trick::Confusable],
                ),
                "matched term 'fuck' of library 'builtin:profanity-en' at bytes 0–9 after \
                 removing zero-width characters, removing accents and mapping look-alike \
                 letters from other scripts",
            ),
            (model, "model text-toxicity@3 scored 0.93"),
            (pii, "found an e-mail address at bytes 4–20"),
            (
                hash("known-bad", "E42", 4, None),
                "image matched entry E42 of hash bank known-bad at distance 4",
            ),
            (
                hash("known-bad", "E42", 2, Some((8.0, 11.0))),
                "frame at 8.0–11.0 s matched entry E42 of hash bank known-bad at distance 2",
            ),
            (
                exact,
                "file is identical to entry E17 of hash bank csam-known",
            ),
            (
                vpdq,
                "video matched entry v9 of hash bank terror-videos at 3.0–42.5 s",
            ),
            (
                with_nested(
                    EvidenceKind::Asr,
                    Some((12.0, 14.5)),
                    vec![term("kill", "builtin:violence-en", (3, 7), &[])],
                ),
                "spoken at 12.0–14.5 s: matched term 'kill' of library 'builtin:violence-en' \
                 at bytes 3–7 of the extracted text",
            ),
            (
                with_nested(
                    EvidenceKind::Ocr,
                    None,
                    vec![term("spam", "ads", (0, 4), &[Trick::Leet])],
                ),
                "text in the image: matched term 'spam' of library 'ads' at bytes 0–4 of the \
                 extracted text after reading digits and symbols as letters",
            ),
            (
                with_nested(EvidenceKind::Qr, None, vec![]),
                "QR code was flagged",
            ),
        ];
        for (ev, want) in rows {
            assert_eq!(describe(&ev), want);
        }
    }

    #[test]
    fn the_users_own_words_never_appear() {
        let mut pii = Evidence::new(EvidenceKind::Pii);
        pii.detail = Some("phone".into());
        pii.matched = Some("+44 20 7946 0018".into());
        let asr = with_nested(
            EvidenceKind::Asr,
            Some((1.0, 2.0)),
            vec![term("x", "l", (0, 1), &[])],
        );
        for ev in [pii, asr, term("x", "l", (0, 1), &[])] {
            let text = describe(&ev);
            assert!(
                !text.contains("7946") && !text.contains("PRIVATE") && !text.contains("someone"),
                "{text}"
            );
        }
    }

    #[test]
    fn truncation_keeps_char_boundaries_and_the_limit() {
        assert_eq!(truncate_chars("short", 10), "short");
        let cut = truncate_chars(&"é".repeat(30), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }
}
