//! The DNS resolver the HTTP client connects through: it resolves with the system resolver and
//! refuses a name if any of its addresses is not acceptable.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::ip::{AddressPolicy, SpecialRange};

/// Resolves names for the client and vets every address before the client may use any.
///
/// The addresses it returns are the only ones the connector will try for that name: there is
/// no second lookup between this check and `connect()`, which is what defeats DNS rebinding.
pub(crate) struct VettingResolver {
    policy: Arc<AddressPolicy>,
}

impl VettingResolver {
    pub(crate) fn new(policy: Arc<AddressPolicy>) -> Self {
        VettingResolver { policy }
    }
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the connector substitutes the URL's port.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                policy.check(addr.ip()).map_err(|range| RefusedName {
                    host: host.clone(),
                    range,
                })?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The resolver's refusal. It travels up through hyper and reqwest as the source of their
/// connect error; [`refusal_in`] finds it again so the caller sees `Blocked`, not `Network`.
#[derive(Debug)]
pub(crate) struct RefusedName {
    host: String,
    range: SpecialRange,
}

impl fmt::Display for RefusedName {
    // The resolved address itself is left out: naming it would turn the API into an oracle
    // for the internal DNS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves to a {} address", self.host, self.range)
    }
}

impl Error for RefusedName {}

/// The resolver's refusal somewhere in `err`'s source chain, if any.
pub(crate) fn refusal_in<'e>(err: &'e (dyn Error + 'static)) -> Option<&'e RefusedName> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<RefusedName>() {
            return Some(refused);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(allow: &[&str], host: &str) -> Result<Vec<SocketAddr>, String> {
        let policy = AddressPolicy::new(allow.iter().map(|n| n.parse().unwrap()).collect());
        let resolver = VettingResolver::new(Arc::new(policy));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(resolver.resolve(host.parse().unwrap()))
            .map(|addrs| addrs.collect())
            .map_err(|e| {
                let refused = refusal_in(&*e).expect("a refusal, not a lookup failure");
                refused.to_string()
            })
    }

    #[test]
    fn localhost_is_refused_by_name_without_revealing_the_address() {
        assert_eq!(
            resolve(&[], "localhost").unwrap_err(),
            "localhost resolves to a loopback address"
        );
        assert!(resolve(&["10.0.0.0/8"], "localhost").is_err());
    }

    #[test]
    fn localhost_passes_when_every_address_it_resolves_to_is_allowed() {
        let addrs = resolve(&["127.0.0.0/8", "::1/128"], "localhost").unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
