//! The normaliser: maps text to a canonical form that undoes evasion, keeping for every
//! canonical character the byte range of the original characters it came from.
//!
//! Written by hand because no crate combines the pieces with an offset map: the Unicode tables
//! come from maintained crates (`unicode-normalization` for NFKD and combining marks,
//! `unicode-security` for the UTS #39 confusables table, `unicode-properties` for general
//! categories); the passes that decide *when* to apply them (per token, with leetspeak,
//! separators and repetition) are Rampart's own domain logic.
//!
//! The passes, in order:
//! 1. **Characters**: case; NFKD compatibility forms (fullwidth, mathematical alphanumerics,
//!    circled/parenthesised letters, superscripts, ligatures); combining marks are dropped and
//!    folded into the letter they sit on; zero-width/format characters, bidi controls and TAG
//!    characters are dropped; text under a right-to-left override (U+202E) is reversed back into
//!    reading order; emoji letter substitutes are mapped.
//! 2. **Tokens** (runs between whitespace): confusable letters from other scripts are mapped to
//!    Latin when the token mixes scripts or consists only of look-alikes; leetspeak (`$h1t`) is
//!    undone only in tokens that contain a letter, never in all-digit tokens.
//! 3. **Separators**: three or more single letters separated by up to three punctuation or space
//!    characters (`f.u.c.k`, `f u c k`) are joined; each joined letter becomes a soft word
//!    boundary. Ordinary words are never joined across spaces.
//! 4. **Repetition**: runs of the same letter collapse to one canonical character that records the
//!    run length (`fuuuuck` → `fuck`, run 4 on `u`), so the matcher can still tell `ass` from `as`.
//!    Whitespace runs collapse to one space.
//!
//! Memory: the output holds one [`Unit`] (20 bytes) per canonical character plus one `u32` per
//! canonical byte, so a normalisation costs at most ~24× the input size, linear in the input.

use rampart_types::{ByteSpan, Trick};
use unicode_normalization::char::{decompose_canonical, decompose_compatible, is_combining_mark};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A set of [`Trick`]s as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrickSet(u32);

const ALL_TRICKS: [Trick; 16] = [
    Trick::ZeroWidth,
    Trick::Bidi,
    Trick::Reversed,
    Trick::TagCharacters,
    Trick::Diacritic,
    Trick::Strikethrough,
    Trick::Zalgo,
    Trick::Fullwidth,
    Trick::MathAlphanumeric,
    Trick::Enclosed,
    Trick::Compatibility,
    Trick::Confusable,
    Trick::EmojiLetter,
    Trick::Leet,
    Trick::Repetition,
    Trick::Separator,
];

impl TrickSet {
    /// The empty set.
    pub const EMPTY: TrickSet = TrickSet(0);

    fn bit(trick: Trick) -> u32 {
        1 << ALL_TRICKS.iter().position(|t| *t == trick).unwrap_or(0)
    }

    /// Adds one trick.
    pub fn insert(&mut self, trick: Trick) {
        self.0 |= Self::bit(trick);
    }

    /// True when the set holds `trick`.
    pub fn contains(self, trick: Trick) -> bool {
        self.0 & Self::bit(trick) != 0
    }

    /// The union of two sets.
    pub fn union(self, other: TrickSet) -> TrickSet {
        TrickSet(self.0 | other.0)
    }

    /// True when no trick is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The tricks in a fixed order.
    pub fn to_vec(self) -> Vec<Trick> {
        ALL_TRICKS
            .iter()
            .copied()
            .filter(|t| self.contains(*t))
            .collect()
    }
}

/// One canonical character and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// The canonical character (lowercase; ASCII for Latin and look-alikes).
    pub ch: char,
    /// Start byte of the original characters it came from.
    pub start: u32,
    /// End byte (exclusive) of the original characters, including combining marks on it.
    pub end: u32,
    /// How many identical letters were collapsed into this unit (1 when none).
    pub run: u32,
    /// Evasions undone to produce this unit.
    pub tricks: TrickSet,
    /// The character before lowercasing (after compatibility decomposition): uppercase
    /// look-alikes (`Η` for `H`) differ from their lowercase forms (`η` looks like `n`).
    cased: char,
    flags: u8,
}

const SOFT_BOUNDARY: u8 = 1;

impl Unit {
    fn new(ch: char, start: usize, end: usize) -> Self {
        Unit {
            ch,
            start: start as u32,
            end: end as u32,
            run: 1,
            tricks: TrickSet::EMPTY,
            cased: ch,
            flags: 0,
        }
    }

    /// True when a separator join made this letter a soft word boundary: a term may start or
    /// end at it even though letters surround it.
    pub fn is_soft_boundary(&self) -> bool {
        self.flags & SOFT_BOUNDARY != 0
    }

    /// True for letters and digits (the characters words are made of).
    pub fn is_word(&self) -> bool {
        is_word_char(self.ch)
    }
}

/// True for characters that words are made of.
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        c.is_alphanumeric()
    }
}

/// The result of normalising one text.
#[derive(Debug, Default, Clone)]
pub struct Normalised {
    text: String,
    units: Vec<Unit>,
    /// For every byte of `text`, the index of the unit it belongs to.
    unit_of_byte: Vec<u32>,
}

impl Normalised {
    /// The canonical text (evasion undone, letters collapsed, lowercase).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The canonical units, one per character of [`Normalised::text`].
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The unit index of a byte offset of the canonical text.
    pub fn unit_at(&self, byte: usize) -> usize {
        self.unit_of_byte[byte] as usize
    }

    /// True when `byte` is the first byte of a unit (or the end of the text).
    pub fn is_unit_start(&self, byte: usize) -> bool {
        byte == self.text.len() || self.text.is_char_boundary(byte)
    }

    /// The original byte range covered by units `first..last` (exclusive). Units under a
    /// right-to-left override run backwards, so this takes the minimum and maximum.
    pub fn original_span(&self, first: usize, last: usize) -> ByteSpan {
        let units = &self.units[first..last];
        let start = units.iter().map(|u| u.start).min().unwrap_or(0) as usize;
        let end = units.iter().map(|u| u.end).max().unwrap_or(0) as usize;
        ByteSpan::new(start, end)
    }

    /// The union of the tricks of units `first..last`.
    pub fn tricks(&self, first: usize, last: usize) -> TrickSet {
        self.units[first..last]
            .iter()
            .fold(TrickSet::EMPTY, |acc, u| acc.union(u.tricks))
    }

    /// The canonical text with every collapsed run expanded again (`fuuuck` stays `fuuuck`), and
    /// for each of its bytes the unit it belongs to. Regex rules run on this form so that a
    /// regex author sees ordinary spelling.
    pub fn expanded(&self) -> (String, Vec<u32>) {
        self.expanded_with_long_runs(None)
    }

    /// True when some letter is repeated three or more times in a row (`biiitch`, `sooo`), which
    /// English spelling never does: the run is emphasis or evasion.
    pub fn has_long_runs(&self) -> bool {
        self.units
            .iter()
            .any(|u| u.run >= 3 && u.ch.is_alphabetic())
    }

    /// Like [`Normalised::expanded`], but every run of three or more letters written as
    /// `long_runs` letters (`biiitch` → `bitch` with 1, `asssss` → `ass` with 2), so a regex
    /// written in ordinary spelling also matches stretched words. `None` keeps runs as written.
    pub fn expanded_with_long_runs(&self, long_runs: Option<u32>) -> (String, Vec<u32>) {
        let mut text = String::with_capacity(self.text.len());
        let mut map = Vec::with_capacity(self.text.len());
        for (i, unit) in self.units.iter().enumerate() {
            let repeat = match (unit.ch.is_alphabetic(), long_runs) {
                (false, _) => 1,
                (true, Some(long)) if unit.run >= 3 => long,
                (true, _) => unit.run.min(64),
            };
            for _ in 0..repeat {
                text.push(unit.ch);
                map.extend(std::iter::repeat_n(i as u32, unit.ch.len_utf8()));
            }
        }
        (text, map)
    }
}

/// Normalises text; reusable and cheap to keep (it holds only scratch buffers).
#[derive(Debug, Default)]
pub struct Normaliser {
    scratch: Vec<Unit>,
}

impl Normaliser {
    /// A normaliser with empty scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalises `original` into a fresh [`Normalised`].
    pub fn normalise(&mut self, original: &str) -> Normalised {
        let mut out = Normalised::default();
        self.normalise_into(original, &mut out);
        out
    }

    /// Normalises `original` into `out`, reusing its buffers.
    pub fn normalise_into(&mut self, original: &str, out: &mut Normalised) {
        let raw = &mut self.scratch;
        raw.clear();
        decode_chars(original, raw);
        resolve_tokens(raw);
        join_separated_letters(raw);
        collapse_runs(raw, &mut out.units);
        out.text.clear();
        out.unit_of_byte.clear();
        for (i, unit) in out.units.iter().enumerate() {
            out.text.push(unit.ch);
            out.unit_of_byte
                .extend(std::iter::repeat_n(i as u32, unit.ch.len_utf8()));
        }
    }
}

/// Pass 1: one or more units per visible original character.
fn decode_chars(original: &str, units: &mut Vec<Unit>) {
    let mut pending = TrickSet::EMPTY;
    let mut marks_on_last = 0u32;
    let mut reversed_from: Option<usize> = None;

    let close_reversal = |units: &mut Vec<Unit>, from: Option<usize>| {
        if let Some(from) = from {
            units[from..].reverse();
            for u in &mut units[from..] {
                u.tricks.insert(Trick::Reversed);
                u.tricks.insert(Trick::Bidi);
            }
        }
    };

    for (start, c) in original.char_indices() {
        let end = start + c.len_utf8();
        if c.is_ascii() {
            if c.is_ascii_control() && !c.is_ascii_whitespace() {
                pending.insert(Trick::ZeroWidth);
                continue;
            }
            if c == '\n' || c == '\r' {
                close_reversal(units, reversed_from.take());
            }
            let mut unit = Unit::new(c.to_ascii_lowercase(), start, end);
            if c.is_ascii_whitespace() {
                unit.ch = ' ';
            }
            unit.tricks = std::mem::take(&mut pending);
            units.push(unit);
            marks_on_last = 0;
            continue;
        }
        match classify(c) {
            Class::RightToLeftOverride => {
                close_reversal(units, reversed_from.take());
                reversed_from = Some(units.len());
                pending.insert(Trick::Bidi);
            }
            Class::PopDirectional => {
                close_reversal(units, reversed_from.take());
                pending.insert(Trick::Bidi);
            }
            Class::Bidi => pending.insert(Trick::Bidi),
            Class::Tag => pending.insert(Trick::TagCharacters),
            Class::Invisible => pending.insert(Trick::ZeroWidth),
            Class::Mark => {
                marks_on_last += 1;
                let trick = if is_strikethrough_mark(c) {
                    Trick::Strikethrough
                } else {
                    Trick::Diacritic
                };
                match units.last_mut() {
                    Some(last) if last.ch != ' ' => {
                        last.end = end as u32;
                        last.tricks.insert(trick);
                        if marks_on_last >= 3 {
                            last.tricks.insert(Trick::Zalgo);
                        }
                    }
                    _ => pending.insert(trick),
                }
            }
            Class::Space => {
                let mut unit = Unit::new(' ', start, end);
                unit.tricks = std::mem::take(&mut pending);
                units.push(unit);
                marks_on_last = 0;
            }
            Class::Visible => {
                if c == '\u{2029}' || c == '\u{2028}' {
                    close_reversal(units, reversed_from.take());
                }
                let mapped = map_char(c);
                for (i, (ch, cased)) in mapped.chars.iter().copied().enumerate() {
                    let mut unit = Unit::new(ch, start, end);
                    unit.cased = cased;
                    if i == 0 {
                        unit.tricks = std::mem::take(&mut pending);
                    }
                    if let Some(trick) = mapped.trick {
                        unit.tricks.insert(trick);
                    }
                    units.push(unit);
                }
                marks_on_last = 0;
            }
        }
    }
    close_reversal(units, reversed_from.take());
}

enum Class {
    RightToLeftOverride,
    PopDirectional,
    Bidi,
    Tag,
    Invisible,
    Mark,
    Space,
    Visible,
}

fn classify(c: char) -> Class {
    match c {
        '\u{202E}' => Class::RightToLeftOverride,
        '\u{202C}' => Class::PopDirectional,
        '\u{202A}'..='\u{202D}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => Class::Bidi,
        '\u{E0000}'..='\u{E007F}' => Class::Tag,
        '\u{200B}'..='\u{200D}'
        | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{180E}'
        | '\u{034F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{E0100}'..='\u{E01EF}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{3164}'
        | '\u{FFA0}' => Class::Invisible,
        _ if is_combining_mark(c) => Class::Mark,
        _ if c.is_whitespace() && c != '\u{2028}' && c != '\u{2029}' => Class::Space,
        _ => match c.general_category() {
            GeneralCategory::Format | GeneralCategory::Control | GeneralCategory::Unassigned => {
                Class::Invisible
            }
            GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark => Class::Mark,
            _ => Class::Visible,
        },
    }
}

fn is_strikethrough_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0334}'..='\u{0338}' | '\u{20D2}' | '\u{20D3}' | '\u{20E5}' | '\u{20EB}'
    )
}

/// What one visible non-ASCII character becomes.
struct Mapped {
    /// (lowercase, as cased) pairs.
    chars: Vec<(char, char)>,
    trick: Option<Trick>,
}

fn map_char(c: char) -> Mapped {
    if let Some(letter) = emoji_letter(c) {
        return Mapped {
            chars: vec![(letter, letter)],
            trick: Some(Trick::EmojiLetter),
        };
    }
    let mut decomposed: Vec<char> = Vec::with_capacity(4);
    decompose_compatible(c, |d| {
        if !is_combining_mark(d) {
            decomposed.push(d);
        }
    });
    let mut trick = None;
    if decomposed.len() != 1 || decomposed[0] != c {
        trick = Some(compatibility_trick(c));
        // Parenthesised and full-stop forms: ⒜ → "(a)", ⒈ → "1."; keep the letter or digit.
        if decomposed.len() > 1 && decomposed.iter().any(|d| d.is_alphanumeric()) {
            let inner: Vec<char> = decomposed
                .iter()
                .copied()
                .filter(|d| *d != '(' && *d != ')')
                .collect();
            if inner.len() == 2 && inner[1] == '.' && inner[0].is_ascii_digit() {
                decomposed = vec![inner[0]];
            } else if trick == Some(Trick::Enclosed) {
                decomposed = inner;
            }
        }
    }
    let mut chars: Vec<(char, char)> = Vec::with_capacity(decomposed.len());
    for d in decomposed {
        for lower in d.to_lowercase() {
            if !is_combining_mark(lower) {
                chars.push((lower, d));
            }
        }
    }
    if chars.is_empty() {
        chars.push((c, c));
    }
    // Look-alike letters from other scripts are resolved per token by `resolve_tokens`.
    Mapped { chars, trick }
}

/// The Latin letter or digit a non-ASCII character looks like, and whether the mapping is weak
/// (applied only in tokens that also contain ASCII letters).
///
/// Strong mappings come from the UTS #39 confusables table (via `unicode-security`); a short
/// supplemental table adds lowercase Cyrillic and Greek letters and small capitals that are used
/// as look-alikes in evasion but are not in UTS #39 because they are not confusable in every
/// font (`ц` for `u`, `п` for `n`). Those are weak, so genuine Cyrillic or Greek words stay as
/// they are.
pub fn confusable_latin(c: char) -> Option<(char, bool)> {
    if let Some(latin) = small_capital(c) {
        return Some((latin, false));
    }
    if let Some(latin) = supplemental_confusable(c) {
        return Some((latin, true));
    }
    let mut buf = [0u8; 4];
    let mut skeleton = unicode_security::confusable_detection::skeleton(c.encode_utf8(&mut buf));
    let first = skeleton.next()?;
    if skeleton.next().is_some() || !first.is_ascii_alphanumeric() {
        return None;
    }
    // UTS #39 folds I-like capitals (Greek Ι, Cyrillic І) to `l`; as capitals they read as `i`.
    if first == 'l' && c.is_uppercase() {
        return Some(('i', false));
    }
    Some((first.to_ascii_lowercase(), false))
}

fn supplemental_confusable(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic lowercase forms used as Latin look-alikes.
        'ц' | 'и' | 'џ' => 'u',
        'п' | 'л' => 'n',
        'т' => 't',
        'к' | 'ќ' => 'k',
        'м' => 'm',
        'н' => 'h',
        'г' | 'я' => 'r',
        'ш' | 'щ' => 'w',
        'в' | 'ь' | 'ъ' => 'b',
        'д' => 'd',
        'ф' => 'f',
        'з' | 'э' => 'e',
        'б' => '6',
        // Greek lowercase.
        'ν' => 'v',
        'ι' | 'ί' => 'i',
        'κ' => 'k',
        'τ' => 't',
        'ρ' => 'p',
        'ω' => 'w',
        'η' => 'n',
        'μ' => 'u',
        'α' | 'ά' => 'a',
        'ε' | 'έ' => 'e',
        'ο' | 'ό' => 'o',
        'β' => 'b',
        'χ' => 'x',
        'γ' => 'y',
        'λ' => 'a',
        'σ' | 'ς' => 'o',
        _ => return None,
    })
}

/// Latin small capitals: Latin script already, so always mapped.
fn small_capital(c: char) -> Option<char> {
    Some(match c {
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ꜰ' => 'f',
        'ɢ' => 'g',
        'ʜ' => 'h',
        'ɪ' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ǫ' => 'q',
        'ʀ' => 'r',
        'ꜱ' => 's',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        _ => return None,
    })
}

/// Emoji and symbols commonly typed in place of letters.
fn emoji_letter(c: char) -> Option<char> {
    let offset = |base: u32| char::from_u32('a' as u32 + (c as u32 - base));
    match c as u32 {
        0x1F1E6..=0x1F1FF => offset(0x1F1E6), // regional indicators 🇦–🇿
        0x1F150..=0x1F169 => offset(0x1F150), // negative circled 🅐–🅩
        0x1F170..=0x1F189 => offset(0x1F170), // negative squared 🅰–🆉
        0x1F130..=0x1F149 => offset(0x1F130), // squared 🄰–🅉
        _ => match c {
            '©' | '¢' | '☪' => Some('c'),
            '®' => Some('r'),
            '⭕' | '⭘' | '○' | '◯' | '⚪' | '🔴' | '⚫' | '🅾' | '⊙' | '◎' | '💿' | '📀' => {
                Some('o')
            }
            '❌' | '✖' | '✗' | '✘' | '❎' | '⨯' => Some('x'),
            '💲' | '§' => Some('s'),
            '€' | '℮' => Some('e'),
            '¥' => Some('y'),
            '∩' => Some('n'),
            '∪' => Some('u'),
            '†' | '✝' => Some('t'),
            '♡' | '❤' => None,
            'ℹ' => Some('i'),
            'Ⓜ' => Some('m'),
            _ => None,
        },
    }
}

fn compatibility_trick(c: char) -> Trick {
    match c as u32 {
        0xFF01..=0xFF5E => Trick::Fullwidth,
        0x1D400..=0x1D7FF => Trick::MathAlphanumeric,
        0x2460..=0x24FF | 0x3200..=0x32FF | 0x1F100..=0x1F1FF => Trick::Enclosed,
        _ => {
            let mut canonical_differs = false;
            decompose_canonical(c, |d| canonical_differs |= d != c);
            if canonical_differs {
                Trick::Diacritic
            } else {
                Trick::Compatibility
            }
        }
    }
}

/// Pass 2: per whitespace-delimited token, apply confusables and leetspeak where the token's
/// context makes them evasion rather than ordinary writing.
fn resolve_tokens(units: &mut [Unit]) {
    let mut start = 0;
    while start < units.len() {
        if units[start].ch == ' ' {
            start += 1;
            continue;
        }
        let end = units[start..]
            .iter()
            .position(|u| u.ch == ' ')
            .map_or(units.len(), |p| start + p);
        resolve_token(&mut units[start..end]);
        start = end;
    }
}

fn resolve_token(token: &mut [Unit]) {
    let has_ascii_letter = token.iter().any(|u| u.ch.is_ascii_lowercase());
    let (mut strong, mut weak, mut without) = (0usize, 0usize, 0usize);
    for u in token.iter() {
        if u.ch.is_ascii() || !u.ch.is_alphabetic() {
            continue;
        }
        match lookalike(u) {
            Some((_, false)) => strong += 1,
            Some((_, true)) => weak += 1,
            None => without += 1,
        }
    }
    // Mixed-script tokens (`fцck`) are evasion; a token made only of look-alikes (`ѕһіт`) is a
    // whole-script spoof when at least three in four of its letters are UTS #39 confusables
    // (the rest from the supplemental table). Anything else is a
    // word of another script and stays as written.
    let apply_confusables = if has_ascii_letter {
        strong + weak > 0
    } else {
        without == 0 && strong > 0 && strong >= 3 * weak
    };
    if apply_confusables {
        for u in token.iter_mut() {
            if u.ch.is_ascii() {
                continue;
            }
            if let Some((latin, _)) = lookalike(u) {
                u.ch = latin;
                u.tricks.insert(Trick::Confusable);
            }
        }
    }
    undo_leet(token);
}

/// The Latin look-alike of a unit, judged on its cased form first (`Η` → `h`), then lowercase.
fn lookalike(unit: &Unit) -> Option<(char, bool)> {
    if unit.cased != unit.ch {
        if let Some(found) = confusable_latin(unit.cased) {
            return Some(found);
        }
    }
    confusable_latin(unit.ch)
}

/// Digits and symbols read as letters, in a token that has at least one letter.
fn undo_leet(token: &mut [Unit]) {
    if !token.iter().any(|u| u.ch.is_ascii_lowercase()) {
        return; // all-digit and symbol-only tokens (prices, years, phone numbers) stay as written
    }
    if !token.iter().any(|u| leet_letter(u.ch).is_some()) {
        return;
    }
    // Decide on the original characters first, then rewrite, so decisions don't cascade.
    let original: Vec<char> = token.iter().map(|u| u.ch).collect();
    let letterish = |i: usize| -> bool {
        original
            .get(i)
            .is_some_and(|c| c.is_ascii_lowercase() || leet_letter(*c).is_some())
    };
    let alphanumeric =
        |i: usize| -> bool { original.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) };
    for i in 0..token.len() {
        let c = original[i];
        let Some(letter) = leet_letter(c) else {
            continue;
        };
        let before = i > 0 && letterish(i - 1);
        let after = letterish(i + 1);
        let convert = match c {
            // Digits, `@` and `$` read as letters next to letters or other leet characters.
            '0'..='9' | '@' | '$' => before || after,
            // Punctuation reads as a letter only inside a word: `b!tch`, not `hello!`.
            _ => i > 0 && alphanumeric(i - 1) && alphanumeric(i + 1),
        };
        if convert {
            token[i].ch = letter;
            token[i].tricks.insert(Trick::Leet);
        }
    }
}

fn leet_letter(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '¡' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        '|' => 'l',
        '(' => 'c',
        _ => return None,
    })
}

/// Pass 3: join `f.u.c.k` and `f u c k` into `fuck`.
fn join_separated_letters(units: &mut Vec<Unit>) {
    let n = units.len();
    if n < 5 {
        return;
    }
    let is_letter = |u: &Unit| u.ch.is_alphabetic();
    let is_sep = |u: &Unit| u.ch == ' ' || (u.ch.is_ascii_punctuation() && u.ch != '\'');
    let single = |units: &[Unit], i: usize| -> bool {
        is_letter(&units[i])
            && (i == 0 || !units[i - 1].is_word())
            && (i + 1 == units.len() || !units[i + 1].is_word())
    };

    let mut remove = vec![false; n];
    let mut any = false;
    let mut i = 0;
    while i < n {
        if !single(units, i) {
            i += 1;
            continue;
        }
        // Extend a chain of single letters separated by 1..=3 separators.
        let mut letters = vec![i];
        let mut j = i;
        loop {
            let mut k = j + 1;
            while k < n && k - j <= 3 && is_sep(&units[k]) {
                k += 1;
            }
            if k < n && k > j + 1 && k - j <= 4 && single(units, k) {
                letters.push(k);
                j = k;
            } else {
                break;
            }
        }
        if letters.len() >= 3 {
            any = true;
            for w in letters.windows(2) {
                for r in remove.iter_mut().take(w[1]).skip(w[0] + 1) {
                    *r = true;
                }
            }
            for (pos, &l) in letters.iter().enumerate() {
                units[l].flags |= SOFT_BOUNDARY;
                if pos > 0 {
                    units[l].tricks.insert(Trick::Separator);
                }
            }
        }
        i = j + 1;
    }
    if !any {
        return;
    }
    let mut idx = 0;
    units.retain(|_| {
        let keep = !remove[idx];
        idx += 1;
        keep
    });
}

/// Pass 4: collapse runs of the same letter and of whitespace.
fn collapse_runs(raw: &[Unit], out: &mut Vec<Unit>) {
    out.clear();
    for unit in raw {
        if let Some(last) = out.last_mut() {
            let same_letter = last.ch == unit.ch && unit.ch.is_alphabetic();
            let both_space = last.ch == ' ' && unit.ch == ' ';
            if same_letter || both_space {
                last.start = last.start.min(unit.start);
                last.end = last.end.max(unit.end);
                if same_letter {
                    last.run += 1;
                }
                last.tricks = last.tricks.union(unit.tricks);
                last.flags |= unit.flags;
                continue;
            }
        }
        out.push(*unit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Normaliser::new().normalise(s).text().to_owned()
    }

    fn tricks(s: &str) -> Vec<Trick> {
        let n = Normaliser::new().normalise(s);
        n.tricks(0, n.units().len()).to_vec()
    }

    #[test]
    fn evasions_are_undone() {
        let rows: &[(&str, &str, &[Trick])] = &[
            ("FUCK", "fuck", &[]),
            ("ｆｕｃｋ", "fuck", &[Trick::Fullwidth]),
            ("𝐟𝐮𝐜𝐤", "fuck", &[Trick::MathAlphanumeric]),
            ("ⓕⓤⓒⓚ", "fuck", &[Trick::Enclosed]),
            ("⒡⒰⒞⒦", "fuck", &[Trick::Enclosed]),
            ("ꜰᴜᴄᴋ", "fuck", &[Trick::Confusable]),
            ("fцck", "fuck", &[Trick::Confusable]),
            ("fսck", "fuck", &[Trick::Confusable]),
            ("ΒΙΤCΗ", "bitch", &[Trick::Confusable]),
            ("ЅΗΙΤ", "shit", &[Trick::Confusable]),
            ("fuсk", "fuck", &[Trick::Confusable]),
            ("ѕһіт", "shit", &[Trick::Confusable]),
            ("f\u{200B}uck", "fuck", &[Trick::ZeroWidth]),
            ("f\u{00AD}u\u{2060}c\u{FEFF}k", "fuck", &[Trick::ZeroWidth]),
            (
                "\u{202E}kcuf\u{202C}",
                "fuck",
                &[Trick::Bidi, Trick::Reversed],
            ),
            ("f\u{E0041}uck", "fuck", &[Trick::TagCharacters]),
            ("fück", "fuck", &[Trick::Diacritic]),
            ("fu\u{0336}ck", "fuck", &[Trick::Strikethrough]),
            (
                "f\u{0301}\u{0302}\u{0303}uck",
                "fuck",
                &[Trick::Diacritic, Trick::Zalgo],
            ),
            ("$h1t", "shit", &[Trick::Leet]),
            ("b!7ch", "bitch", &[Trick::Leet]),
            ("@ss", "as", &[Trick::Leet]),
            ("fuuuuck", "fuck", &[]),
            ("f.u.c.k", "fuck", &[Trick::Separator]),
            ("f u c k", "fuck", &[Trick::Separator]),
            ("f-u-c-k", "fuck", &[Trick::Separator]),
            ("f_u_c_k", "fuck", &[Trick::Separator]),
            ("🇫🇺🇨🇰", "fuck", &[Trick::EmojiLetter]),
            ("🅵🆄🅲🅺", "fuck", &[Trick::EmojiLetter]),
            ("fu©k", "fuck", &[Trick::EmojiLetter]),
            ("ˢʰᶦᵗ", "shit", &[Trick::Compatibility]),
        ];
        for (input, expected, expected_tricks) in rows {
            assert_eq!(&canon(input), expected, "canonical form of {input:?}");
            let got = tricks(input);
            for t in *expected_tricks {
                assert!(
                    got.contains(t),
                    "{input:?}: expected trick {t:?}, got {got:?}"
                );
            }
        }
    }

    #[test]
    fn ordinary_writing_is_left_alone() {
        let rows = [
            ("It costs $100 in 2024", "it costs $100 in 2024"),
            ("call 555-0100 now!", "cal 555-0100 now!"),
            ("as sure as", "as sure as"),
            ("grass hopper", "gras hoper"),
            ("hello!!", "helo!!"),
            ("Москва", "москва"),
            ("Ελλάδα", "ελαδα"),
            ("東京タワー", "東京タワー"),
            ("a  \t\n b", "a b"),
        ];
        for (input, expected) in rows {
            assert_eq!(canon(input), expected, "canonical form of {input:?}");
        }
    }

    #[test]
    fn repetition_is_recorded_per_unit() {
        let n = Normaliser::new().normalise("fuuuuck ass");
        let runs: Vec<(char, u32)> = n.units().iter().map(|u| (u.ch, u.run)).collect();
        assert_eq!(
            runs,
            vec![
                ('f', 1),
                ('u', 4),
                ('c', 1),
                ('k', 1),
                (' ', 1),
                ('a', 1),
                ('s', 2)
            ]
        );
    }

    #[test]
    fn units_map_back_to_original_bytes() {
        let original = "x f\u{200B}ü©k";
        let n = Normaliser::new().normalise(original);
        assert_eq!(n.text(), "x fuck");
        let span = n.original_span(2, 6);
        assert_eq!(&original[span.start..span.end], "f\u{200B}ü©k");
    }

    #[test]
    fn reversed_text_maps_to_its_whole_original_range() {
        let original = "ok \u{202E}kcuf\u{202C} ok";
        let n = Normaliser::new().normalise(original);
        let at = n.text().find("fuck").unwrap();
        let first = n.unit_at(at);
        let span = n.original_span(first, first + 4);
        assert_eq!(&original[span.start..span.end], "kcuf");
    }

    #[test]
    fn separator_joined_letters_are_soft_boundaries() {
        let n = Normaliser::new().normalise("u r a b i t c h");
        assert_eq!(n.text(), "urabitch");
        assert!(n.units().iter().all(|u| u.is_soft_boundary()));
    }

    #[test]
    fn many_combining_marks_stay_linear_and_bounded() {
        let text = format!("a{}b", "\u{0301}".repeat(100_000));
        let n = Normaliser::new().normalise(&text);
        assert_eq!(n.text(), "ab");
        assert_eq!(n.original_span(0, 1), ByteSpan::new(0, 1 + 200_000));
    }

    #[test]
    fn expanded_form_keeps_repetition() {
        let n = Normaliser::new().normalise("fuuuck");
        let (text, map) = n.expanded();
        assert_eq!(text, "fuuuck");
        assert_eq!(map, vec![0, 1, 1, 1, 2, 3]);
    }

    #[test]
    fn long_runs_can_be_written_short() {
        let n = Normaliser::new().normalise("biiiitch asssss too");
        assert!(n.has_long_runs());
        assert_eq!(n.expanded_with_long_runs(Some(1)).0, "bitch as too");
        let (text, map) = n.expanded_with_long_runs(Some(2));
        assert_eq!(text, "biitch ass too");
        assert_eq!(map.len(), text.len());
        assert_eq!(
            map[text.find("ass").unwrap() + 2],
            map[text.find("ass").unwrap() + 1]
        );
        assert!(!Normaliser::new().normalise("too good").has_long_runs());
    }
}
