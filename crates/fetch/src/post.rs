//! Sending a body to a caller-supplied URL: webhook callbacks.
//!
//! The URL gets exactly the checks a caller-supplied fetch URL gets (scheme, credentials, IP
//! literal, and every resolved address through the vetting resolver), but no redirect is ever
//! followed: a callback that answers 3xx has not accepted the delivery, and following it would
//! replay the body, signature included, to a host nobody registered.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::{Response, Url};

use crate::{from_reqwest, FetchError, Fetcher, Origin};

/// How much of a response body [`Fetcher::post`] reads before it stops: enough for the short
/// acknowledgement a receiver usually sends (so the connection can be reused), never more.
const MAX_RESPONSE_BYTES: usize = 64 << 10;

/// The receiver's answer to a [`Fetcher::post`]. The body is read (up to 64 KiB) and thrown
/// away: what a callback receiver says beyond its status is not ours to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The HTTP status code, whatever it is (a 3xx is returned, not followed).
    pub status: u16,
    /// The `Location` header as sent, if there is one and it is printable ASCII; set on
    /// redirects so the caller can say where the receiver wanted to send the request.
    pub location: Option<String>,
}

impl Fetcher {
    /// Checks a caller-supplied URL the way [`Fetcher::fetch`] and [`Fetcher::post`] will,
    /// without sending anything: `http`/`https` only, no credentials, and an IP literal must
    /// be acceptable under the address policy (loopback, private, link-local and the other
    /// [`special_range`](crate::special_range)s are refused unless allow-listed).
    ///
    /// Use it to reject a callback URL when a job is submitted. A host *name* is not resolved
    /// here (its addresses may change by the time of delivery); it is vetted at each request.
    /// Errors are [`FetchError::InvalidUrl`] or [`FetchError::Blocked`].
    pub fn check_url(&self, url: &str) -> Result<(), FetchError> {
        self.parse_caller_url(url).map(drop)
    }

    /// POSTs `body` to `url` with `Content-Type: content_type` and `headers`, and returns the
    /// status, whatever it is.
    ///
    /// The URL is checked like [`Fetcher::check_url`] and names are vetted by the resolver at
    /// connect time. No redirect is followed: a 3xx comes back as it is, with its `Location`.
    /// The whole call (resolution, connection, sending, the response head) is bounded by
    /// [`FetchConfig::timeout`](crate::FetchConfig::timeout); within what is left of it, up to
    /// 64 KiB of the response body are read and discarded. Headers given here override the
    /// client's defaults (e.g. `User-Agent`).
    ///
    /// Errors: [`FetchError::InvalidUrl`], [`FetchError::Blocked`], [`FetchError::Timeout`],
    /// [`FetchError::Network`], or [`FetchError::InvalidHeader`] for a header that cannot be
    /// sent. A non-2xx status is not an error.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        content_type: &str,
        body: Bytes,
    ) -> Result<Posted, FetchError> {
        let url = self.parse_caller_url(url)?;
        let headers = header_map(headers, content_type)?;
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        let send = self.client.post(url).headers(headers).body(body).send();
        let response = tokio::time::timeout_at(deadline, send)
            .await
            .map_err(|_| FetchError::Timeout)?
            .map_err(from_reqwest)?;
        let posted = Posted {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        };
        // The status is the answer; a body that drips or breaks off does not change it.
        let _ = tokio::time::timeout_at(deadline, discard_body(response)).await;
        Ok(posted)
    }

    fn parse_caller_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed =
            Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{e}: {url:?}")))?;
        self.vet_url(&parsed, Origin::Caller)?;
        Ok(parsed)
    }
}

fn header_map(headers: &[(&str, String)], content_type: &str) -> Result<HeaderMap, FetchError> {
    let mut map = HeaderMap::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        let invalid = || FetchError::InvalidHeader((*name).to_owned());
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        map.insert(name, value);
    }
    let value = HeaderValue::from_str(content_type)
        .map_err(|_| FetchError::InvalidHeader(CONTENT_TYPE.to_string()))?;
    map.insert(CONTENT_TYPE, value);
    Ok(map)
}

/// Reads the body until it ends, fails, or [`MAX_RESPONSE_BYTES`] have arrived.
async fn discard_body(mut response: Response) {
    let mut read = 0;
    while read < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FetchConfig;

    #[test]
    fn check_url_accepts_public_urls_and_names() {
        let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
        for url in [
            "https://example.com/hooks/rampart",
            "http://hooks.example.com:8443/a?b=c",
            "https://8.8.8.8/",
            "https://[2606:4700::1111]/",
            // Names are vetted when the request is made, not here.
            "http://localhost/",
        ] {
            assert!(fetcher.check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn check_url_refuses_what_fetch_refuses() {
        let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:169.254.169.254]/",
            "https://10.0.0.1/",
        ] {
            assert!(
                matches!(fetcher.check_url(url), Err(FetchError::Blocked { .. })),
                "{url}"
            );
        }
        for url in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://user:pass@example.com/",
            "not a url",
            "",
        ] {
            assert!(
                matches!(fetcher.check_url(url), Err(FetchError::InvalidUrl(_))),
                "{url:?}"
            );
        }
    }

    #[test]
    fn check_url_honours_the_allow_list() {
        let fetcher = Fetcher::new(FetchConfig {
            allow: vec!["127.0.0.1/32".parse().unwrap()],
            ..FetchConfig::default()
        })
        .unwrap();
        assert!(fetcher.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(fetcher.check_url("http://127.0.0.2/").is_err());
    }

    #[test]
    fn unsendable_headers_are_refused_by_name() {
        let ok = header_map(&[("X-A", "1".into())], "application/json").unwrap();
        assert_eq!(ok["x-a"], "1");
        assert_eq!(ok[CONTENT_TYPE], "application/json");
        for (name, value) in [("X-A", "line\r\nbreak"), ("bad name", "1"), ("", "1")] {
            match header_map(&[(name, value.into())], "application/json") {
                Err(FetchError::InvalidHeader(n)) => assert_eq!(n, name),
                other => panic!("{name:?}: {value:?}: {other:?}"),
            }
        }
        assert!(matches!(
            header_map(&[], "text/plain\n"),
            Err(FetchError::InvalidHeader(_))
        ));
    }
}
