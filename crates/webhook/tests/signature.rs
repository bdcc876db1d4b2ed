//! `sign` and `verify` as a receiver uses them: the round trip, secret rotation, and every
//! way a request is refused.

use rampart_webhook::{new_secret, sign, verify, VerifyError};

const SECRET: &[u8] = b"whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
const BODY: &[u8] =
    br#"{"event":"job.completed","job_id":"01J9ZC4T5Q","verdict":{"suggestion":"allow"}}"#;
const T: i64 = 1_700_000_000;
const TOLERANCE: i64 = 300;

fn v1_of(header: &str) -> &str {
    header.split_once(",v1=").unwrap().1
}

#[test]
fn a_signed_body_verifies() {
    let header = sign(SECRET, T, BODY);
    assert!(header.starts_with("t=1700000000,v1="), "{header}");
    let v1 = v1_of(&header);
    assert_eq!(v1.len(), 64);
    assert!(v1.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert_eq!(verify(SECRET, &header, BODY, T, TOLERANCE), Ok(()));
}

#[test]
fn a_fresh_secret_signs_and_verifies() {
    let secret = new_secret();
    let header = sign(secret.as_bytes(), T, BODY);
    assert_eq!(
        verify(secret.as_bytes(), &header, BODY, T, TOLERANCE),
        Ok(())
    );
    assert_eq!(
        verify(new_secret().as_bytes(), &header, BODY, T, TOLERANCE),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn an_empty_body_is_signed_too() {
    let header = sign(SECRET, T, b"");
    assert_eq!(verify(SECRET, &header, b"", T, TOLERANCE), Ok(()));
    assert_eq!(
        verify(SECRET, &header, b" ", T, TOLERANCE),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn timestamps_within_the_tolerance_either_way_pass() {
    let header = sign(SECRET, T, BODY);
    for now in [T - TOLERANCE, T - 1, T, T + 1, T + TOLERANCE] {
        assert_eq!(
            verify(SECRET, &header, BODY, now, TOLERANCE),
            Ok(()),
            "{now}"
        );
    }
}

#[test]
fn the_wrong_secret_is_a_mismatch() {
    let header = sign(SECRET, T, BODY);
    for secret in [&b"whsec_other"[..], b"", &SECRET[..SECRET.len() - 1]] {
        assert_eq!(
            verify(secret, &header, BODY, T, TOLERANCE),
            Err(VerifyError::Mismatch)
        );
    }
}

#[test]
fn a_tampered_body_is_a_mismatch() {
    let header = sign(SECRET, T, BODY);
    let mut tampered = BODY.to_vec();
    let allow = tampered.len() - 8;
    tampered[allow..].copy_from_slice(b"block\"}}");
    for body in [&tampered[..], &BODY[..BODY.len() - 1], b"", b"{}"] {
        assert_eq!(
            verify(SECRET, &header, body, T, TOLERANCE),
            Err(VerifyError::Mismatch),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_changed_timestamp_is_a_mismatch_not_a_fresh_request() {
    // An attacker replaying an old request cannot refresh its t= without the secret.
    let old = sign(SECRET, T, BODY);
    let refreshed = format!("t={},v1={}", T + 3600, v1_of(&old));
    assert_eq!(
        verify(SECRET, &refreshed, BODY, T + 3600, TOLERANCE),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn a_stale_or_future_timestamp_is_refused() {
    let header = sign(SECRET, T, BODY);
    for now in [
        T + TOLERANCE + 1,
        T + 86_400,
        T - TOLERANCE - 1,
        i64::MAX,
        i64::MIN,
    ] {
        assert_eq!(
            verify(SECRET, &header, BODY, now, TOLERANCE),
            Err(VerifyError::OutsideTolerance {
                timestamp: T,
                now,
                tolerance_s: TOLERANCE
            }),
            "{now}"
        );
    }
    // A negative tolerance accepts only the exact second.
    assert_eq!(verify(SECRET, &header, BODY, T, -5), Ok(()));
    assert!(verify(SECRET, &header, BODY, T + 1, -5).is_err());
}

#[test]
fn malformed_headers_are_refused() {
    let v1 = v1_of(&sign(SECRET, T, BODY)).to_owned();
    for header in [
        String::new(),
        "garbage".to_owned(),
        format!("v1={v1}"),               // no t=
        format!("t=,v1={v1}"),            // empty t=
        format!("t=abc,v1={v1}"),         // not a number
        format!("t=-1700000000,v1={v1}"), // sign never writes a sign
        format!("t=+1700000000,v1={v1}"),
        format!("t=1.7e9,v1={v1}"),
        format!("t=99999999999999999999,v1={v1}"), // overflows i64
        format!("t={T},t={T},v1={v1}"),            // two timestamps
        format!("t={T},v1={v1},"),                 // trailing empty element
        format!("t={T};v1={v1}"),                  // wrong separator
        format!("t={T},{v1}"),                     // element without '='
    ] {
        assert!(
            matches!(
                verify(SECRET, &header, BODY, T, TOLERANCE),
                Err(VerifyError::Malformed(_))
            ),
            "{header:?}: {:?}",
            verify(SECRET, &header, BODY, T, TOLERANCE)
        );
    }
}

#[test]
fn a_header_without_v1_is_refused() {
    for header in [
        format!("t={T}"),
        format!("t={T},v0=deadbeef"),
        format!("t={T},V1={}", v1_of(&sign(SECRET, T, BODY))),
    ] {
        assert_eq!(
            verify(SECRET, &header, BODY, T, TOLERANCE),
            Err(VerifyError::NoSignature),
            "{header}"
        );
    }
}

#[test]
fn garbled_v1_values_never_match() {
    let v1 = v1_of(&sign(SECRET, T, BODY)).to_owned();
    for candidate in [
        String::new(),
        "zz".repeat(32),
        v1[..63].to_owned(),
        format!("{v1}00"),
        v1.to_uppercase().replace(|c: char| c.is_ascii_digit(), "g"),
    ] {
        let header = format!("t={T},v1={candidate}");
        assert_eq!(
            verify(SECRET, &header, BODY, T, TOLERANCE),
            Err(VerifyError::Mismatch),
            "{header}"
        );
    }
}

#[test]
fn any_of_several_v1_signatures_may_match_during_rotation() {
    let old_secret = b"whsec_old";
    let new = v1_of(&sign(SECRET, T, BODY)).to_owned();
    let old = v1_of(&sign(old_secret, T, BODY)).to_owned();
    let header = format!("t={T},v1={old},v1={new}");
    assert_eq!(verify(SECRET, &header, BODY, T, TOLERANCE), Ok(()));
    assert_eq!(verify(old_secret, &header, BODY, T, TOLERANCE), Ok(()));
    assert_eq!(
        verify(b"whsec_neither", &header, BODY, T, TOLERANCE),
        Err(VerifyError::Mismatch)
    );
    // A garbled entry does not hide a good one, and unknown schemes and spaces are ignored.
    let noisy = format!("t={T}, v1=nothex, v0=legacy, v1={new}");
    assert_eq!(verify(SECRET, &noisy, BODY, T, TOLERANCE), Ok(()));
}

#[test]
fn signatures_are_deterministic_and_depend_on_every_input() {
    let header = sign(SECRET, T, BODY);
    assert_eq!(header, sign(SECRET, T, BODY));
    assert_ne!(header, sign(SECRET, T + 1, BODY));
    assert_ne!(v1_of(&header), v1_of(&sign(b"whsec_other", T, BODY)));
    assert_ne!(v1_of(&header), v1_of(&sign(SECRET, T, b"{}")));
}

#[test]
fn hostile_headers_are_refused_cleanly() {
    let huge = format!("t={T},{}", "v1=00,".repeat(100_000));
    assert!(verify(SECRET, &huge, BODY, T, TOLERANCE).is_err());
    let many = format!("t={T}{}", ",v1=".repeat(100_000));
    assert_eq!(
        verify(SECRET, &many, BODY, T, TOLERANCE),
        Err(VerifyError::Mismatch)
    );
    for header in ["t=\u{0}", "t=١٢٣,v1=00", "\u{FEFF}t=1,v1=00", ",,,,", "="] {
        assert!(
            verify(SECRET, header, BODY, T, TOLERANCE).is_err(),
            "{header:?}"
        );
    }
}
