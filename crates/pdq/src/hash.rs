//! The 256-bit PDQ hash value and its text form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 256-bit PDQ hash.
///
/// Bit `k` (k = 16·i + j for DCT coefficient row i, column j) is bit `k % 64` of limb `k / 64`.
/// The text form is the reference's: 64 lowercase hex digits, most significant bit first, so
/// bit 0 is the lowest bit of the last digit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash([u64; 4]);

/// A hash string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PDQ hash is 64 hexadecimal digits, got {0:?}")]
pub struct ParseHashError(pub String);

impl PdqHash {
    /// Number of bits in a hash.
    pub const BITS: u32 = 256;

    /// The hash whose limb `n` holds bits `64·n .. 64·n + 63`.
    pub const fn from_limbs(limbs: [u64; 4]) -> Self {
        PdqHash(limbs)
    }

    /// Limb `n` holds bits `64·n .. 64·n + 63`.
    pub const fn limbs(&self) -> [u64; 4] {
        self.0
    }

    /// Whether bit `k` (0..256) is set.
    pub fn bit(&self, k: usize) -> bool {
        self.0[k / 64] >> (k % 64) & 1 == 1
    }

    /// Sets bit `k` (0..256).
    pub fn set_bit(&mut self, k: usize) {
        self.0[k / 64] |= 1 << (k % 64);
    }

    /// Hamming distance: the number of differing bits (0..=256).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        (0..4).map(|i| (self.0[i] ^ other.0[i]).count_ones()).sum()
    }

    /// The 32 bytes, least significant bit's byte first.
    pub fn to_le_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        out
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:016x}{:016x}{:016x}{:016x}",
            self.0[3], self.0[2], self.0[1], self.0[0]
        )
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseHashError(s.chars().take(80).collect()));
        }
        let mut limbs = [0u64; 4];
        for (n, limb) in limbs.iter_mut().enumerate() {
            let start = (3 - n) * 16;
            *limb = u64::from_str_radix(&t[start..start + 16], 16)
                .map_err(|_| ParseHashError(s.chars().take(80).collect()))?;
        }
        Ok(PdqHash(limbs))
    }
}

impl Serialize for PdqHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PdqHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    #[test]
    fn text_form_round_trips_and_bit_zero_is_the_last_digit() {
        let h: PdqHash = H.parse().unwrap();
        assert_eq!(h.to_string(), H);
        // last digit 2 = 0b0010: bit 1 set, bit 0 clear.
        assert!(!h.bit(0));
        assert!(h.bit(1));
        // first digit d = 0b1101: bits 255, 254, 252.
        assert!(h.bit(255) && h.bit(254) && !h.bit(253) && h.bit(252));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a: PdqHash = H.parse().unwrap();
        let mut b = a;
        assert_eq!(a.distance(&b), 0);
        b.0[0] ^= 0b101;
        b.0[3] ^= 1 << 63;
        assert_eq!(a.distance(&b), 3);
    }

    #[test]
    fn bad_text_is_refused() {
        for s in ["", "xyz", &H[1..], &format!("{H}0"), &H.replace('d', "g")] {
            assert!(s.parse::<PdqHash>().is_err(), "{s}");
        }
    }
}
