//! Banks of known hashes, and the index that matches against them.
//!
//! What it is for: holding PDQ hash banks (each with a label, a distance threshold, a minimum
//! quality and optional dihedral matching), exact MD5/SHA-256 banks and vPDQ video banks
//! ([`HashBank`], [`BankSet`]); matching query hashes against all of them, exactly and fast
//! ([`HammingIndex`] answers radius queries over millions of hashes); the vPDQ matching rule
//! and signature text form ([`vpdq`]); keeping each bank in a human-readable file that a
//! crash cannot truncate ([`store`]); importing the reference tools' hash lists ([`import`]).
//!
//! What it is not for: computing hashes (see `rampart-pdq` and `rampart-media`; file digests are the caller's),
//! deciding what a match means (policies), validating labels, serving HTTP or talking to a
//! database. It has no async runtime and does no network I/O.

#![warn(missing_docs)]

pub mod bank;
pub mod import;
pub mod index;
pub mod store;
pub mod vpdq;

pub use bank::{
    BankConfig, BankError, BankHit, BankKind, BankSet, Batch, Entry, EntryHash, HashBank, VpdqHit,
    DEFAULT_MIN_QUALITY, DEFAULT_THRESHOLD, DEFAULT_VPDQ_MATCH_PCT,
};
pub use import::{ImportFormat, ImportOptions, ImportReport};
pub use index::{HammingIndex, ItemId};
pub use rampart_pdq::PdqHash;
pub use vpdq::{decode_signature, encode_signature, match_vpdq, VpdqFeature, VpdqMatch};
