//! `Sender` against real receivers on loopback (axum on ephemeral ports), with a `Fetcher`
//! that allows `127.0.0.1/32` unless a test says otherwise.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, LOCATION, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use rampart_fetch::{FetchConfig, Fetcher};
use rampart_webhook::{
    verify, Attempt, Backoff, Sender, VerifyError, DELIVERY_ID_HEADER, EVENT_HEADER,
    IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER,
};
use tokio::net::TcpListener;

const SECRET: &str = "whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";
const BODY: &[u8] = br#"{"event":"job.completed","job_id":"01J9ZC4T5Q"}"#;
const EVENT: &str = "job.completed";

/// One request as the receiver saw it, with the receiver's own verdict on its signature.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    verified: Result<(), VerifyError>,
}

#[derive(Default)]
struct Receiver {
    requests: Mutex<Vec<Received>>,
    /// How many requests to fail (with 500) before accepting.
    fail_first: AtomicUsize,
}

type Shared = Arc<Receiver>;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// What a real receiver does first: check the signature over the raw body.
fn record(receiver: &Receiver, headers: HeaderMap, body: Bytes) {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let verified = verify(SECRET.as_bytes(), signature, &body, unix_now(), 300);
    receiver.requests.lock().unwrap().push(Received {
        headers,
        body,
        verified,
    });
}

async fn ok(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&r, headers, body);
    StatusCode::NO_CONTENT
}

async fn flaky(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    record(&r, headers, body);
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        (StatusCode::INTERNAL_SERVER_ERROR, "try later").into_response()
    } else {
        (StatusCode::OK, "accepted").into_response()
    }
}

async fn always_500(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&r, headers, body);
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn hang(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&r, headers, body);
    tokio::time::sleep(Duration::from_secs(60)).await;
    StatusCode::OK
}

async fn redirect(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    record(&r, headers, body);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(LOCATION, "/ok")], // same receiver: following it would be visible in the log
    )
        .into_response()
}

async fn serve(fail_first: usize) -> (SocketAddr, Shared) {
    let shared = Arc::new(Receiver {
        fail_first: AtomicUsize::new(fail_first),
        ..Receiver::default()
    });
    let app = Router::new()
        .route("/ok", post(ok))
        .route("/flaky", post(flaky))
        .route("/500", post(always_500))
        .route("/hang", post(hang))
        .route("/redirect", post(redirect))
        .with_state(Arc::clone(&shared));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, shared)
}

fn sender(allow: &[&str]) -> Sender {
    Sender::new(
        Fetcher::new(FetchConfig {
            allow: allow.iter().map(|net| net.parse().unwrap()).collect(),
            timeout: Duration::from_secs(1),
            ..FetchConfig::default()
        })
        .unwrap(),
    )
}

fn loopback_sender() -> Sender {
    sender(&["127.0.0.1/32"])
}

async fn send(sender: &Sender, url: &str, delivery_id: &str) -> Attempt {
    sender
        .send(
            url,
            SECRET.as_bytes(),
            delivery_id,
            EVENT,
            Bytes::from_static(BODY),
        )
        .await
}

fn received(shared: &Shared) -> Vec<Received> {
    shared.requests.lock().unwrap().clone()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_2xx_is_a_delivery_with_every_header_and_a_valid_signature() {
    let (addr, shared) = serve(0).await;
    let attempt = send(&loopback_sender(), &format!("http://{addr}/ok"), "dlv_1").await;
    assert!(attempt.ok, "{attempt:?}");
    assert_eq!(attempt.status, Some(204));
    assert_eq!(attempt.error, None);

    let [request] = &received(&shared)[..] else {
        panic!("expected one request")
    };
    assert_eq!(request.verified, Ok(()));
    assert_eq!(&request.body[..], BODY);
    let h = &request.headers;
    assert_eq!(header(h, CONTENT_TYPE.as_str()), "application/json");
    assert_eq!(header(h, DELIVERY_ID_HEADER), "dlv_1");
    assert_eq!(header(h, IDEMPOTENCY_KEY_HEADER), "dlv_1");
    assert_eq!(header(h, EVENT_HEADER), EVENT);
    assert_eq!(
        header(h, USER_AGENT.as_str()),
        format!("rampart-webhook/{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(header(h, SIGNATURE_HEADER).starts_with("t="));
    // Signed with the sender's secret, not just any: another secret fails.
    assert_eq!(
        verify(
            b"whsec_other",
            header(h, SIGNATURE_HEADER),
            BODY,
            unix_now(),
            300
        ),
        Err(VerifyError::Mismatch)
    );
}

#[tokio::test]
async fn a_500_is_a_retryable_failure() {
    let (addr, shared) = serve(0).await;
    let attempt = send(&loopback_sender(), &format!("http://{addr}/500"), "dlv_2").await;
    assert!(!attempt.ok);
    assert!(attempt.retryable);
    assert_eq!(attempt.status, Some(500));
    assert_eq!(attempt.error.as_deref(), Some("HTTP 500"));
    assert_eq!(received(&shared).len(), 1);
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out() {
    let (addr, shared) = serve(0).await;
    let attempt = send(&loopback_sender(), &format!("http://{addr}/hang"), "dlv_3").await;
    assert!(!attempt.ok);
    assert!(attempt.retryable);
    assert_eq!(attempt.status, None);
    assert_eq!(attempt.error.as_deref(), Some("timed out"));
    assert_eq!(received(&shared).len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (addr, shared) = serve(0).await;
    let attempt = send(
        &loopback_sender(),
        &format!("http://{addr}/redirect"),
        "dlv_4",
    )
    .await;
    assert!(!attempt.ok);
    assert_eq!(attempt.status, Some(307));
    assert_eq!(
        attempt.error.as_deref(),
        Some("redirect not followed (→ /ok)")
    );
    // Only the redirecting route was hit: /ok never saw the body.
    assert_eq!(received(&shared).len(), 1);
}

#[tokio::test]
async fn a_flaky_receiver_gets_the_same_delivery_id_until_it_accepts() {
    let (addr, shared) = serve(2).await;
    let sender = loopback_sender();
    let url = format!("http://{addr}/flaky");
    let backoff = Backoff {
        base: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        give_up_after: Duration::from_secs(60),
    };
    let mut rng = rand::rng();
    let started = std::time::Instant::now();
    let mut attempts = Vec::new();
    loop {
        let attempt = send(&sender, &url, "dlv_flaky").await;
        let done = attempt.ok || !attempt.retryable;
        attempts.push(attempt);
        if done {
            break;
        }
        let failures = attempts.len() as u32;
        let wait = backoff
            .next_attempt(failures, started.elapsed(), &mut rng)
            .expect("well within give_up_after");
        tokio::time::sleep(wait).await;
    }

    let outcomes: Vec<(bool, Option<u16>)> = attempts.iter().map(|a| (a.ok, a.status)).collect();
    assert_eq!(
        outcomes,
        [(false, Some(500)), (false, Some(500)), (true, Some(200))]
    );
    assert!(attempts[..2].iter().all(|a| a.retryable));

    let requests = received(&shared);
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.verified, Ok(()), "{request:?}");
        assert_eq!(header(&request.headers, DELIVERY_ID_HEADER), "dlv_flaky");
        assert_eq!(
            header(&request.headers, IDEMPOTENCY_KEY_HEADER),
            "dlv_flaky"
        );
        assert_eq!(&request.body[..], BODY);
    }
}

#[tokio::test]
async fn loopback_without_the_allow_list_is_blocked_and_not_retried() {
    let (addr, shared) = serve(0).await;
    let attempt = send(&sender(&[]), &format!("http://{addr}/ok"), "dlv_5").await;
    assert!(!attempt.ok);
    assert!(!attempt.retryable);
    assert_eq!(attempt.status, None);
    assert_eq!(
        attempt.error.as_deref(),
        Some("blocked: 127.0.0.1 is a loopback address")
    );
    assert!(received(&shared).is_empty());
}

#[tokio::test]
async fn metadata_and_ipv6_loopback_are_blocked_even_with_loopback_allowed() {
    let sender = loopback_sender();
    for (url, why) in [
        (
            "http://169.254.169.254/latest/meta-data/iam",
            "169.254.169.254 is a link-local address",
        ),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.0.0.1/hook", "private"),
    ] {
        let attempt = send(&sender, url, "dlv_6").await;
        assert!(!attempt.ok, "{url}");
        assert!(!attempt.retryable, "{url}");
        let error = attempt.error.unwrap_or_default();
        assert!(
            error.starts_with("blocked: ") && error.contains(why),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_blocked() {
    let (addr, shared) = serve(0).await;
    let url = format!("http://localhost:{}/ok", addr.port());
    let attempt = send(&sender(&[]), &url, "dlv_7").await;
    assert!(!attempt.retryable, "{attempt:?}");
    assert_eq!(
        attempt.error.as_deref(),
        Some("blocked: localhost resolves to a loopback address")
    );
    assert!(received(&shared).is_empty());
}

#[tokio::test]
async fn invalid_urls_give_up_at_once() {
    let sender = loopback_sender();
    for url in [
        "ftp://127.0.0.1/",
        "not a url",
        "http://user:pw@127.0.0.1/",
        "",
    ] {
        let attempt = send(&sender, url, "dlv_8").await;
        assert!(!attempt.ok && !attempt.retryable, "{url}: {attempt:?}");
        let error = attempt.error.unwrap_or_default();
        assert!(error.starts_with("invalid URL: "), "{url}: {error}");
    }
}

#[tokio::test]
async fn a_closed_port_is_a_retryable_connection_refusal() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let attempt = send(
        &loopback_sender(),
        &format!("http://127.0.0.1:{port}/hook?token=s3cret"),
        "dlv_9",
    )
    .await;
    assert!(!attempt.ok);
    assert!(attempt.retryable);
    assert_eq!(attempt.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn an_unsendable_delivery_id_fails_without_sending() {
    let (addr, shared) = serve(0).await;
    let attempt = send(
        &loopback_sender(),
        &format!("http://{addr}/ok"),
        "dlv\r\nX-Injected: 1",
    )
    .await;
    assert!(!attempt.ok && !attempt.retryable, "{attempt:?}");
    assert_eq!(
        attempt.error.as_deref(),
        Some("invalid header \"Rampart-Delivery-Id\"")
    );
    assert!(received(&shared).is_empty());
}
