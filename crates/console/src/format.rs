//! Formatting of times, durations, counts and URL parts for display.

use maud::{html, Markup};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// `YYYY-MM-DD HH:MM:SS UTC`, for people.
const UTC_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// RFC 3339 to the second, `YYYY-MM-DDTHH:MM:SSZ`, for machines.
const ISO_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Unix milliseconds in `format`, UTC; the bare number of milliseconds for a time
/// outside the years -9999..=9999.
fn format_unix_ms(ms: i64, format: &[BorrowedFormatItem<'_>]) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix milliseconds.
pub fn format_utc(ms: i64) -> String {
    format_unix_ms(ms, UTC_FORMAT)
}

/// RFC 3339 `YYYY-MM-DDTHH:MM:SSZ`, for `<time datetime>`.
pub(crate) fn format_iso(ms: i64) -> String {
    format_unix_ms(ms, ISO_FORMAT)
}

/// A coarse age or duration: "45 s", "3 min", "2 h", "5 d". Negative
/// durations (clock skew) show as "0 s".
pub fn format_age(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// A point in a media file as `mm:ss.s`.
pub(crate) fn format_media_time(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    format!(
        "{:02}:{:02}.{}",
        tenths / 600,
        tenths / 10 % 60,
        tenths % 10
    )
}

/// A point in a media file as `mm:ss`.
pub(crate) fn format_media_second(seconds: f64) -> String {
    let secs = seconds.max(0.0).floor() as u64;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A `<time>` element showing `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn utc_time(ms: i64) -> Markup {
    html! { time datetime=(format_iso(ms)) { (format_utc(ms)) } }
}

/// Percent-encodes a value for use as one URL path segment or query value:
/// everything but RFC 3986 unreserved characters is encoded, so an id can
/// neither leave its segment nor start a new query parameter.
pub(crate) fn url_part(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_utc_known_values() {
        let cases = [
            (0, "1970-01-01 00:00:00 UTC"),
            (1_700_000_000_000, "2023-11-14 22:13:20 UTC"),
            (1_700_000_000_999, "2023-11-14 22:13:20 UTC"),
            (951_782_400_000, "2000-02-29 00:00:00 UTC"),
            (4_107_542_399_000, "2100-02-28 23:59:59 UTC"),
            (-1, "1969-12-31 23:59:59 UTC"),
            (-86_400_000, "1969-12-31 00:00:00 UTC"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_utc(ms), want, "{ms}");
        }
    }

    #[test]
    fn format_iso_is_rfc3339_utc() {
        assert_eq!(format_iso(1_700_000_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn format_age_units() {
        let cases = [
            (-5_000, "0 s"),
            (0, "0 s"),
            (59_999, "59 s"),
            (60_000, "1 min"),
            (3 * 60_000 + 59_000, "3 min"),
            (2 * 3_600_000, "2 h"),
            (86_399_000, "23 h"),
            (5 * 86_400_000, "5 d"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_age(ms), want, "{ms}");
        }
    }

    #[test]
    fn media_times() {
        assert_eq!(format_media_time(12.0), "00:12.0");
        assert_eq!(format_media_time(75.34), "01:15.3");
        assert_eq!(format_media_time(-1.0), "00:00.0");
        assert_eq!(format_media_second(125.9), "02:05");
    }

    #[test]
    fn counts_and_url_parts() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(url_part("01HX-ab_c.d~"), "01HX-ab_c.d~");
        assert_eq!(url_part("a/b?c=d&e f"), "a%2Fb%3Fc%3Dd%26e%20f");
    }
}
