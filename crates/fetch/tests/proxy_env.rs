//! Proxy variables in the environment must not route fetches through a proxy, where the proxy
//! (not our resolver) would resolve and connect. A separate test binary, because it changes
//! the process environment.

use axum::routing::get;
use axum::Router;
use rampart_fetch::{FetchConfig, Fetcher};
use tokio::net::TcpListener;

#[tokio::test]
async fn proxy_variables_are_ignored() {
    // Nothing listens on port 1: were the proxy used, the fetch would fail.
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        std::env::set_var(var, "http://127.0.0.1:1");
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", get(|| async { "direct" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let fetcher = Fetcher::new(FetchConfig {
        allow: vec!["127.0.0.1/32".parse().unwrap()],
        ..FetchConfig::default()
    })
    .unwrap();
    let fetched = fetcher.fetch(&format!("http://{addr}/")).await.unwrap();
    assert_eq!(&fetched.bytes[..], b"direct");
}
