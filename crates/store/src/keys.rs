//! API key material: generation, parsing and hashing.
//!
//! A key reads `rk_<id>_<secret>`: `id` is 16 hex digits (8 random bytes) and public, so a key
//! is found by an indexed lookup; `secret` is 64 hex digits (32 random bytes) and only its
//! SHA-256 is stored. A fast hash is enough here: the secret is 256 uniformly random bits, so
//! no dictionary or brute-force attack on a leaked hash is feasible, and a slow password KDF
//! (argon2, bcrypt) would cost milliseconds on every request for no gain.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "rk_";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A freshly generated key: its public id, the plaintext to hand out once, and the hash to keep.
pub(crate) struct Generated {
    pub id: String,
    pub plaintext: String,
    pub secret_sha256: Vec<u8>,
}

/// Makes a new random key.
pub(crate) fn generate() -> Generated {
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut id).expect("the operating system's random source failed");
    getrandom::fill(&mut secret).expect("the operating system's random source failed");
    let id = hex::encode(id);
    let secret = hex::encode(secret);
    Generated {
        plaintext: format!("{PREFIX}{id}_{secret}"),
        secret_sha256: hash_secret(&secret),
        id,
    }
}

/// Splits a presented key into `(id, secret)`, or `None` when it is not shaped like a key.
pub(crate) fn parse(presented: &str) -> Option<(&str, &str)> {
    let (id, secret) = presented.strip_prefix(PREFIX)?.split_once('_')?;
    let is_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    (is_hex(id, ID_BYTES * 2) && is_hex(secret, SECRET_BYTES * 2)).then_some((id, secret))
}

/// SHA-256 of the secret's text.
pub(crate) fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares a presented secret with a stored hash in constant time.
pub(crate) fn verify(secret: &str, stored_sha256: &[u8]) -> bool {
    hash_secret(secret).ct_eq(stored_sha256).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_and_verifies() {
        let key = generate();
        let (id, secret) = parse(&key.plaintext).unwrap();
        assert_eq!(id, key.id);
        assert!(verify(secret, &key.secret_sha256));
        let flipped = if secret.starts_with('0') { "1" } else { "0" };
        assert!(!verify(
            &format!("{flipped}{}", &secret[1..]),
            &key.secret_sha256
        ));
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "rk_",
            "rk_abc_def",
            "xx_0123456789abcdef_00",
            "rk_0123456789ABCDEF_",
        ] {
            assert!(parse(bad).is_none(), "{bad} parsed");
        }
    }
}
