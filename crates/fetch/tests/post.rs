//! `Fetcher::post` against real receivers on loopback: the address rules of `fetch`, no
//! redirects followed, the status returned whatever it is, and the time bound.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, USER_AGENT};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use rampart_fetch::{FetchConfig, FetchError, Fetcher, Posted};
use tokio::net::TcpListener;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn record(State(log): State<Log>, uri: Uri, headers: HeaderMap, body: Bytes) {
    log.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
}

/// Every route records the request first. `/hook` answers 201; `/status/N` answers N;
/// `/redirect` answers 302 to `/hook`; `/big` answers 200 with 1 MiB; `/stall` never answers.
fn app(log: Log) -> Router {
    Router::new()
        .route(
            "/hook",
            post(|s, u, h, b| async move {
                record(s, u, h, b).await;
                (StatusCode::CREATED, "thanks")
            }),
        )
        .route(
            "/status/{n}",
            post(|s, u: Uri, h, Path(n): Path<u16>, b| async move {
                record(s, u, h, b).await;
                StatusCode::from_u16(n).unwrap()
            }),
        )
        .route(
            "/redirect",
            post(|s, u, h, b| async move {
                record(s, u, h, b).await;
                (StatusCode::FOUND, [(LOCATION, "/hook")]).into_response()
            }),
        )
        .route(
            "/big",
            post(|s, u, h, b| async move {
                record(s, u, h, b).await;
                vec![b'x'; 1 << 20]
            }),
        )
        .route(
            "/stall",
            post(|s, u, h, b| async move {
                record(s, u, h, b).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }),
        )
        .with_state(log)
}

async fn serve() -> (SocketAddr, Log) {
    let log = Log::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(Arc::clone(&log));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, log)
}

fn fetcher_with(allow: &[&str], tweak: impl FnOnce(&mut FetchConfig)) -> Fetcher {
    let mut config = FetchConfig {
        allow: allow.iter().map(|net| net.parse().unwrap()).collect(),
        ..FetchConfig::default()
    };
    tweak(&mut config);
    Fetcher::new(config).unwrap()
}

const LOOPBACK: &[&str] = &["127.0.0.1/32"];

async fn post_json(fetcher: &Fetcher, url: &str) -> Result<Posted, FetchError> {
    fetcher
        .post(url, &[], "application/json", Bytes::from_static(b"{}"))
        .await
}

fn paths(log: &Log) -> Vec<String> {
    log.lock().unwrap().iter().map(|r| r.path.clone()).collect()
}

#[tokio::test]
async fn loopback_is_refused_without_an_allow_list_and_nothing_is_sent() {
    let (addr, log) = serve().await;
    let fetcher = fetcher_with(&[], |_| {});
    for url in [
        format!("http://{addr}/hook"),
        format!("http://localhost:{}/hook", addr.port()),
        format!("http://[::1]:{}/hook", addr.port()),
    ] {
        match post_json(&fetcher, &url).await {
            Err(err @ FetchError::Blocked { .. }) => {
                assert!(err.to_string().contains("loopback"), "{url}: {err}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(paths(&log).is_empty(), "{:?}", paths(&log));
}

#[tokio::test]
async fn an_allowed_receiver_gets_the_body_headers_and_content_type() {
    let (addr, log) = serve().await;
    let fetcher = fetcher_with(LOOPBACK, |_| {});
    let posted = fetcher
        .post(
            &format!("http://{addr}/hook"),
            &[
                ("X-Custom", "one".to_owned()),
                ("User-Agent", "tester/1".to_owned()),
            ],
            "application/json",
            Bytes::from_static(br#"{"a":1}"#),
        )
        .await
        .unwrap();
    assert_eq!(
        posted,
        Posted {
            status: 201,
            location: None
        }
    );
    let log = log.lock().unwrap();
    let [received] = &log[..] else {
        panic!("{log:?}")
    };
    assert_eq!(&received.body[..], br#"{"a":1}"#);
    assert_eq!(received.headers[CONTENT_TYPE], "application/json");
    assert_eq!(received.headers["x-custom"], "one");
    assert_eq!(received.headers[USER_AGENT], "tester/1");
}

#[tokio::test]
async fn any_status_is_an_answer_not_an_error() {
    let (addr, _log) = serve().await;
    let fetcher = fetcher_with(LOOPBACK, |_| {});
    for status in [200u16, 204, 400, 404, 410, 500, 503] {
        let posted = post_json(&fetcher, &format!("http://{addr}/status/{status}"))
            .await
            .unwrap();
        assert_eq!(posted.status, status);
    }
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    let (addr, log) = serve().await;
    let fetcher = fetcher_with(LOOPBACK, |_| {});
    let posted = post_json(&fetcher, &format!("http://{addr}/redirect"))
        .await
        .unwrap();
    assert_eq!(
        posted,
        Posted {
            status: 302,
            location: Some("/hook".to_owned())
        }
    );
    assert_eq!(paths(&log), ["/redirect"]);
}

#[tokio::test]
async fn a_large_response_body_does_not_matter() {
    let (addr, _log) = serve().await;
    // max_bytes bounds downloads; post reads at most 64 KiB whatever it is.
    let fetcher = fetcher_with(LOOPBACK, |c| c.max_bytes = 1024);
    let posted = post_json(&fetcher, &format!("http://{addr}/big"))
        .await
        .unwrap();
    assert_eq!(posted.status, 200);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let (addr, log) = serve().await;
    let fetcher = fetcher_with(LOOPBACK, |c| c.timeout = Duration::from_millis(500));
    let result = post_json(&fetcher, &format!("http://{addr}/stall")).await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
    assert_eq!(paths(&log), ["/stall"]);
}

#[tokio::test]
async fn a_closed_port_is_a_network_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let fetcher = fetcher_with(LOOPBACK, |_| {});
    let result = post_json(&fetcher, &format!("http://127.0.0.1:{port}/")).await;
    assert!(matches!(result, Err(FetchError::Network(_))), "{result:?}");
}

#[tokio::test]
async fn bad_urls_and_headers_are_refused_before_sending() {
    let (addr, log) = serve().await;
    let fetcher = fetcher_with(LOOPBACK, |_| {});
    for url in ["ftp://127.0.0.1/", "http://u:p@127.0.0.1/", "nonsense"] {
        let result = post_json(&fetcher, url).await;
        assert!(
            matches!(result, Err(FetchError::InvalidUrl(_))),
            "{url}: {result:?}"
        );
    }
    let result = fetcher
        .post(
            &format!("http://{addr}/hook"),
            &[("X-Id", "a\nb".to_owned())],
            "application/json",
            Bytes::new(),
        )
        .await;
    assert!(
        matches!(result, Err(FetchError::InvalidHeader(ref name)) if name == "X-Id"),
        "{result:?}"
    );
    assert!(paths(&log).is_empty());
}
