//! Who is calling: `Authorization: Bearer rk_…`, checked against the store through a short-lived
//! cache, then the per-key rate limit, then the role the route needs.
//!
//! The cache maps the SHA-256 of a presented key (never the key itself) to what the store said
//! about it, for at most [`AUTH_CACHE_TTL`]. A key revoked through this server is dropped from
//! the cache at once; a key revoked through another server of a scale-out deployment stops
//! working here within the TTL. Unknown keys are never cached.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use rampart_store::{KeyInfo, Role, Store};
use rampart_types::ErrorCode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// How long a successful authentication is trusted without asking the store again.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(1);
/// Entries kept before the cache is emptied (a crude bound against key spraying).
const AUTH_CACHE_MAX: usize = 100_000;

/// Successful authentications, by SHA-256 of the presented key.
pub struct AuthCache {
    entries: RwLock<HashMap<[u8; 32], (KeyInfo, Instant)>>,
}

impl AuthCache {
    /// An empty cache.
    pub fn new() -> Self {
        AuthCache {
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Who `presented` speaks for, from the cache or the store.
    pub async fn authenticate(
        &self,
        store: &dyn Store,
        presented: &str,
    ) -> Result<Option<KeyInfo>, rampart_store::StoreError> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        if let Some((info, at)) = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&digest)
        {
            if at.elapsed() < AUTH_CACHE_TTL {
                return Ok(Some(info.clone()));
            }
        }
        let started = Instant::now();
        let found = store.authenticate(presented).await;
        crate::metrics::store_op("authenticate", started);
        let found = found?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        match &found {
            Some(info) => {
                if entries.len() >= AUTH_CACHE_MAX {
                    entries.clear();
                }
                entries.insert(digest, (info.clone(), Instant::now()));
            }
            None => {
                entries.remove(&digest);
            }
        }
        Ok(found)
    }

    /// Forgets every cached authentication of key `key_id` (after a revocation).
    pub fn forget_key(&self, key_id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (info, _)| info.key_id != key_id);
    }
}

impl Default for AuthCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Requests per second per key, with a burst allowance.
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl RateLimiter {
    /// `per_second` sustained with bursts of `burst`; `None` when `per_second` is 0 (off).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(RateLimiter {
            limiter: governor::RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        })
    }

    /// `Err(seconds to wait)` when the key is over its rate.
    pub fn check(&self, key_id: &str) -> Result<(), u64> {
        self.limiter
            .check_key(&key_id.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
    }
}

/// The caller's key, authenticated and within its rate.
pub struct Caller(pub KeyInfo);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            || ApiError::new(ErrorCode::Unauthenticated, "missing or invalid API key");
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let (scheme, key) = header.split_once(' ').ok_or_else(unauthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthenticated());
        }
        let info = match state
            .auth
            .authenticate(state.store.as_ref(), key.trim())
            .await
        {
            Ok(Some(info)) => info,
            Ok(None) => return Err(unauthenticated()),
            Err(e) => return Err(ApiError::internal(e)),
        };
        if let Some(limiter) = &state.limiter {
            if let Err(wait) = limiter.check(&info.key_id) {
                metrics::counter!("rampart_rate_limited_total").increment(1);
                return Err(ApiError::new(
                    ErrorCode::RateLimited,
                    "this key is over its request rate; retry later",
                )
                .retry_after(wait));
            }
        }
        // Every store write of this request is audited as this key (see `routes::audit_actor`).
        rampart_store::set_actor(format!("key:{}", info.key_id));
        Ok(Caller(info))
    }
}

impl Caller {
    /// `forbidden` unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("{what} needs a key with role {}", names.join(" or ")),
            ))
        }
    }

    /// The caller's tenant.
    pub fn tenant(&self) -> rampart_store::TenantId {
        self.0.tenant
    }
}

/// Who may do what (the roles of the README's HTTP API section).
pub mod roles {
    use rampart_store::Role::{self, *};

    /// Submit content for moderation.
    pub const SUBMIT: &[Role] = &[Admin, Submitter];
    /// Read verdicts.
    pub const READ_VERDICTS: &[Role] = &[Admin, Submitter, Moderator, Auditor];
    /// Read libraries, banks and policies.
    pub const READ_CONFIG: &[Role] = &[Admin, Moderator, Auditor];
    /// Change libraries and banks (the lists moderators curate).
    pub const EDIT_LISTS: &[Role] = &[Admin, Moderator];
    /// Change policies.
    pub const EDIT_POLICIES: &[Role] = &[Admin];
    /// List keys (no secrets).
    pub const READ_KEYS: &[Role] = &[Admin, Auditor];
    /// Read and verify the audit log, export its head; read statements of reasons.
    pub const READ_AUDIT: &[Role] = &[Admin, Auditor];
    /// Create and revoke keys.
    pub const EDIT_KEYS: &[Role] = &[Admin];
    /// Read jobs (state, progress, result) and their webhook delivery log, like verdicts.
    pub const READ_JOBS: &[Role] = READ_VERDICTS;
    /// Read the webhook settings (the signing secret only for admins).
    pub const READ_WEBHOOKS: &[Role] = &[Admin, Auditor];
    /// Change the webhook URL or rotate its secret.
    pub const EDIT_WEBHOOKS: &[Role] = &[Admin];
    /// See the review queue and its decisions (not the kept content).
    pub const READ_REVIEWS: &[Role] = &[Admin, Moderator, Auditor];
    /// Claim and decide review items, see the content kept for them.
    pub const REVIEW: &[Role] = &[Admin, Moderator];
    /// File an appeal for a user (the platform's back end, or a moderator on a user's behalf).
    pub const APPEAL: &[Role] = &[Admin, Submitter, Moderator];
    /// Read transparency reports (aggregate counts, no content).
    pub const READ_REPORTS: &[Role] = &[Admin, Moderator, Auditor];
    /// Sign in to the review console (submitters have nothing to do there).
    pub const CONSOLE: &[Role] = &[Admin, Moderator, Auditor];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limiter_refuses_past_the_burst_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(2, 2).unwrap();
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let wait = limiter.check("a").unwrap_err();
        assert!((1..=1).contains(&wait), "{wait}");
        // Keys are limited separately.
        assert!(limiter.check("b").is_ok());
        assert!(RateLimiter::new(0, 10).is_none());
    }
}
