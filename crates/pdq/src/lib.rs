//! PDQ, Meta's perceptual hash for photos, implemented to give the same bits and quality as
//! the reference C++ (`pdq/cpp` in facebook/ThreatExchange) for the same pixels.
//!
//! This crate does no I/O and no decoding: callers hand it decoded 8-bit pixels (see the
//! `rampart-image` crate). It is not a matcher either: see `rampart-hashbank`.

mod hash;
mod hasher;
mod pixels;

pub use hash::{ParseHashError, PdqHash};
pub use hasher::{
    hash, hash_dihedral, hash_full_resolution, DihedralOutput, PdqOutput, DIHEDRAL_NAMES,
};
pub use pixels::{Layout, Pixels, PixelsError};
