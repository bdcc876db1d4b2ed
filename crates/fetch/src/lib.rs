//! Fetches an image from a URL a client supplied, without letting that URL reach the network
//! behind the server (server-side request forgery, SSRF), and within size and time caps.
//! The contract: URL fetches refuse private, loopback and link-local addresses after DNS
//! resolution (`fetch_blocked`), follow at most 3 redirects, and cap size and time.
//!
//! Not for: deciding what the bytes are (`rampart-image` sniffs and decodes them), retries,
//! caching, or fetching through an egress proxy.
//!
//! # Use
//!
//! Build one [`Fetcher`] at start-up from a [`FetchConfig`] and share it (it is `Clone`, and
//! clones share one connection pool); call [`Fetcher::fetch`] per request. Map a
//! [`FetchError`] to the API with [`FetchError::api_code`].
//!
//! [`Fetcher::post`] sends a body to a caller-supplied URL (webhook callbacks) under the same
//! address rules, never following a redirect; [`Fetcher::check_url`] validates such a URL
//! when it is registered, without sending anything.
//!
//! # What it defends against
//!
//! - **Addresses that are not globally routable.** Every address the fetcher would connect to
//!   is judged by [`special_range`]: loopback, RFC 1918 private, link-local (cloud metadata at
//!   `169.254.169.254`), carrier-grade NAT (`100.64/10`), unspecified (`0.0.0.0` and `::`
//!   connect to the local host), multicast, broadcast, documentation, benchmarking, reserved,
//!   unique-local and site-local IPv6, and IPv6 that embeds IPv4 (`::ffff:127.0.0.1`,
//!   `64:ff9b::a9fe:a9fe`) judged as the IPv4 address it embeds. Only the operator's
//!   [`FetchConfig::allow`] list makes exceptions.
//! - **IP literals in every spelling.** The URL is parsed by the WHATWG rules (the `url`
//!   crate), so `http://2130706433/`, `http://0x7f.1/` and `http://127.1/` all become
//!   `127.0.0.1` before they are checked. Literals never reach a resolver (the connector uses
//!   them directly), so they are checked explicitly before each request.
//! - **Names that resolve to internal addresses** (`localhost`, `metadata.google.internal`,
//!   `127.0.0.1.nip.io`, an internal zone). Names go through our own resolver, which resolves
//!   with the system resolver and refuses the whole request if *any* address is unacceptable —
//!   not just the first, since the connector may fall back to any of them.
//! - **DNS rebinding** (a name that resolves to a public address when checked and to
//!   `127.0.0.1` when connected). The check and the connection use the same answer: the
//!   resolver hands the vetted addresses to the connector, which connects to exactly those and
//!   never looks the name up again. A pooled keep-alive connection was itself opened to a
//!   vetted address, so reusing it is no bypass.
//! - **Redirects.** The client follows none by itself; [`Fetcher::fetch`] follows at most
//!   [`FetchConfig::max_redirects`], re-checking scheme, credentials and IP literal of every
//!   hop (a redirect to `http://169.254.169.254/` is refused without connecting), and every
//!   hop's name goes through the resolver again.
//! - **Proxies from the environment.** `HTTP_PROXY` and friends are ignored: through a proxy,
//!   the proxy would resolve and connect, and none of the checks above would apply.
//! - **Large or slow bodies.** A `Content-Length` over [`FetchConfig::max_bytes`] is refused
//!   before the body is read; the body is streamed and the fetch aborted as soon as it passes
//!   the limit, so at most `max_bytes` are ever held. [`FetchConfig::timeout`] bounds the
//!   whole fetch (resolution, every hop, the body), so a server that drips a byte a second
//!   cannot hold a request open. No decompression is negotiated, so the limit is on the bytes
//!   that arrive (no compression bombs).
//! - **Credentials and cookies.** URLs with `user:pass@` are refused; no cookie store exists,
//!   and no `Referer` is sent.
//!
//! # What it does not defend against
//!
//! - **Public addresses that are sensitive to you**: the server's own public IP, a partner
//!   API that trusts the server's address, or an allow-listed range. Any port is allowed, so a
//!   client can tell open from closed ports on public hosts by timing; the API hides the
//!   detail (every failure after parsing is `fetch_blocked`), not the timing.
//! - **A lying system resolver or hosts file**: its answers are judged, not second-guessed.
//! - **Deployments that need an egress proxy**: not supported (see above); put the network
//!   policy in the firewall instead, which is the stronger defence anyway.
//! - **Hostile content**: the bytes are untrusted; decoding them safely is `rampart-image`'s
//!   job. The content type returned is the server's claim, not a fact.
//! - **Load**: each fetch holds up to `max_bytes` for up to `timeout`; the caller must bound
//!   how many run at once.

mod error;
mod ip;
mod post;
mod resolve;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{redirect, Client, Response, StatusCode, Url};

pub use error::FetchError;
pub use ip::{special_range, SpecialRange};
/// An IP network in CIDR notation (`"10.20.0.0/16".parse()`), for [`FetchConfig::allow`].
pub use ipnet::IpNet;
pub use post::Posted;

use ip::AddressPolicy;
use resolve::{refusal_in, VettingResolver};

/// The most a body buffer grows ahead of the bytes that actually arrived, so that a server
/// announcing a large `Content-Length` cannot make us allocate it without sending it.
const MAX_PREALLOCATION: u64 = 1 << 20;

/// Limits and exceptions for [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The largest body accepted, in bytes (default 64 MiB).
    pub max_bytes: u64,
    /// The whole fetch, every redirect hop and the body included (default 10 s).
    pub timeout: Duration,
    /// Establishing one TCP connection (default 3 s).
    pub connect_timeout: Duration,
    /// Redirects followed before giving up with [`FetchError::TooManyRedirects`] (default 3).
    pub max_redirects: u32,
    /// Networks the operator trusts even though they are not public, e.g. an internal media
    /// host (`10.20.0.0/16`) or a test server (`127.0.0.1/32`). Matched against the address as
    /// resolved: `127.0.0.1/32` does not cover `::ffff:127.0.0.1`. Empty by default.
    pub allow: Vec<IpNet>,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            max_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            max_redirects: 3,
            allow: Vec::new(),
            user_agent: concat!("rampart-fetch/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A downloaded body and where it came from.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body, at most [`FetchConfig::max_bytes`] long.
    pub bytes: Bytes,
    /// The final response's `Content-Type` header, as the server claimed it.
    pub content_type: Option<String>,
    /// The URL the body came from, after redirects.
    pub final_url: String,
    /// How many redirects were followed.
    pub redirects: u32,
}

/// Fetches URLs under a [`FetchConfig`]. Build once and clone freely: clones share the
/// configuration and the connection pool.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: Client,
    config: Arc<FetchConfig>,
    policy: Arc<AddressPolicy>,
}

/// Whether a URL came from the caller or from a redirect: a bad URL is the caller's fault
/// (`InvalidUrl`) in the first case and the remote server's (`Blocked`) in the second.
#[derive(Clone, Copy)]
enum Origin {
    Caller,
    Redirect,
}

impl Fetcher {
    /// Builds the HTTP client: rustls with the bundled Mozilla roots, HTTP/1.1, our resolver,
    /// no automatic redirects, no proxies, no cookies.
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        let policy = Arc::new(AddressPolicy::new(config.allow.clone()));
        let client = Client::builder()
            .dns_resolver(Arc::new(VettingResolver::new(Arc::clone(&policy))))
            .redirect(redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.as_str())
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        Ok(Fetcher {
            client,
            config: Arc::new(config),
            policy,
        })
    }

    /// Downloads `url`, following up to [`FetchConfig::max_redirects`] redirects, and returns
    /// the body of the final 2xx response.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{e}: {url:?}")))?;
        self.vet_url(&url, Origin::Caller)?;
        tokio::time::timeout(self.config.timeout, self.follow(url))
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }

    async fn follow(&self, mut url: Url) -> Result<Fetched, FetchError> {
        let mut redirects = 0;
        loop {
            let response = self
                .client
                .get(url.clone())
                .header(ACCEPT, HeaderValue::from_static("image/*, */*;q=0.5"))
                .send()
                .await
                .map_err(from_reqwest)?;
            let status = response.status();
            if let Some(next) = redirect_target(&url, &response)? {
                if redirects == self.config.max_redirects {
                    return Err(FetchError::TooManyRedirects);
                }
                self.vet_url(&next, Origin::Redirect)?;
                redirects += 1;
                url = next;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = self.read_body(response).await?;
            return Ok(Fetched {
                bytes,
                content_type,
                final_url: url.into(),
                redirects,
            });
        }
    }

    /// Refuses what no request should be sent for: other schemes, credentials, and IP
    /// literals outside the policy (names are vetted by the resolver at connect time).
    fn vet_url(&self, url: &Url, origin: Origin) -> Result<(), FetchError> {
        let invalid = |why: &str| match origin {
            Origin::Caller => FetchError::InvalidUrl(why.to_owned()),
            Origin::Redirect => blocked(origin, why),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(&format!(
                "{}: URLs are not fetched (only http and https)",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("URLs with credentials are not fetched"));
        }
        let ip = match url.host() {
            None => return Err(invalid("URLs without a host are not fetched")),
            Some(url::Host::Domain(_)) => return Ok(()),
            Some(url::Host::Ipv4(v4)) => v4.into(),
            Some(url::Host::Ipv6(v6)) => v6.into(),
        };
        self.policy
            .check(ip)
            .map_err(|range| blocked(origin, &format!("{ip} is a {range} address")))
    }

    /// Streams the body, refusing it as soon as it is known to exceed the limit.
    async fn read_body(&self, mut response: Response) -> Result<Bytes, FetchError> {
        let limit = self.config.max_bytes;
        let announced = response.content_length().unwrap_or(0);
        if announced > limit {
            return Err(FetchError::TooLarge { limit });
        }
        let capacity = announced.min(MAX_PREALLOCATION);
        let mut body = Vec::with_capacity(capacity.try_into().unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }
}

fn blocked(origin: Origin, why: &str) -> FetchError {
    let reason = match origin {
        Origin::Caller => why.to_owned(),
        Origin::Redirect => format!("redirect refused: {why}"),
    };
    FetchError::Blocked { reason }
}

/// The next URL if `response` is a redirect to follow (301, 302, 303, 307, 308 with a
/// `Location`), resolved against the current URL. Any other 3xx is a final response.
fn redirect_target(current: &Url, response: &Response) -> Result<Option<Url>, FetchError> {
    let follows = matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    if !follows {
        return Ok(None);
    }
    let Some(location) = response.headers().get(LOCATION) else {
        return Ok(None);
    };
    let invalid = || blocked(Origin::Redirect, &format!("invalid Location {location:?}"));
    let location = location.to_str().map_err(|_| invalid())?;
    current.join(location).map(Some).map_err(|_| invalid())
}

/// Maps a client error: the resolver's refusal becomes `Blocked`, timeouts `Timeout`, the
/// rest `Network` with the whole cause chain (reqwest's own message rarely says what failed).
fn from_reqwest(err: reqwest::Error) -> FetchError {
    if let Some(refused) = refusal_in(&err) {
        return FetchError::Blocked {
            reason: refused.to_string(),
        };
    }
    if err.is_timeout() {
        return FetchError::Timeout;
    }
    FetchError::Network(error_chain(&err))
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the WHATWG parser turns odd IP spellings into: all of them must arrive at the
    /// IP-literal check as addresses, never as names.
    #[test]
    fn ip_literal_spellings_normalise_to_addresses() {
        for (input, host) in [
            ("http://127.0.0.1/", "127.0.0.1"),
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://169.254.43518/", "169.254.169.254"),
            ("http://[::1]/", "[::1]"),
            ("http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"),
            ("http://[0:0:0:0:0:ffff:7f00:1]/", "[::ffff:7f00:1]"),
        ] {
            let url = Url::parse(input).unwrap();
            assert!(
                !matches!(url.host(), Some(url::Host::Domain(_))),
                "{input} parsed as a domain"
            );
            assert_eq!(url.host_str(), Some(host), "{input}");
        }
    }

    #[tokio::test]
    async fn every_spelling_of_an_internal_literal_is_blocked_before_sending() {
        let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://0.0.0.0:8080/",
            "http://[::]/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://100.100.100.200/",
        ] {
            match fetcher.fetch(url).await {
                Err(FetchError::Blocked { .. }) => {}
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn unsupported_schemes_credentials_and_garbage_are_invalid_urls() {
        let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
        for url in [
            "ftp://example.com/a.png",
            "file:///etc/passwd",
            "gopher://example.com/",
            "data:image/png;base64,AAAA",
            "not a url",
            "",
            "http://user:pass@example.com/",
            "http://user@example.com/",
            "//example.com/a.png",
        ] {
            match fetcher.fetch(url).await {
                Err(FetchError::InvalidUrl(_)) => {}
                other => panic!("{url:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn fetcher_is_shareable_across_tasks() {
        fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
        assert_shareable::<Fetcher>();
    }

    #[test]
    fn defaults_match_the_design() {
        let config = FetchConfig::default();
        assert_eq!(config.max_bytes, 64 * 1024 * 1024);
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.connect_timeout, Duration::from_secs(3));
        assert_eq!(config.max_redirects, 3);
        assert!(config.allow.is_empty());
    }
}
