//! Result callbacks: signing webhook deliveries, sending them without becoming an SSRF proxy,
//! and the retry schedule. The contract (README, "Webhooks"): `POST` JSON with header
//! `Rampart-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, retried with
//! backoff, at least once, each delivery carrying an idempotency id.
//!
//! Not for: building the event JSON, storing deliveries or running the retry loop (they must
//! survive a restart, so the queue and the store own them); this crate makes one attempt at a
//! time and says when the next one is due.
//!
//! # Use
//!
//! - When a tenant registers a callback URL, check it with
//!   [`Fetcher::check_url`](rampart_fetch::Fetcher::check_url) and give them a secret from
//!   [`new_secret`].
//! - Per delivery, pick an id once and call [`Sender::send`] for each attempt with that same
//!   id. An [`Attempt`] that is not `ok` but `retryable` is tried again after
//!   [`Backoff::next_attempt`]; one that is not retryable (an invalid or blocked URL) or for
//!   which `next_attempt` says `None` is abandoned.
//! - Each attempt is signed afresh, with its own send time as `t`.
//!
//! # What a receiver sees
//!
//! A `POST` with the event JSON as the body and these headers:
//!
//! | Header | Value |
//! |---|---|
//! | `Content-Type` | `application/json` |
//! | `Rampart-Signature` | `t=<unix seconds>,v1=<64 hex digits>` ([`SIGNATURE_HEADER`]) |
//! | `Rampart-Delivery-Id` | the same on every retry of one delivery ([`DELIVERY_ID_HEADER`]) |
//! | `Idempotency-Key` | the same value again, under the name many frameworks look for |
//! | `Rampart-Event` | the event name ([`EVENT_HEADER`]) |
//! | `User-Agent` | `rampart-webhook/<version>` |
//!
//! Delivery is at least once: a receiver must answer 2xx quickly and use the delivery id to
//! drop duplicates. Redirects are not followed; any other answer is retried.
//!
//! # Verifying a request
//!
//! Compute the HMAC over the raw body bytes exactly as received (not re-serialised JSON),
//! compare in constant time, and refuse old timestamps so a captured request cannot be
//! replayed. In Rust, with this crate:
//!
//! ```
//! use rampart_webhook::{verify, VerifyError};
//!
//! /// `header` is the request's `Rampart-Signature`, `body` the raw request body, `now` the
//! /// receiver's clock in Unix seconds.
//! fn check(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
//!     verify(secret.as_bytes(), header, body, now, 300)
//! }
//!
//! let secret = "whsec_2c3e5a81d0b7f4e69a1c8d2b7e0f5a3c6d9b1e4f7a2c5d8e0b3f6a9c1d4e7b0a";
//! let body = br#"{"event":"job.completed","job_id":"01JABCDEF"}"#;
//! let header = "t=1700000000,v1=\
//!     17c5a2aa80bf2315d6eefd4dadc4aa148c4507f122620d736640d356ba18b83d";
//! assert_eq!(check(secret, header, body, 1_700_000_042), Ok(()));
//! assert_eq!(check(secret, header, b"{}", 1_700_000_042), Err(VerifyError::Mismatch));
//! assert!(check(secret, header, body, 1_700_003_600).is_err()); // an hour later: replay
//! ```
//!
//! The same check in Python (standard library only):
//!
//! ```python
//! import hashlib, hmac, time
//!
//! def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
//!     items = [part.strip().partition("=") for part in header.split(",")]
//!     ts = [value for key, _, value in items if key == "t"]
//!     sigs = [value for key, _, value in items if key == "v1"]
//!     if len(ts) != 1 or not ts[0].isdigit() or not sigs:
//!         return False
//!     expected = hmac.new(secret.encode(), ts[0].encode() + b"." + body,
//!                         hashlib.sha256).hexdigest()
//!     if not any(hmac.compare_digest(expected, s) for s in sigs):
//!         return False
//!     return abs(time.time() - int(ts[0])) <= tolerance
//! ```
//!
//! While a secret is being rotated the header may carry several `v1=` entries; a request is
//! genuine if any of them matches.

mod backoff;
mod sender;
mod signature;

pub use backoff::Backoff;
pub use sender::{Attempt, Deliver, Sender};
pub use signature::{new_secret, sign, verify, VerifyError};

/// The header carrying the signature, `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Rampart-Signature";

/// The header carrying the delivery's idempotency id: the same on every attempt of one
/// delivery, so a receiver can recognise a retry of something it already processed.
pub const DELIVERY_ID_HEADER: &str = "Rampart-Delivery-Id";

/// The conventional name under which the delivery id is sent a second time.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// The header naming the event the body describes (e.g. `job.completed`).
pub const EVENT_HEADER: &str = "Rampart-Event";

/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!("rampart-webhook/", env!("CARGO_PKG_VERSION"));
