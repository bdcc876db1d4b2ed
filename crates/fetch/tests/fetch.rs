//! The fetcher against real HTTP servers on loopback: axum for well-behaved ones, raw TCP for
//! servers that misbehave (no `Content-Length`, endless bodies, stalls).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rampart_fetch::{FetchConfig, FetchError, Fetched, Fetcher};
use rampart_types::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A tiny but genuine PNG (1×1, grey).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

const BIG: usize = 2 << 20;

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(LOCATION, location.to_owned())]).into_response()
}

/// `/image` serves [`PNG`]; `/hop/N` redirects (relatively) to `/hop/N-1` until `/hop/0`,
/// which is the image; `/to?url=U` redirects to U; `/big` is [`BIG`] bytes with a
/// `Content-Length`; `/stall` never answers; anything else is a 404.
fn app() -> Router {
    Router::new()
        .route(
            "/image",
            get(|| async { ([(CONTENT_TYPE, "image/png")], PNG) }),
        )
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                match n {
                    0 => ([(CONTENT_TYPE, "image/png")], PNG).into_response(),
                    n => redirect(&(n - 1).to_string()),
                }
            }),
        )
        .route(
            "/to",
            get(|Query(q): Query<HashMap<String, String>>| async move { redirect(&q["url"]) }),
        )
        .route("/big", get(|| async { vec![0u8; BIG] }))
        .route(
            "/stall",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }),
        )
}

/// Serves [`app`] on `ip`, port chosen by the OS.
async fn serve_on(ip: &str) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app()).await.unwrap() });
    addr
}

async fn serve() -> SocketAddr {
    serve_on("127.0.0.1").await
}

/// Serves one raw response to every connection: `head` (status line and headers, without the
/// blank line), then `body`, then, if `endless`, `body` again until the client hangs up, or,
/// if not, keeps the connection open without sending more.
async fn serve_raw(head: &'static str, body: &'static [u8], endless: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(b"\r\n\r\n").await;
                while socket.write_all(body).await.is_ok() && endless {}
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    addr
}

fn fetcher(allow: &[&str]) -> Fetcher {
    fetcher_with(allow, |_| {})
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

fn expect_blocked(result: Result<Fetched, FetchError>, mentions: &str) {
    match result {
        Err(err @ FetchError::Blocked { .. }) => {
            assert!(err.to_string().contains(mentions), "{err}");
            assert!(err.is_blocked());
            assert_eq!(err.api_code(), ErrorCode::FetchBlocked);
        }
        other => panic!("expected Blocked mentioning {mentions:?}, got {other:?}"),
    }
}

// (1)
#[tokio::test]
async fn a_loopback_server_is_blocked_without_an_allow_list() {
    let addr = serve().await;
    expect_blocked(
        fetcher(&[]).fetch(&format!("http://{addr}/image")).await,
        "127.0.0.1 is a loopback address",
    );
}

// (2)
#[tokio::test]
async fn an_allowed_server_delivers_bytes_and_content_type() {
    let addr = serve().await;
    let url = format!("http://{addr}/image");
    let fetched = fetcher(LOOPBACK).fetch(&url).await.unwrap();
    assert_eq!(&fetched.bytes[..], PNG);
    assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
    assert_eq!(fetched.final_url, url);
    assert_eq!(fetched.redirects, 0);
}

// (3)
#[tokio::test]
async fn two_relative_redirects_are_followed() {
    let addr = serve().await;
    let fetched = fetcher(LOOPBACK)
        .fetch(&format!("http://{addr}/hop/2"))
        .await
        .unwrap();
    assert_eq!(&fetched.bytes[..], PNG);
    assert_eq!(fetched.redirects, 2);
    assert_eq!(fetched.final_url, format!("http://{addr}/hop/0"));
}

#[tokio::test]
async fn exactly_the_maximum_of_redirects_is_followed() {
    let addr = serve().await;
    let fetched = fetcher(LOOPBACK)
        .fetch(&format!("http://{addr}/hop/3"))
        .await
        .unwrap();
    assert_eq!(fetched.redirects, 3);
}

// (4)
#[tokio::test]
async fn four_redirects_are_too_many() {
    let addr = serve().await;
    let result = fetcher(LOOPBACK)
        .fetch(&format!("http://{addr}/hop/4"))
        .await;
    assert!(
        matches!(result, Err(FetchError::TooManyRedirects)),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_redirect_limit_is_configurable() {
    let addr = serve().await;
    let no_redirects = fetcher_with(LOOPBACK, |c| c.max_redirects = 0);
    let result = no_redirects.fetch(&format!("http://{addr}/hop/1")).await;
    assert!(
        matches!(result, Err(FetchError::TooManyRedirects)),
        "{result:?}"
    );
}

// (5)
#[tokio::test]
async fn a_redirect_to_cloud_metadata_is_blocked_without_connecting() {
    let addr = serve().await;
    // Short timeout: were the fetcher to try connecting, this would end in Timeout or
    // Network, not Blocked.
    let fetcher = fetcher_with(LOOPBACK, |c| c.timeout = Duration::from_secs(2));
    for target in [
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
        "http://2852039166/latest/meta-data",
    ] {
        expect_blocked(
            fetcher
                .fetch(&format!("http://{addr}/to?url={target}"))
                .await,
            "redirect refused: ",
        );
    }
    expect_blocked(
        fetcher
            .fetch(&format!(
                "http://{addr}/to?url=http://169.254.169.254/latest/meta-data"
            ))
            .await,
        "redirect refused: 169.254.169.254 is a link-local address",
    );
}

// (6)
#[tokio::test]
async fn a_redirect_to_localhost_is_blocked_after_resolution() {
    // The first hop is served on 127.0.0.2 (Linux routes all of 127.0.0.0/8 to loopback) and
    // only that address is allowed, so `localhost` (127.0.0.1, maybe ::1) is not covered.
    let addr = serve_on("127.0.0.2").await;
    let fetcher = fetcher(&["127.0.0.2/32"]);
    assert!(fetcher.fetch(&format!("http://{addr}/image")).await.is_ok());
    let target = format!("http://localhost:{}/image", addr.port());
    expect_blocked(
        fetcher
            .fetch(&format!("http://{addr}/to?url={target}"))
            .await,
        "localhost resolves to a loopback address",
    );
}

#[tokio::test]
async fn a_name_is_fetched_when_every_address_it_resolves_to_is_allowed() {
    let addr = serve().await;
    let url = format!("http://localhost:{}/image", addr.port());
    expect_blocked(fetcher(&[]).fetch(&url).await, "localhost resolves to");
    expect_blocked(fetcher(&["10.0.0.0/8"]).fetch(&url).await, "localhost");
    let fetched = fetcher(&["127.0.0.0/8", "::1/128"])
        .fetch(&url)
        .await
        .unwrap();
    assert_eq!(&fetched.bytes[..], PNG);
}

// (7)
#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_a_content_length() {
    let addr = serve().await;
    let url = format!("http://{addr}/big");
    let small = fetcher_with(LOOPBACK, |c| c.max_bytes = 1 << 20);
    let result = small.fetch(&url).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit }) if limit == 1 << 20),
        "{result:?}"
    );
    let exact = fetcher_with(LOOPBACK, |c| c.max_bytes = BIG as u64);
    assert_eq!(exact.fetch(&url).await.unwrap().bytes.len(), BIG);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_without_a_content_length() {
    static KIB: [u8; 1024] = [0; 1024];
    // Read-until-close framing: only counting the bytes can stop it.
    let addr = serve_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close",
        &KIB,
        true,
    )
    .await;
    let fetcher = fetcher_with(LOOPBACK, |c| c.max_bytes = 100 << 10);
    let result = fetcher.fetch(&format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused() {
    // One 16-byte chunk, repeated for ever.
    let addr = serve_raw(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked",
        b"10\r\n0123456789abcdef\r\n",
        true,
    )
    .await;
    let fetcher = fetcher_with(LOOPBACK, |c| c.max_bytes = 1000);
    let result = fetcher.fetch(&format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { .. })),
        "{result:?}"
    );
}

// (8)
#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let addr = serve().await;
    let fetcher = fetcher_with(LOOPBACK, |c| c.timeout = Duration::from_millis(300));
    let result = fetcher.fetch(&format!("http://{addr}/stall")).await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
}

#[tokio::test]
async fn a_body_that_stalls_halfway_times_out() {
    let addr = serve_raw(
        "HTTP/1.1 200 OK\r\nContent-Length: 1000",
        b"0123456789",
        false,
    )
    .await;
    let fetcher = fetcher_with(LOOPBACK, |c| c.timeout = Duration::from_millis(300));
    let result = fetcher.fetch(&format!("http://{addr}/")).await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
    assert_eq!(result.unwrap_err().api_code(), ErrorCode::FetchBlocked);
}

// (9)
#[tokio::test]
async fn other_schemes_and_non_urls_are_invalid() {
    let fetcher = fetcher(LOOPBACK);
    for url in ["ftp://127.0.0.1/a.png", "file:///etc/passwd", "not a url"] {
        match fetcher.fetch(url).await {
            Err(err @ FetchError::InvalidUrl(_)) => {
                assert_eq!(err.api_code(), ErrorCode::InvalidRequest);
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_blocked_not_invalid() {
    let addr = serve().await;
    let fetcher = fetcher(LOOPBACK);
    for target in ["file:///etc/passwd", "ftp://127.0.0.1/a.png"] {
        expect_blocked(
            fetcher
                .fetch(&format!("http://{addr}/to?url={target}"))
                .await,
            "URLs are not fetched (only http and https)",
        );
    }
}

// (10)
#[tokio::test]
async fn an_ipv4_mapped_loopback_literal_is_blocked() {
    let addr = serve().await;
    let url = format!("http://[::ffff:127.0.0.1]:{}/image", addr.port());
    expect_blocked(fetcher(&[]).fetch(&url).await, "loopback");
    // An IPv4 allow entry does not cover the mapped spelling.
    expect_blocked(fetcher(LOOPBACK).fetch(&url).await, "loopback");
}

#[tokio::test]
async fn numeric_spellings_of_loopback_are_blocked() {
    let addr = serve().await;
    let port = addr.port();
    for host in ["2130706433", "0x7f.1", "127.1", "0x7f000001", "[::1]"] {
        expect_blocked(
            fetcher(&[])
                .fetch(&format!("http://{host}:{port}/image"))
                .await,
            "loopback",
        );
    }
}

// (11)
#[tokio::test]
async fn a_404_is_a_status_error() {
    let addr = serve().await;
    let result = fetcher(LOOPBACK)
        .fetch(&format!("http://{addr}/missing"))
        .await;
    assert!(matches!(result, Err(FetchError::Status(404))), "{result:?}");
}

#[tokio::test]
async fn a_closed_port_is_a_network_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let result = fetcher(LOOPBACK)
        .fetch(&format!("http://127.0.0.1:{port}/"))
        .await;
    assert!(matches!(result, Err(FetchError::Network(_))), "{result:?}");
}
