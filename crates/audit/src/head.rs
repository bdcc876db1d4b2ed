//! Chain heads and their publishable one-line form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::entry::{parse_digest, validate_tenant, MAX_TS_MS};
use crate::AuditError;

/// First word of a published head line.
const MAGIC: &str = "rampart-audit-head";
/// Format version of the published head line.
const VERSION: &str = "v1";

/// The last entry of a tenant's chain, in brief: enough to extend the
/// chain ([`crate::seal`]) and, once published, to prove later that
/// history up to it was not rewritten ([`crate::check_head`]).
///
/// `Display` and `FromStr` use the one-line published form
/// `rampart-audit-head v1 tenant=<t> seq=<n> hash=<64 hex> ts=<RFC 3339>`,
/// e.g. `rampart-audit-head v1 tenant=acme seq=2 hash=6387…1ac6 ts=2024-05-01T12:34:56.789Z`.
/// The time is UTC with exactly three fractional digits, so it round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Head {
    /// The chain's tenant.
    pub tenant: String,
    /// Seq of the last entry.
    pub seq: u64,
    /// Hash of the last entry.
    pub hash: String,
    /// Timestamp of the last entry, milliseconds since the Unix epoch.
    /// Informational: the hash already commits to it.
    pub ts_ms: i64,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{MAGIC} {VERSION} tenant={} seq={} hash={} ts={}",
            self.tenant,
            self.seq,
            self.hash,
            Rfc3339(self.ts_ms)
        )
    }
}

impl FromStr for Head {
    type Err = AuditError;

    /// Parses a published head line (surrounding whitespace is ignored; the
    /// fields must come in the published order, separated by one space).
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| AuditError::InvalidHead(why.to_owned());
        let words: Vec<&str> = line.trim().split(' ').collect();
        let [magic, version, tenant, seq, hash, ts] = words[..] else {
            return Err(invalid("expected 6 space-separated fields"));
        };
        if magic != MAGIC {
            return Err(invalid("does not start with `rampart-audit-head`"));
        }
        if version != VERSION {
            return Err(AuditError::InvalidHead(format!(
                "unsupported version {version:?}"
            )));
        }
        let tenant = field(tenant, "tenant")?;
        validate_tenant(tenant)?;
        let seq: u64 = field(seq, "seq")?
            .parse()
            .map_err(|_| invalid("seq is not a number"))?;
        if seq == 0 {
            return Err(invalid("seq starts at 1"));
        }
        let hash = field(hash, "hash")?;
        parse_digest(hash)?;
        let ts_ms = parse_rfc3339(field(ts, "ts")?)
            .ok_or_else(|| invalid("ts is not YYYY-MM-DDTHH:MM:SS[.mmm]Z"))?;
        Ok(Head {
            tenant: tenant.to_owned(),
            seq,
            hash: hash.to_owned(),
            ts_ms,
        })
    }
}

fn field<'a>(word: &'a str, name: &str) -> Result<&'a str, AuditError> {
    word.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or_else(|| AuditError::InvalidHead(format!("expected `{name}=…`, found {word:?}")))
}

const MS_PER_DAY: i64 = 86_400_000;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch.
struct Rfc3339(i64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{frac:03}Z"
        )
    }
}

/// Milliseconds since the epoch for `YYYY-MM-DDTHH:MM:SS[.mmm]Z` between
/// 1970 and 9999 (no leap seconds, no offsets other than `Z`).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + i64::from(d - b'0'))
        })
    };
    let frac = match b.len() {
        20 => 0,
        24 if b[19] == b'.' => num(20..23)?,
        _ => return None,
    };
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (b.len() - 1, b'Z'),
    ];
    if separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, m, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && h < 24
        && m < 60
        && s < 60;
    if !valid {
        return None;
    }
    let ms = days_from_civil(year, month, day) * MS_PER_DAY + ((h * 60 + m) * 60 + s) * 1000 + frac;
    (0..=MAX_TS_MS).contains(&ms).then_some(ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's proleptic Gregorian calendar algorithms
// (http://howardhinnant.github.io/date_algorithms.html).

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "6387a98345c8acbb8dfd74dc5b21ab00bb5122115bacdd62f9f8b375c9a31ac6";

    fn head(ts_ms: i64) -> Head {
        Head {
            tenant: "acme".into(),
            seq: 2,
            hash: HASH.into(),
            ts_ms,
        }
    }

    #[test]
    fn published_form() {
        assert_eq!(
            head(1_714_566_896_789).to_string(),
            format!(
                "rampart-audit-head v1 tenant=acme seq=2 hash={HASH} ts=2024-05-01T12:34:56.789Z"
            )
        );
    }

    #[test]
    fn timestamps_round_trip() {
        let table: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (1, "1970-01-01T00:00:00.001Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_709_164_799_999, "2024-02-28T23:59:59.999Z"),
            (1_714_566_896_789, "2024-05-01T12:34:56.789Z"),
            (4_102_444_800_000, "2100-01-01T00:00:00.000Z"),
            (MAX_TS_MS, "9999-12-31T23:59:59.999Z"),
        ];
        for &(ms, text) in table {
            assert_eq!(Rfc3339(ms).to_string(), text);
            assert_eq!(parse_rfc3339(text), Some(ms), "{text}");
            let line = head(ms).to_string();
            assert_eq!(line.parse::<Head>().unwrap(), head(ms), "{line}");
        }
        // Every day across four centuries formats and parses back.
        for day in (0..146_097 * 4).step_by(7) {
            let ms = day * MS_PER_DAY + 45_296_007;
            assert_eq!(parse_rfc3339(&Rfc3339(ms).to_string()), Some(ms));
        }
    }

    #[test]
    fn rejected_timestamps() {
        for text in [
            "2024-05-01T12:34:56.789",
            "2024-05-01T12:34:56.78Z",
            "2024-05-01 12:34:56.789Z",
            "2024-05-01T12:34:56.789+00:00",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:60:00Z",
            "2024-05-01T12:34:60Z",
            "1969-12-31T23:59:59.999Z",
            "+024-05-01T12:34:56Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T12:34:56Z"),
            Some(1_714_566_896_000)
        );
    }

    #[test]
    fn rejected_lines() {
        let good = head(0).to_string();
        let table: Vec<(String, &str)> = vec![
            (String::new(), "6 space-separated"),
            (
                good.replace("rampart-audit-head", "rampart-head"),
                "does not start",
            ),
            (good.replace(" v1 ", " v2 "), "unsupported version"),
            (good.replace("tenant=", "tenant:"), "expected `tenant=…`"),
            (good.replace("seq=2", "seq=two"), "seq is not a number"),
            (good.replace("seq=2", "seq=0"), "seq starts at 1"),
            (good.replace("seq=2 hash", "hash"), "6 space-separated"),
            (good.replace(" seq=2", "  seq=2"), "6 space-separated"),
            (good.replace(HASH, &HASH.to_uppercase()), "invalid digest"),
            (good.replace(HASH, &HASH[1..]), "invalid digest"),
            (
                good.replace("ts=1970-01-01T00:00:00.000Z", "ts=0"),
                "ts is not",
            ),
            (good.replace("tenant=acme", "tenant="), "invalid tenant"),
        ];
        for (line, why) in table {
            let err = line.parse::<Head>().unwrap_err().to_string();
            assert!(err.contains(why), "{line:?}: {err}");
        }
        assert_eq!(format!("  {good}\n").parse::<Head>().unwrap(), head(0));
    }
}
