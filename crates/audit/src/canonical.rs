//! RFC 8785 JSON Canonicalization Scheme (JCS) for [`serde_json::Value`].
//!
//! The canonical form is what gets hashed, so it must be byte-for-byte the
//! same in every implementation that wants to re-verify a chain:
//!
//! - objects: members sorted by the UTF-16 code units of their keys (not by
//!   UTF-8 bytes, which order astral characters differently), no whitespace;
//! - strings: only `"`, `\` and U+0000..U+001F are escaped; `\b \t \n \f \r`
//!   use their short forms, other control characters `\u00xx` in lowercase
//!   hex; everything else (including U+007F and U+2028) is written verbatim;
//! - numbers: ECMAScript `Number.prototype.toString` of the IEEE-754 double
//!   (shortest round-tripping digits; `-0` becomes `0`; exponent form below
//!   1e-6 and from 1e21 on, e.g. `1e+30`, `5e-324`).
//!
//! Two choices where JCS leaves room:
//!
//! - Integers that serde_json holds as `i64`/`u64` must lie in the I-JSON
//!   range ±(2^53 − 1); beyond it they would silently lose precision when
//!   read as doubles, so they are rejected ([`AuditError::IntegerOutOfRange`],
//!   as the Python `rfc8785` package does). Callers store such values as
//!   strings. Floats of any finite magnitude are accepted.
//! - Nesting deeper than [`MAX_DEPTH`] is rejected, matching serde_json's own
//!   parser limit so anything serde_json parses can be canonicalised.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Number, Value};
use sha2::{Digest as _, Sha256};

use crate::AuditError;

/// Deepest array/object nesting accepted (serde_json's parser limit).
pub const MAX_DEPTH: usize = 128;

/// Largest integer magnitude that survives a round trip through a double.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The RFC 8785 canonical JSON text of `value`.
pub fn canonical_json(value: &Value) -> Result<String, AuditError> {
    let mut out = String::new();
    write_value(value, 0, &mut out)?;
    Ok(out)
}

/// Lowercase hex SHA-256 of the canonical JSON of `value`: the
/// `payload_sha256` of an entry whose payload is `value`.
pub fn sha256_of_json(value: &Value) -> Result<String, AuditError> {
    Ok(hex::encode(Sha256::digest(
        canonical_json(value)?.as_bytes(),
    )))
}

fn write_value(value: &Value, depth: usize, out: &mut String) -> Result<(), AuditError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            let depth = enter(depth)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, depth, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let depth = enter(depth)?;
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| utf16_order(a.0, b.0));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, depth, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn enter(depth: usize) -> Result<usize, AuditError> {
    if depth >= MAX_DEPTH {
        return Err(AuditError::TooDeep { max: MAX_DEPTH });
    }
    Ok(depth + 1)
}

fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(n: &Number, out: &mut String) -> Result<(), AuditError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(AuditError::IntegerOutOfRange(n.to_string()));
        }
        let _ = write!(out, "{u}");
        return Ok(());
    }
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(AuditError::IntegerOutOfRange(n.to_string()));
        }
        let _ = write!(out, "{i}");
        return Ok(());
    }
    match n.as_f64() {
        Some(f) if f.is_finite() => {
            write_f64(f, out);
            Ok(())
        }
        _ => Err(AuditError::NonFiniteNumber(n.to_string())),
    }
}

/// ECMAScript `Number::toString` (ECMA-262 §6.1.6.1.20) of a finite double.
fn write_f64(f: f64, out: &mut String) {
    if f == 0.0 {
        out.push('0'); // both +0 and -0
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    let sci = shortest_digits(f.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    // ECMAScript's names: value = 0.d₁d₂…d_k × 10^n.
    let k = digits.len() as i32;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{}", if n > 0 { '+' } else { '-' }, (n - 1).abs());
    }
}

/// The digits ECMAScript wants, as `d.ddde<exp>`: the fewest significant
/// digits that read back as `f`, and among those the closest to `f`, the
/// one with an even last digit on a tie.
///
/// Rust's `{:e}` gives the fewest digits but breaks ties upwards
/// (1424953923781206.25 → `…06.3`, ECMAScript says `…06.2`). Rust's
/// fixed-precision formatting is exact with ties to even, so redo the
/// rounding at that many digits and keep it if it still reads back as `f`
/// (it may not right below a power of two, where the gap below `f` is half
/// the gap above).
fn shortest_digits(f: f64) -> String {
    let shortest = format!("{f:e}");
    let significant = shortest
        .split_once('e')
        .map_or(0, |(m, _)| m.len() - usize::from(m.contains('.')));
    let closest = format!("{:.*e}", significant - 1, f);
    if closest.parse::<f64>() == Ok(f) {
        closest
    } else {
        shortest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        canonical_json(&serde_json::from_str(text).unwrap()).unwrap()
    }

    fn number(bits: u64) -> String {
        let mut out = String::new();
        write_f64(f64::from_bits(bits), &mut out);
        out
    }

    /// RFC 8785 §3.2.2, the worked example.
    #[test]
    fn rfc8785_primitive_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3: members sort by UTF-16 code units, so U+1F600
    /// (surrogates D83D DE00) comes before U+FB33 although its UTF-8 is larger.
    #[test]
    fn rfc8785_sorting_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = concat!(
            r#"{"\r":"Carriage Return","1":"One","#,
            "\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
            "\"\u{20ac}\":\"Euro Sign\",\"\u{1F600}\":\"Emoji: Grinning Face\",",
            "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
        );
        assert_eq!(canon(input), expected);
    }

    /// RFC 8785 Appendix B: IEEE-754 bit patterns and their serialisation.
    #[test]
    fn rfc8785_appendix_b_numbers() {
        let table: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, expected) in table {
            assert_eq!(number(bits), expected, "bits {bits:016x}");
        }
    }

    /// ~3000 doubles (random bit patterns, values around the fixed/exponent
    /// switch points, large integers) serialised by the PyPI `rfc8785`
    /// reference package; see the header of the file.
    #[test]
    fn numbers_match_python_reference() {
        let data = include_str!("testdata/jcs_numbers.csv");
        let mut checked = 0;
        for line in data.lines().filter(|l| !l.starts_with('#')) {
            let (hex_bits, expected) = line.split_once(',').unwrap();
            let bits = u64::from_str_radix(hex_bits, 16).unwrap();
            assert_eq!(number(bits), expected, "bits {hex_bits}");
            checked += 1;
        }
        assert!(checked > 2900);
    }

    /// 300 random documents (astral and BMP-private keys, control characters,
    /// U+2028, nested objects) canonicalised by the PyPI `rfc8785` package.
    #[test]
    fn documents_match_python_reference() {
        for line in include_str!("testdata/jcs_objects.jsonl").lines() {
            let case: Value = serde_json::from_str(line).unwrap();
            let expected = case["canonical"].as_str().unwrap();
            assert_eq!(canonical_json(&case["input"]).unwrap(), expected, "{line}");
        }
    }

    #[test]
    fn string_escaping() {
        let table: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("quote\"back\\slash/", r#""quote\"back\\slash/""#),
            ("\u{8}\t\n\u{c}\r", r#""\b\t\n\f\r""#),
            ("\u{0}\u{b}\u{1f}", r#""\u0000\u000b\u001f""#),
            ("\u{7f}\u{2028}\u{2029}é😀", "\"\u{7f}\u{2028}\u{2029}é😀\""),
        ];
        for &(input, expected) in table {
            assert_eq!(
                canonical_json(&json!(input)).unwrap(),
                expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn integers_and_their_limits() {
        let table: &[(Value, Result<&str, AuditError>)] = &[
            (json!(0), Ok("0")),
            (json!(-17), Ok("-17")),
            (json!(9_007_199_254_740_991_u64), Ok("9007199254740991")),
            (json!(-9_007_199_254_740_991_i64), Ok("-9007199254740991")),
            (
                json!(9_007_199_254_740_992_u64),
                Err(AuditError::IntegerOutOfRange("9007199254740992".into())),
            ),
            (
                json!(-9_007_199_254_740_992_i64),
                Err(AuditError::IntegerOutOfRange("-9007199254740992".into())),
            ),
            (
                json!(u64::MAX),
                Err(AuditError::IntegerOutOfRange(u64::MAX.to_string())),
            ),
            (
                json!(i64::MIN),
                Err(AuditError::IntegerOutOfRange(i64::MIN.to_string())),
            ),
            // The same magnitude as a double is a JCS number like any other.
            (json!(9_007_199_254_740_992.0_f64), Ok("9007199254740992")),
            (json!(1.0_f64), Ok("1")),
            (json!(-0.0_f64), Ok("0")),
        ];
        for (input, expected) in table {
            let expected = expected.clone().map(str::to_owned);
            assert_eq!(canonical_json(input), expected, "{input}");
        }
    }

    #[test]
    fn nesting_limit() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        assert!(canonical_json(&deep).is_ok());
        let too_deep = json!({ "x": deep });
        assert_eq!(
            canonical_json(&too_deep),
            Err(AuditError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn empty_containers_and_literals() {
        assert_eq!(
            canon(r#" { "b" : [ ] , "a" : { } , "c": [null, true, false, ""] } "#),
            r#"{"a":{},"b":[],"c":[null,true,false,""]}"#
        );
    }

    #[test]
    fn payload_digest_is_over_the_canonical_form() {
        let a = sha256_of_json(&serde_json::from_str(r#"{"b": 1.50, "a": "x"}"#).unwrap()).unwrap();
        let b = sha256_of_json(&serde_json::from_str(r#"{"a":"x","b":1.5}"#).unwrap()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, hex::encode(Sha256::digest(br#"{"a":"x","b":1.5}"#)));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(|i| json!(i)),
                // Short decimals: serde_json's default (not correctly rounded)
                // float parser reads these exactly; all doubles are covered by
                // `doubles_round_trip` below with std's exact parser.
                (any::<i32>(), 0..7_i32).prop_map(|(m, d)| json!(f64::from(m) / 10f64.powi(d))),
                any::<String>().prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                    prop::collection::btree_map(any::<String>(), inner, 0..8)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// Canonical text is valid JSON, denotes the same value, and is a
            /// fixed point of canonicalisation.
            #[test]
            fn canonical_text_round_trips(value in json_value()) {
                let text = canonical_json(&value).unwrap();
                let back: Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(canonical_json(&back).unwrap(), text);
            }

            /// A payload written by serde_json and read back (as the store
            /// does) keeps its digest; needs serde_json's `float_roundtrip`.
            #[test]
            fn digests_survive_serde_json_round_trips(
                floats in prop::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 1..16)
            ) {
                let payload = json!({ "scores": floats });
                let back: Value = serde_json::from_str(&serde_json::to_string(&payload).unwrap()).unwrap();
                prop_assert_eq!(sha256_of_json(&back).unwrap(), sha256_of_json(&payload).unwrap());
            }

            /// Every finite double's serialisation parses back to the same bits
            /// (up to the sign of zero).
            #[test]
            fn doubles_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
                let mut out = String::new();
                write_f64(f, &mut out);
                let back: f64 = out.parse().unwrap();
                prop_assert!(back == f, "{} -> {} -> {}", f, out, back);
            }
        }
    }
}
