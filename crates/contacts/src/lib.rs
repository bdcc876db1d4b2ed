//! PII and ads detectors for text: e-mail addresses, phone numbers, payment cards, IBANs, IP
//! addresses, messenger handles (PII), and URLs, domains, handles and phone numbers offered with a
//! call to action (ads). Every finding carries a byte span into the original text.
//!
//! Built on maintained crates where one exists for the job: `linkify` finds URLs and e-mail
//! addresses, `phonenumber` (a port of Google's libphonenumber) validates phone numbers. Luhn,
//! IBAN mod-97 and the candidate scanners are small and written here.
//!
//! Not for: deciding. Scores are fixed per finding type and the policy sets the thresholds:
//!
//! | finding | label | score |
//! |---|---|---|
//! | payment card (Luhn + known prefix) | `pii` | 0.95 |
//! | IBAN (mod-97) | `pii` | 0.90 |
//! | e-mail address | `pii` | 0.70 |
//! | phone number (libphonenumber-valid) | `pii` | 0.70 |
//! | messenger handle (`telegram @x`, `t.me/x`) | `pii` / `ads` | 0.60 / 0.70 |
//! | IPv4 / IPv6 address | `pii` | 0.40 |
//! | phone number next to a call to action | `ads` | 0.60 |
//! | URL | `ads` | 0.55 |
//! | bare domain | `ads` | 0.45 |
//!
//! Work per message is linear: each scanner looks at bounded candidates, and at most
//! [`MAX_FINDINGS_PER_KIND`] findings of each kind are kept.

use std::net::{Ipv4Addr, Ipv6Addr};

use linkify::{LinkFinder, LinkKind};
use rampart_types::{ByteSpan, Evidence, EvidenceKind, Label, Signal};

/// At most this many findings of one kind are reported per message.
pub const MAX_FINDINGS_PER_KIND: usize = 50;

/// Per-tenant settings of the detectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactOptions {
    /// ISO 3166 alpha-2 region for numbers written without a country code (`GB`, `US`). `None`
    /// accepts only numbers written with `+` or `00` and a country code.
    pub default_region: Option<String>,
    /// Hosts (and their subdomains) whose URLs do not count as ads.
    pub allowed_domains: Vec<String>,
}

/// The detectors; build once and share (`Send + Sync`).
#[derive(Debug)]
pub struct ContactDetector {
    links: LinkFinder,
}

impl Default for ContactDetector {
    fn default() -> Self {
        Self::new()
    }
}

const CALL_TO_ACTION: &[&str] = &[
    "call", "text", "txt", "whatsapp", "dm", "contact", "sms", "ring", "phone", "tel", "mob",
];
const MESSENGERS: &[&str] = &[
    "telegram",
    "tg",
    "whatsapp",
    "wa",
    "snap",
    "snapchat",
    "kik",
    "discord",
    "signal",
    "wechat",
    "line",
    "insta",
    "ig",
    "instagram",
    "viber",
    "skype",
];
/// Two-letter TLDs that are more often file extensions in chat (`main.rs`, `notes.md`).
const FILE_LIKE_TLDS: &[&str] = &[
    "rs", "py", "md", "sh", "pl", "ps", "mk", "so", "js", "ts", "cc", "hh", "in", "am", "pm", "st",
    "it", "me", "is", "at", "to", "us", "no", "do", "be", "go", "my", "tv",
];
const COMMON_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "app", "dev", "xyz", "online", "site", "shop",
    "store", "club", "top", "live", "win", "vip", "link", "click", "porn", "sex", "xxx", "cam",
    "ly", "gl", "gg", "ru", "cn", "uk", "de", "fr", "es", "nl", "pl", "br", "au", "ca", "eu",
    "example", "test", "invalid", "edu", "gov", "mil", "tk", "ml", "ga", "cf", "bet", "casino",
    "loan", "money", "finance", "crypto", "me", "tv", "us", "to", "cc", "in", "it", "be", "at",
];

impl ContactDetector {
    /// A detector with its URL finder configured for scheme-less links.
    pub fn new() -> Self {
        let mut links = LinkFinder::new();
        links.url_must_have_scheme(false);
        links.kinds(&[LinkKind::Url, LinkKind::Email]);
        ContactDetector { links }
    }

    /// Every PII and ads finding in `text`.
    pub fn detect(&self, text: &str, options: &ContactOptions) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut taken: Vec<ByteSpan> = Vec::new();
        let bytes = text.as_bytes();
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        let has_dot_or_at = bytes.iter().any(|&b| b == b'.' || b == b'@' || b == b':');

        if has_dot_or_at {
            self.links_and_emails(text, options, &mut out, &mut taken);
        }
        if has_digit {
            cards(text, &mut out, &mut taken);
            ibans(text, &mut out, &mut taken);
            ip_addresses(text, &mut out, &mut taken);
            phones(text, options, &mut out, &mut taken);
        }
        handles(text, &mut out, &taken);
        out
    }

    fn links_and_emails(
        &self,
        text: &str,
        options: &ContactOptions,
        out: &mut Vec<Signal>,
        taken: &mut Vec<ByteSpan>,
    ) {
        let (mut urls, mut emails) = (0, 0);
        for link in self.links.links(text) {
            let span = ByteSpan::new(link.start(), link.end());
            match link.kind() {
                LinkKind::Email if emails < MAX_FINDINGS_PER_KIND => {
                    emails += 1;
                    taken.push(span);
                    out.push(signal(
                        text,
                        Label::Pii,
                        0.70,
                        EvidenceKind::Pii,
                        "email",
                        span,
                    ));
                }
                LinkKind::Url if urls < MAX_FINDINGS_PER_KIND => {
                    let raw = link.as_str();
                    let Some(host) = host_of(raw) else { continue };
                    let has_scheme = raw.contains("://");
                    if !has_scheme && !plausible_bare_domain(&host) {
                        continue;
                    }
                    taken.push(span);
                    urls += 1;
                    if is_messenger_link(&host) {
                        out.push(signal(
                            text,
                            Label::Pii,
                            0.60,
                            EvidenceKind::Pii,
                            "handle",
                            span,
                        ));
                        out.push(signal(
                            text,
                            Label::Ads,
                            0.70,
                            EvidenceKind::Url,
                            "handle",
                            span,
                        ));
                        continue;
                    }
                    if allowed(&host, &options.allowed_domains) {
                        continue;
                    }
                    let bare = !has_scheme && !host.starts_with("www.") && !raw.contains('/');
                    let (score, detail) = if bare {
                        (0.45, "domain")
                    } else {
                        (0.55, "url")
                    };
                    out.push(signal(
                        text,
                        Label::Ads,
                        score,
                        EvidenceKind::Url,
                        detail,
                        span,
                    ));
                }
                _ => {}
            }
        }
    }
}

fn signal(
    text: &str,
    label: Label,
    score: f32,
    kind: EvidenceKind,
    detail: &str,
    span: ByteSpan,
) -> Signal {
    let mut evidence = Evidence::new(kind).with_span(text, span);
    evidence.detail = Some(detail.to_owned());
    Signal {
        label,
        score,
        evidence,
        floor: None,
        ceiling: None,
    }
}

/// The lowercase host of a URL with or without scheme.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let host = host.trim_end_matches('.').to_lowercase();
    (!host.is_empty()).then_some(host)
}

fn plausible_bare_domain(host: &str) -> bool {
    let Some((name, tld)) = host.rsplit_once('.') else {
        return false;
    };
    if name.is_empty()
        || tld.len() < 2
        || !tld.bytes().all(|b| b.is_ascii_alphabetic()) && !tld.starts_with("xn--")
    {
        return false;
    }
    if host.starts_with("www.") {
        return true;
    }
    if FILE_LIKE_TLDS.contains(&tld) && !name.contains('.') {
        return false;
    }
    COMMON_TLDS.contains(&tld)
        || tld.starts_with("xn--")
        || (tld.len() == 2 && !FILE_LIKE_TLDS.contains(&tld))
}

fn is_messenger_link(host: &str) -> bool {
    matches!(
        host,
        "t.me"
            | "telegram.me"
            | "wa.me"
            | "chat.whatsapp.com"
            | "discord.gg"
            | "snapchat.com"
            | "kik.me"
    )
}

fn allowed(host: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        let a = a.trim().trim_start_matches("*.").to_lowercase();
        host == a || host.strip_suffix(&a).is_some_and(|p| p.ends_with('.'))
    })
}

fn overlaps_taken(taken: &[ByteSpan], span: ByteSpan) -> bool {
    taken.iter().any(|t| t.overlaps(&span))
}

/// Runs of digits with single separators from `seps`, not touching other letters or digits.
/// Returns (span, digits) for runs of `min..=max` digits.
fn digit_runs(
    text: &str,
    seps: &[u8],
    min: usize,
    max: usize,
    allow_plus: bool,
) -> Vec<(ByteSpan, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            || (allow_plus && bytes[i] == b'+' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            || (allow_plus && bytes[i] == b'(' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        let boundary_before = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'.' && i >= 2 && bytes[i - 2].is_ascii_digit());
        if !starts || !boundary_before {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        let mut end = i;
        let mut j = i;
        let mut too_long = false;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(b as char);
                j += 1;
                end = j;
                if digits.len() > max {
                    too_long = true;
                }
            } else if (b == b'+' && j == start) || b == b'(' || b == b')' || seps.contains(&b) {
                // A separator counts only when a digit (or an opening bracket) follows soon.
                let next_digit = bytes[j + 1..].iter().take(2).any(u8::is_ascii_digit);
                if !next_digit {
                    break;
                }
                j += 1;
            } else {
                break;
            }
        }
        let boundary_after = end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if !too_long && boundary_after && (min..=max).contains(&digits.len()) {
            out.push((ByteSpan::new(start, end), digits));
        }
        i = j.max(i + 1);
        // Skip the rest of an over-long digit run so work stays linear.
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    out
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

fn known_card_prefix(digits: &str) -> bool {
    let p2: u32 = digits[..2].parse().unwrap_or(0);
    let p4: u32 = digits[..4].parse().unwrap_or(0);
    let len = digits.len();
    digits.starts_with('4') && matches!(len, 13 | 16 | 19)
        || (51..=55).contains(&p2) && len == 16
        || (2221..=2720).contains(&p4) && len == 16
        || (p2 == 34 || p2 == 37) && len == 15
        || (p4 == 6011 || p2 == 65) && (16..=19).contains(&len)
        || (3528..=3589).contains(&p4) && (16..=19).contains(&len)
        || (p2 == 36 || p2 == 38 || p2 == 30) && (14..=19).contains(&len)
}

fn cards(text: &str, out: &mut Vec<Signal>, taken: &mut Vec<ByteSpan>) {
    let mut found = 0;
    for (span, digits) in digit_runs(text, b" -", 13, 19, false) {
        if found >= MAX_FINDINGS_PER_KIND {
            break;
        }
        if luhn(&digits) && known_card_prefix(&digits) {
            found += 1;
            taken.push(span);
            out.push(signal(
                text,
                Label::Pii,
                0.95,
                EvidenceKind::Pii,
                "card",
                span,
            ));
        }
    }
}

/// IBAN lengths per country (ISO 13616 registry) for the countries most seen.
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AD" => 24,
        "AT" => 20,
        "BE" => 16,
        "BG" => 22,
        "CH" => 21,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "EE" => 20,
        "ES" => 24,
        "FI" => 18,
        "FR" => 27,
        "GB" => 22,
        "GR" => 27,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IS" => 26,
        "IT" => 27,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "MC" => 27,
        "MT" => 31,
        "NL" => 18,
        "NO" => 15,
        "PL" => 28,
        "PT" => 25,
        "RO" => 24,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "TR" => 26,
        "UA" => 29,
        "AE" => 23,
        "SA" => 24,
        "IL" => 23,
        "BR" => 29,
        _ => return None,
    })
}

fn iban_checksum_ok(iban: &str) -> bool {
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut remainder: u32 = 0;
    for b in rearranged {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

fn ibans(text: &str, out: &mut Vec<Signal>, taken: &mut Vec<ByteSpan>) {
    let bytes = text.as_bytes();
    let mut found = 0;
    let mut i = 0;
    while i + 4 <= bytes.len() && found < MAX_FINDINGS_PER_KIND {
        let head = &bytes[i..i + 4];
        let starts = head[0].is_ascii_uppercase()
            && head[1].is_ascii_uppercase()
            && head[2].is_ascii_digit()
            && head[3].is_ascii_digit()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let Some(expected) = std::str::from_utf8(&head[..2]).ok().and_then(iban_length) else {
            i += 1;
            continue;
        };
        let mut compact = String::with_capacity(34);
        let mut j = i;
        while j < bytes.len() && compact.len() < expected {
            let b = bytes[j];
            if b.is_ascii_alphanumeric() {
                compact.push(b.to_ascii_uppercase() as char);
            } else if b != b' ' || !bytes.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) {
                break;
            }
            j += 1;
        }
        let boundary_after = j >= bytes.len() || !bytes[j].is_ascii_alphanumeric();
        if compact.len() == expected && boundary_after && iban_checksum_ok(&compact) {
            let span = ByteSpan::new(i, j);
            if !overlaps_taken(taken, span) {
                found += 1;
                taken.push(span);
                out.push(signal(
                    text,
                    Label::Pii,
                    0.90,
                    EvidenceKind::Pii,
                    "iban",
                    span,
                ));
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

fn ip_addresses(text: &str, out: &mut Vec<Signal>, taken: &mut Vec<ByteSpan>) {
    let mut found = 0;
    let mut offset = 0;
    for token in text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '(' | ')' | '[' | ']' | '<' | '>' | '"' | '\''
            )
    }) {
        let start = offset;
        offset += token.len() + 1;
        if found >= MAX_FINDINGS_PER_KIND || token.len() < 3 || token.len() > 45 {
            continue;
        }
        let trimmed = token.trim_end_matches(['.', ':', '!', '?']);
        let (kind, ok) = if trimmed.parse::<Ipv4Addr>().is_ok() {
            ("ipv4", true)
        } else if trimmed.matches(':').count() >= 2 && trimmed.parse::<Ipv6Addr>().is_ok() {
            ("ipv6", true)
        } else {
            ("", false)
        };
        if !ok {
            continue;
        }
        let span = ByteSpan::new(start, start + trimmed.len());
        if overlaps_taken(taken, span) {
            continue;
        }
        found += 1;
        taken.push(span);
        out.push(signal(
            text,
            Label::Pii,
            0.40,
            EvidenceKind::Pii,
            kind,
            span,
        ));
    }
}

fn phones(text: &str, options: &ContactOptions, out: &mut Vec<Signal>, taken: &mut Vec<ByteSpan>) {
    let region: Option<phonenumber::country::Id> = options
        .default_region
        .as_deref()
        .and_then(|r| r.to_ascii_uppercase().parse().ok());
    let lower = text.to_lowercase();
    let call_to_action = lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| CALL_TO_ACTION.contains(&w));
    let bytes = text.as_bytes();
    let mut found = 0;
    for (span, digits) in digit_runs(text, b" -.", 7, 15, true) {
        if found >= MAX_FINDINGS_PER_KIND {
            break;
        }
        if overlaps_taken(taken, span) {
            continue;
        }
        let before = text[..span.start].trim_end();
        if before.ends_with(['$', '£', '€', '¥', '#'])
            || span.start > 0 && bytes[span.start - 1] == b'/'
        {
            continue;
        }
        let candidate = &text[span.start..span.end];
        if looks_like_date(candidate) {
            continue;
        }
        let international = candidate.starts_with('+') || digits.starts_with("00");
        let parsed = if international {
            let normalised = if let Some(rest) = digits.strip_prefix("00") {
                format!("+{rest}")
            } else {
                candidate.to_owned()
            };
            phonenumber::parse(None, normalised)
        } else if let Some(region) = region {
            phonenumber::parse(Some(region), candidate)
        } else {
            continue;
        };
        let Ok(number) = parsed else { continue };
        if !phonenumber::is_valid(&number) {
            continue;
        }
        found += 1;
        taken.push(span);
        out.push(signal(
            text,
            Label::Pii,
            0.70,
            EvidenceKind::Pii,
            "phone",
            span,
        ));
        if call_to_action {
            out.push(signal(
                text,
                Label::Ads,
                0.60,
                EvidenceKind::Pii,
                "phone",
                span,
            ));
        }
    }
}

fn looks_like_date(candidate: &str) -> bool {
    let parts: Vec<&str> = candidate.split(['-', '.', ' ']).collect();
    parts.len() == 3
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && (parts[0].len() == 4 && parts[1].len() <= 2 && parts[2].len() <= 2
            || parts[0].len() <= 2 && parts[1].len() <= 2 && parts[2].len() == 4)
}

/// `@name` or a handle-like word right after a messenger name (`telegram @deals`, `snap: x_22`).
fn handles(text: &str, out: &mut Vec<Signal>, taken: &[ByteSpan]) {
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for token in text.split(char::is_whitespace) {
        if !token.is_empty() {
            tokens.push((offset, token));
        }
        offset += token.len() + 1;
        if tokens.len() > 100_000 {
            break;
        }
    }
    let mut found = 0;
    for (i, (_, token)) in tokens.iter().enumerate() {
        if found >= MAX_FINDINGS_PER_KIND {
            break;
        }
        let word = token
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if !MESSENGERS.contains(&word.as_str()) {
            continue;
        }
        for &(start, candidate) in tokens.iter().skip(i + 1).take(3) {
            let bare = candidate.trim_end_matches(['.', ',', '!', '?', ')']);
            let lower = bare.to_lowercase();
            if matches!(
                lower.as_str(),
                "me" | "on" | "at" | "my" | "is" | "add" | "@" | ":" | "-" | "id" | "handle"
            ) {
                continue;
            }
            let name = bare.strip_prefix('@').unwrap_or(bare);
            let handle_like = (3..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                && (bare.starts_with('@') || name.bytes().any(|b| b.is_ascii_digit() || b == b'_'));
            if handle_like {
                let span = ByteSpan::new(start, start + bare.len());
                if !overlaps_taken(taken, span) {
                    found += 1;
                    out.push(signal(
                        text,
                        Label::Pii,
                        0.60,
                        EvidenceKind::Pii,
                        "handle",
                        span,
                    ));
                    out.push(signal(
                        text,
                        Label::Ads,
                        0.70,
                        EvidenceKind::Pii,
                        "handle",
                        span,
                    ));
                }
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (label, detail, matched)
    type Finding = (String, String, String);

    fn found(text: &str, options: &ContactOptions) -> Vec<Finding> {
        let mut v: Vec<Finding> = ContactDetector::new()
            .detect(text, options)
            .into_iter()
            .map(|s| {
                (
                    s.label.to_string(),
                    s.evidence.detail.unwrap_or_default(),
                    s.evidence.matched.unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    }

    fn row(label: &str, detail: &str, matched: &str) -> Finding {
        (label.into(), detail.into(), matched.into())
    }

    #[test]
    fn findings_read_like_the_spec() {
        let gb = ContactOptions {
            default_region: Some("GB".into()),
            ..ContactOptions::default()
        };
        let none = ContactOptions::default();
        let cases: Vec<(&str, &ContactOptions, Vec<Finding>)> = vec![
            (
                "mail me at jane.doe@example.com",
                &none,
                vec![row("pii", "email", "jane.doe@example.com")],
            ),
            (
                "my number is +44 20 7946 0018 later",
                &none,
                vec![row("pii", "phone", "+44 20 7946 0018")],
            ),
            (
                "call +44 20 7946 0018 now",
                &none,
                vec![
                    row("ads", "phone", "+44 20 7946 0018"),
                    row("pii", "phone", "+44 20 7946 0018"),
                ],
            ),
            (
                "Call 09061701461 to claim",
                &gb,
                vec![
                    row("ads", "phone", "09061701461"),
                    row("pii", "phone", "09061701461"),
                ],
            ),
            ("it cost $1999 in 2024", &gb, vec![]),
            ("on 2024-01-15 at 10:30", &gb, vec![]),
            (
                "card 4111 1111 1111 1111 thanks",
                &none,
                vec![row("pii", "card", "4111 1111 1111 1111")],
            ),
            ("card 4111 1111 1111 1112 thanks", &none, vec![]),
            (
                "pay DE89 3704 0044 0532 0130 00 today",
                &none,
                vec![row("pii", "iban", "DE89 3704 0044 0532 0130 00")],
            ),
            ("pay DE89 3704 0044 0532 0130 01 today", &none, vec![]),
            (
                "server 192.168.1.20 is down",
                &none,
                vec![row("pii", "ipv4", "192.168.1.20")],
            ),
            ("version 1.2.3 is out", &none, vec![]),
            (
                "see www.spam.example",
                &none,
                vec![row("ads", "url", "www.spam.example")],
            ),
            (
                "buy at cheap-pills.com now",
                &none,
                vec![row("ads", "domain", "cheap-pills.com")],
            ),
            ("open main.rs and report.pdf, e.g. this", &none, vec![]),
            ("RT @user: hello", &none, vec![]),
            (
                "add me on telegram @cheapdeals",
                &none,
                vec![
                    row("ads", "handle", "@cheapdeals"),
                    row("pii", "handle", "@cheapdeals"),
                ],
            ),
            (
                "snap: hot_girl22",
                &none,
                vec![
                    row("ads", "handle", "hot_girl22"),
                    row("pii", "handle", "hot_girl22"),
                ],
            ),
            (
                "join https://t.me/deals",
                &none,
                vec![
                    row("ads", "handle", "https://t.me/deals"),
                    row("pii", "handle", "https://t.me/deals"),
                ],
            ),
        ];
        for (text, options, expected) in cases {
            assert_eq!(found(text, options), expected, "{text:?}");
        }
    }

    #[test]
    fn allowed_domains_are_not_ads() {
        let options = ContactOptions {
            allowed_domains: vec!["example.org".into()],
            ..ContactOptions::default()
        };
        assert!(found("https://docs.example.org/x and www.example.org", &options).is_empty());
        assert_eq!(found("https://evil-example.org/x", &options).len(), 1);
    }

    #[test]
    fn hostile_inputs_stay_bounded() {
        let detector = ContactDetector::new();
        let digits = "1".repeat(1 << 20);
        assert!(detector
            .detect(&digits, &ContactOptions::default())
            .is_empty());
        let many = "jane@example.com ".repeat(10_000);
        assert!(detector.detect(&many, &ContactOptions::default()).len() <= MAX_FINDINGS_PER_KIND);
        let _ = detector.detect("\0\0 +\u{0301}4 4 \u{200b}", &ContactOptions::default());
    }

    #[test]
    fn spans_are_char_boundaries_within_the_text() {
        use proptest::prelude::*;
        let detector = ContactDetector::new();
        proptest!(ProptestConfig::with_cases(256), |(text in "[ a-z0-9@.+:/é-]{0,80}")| {
            for s in detector.detect(&text, &ContactOptions { default_region: Some("US".into()), ..Default::default() }) {
                let span = s.evidence.span.unwrap();
                prop_assert!(span.end <= text.len() && text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            }
        });
    }
}
