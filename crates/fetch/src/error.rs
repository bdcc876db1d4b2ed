use rampart_types::ErrorCode;

/// Why a fetch failed.
///
/// Only [`FetchError::InvalidUrl`] is the caller's fault (`invalid_request`); everything that
/// happens once the URL is acceptable maps to one code, `fetch_blocked`, so the API does not
/// tell a client *why* an address was unreachable (which would make it a scanner for the
/// network behind the server). The messages carry the detail for logs.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL the caller gave does not parse, is not `http`/`https`, or carries credentials.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL, a redirect or a resolved address leads somewhere the fetcher may not go:
    /// a non-public address outside the allow-list, or a redirect to a non-`http(s)` URL.
    #[error("fetch blocked: {reason}")]
    Blocked {
        /// What was refused, e.g. `169.254.169.254 is a link-local address` or
        /// `localhost resolves to a loopback address`.
        reason: String,
    },
    /// The body is (or announced it would be) larger than the configured maximum.
    #[error("response body exceeds {limit} bytes")]
    TooLarge {
        /// The configured maximum, in bytes.
        limit: u64,
    },
    /// The fetch (connect, every redirect hop and the body) took longer than allowed.
    #[error("fetch timed out")]
    Timeout,
    /// The server redirected more often than the configured maximum.
    #[error("too many redirects")]
    TooManyRedirects,
    /// The final response was not a 2xx.
    #[error("server answered HTTP {0}")]
    Status(u16),
    /// Name resolution, connection, TLS or HTTP failed.
    #[error("network error: {0}")]
    Network(String),
    /// A header name or value given to [`Fetcher::post`](crate::Fetcher::post) cannot be sent
    /// (not a valid header name, or a value with control characters). Headers are chosen by
    /// Rampart's own code, so this is a bug on our side, not the API client's.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// The HTTP client could not be built (only from [`Fetcher::new`](crate::Fetcher::new)).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    /// True when the fetch was refused by the address policy: the URL, a redirect or a
    /// resolved address pointed somewhere the fetcher may not go (the `Blocked` variant only;
    /// see [`FetchError::api_code`] for the API mapping).
    pub fn is_blocked(&self) -> bool {
        matches!(self, FetchError::Blocked { .. })
    }

    /// The stable API error code: `invalid_request` for a bad URL, `internal` for a client
    /// that could not be built or a header we could not send, `fetch_blocked` for everything
    /// else.
    pub fn api_code(&self) -> ErrorCode {
        match self {
            FetchError::InvalidUrl(_) => ErrorCode::InvalidRequest,
            FetchError::Client(_) | FetchError::InvalidHeader(_) => ErrorCode::Internal,
            FetchError::Blocked { .. }
            | FetchError::TooLarge { .. }
            | FetchError::Timeout
            | FetchError::TooManyRedirects
            | FetchError::Status(_)
            | FetchError::Network(_) => ErrorCode::FetchBlocked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bad_url_is_the_callers_fault() {
        let fetch_blocked = [
            FetchError::Blocked { reason: "x".into() },
            FetchError::TooLarge { limit: 1 },
            FetchError::Timeout,
            FetchError::TooManyRedirects,
            FetchError::Status(404),
            FetchError::Network("refused".into()),
        ];
        for err in fetch_blocked {
            assert_eq!(err.api_code(), ErrorCode::FetchBlocked, "{err}");
        }
        assert_eq!(
            FetchError::InvalidUrl("x".into()).api_code(),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            FetchError::Client("x".into()).api_code(),
            ErrorCode::Internal
        );
    }

    #[test]
    fn an_unsendable_header_is_our_fault() {
        assert_eq!(
            FetchError::InvalidHeader("x".into()).api_code(),
            ErrorCode::Internal
        );
    }

    #[test]
    fn is_blocked_means_the_address_policy_refused() {
        assert!(FetchError::Blocked { reason: "x".into() }.is_blocked());
        assert!(!FetchError::Timeout.is_blocked());
        assert!(!FetchError::InvalidUrl("x".into()).is_blocked());
    }
}
