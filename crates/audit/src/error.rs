use thiserror::Error;

use crate::Broken;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuditError {
    /// An integer outside ±(2^53 − 1) cannot be canonicalised without
    /// losing precision; store it as a string instead.
    #[error(
        "integer {0} is outside the interoperable JSON range ±(2^53 - 1); store it as a string"
    )]
    IntegerOutOfRange(String),
    /// NaN or an infinity (only reachable with serde_json's
    /// `arbitrary_precision` feature).
    #[error("number {0} is not finite")]
    NonFiniteNumber(String),
    /// The payload nests arrays/objects deeper than the limit.
    #[error("JSON nests deeper than {max} levels")]
    TooDeep {
        /// The limit, [`crate::MAX_DEPTH`].
        max: usize,
    },
    /// A tenant name that could not appear unambiguously in a published head.
    #[error(
        "invalid tenant {0:?}: must be non-empty and contain no whitespace or control characters"
    )]
    InvalidTenant(String),
    /// A timestamp outside 1970-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z.
    #[error("timestamp {0} ms is outside 1970-01-01 ..= 9999-12-31")]
    TimestampOutOfRange(i64),
    /// An entry was sealed onto the head of another tenant's chain.
    #[error("entry for tenant {entry:?} cannot extend the chain of tenant {head:?}")]
    TenantMismatch {
        /// The tenant of the chain head.
        head: String,
        /// The tenant of the new entry.
        entry: String,
    },
    /// A hash that is not 64 lowercase hex digits.
    #[error("invalid digest {0:?}: expected 64 lowercase hex digits")]
    InvalidDigest(String),
    /// The chain is at `u64::MAX` entries (or beyond the I-JSON range).
    #[error("the chain cannot grow past seq {0}")]
    SeqOverflow(u64),
    /// An action name this version does not know.
    #[error("unknown audit action {0:?}")]
    UnknownAction(String),
    /// A published head line that does not parse.
    #[error("invalid published head: {0}")]
    InvalidHead(String),
    /// [`crate::check_head`]: the chain fails verification.
    #[error("the chain is broken at seq {}: {}", .0.seq, .0.reason)]
    ChainBroken(Broken),
    /// [`crate::check_head`]: the chain ends before the published head, so
    /// entries were removed from its end (or it is another chain).
    #[error("the chain ends at seq {chain_seq}, before the published head at seq {published_seq}: it was truncated or rolled back")]
    HeadNotReached {
        /// The seq of the published head.
        published_seq: u64,
        /// The last seq of the chain (0 for an empty chain).
        chain_seq: u64,
    },
    /// [`crate::check_head`]: the entry at the published seq has another
    /// hash, so history up to that point was rewritten.
    #[error("entry {seq} has hash {found}, but the published head says {published}: history was rewritten")]
    HeadMismatch {
        /// The seq of the published head.
        seq: u64,
        /// The published hash.
        published: String,
        /// The hash found in the chain.
        found: String,
    },
}
