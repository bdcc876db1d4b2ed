//! vPDQ video matching: two videos, each a list of per-frame PDQ hashes with their quality,
//! compared as bags of frames (frame order and timestamps are not used).
//!
//! The rule is python-threatexchange's (`vpdq_brute_matcher.py`, the one HMA uses): on each
//! side, drop repeated hashes (keeping the first), then frames below the minimum quality; a
//! frame matches when some remaining frame of the other side is within the distance
//! (inclusive). The two percentages are over the remaining frames of each side. What
//! percentage makes a match is the caller's choice (see `BankConfig::vpdq_match_pct`).
//!
//! Also the compact text form of a video's frames, for bank files and the database.

use std::collections::{HashMap, HashSet};

use rampart_pdq::PdqHash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bank::BankError;

/// Hex digits of one frame in a signature: 2 of quality, 64 of hash.
pub const SIGNATURE_FRAME_HEX: usize = 66;

/// One video frame's PDQ hash and quality: what vPDQ matching needs of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VpdqFeature {
    /// The frame's PDQ hash.
    pub hash: PdqHash,
    /// Its PDQ quality, 0–100.
    pub quality: u8,
}

/// How much of two videos matched, by [`match_vpdq`].
#[derive(Debug, Clone, PartialEq)]
pub struct VpdqMatch {
    /// Percentage (0–100) of the query's used frames found in the compared video.
    pub query_pct: f64,
    /// Percentage (0–100) of the compared video's used frames found in the query.
    pub compared_pct: f64,
    /// Query frames left after dropping repeated hashes and low quality.
    pub query_frames_used: usize,
    /// Compared frames left after dropping repeated hashes and low quality.
    pub compared_frames_used: usize,
    /// Indices into the query slice of the frames that matched, ascending: every frame of
    /// sufficient quality whose hash matched, repeats of a hash included (so the caller can
    /// tell where in the video the match lies).
    pub matched_query: Vec<usize>,
}

/// The frames of one side that take part in matching: the first frame of each distinct
/// hash, if its quality is at least `min_quality` (dedupe first, then the quality filter, as
/// python-threatexchange does).
pub(crate) fn used_frames(frames: &[VpdqFeature], min_quality: u8) -> Vec<PdqHash> {
    let mut seen = HashSet::with_capacity(frames.len());
    frames
        .iter()
        .filter(|f| seen.insert(f.hash))
        .filter(|f| f.quality >= min_quality)
        .map(|f| f.hash)
        .collect()
}

/// Matches two videos by python-threatexchange's rule (see the module docs): a frame matches
/// when some used frame of the other side is at `distance` or less (default 31), frames
/// below `min_quality` (default 50) are not used. A side with no used frame gives 0 %.
///
/// Brute force, `O(query × compared)` popcounts: fine for two videos; banks of many videos
/// use an index instead (`BankSet::match_vpdq`).
pub fn match_vpdq(
    query: &[VpdqFeature],
    compared: &[VpdqFeature],
    distance: u32,
    min_quality: u8,
) -> VpdqMatch {
    let q = used_frames(query, min_quality);
    let c = used_frames(compared, min_quality);
    let found_in = |a: &PdqHash, side: &[PdqHash]| side.iter().any(|b| a.distance(b) <= distance);
    let matched_hashes: HashSet<PdqHash> = q.iter().filter(|a| found_in(a, &c)).copied().collect();
    let compared_matched = c.iter().filter(|b| found_in(b, &q)).count();
    VpdqMatch {
        query_pct: percent(matched_hashes.len(), q.len()),
        compared_pct: percent(compared_matched, c.len()),
        query_frames_used: q.len(),
        compared_frames_used: c.len(),
        matched_query: matched_indices(query, min_quality, &matched_hashes),
    }
}

/// `part / whole` in percent; 0 when `whole` is 0.
pub(crate) fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Indices of the frames of `query` of sufficient quality whose hash is in `matched`.
pub(crate) fn matched_indices(
    query: &[VpdqFeature],
    min_quality: u8,
    matched: &HashSet<PdqHash>,
) -> Vec<usize> {
    query
        .iter()
        .enumerate()
        .filter(|(_, f)| f.quality >= min_quality && matched.contains(&f.hash))
        .map(|(i, _)| i)
        .collect()
}

/// The compact text form of a video's frames: per frame, its quality as 2 lowercase hex
/// digits then its hash as 64, all concatenated (66 digits a frame). Frame numbers and
/// timestamps are not kept; matching does not use them.
pub fn encode_signature(frames: &[VpdqFeature]) -> String {
    let mut s = String::with_capacity(frames.len() * SIGNATURE_FRAME_HEX);
    for f in frames {
        s.push_str(&format!("{:02x}{}", f.quality, f.hash));
    }
    s
}

/// Reads [`encode_signature`]'s form (hex in any case). Errors: empty text, a length that
/// is not a whole number of 66-digit frames, a non-hex digit, or a quality above 100.
pub fn decode_signature(s: &str) -> Result<Vec<VpdqFeature>, BankError> {
    let s = s.trim();
    let bad = |why: String| BankError::InvalidSignature(why);
    if s.is_empty() {
        return Err(bad("a vPDQ signature holds at least one frame".into()));
    }
    if !s.is_ascii() || !s.len().is_multiple_of(SIGNATURE_FRAME_HEX) {
        return Err(bad(format!(
            "a vPDQ signature is frames of {SIGNATURE_FRAME_HEX} hex digits (2 of quality, 64 of \
             hash); got {} characters",
            s.chars().count()
        )));
    }
    s.as_bytes()
        .chunks(SIGNATURE_FRAME_HEX)
        .enumerate()
        .map(|(n, chunk)| {
            // ASCII, so every byte is a char boundary.
            let text = std::str::from_utf8(chunk).map_err(|e| bad(e.to_string()))?;
            let (quality, hash) = text.split_at(2);
            let quality = u8::from_str_radix(quality, 16)
                .ok()
                .filter(|&q| q <= 100)
                .ok_or_else(|| {
                    bad(format!(
                        "frame {n}: quality {quality:?} is not 00 to 64 hex"
                    ))
                })?;
            let hash = hash.parse().map_err(|e| bad(format!("frame {n}: {e}")))?;
            Ok(VpdqFeature { hash, quality })
        })
        .collect()
}

/// Serde for `EntryHash::Vpdq`: the frames as one signature string.
pub(crate) mod signature_serde {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        frames: &[VpdqFeature],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        encode_signature(frames).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<VpdqFeature>, D::Error> {
        let s = String::deserialize(d)?;
        decode_signature(&s).map_err(serde::de::Error::custom)
    }
}

/// Per bank: every used frame of every vPDQ entry, for matching a query video against all
/// entries with one index search per query frame.
#[derive(Debug, Default)]
pub(crate) struct FrameTable {
    /// Index item id of a frame → the key of its entry.
    pub(crate) owner: HashMap<u32, u32>,
    /// Entry key → the item ids of its used frames.
    pub(crate) frames: HashMap<u32, Vec<u32>>,
    /// Next free item id.
    pub(crate) next: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(limb: u64, quality: u8) -> VpdqFeature {
        VpdqFeature {
            hash: PdqHash::from_limbs([limb, 0, 0, 0]),
            quality,
        }
    }

    #[test]
    fn repeated_hashes_count_once_and_low_quality_frames_not_at_all() {
        // Query: 0b1 twice (one unique), 0b11 at quality 10 (dropped), far hash.
        let query = [
            frame(0b1, 90),
            frame(0b1, 90),
            frame(0b11, 10),
            frame(u64::MAX, 90),
        ];
        let compared = [frame(0b0, 80)];
        let m = match_vpdq(&query, &compared, 1, 50);
        assert_eq!(m.query_frames_used, 2);
        assert_eq!(m.compared_frames_used, 1);
        assert_eq!(m.query_pct, 50.0);
        assert_eq!(m.compared_pct, 100.0);
        assert_eq!(m.matched_query, vec![0, 1]);
    }

    #[test]
    fn dedupe_keeps_the_first_frame_even_when_its_quality_is_low() {
        let used = used_frames(&[frame(7, 10), frame(7, 90), frame(8, 90)], 50);
        assert_eq!(used, vec![PdqHash::from_limbs([8, 0, 0, 0])]);
    }

    #[test]
    fn the_distance_is_inclusive() {
        let a = [frame(0, 100)];
        let b = [frame(0b111, 100)];
        assert_eq!(match_vpdq(&a, &b, 3, 50).query_pct, 100.0);
        assert_eq!(match_vpdq(&a, &b, 2, 50).query_pct, 0.0);
    }

    #[test]
    fn an_empty_side_matches_nothing() {
        let m = match_vpdq(&[], &[frame(1, 100)], 31, 50);
        assert_eq!((m.query_pct, m.compared_pct), (0.0, 0.0));
        let m = match_vpdq(&[frame(1, 100)], &[frame(1, 49)], 31, 50);
        assert_eq!((m.query_pct, m.compared_pct), (0.0, 0.0));
        assert!(m.matched_query.is_empty());
    }

    #[test]
    fn signatures_round_trip_and_bad_ones_are_refused() {
        let frames = [frame(0xabc, 100), frame(u64::MAX, 0)];
        let s = encode_signature(&frames);
        assert_eq!(s.len(), 132);
        assert!(s.starts_with("64"));
        assert_eq!(&s[66..68], "00");
        assert_eq!(decode_signature(&s).unwrap(), frames);
        assert_eq!(decode_signature(&s.to_ascii_uppercase()).unwrap(), frames);
        let hash = "0".repeat(64);
        for bad in [
            String::new(),
            format!("64{hash}0"),
            format!("65{hash}"),
            format!("zz{hash}"),
            format!("64{}x", "0".repeat(63)),
            format!("64{}é", "0".repeat(62)),
        ] {
            assert!(decode_signature(&bad).is_err(), "{bad:?}");
        }
    }
}
