//! Chain heads and their publishable one-line form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

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

#[cfg(test)]
const MS_PER_DAY: i64 = 86_400_000;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the published form of a head's time.
const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The same without the milliseconds, accepted when parsing.
const TS_FORMAT_SECONDS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch (the bare number of
/// milliseconds for a time outside the calendar's range, which a valid head never has).
struct Rfc3339(i64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|t| t.format(TS_FORMAT).ok());
        match text {
            Some(text) => f.write_str(&text),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Milliseconds since the epoch for `YYYY-MM-DDTHH:MM:SS[.mmm]Z` between
/// 1970 and 9999 (no leap seconds, no offsets other than `Z`).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let format = match text.len() {
        20 => TS_FORMAT_SECONDS,
        24 => TS_FORMAT,
        _ => return None,
    };
    let t = PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?;
    (0..=MAX_TS_MS).contains(&ms).then_some(ms)
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
