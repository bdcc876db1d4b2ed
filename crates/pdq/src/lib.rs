//! PDQ, Meta's perceptual hash for photos, implemented to give the same bits and quality as
//! the reference C++ (`pdq/cpp` in facebook/ThreatExchange) for the same pixels.
//!
//! This crate does no I/O and no decoding: callers hand it decoded 8-bit pixels (see the
//! `rampart-image` crate). It is not a matcher either: see `rampart-hashbank`.

mod hash;

pub use hash::{ParseHashError, PdqHash};
