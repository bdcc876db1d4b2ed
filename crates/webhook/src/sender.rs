//! One signed delivery attempt over the SSRF-checked HTTP client.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rampart_fetch::{FetchError, Fetcher};

use crate::{
    sign, DELIVERY_ID_HEADER, EVENT_HEADER, IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, USER_AGENT,
};

/// The longest `Location` or network detail quoted in [`Attempt::error`].
const MAX_DETAIL_CHARS: usize = 200;

/// What one delivery attempt came to, for the delivery log and the retry decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver answered 2xx: the delivery is done.
    pub ok: bool,
    /// The receiver's HTTP status, if it answered at all.
    pub status: Option<u16>,
    /// Why the attempt failed, short and without the response body: `HTTP 500`,
    /// `redirect not followed (→ https://…)`, `timed out`, `connection refused`,
    /// `blocked: 127.0.0.1 is a loopback address`, `invalid URL: …`. `None` when `ok`.
    pub error: Option<String>,
    /// Whether trying again later can help. False for a URL that is invalid or blocked by
    /// the address policy (SSRF), and for a delivery id or event that cannot be sent as a
    /// header: those deliveries give up at once. True for every other failure, any non-2xx
    /// status included.
    pub retryable: bool,
    /// How long the attempt took, from signing to the answer (or the failure).
    pub duration: Duration,
}

/// Sends webhook deliveries: signs each attempt afresh and posts it through a
/// [`Fetcher`], so callback URLs obey the same address rules as image URLs.
///
/// Cheap to clone (the fetcher shares its connection pool). It makes one attempt per call;
/// scheduling retries with [`Backoff`](crate::Backoff) is the caller's job, since deliveries
/// must survive a restart.
#[derive(Debug, Clone)]
pub struct Sender {
    fetch: Fetcher,
}

impl Sender {
    /// A sender posting through `fetch`. Its [`FetchConfig`](rampart_fetch::FetchConfig)
    /// `timeout` bounds each attempt and its `allow` list is the only way to reach a
    /// non-public receiver.
    pub fn new(fetch: Fetcher) -> Self {
        Sender { fetch }
    }

    /// Makes one delivery attempt: POSTs `body` (JSON) to `url`, signed with `secret` at the
    /// current time, with `delivery_id` as `Rampart-Delivery-Id` and `Idempotency-Key` (the
    /// same on every attempt of one delivery, so the receiver can drop duplicates) and `event`
    /// as `Rampart-Event`. Never fails: every outcome is an [`Attempt`].
    pub async fn send(
        &self,
        url: &str,
        secret: &[u8],
        delivery_id: &str,
        event: &str,
        body: Bytes,
    ) -> Attempt {
        let started = Instant::now();
        let headers = [
            (SIGNATURE_HEADER, sign(secret, unix_now(), &body)),
            (DELIVERY_ID_HEADER, delivery_id.to_owned()),
            (IDEMPOTENCY_KEY_HEADER, delivery_id.to_owned()),
            (EVENT_HEADER, event.to_owned()),
            ("User-Agent", USER_AGENT.to_owned()),
        ];
        let result = self
            .fetch
            .post(url, &headers, "application/json", body)
            .await;
        let attempt = judge(result, started.elapsed());
        tracing::debug!(
            delivery_id,
            event,
            ok = attempt.ok,
            status = attempt.status,
            error = attempt.error.as_deref(),
            retryable = attempt.retryable,
            duration_ms = attempt.duration.as_millis() as u64,
            "webhook attempt"
        );
        attempt
    }
}

/// Something that can make a delivery attempt: [`Sender`], or a stand-in in tests of the code
/// that schedules deliveries.
#[async_trait::async_trait]
pub trait Deliver: Send + Sync {
    /// One attempt, as [`Sender::send`].
    async fn send(
        &self,
        url: &str,
        secret: &[u8],
        delivery_id: &str,
        event: &str,
        body: Bytes,
    ) -> Attempt;
}

#[async_trait::async_trait]
impl Deliver for Sender {
    async fn send(
        &self,
        url: &str,
        secret: &[u8],
        delivery_id: &str,
        event: &str,
        body: Bytes,
    ) -> Attempt {
        Sender::send(self, url, secret, delivery_id, event, body).await
    }
}

/// Seconds since the Unix epoch; 0 for a clock set before 1970.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn judge(result: Result<rampart_fetch::Posted, FetchError>, duration: Duration) -> Attempt {
    let failed = |status, error: String, retryable| Attempt {
        ok: false,
        status,
        error: Some(error),
        retryable,
        duration,
    };
    let posted = match result {
        Ok(posted) => posted,
        Err(FetchError::InvalidUrl(why)) => {
            return failed(None, format!("invalid URL: {}", clip(&why)), false)
        }
        Err(FetchError::Blocked { reason }) => {
            return failed(None, format!("blocked: {}", clip(&reason)), false)
        }
        // A delivery id or event name that cannot be a header value will not become one later.
        Err(err @ FetchError::InvalidHeader(_)) => return failed(None, err.to_string(), false),
        Err(FetchError::Timeout) => return failed(None, "timed out".to_owned(), true),
        Err(FetchError::Network(chain)) => return failed(None, network_summary(&chain), true),
        Err(other) => return failed(None, clip(&other.to_string()), true),
    };
    let status = Some(posted.status);
    match posted.status {
        200..=299 => Attempt {
            ok: true,
            status,
            error: None,
            retryable: false,
            duration,
        },
        300..=399 if posted.location.is_some() => {
            let location = posted.location.as_deref().unwrap_or_default();
            failed(
                status,
                format!("redirect not followed (→ {})", clip(location)),
                true,
            )
        }
        code => failed(status, format!("HTTP {code}"), true),
    }
}

/// A few words for a network failure. The full chain starts with reqwest's "error sending
/// request for url (…)", which would copy the URL (and any token in it) into the log.
fn network_summary(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let known = [
        ("connection refused", "connection refused"),
        ("connection reset", "connection reset"),
        ("dns error", "DNS lookup failed"),
        ("failed to lookup address", "DNS lookup failed"),
        ("certificate", "TLS certificate rejected"),
        ("handshake", "TLS handshake failed"),
        ("network is unreachable", "network unreachable"),
        ("no route to host", "no route to host"),
        (
            "incomplete message",
            "connection closed before the response",
        ),
        ("connection closed", "connection closed before the response"),
    ];
    if let Some((_, summary)) = known.iter().find(|(needle, _)| lower.contains(needle)) {
        return (*summary).to_owned();
    }
    let last_cause = chain.rsplit(": ").next().unwrap_or(chain);
    format!("network error: {}", clip(last_cause))
}

/// `text` cut to [`MAX_DETAIL_CHARS`] characters, with `…` when cut.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_fetch::Posted;

    fn judged(result: Result<Posted, FetchError>) -> Attempt {
        judge(result, Duration::from_millis(7))
    }

    fn posted(status: u16, location: Option<&str>) -> Result<Posted, FetchError> {
        Ok(Posted {
            status,
            location: location.map(str::to_owned),
        })
    }

    #[test]
    fn outcomes_read_like_the_delivery_log() {
        type Row = (
            Result<Posted, FetchError>,
            bool,
            Option<u16>,
            Option<&'static str>,
            bool,
        );
        // (result, ok, status, error, retryable)
        let rows: Vec<Row> = vec![
            (posted(200, None), true, Some(200), None, false),
            (posted(204, None), true, Some(204), None, false),
            (posted(500, None), false, Some(500), Some("HTTP 500"), true),
            (posted(410, None), false, Some(410), Some("HTTP 410"), true),
            (posted(304, None), false, Some(304), Some("HTTP 304"), true),
            (
                posted(301, Some("https://elsewhere.example/")),
                false,
                Some(301),
                Some("redirect not followed (→ https://elsewhere.example/)"),
                true,
            ),
            (
                Err(FetchError::Timeout),
                false,
                None,
                Some("timed out"),
                true,
            ),
            (
                Err(FetchError::Blocked {
                    reason: "127.0.0.1 is a loopback address".into(),
                }),
                false,
                None,
                Some("blocked: 127.0.0.1 is a loopback address"),
                false,
            ),
            (
                Err(FetchError::InvalidUrl("ftp: only http and https".into())),
                false,
                None,
                Some("invalid URL: ftp: only http and https"),
                false,
            ),
            (
                Err(FetchError::Network(
                    "error sending request for url (http://h/?token=s3cret): client error \
                     (Connect): tcp connect error: Connection refused (os error 111)"
                        .into(),
                )),
                false,
                None,
                Some("connection refused"),
                true,
            ),
            (
                Err(FetchError::Network(
                    "error sending request for url (http://h/?token=s3cret): odd: thing".into(),
                )),
                false,
                None,
                Some("network error: thing"),
                true,
            ),
            (
                Err(FetchError::InvalidHeader("Rampart-Event".into())),
                false,
                None,
                Some("invalid header \"Rampart-Event\""),
                false,
            ),
        ];
        for (result, ok, status, error, retryable) in rows {
            let label = format!("{result:?}");
            let attempt = judged(result);
            assert_eq!(attempt.ok, ok, "{label}");
            assert_eq!(attempt.status, status, "{label}");
            assert_eq!(attempt.error.as_deref(), error, "{label}");
            assert_eq!(attempt.retryable, retryable, "{label}");
            assert_eq!(attempt.duration, Duration::from_millis(7));
        }
    }

    #[test]
    fn long_details_are_clipped_on_a_char_boundary() {
        let location = "é".repeat(1000);
        let attempt = judged(posted(302, Some(&location)));
        let error = attempt.error.unwrap();
        assert!(error.ends_with("…)"), "{error}");
        assert!(error.chars().count() < 250, "{}", error.len());
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn the_clock_is_after_2023() {
        assert!(unix_now() > 1_700_000_000);
    }
}
