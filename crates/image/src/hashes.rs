//! Exact content hashes, for banks of known files and for the verdict's `content_ref`.

use md5::Md5;
use sha2::{Digest, Sha256};

/// MD5 and SHA-256 of the submitted bytes, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentHashes {
    /// MD5, as many shared hash lists still use.
    pub md5: String,
    /// SHA-256.
    pub sha256: String,
}

/// Hashes `bytes`.
pub fn content_hashes(bytes: &[u8]) -> ContentHashes {
    ContentHashes {
        md5: hex::encode(Md5::digest(bytes)),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let h = content_hashes(b"abc");
        assert_eq!(h.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            h.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
