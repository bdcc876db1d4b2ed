//! Which addresses a fetch may connect to.
//!
//! [`special_range`] names the special-purpose range an address falls in, or `None` for a
//! globally routable unicast address. It is written by hand because `IpAddr::is_global` is
//! unstable, and it is stricter than the IANA registry where that is safer: IPv6 outside
//! `2000::/3` (the only block allocated for global unicast) is refused wholesale, and so are
//! the deprecated tunnelling prefixes (6to4, Teredo).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// A special-purpose address range that a fetch refuses to connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialRange {
    /// `0.0.0.0` and `::`: "any address", which connects to the local host.
    Unspecified,
    /// `0.0.0.0/8` ("this network", RFC 791).
    ThisNetwork,
    /// `127.0.0.0/8` and `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12` and `192.168.0.0/16` (RFC 1918).
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT (RFC 6598); some clouds put metadata services here.
    SharedAddressSpace,
    /// `169.254.0.0/16` and `fe80::/10`, where cloud metadata services live.
    LinkLocal,
    /// `192.0.0.0/24` and `2001::/23`, IETF protocol assignments (includes Teredo,
    /// `2001::/32`).
    ProtocolAssignments,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32` and `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, network benchmarking (RFC 2544).
    Benchmarking,
    /// `224.0.0.0/4` and `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4`, and IPv6 outside `2000::/3` that no other variant names.
    Reserved,
    /// `fc00::/7`, unique local IPv6 (the IPv6 counterpart of RFC 1918).
    UniqueLocal,
    /// `fec0::/10`, deprecated site-local IPv6.
    SiteLocal,
    /// `2002::/16`, deprecated 6to4 tunnelling (RFC 7526).
    SixToFour,
    /// `64:ff9b:1::/48`, NAT64 for local use (RFC 8215): what it translates to is site-specific.
    LocalNat64,
}

impl SpecialRange {
    /// A short human-readable name, used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            SpecialRange::Unspecified => "unspecified",
            SpecialRange::ThisNetwork => "this-network",
            SpecialRange::Loopback => "loopback",
            SpecialRange::Private => "private",
            SpecialRange::SharedAddressSpace => "shared (carrier-grade NAT)",
            SpecialRange::LinkLocal => "link-local",
            SpecialRange::ProtocolAssignments => "IETF protocol assignment",
            SpecialRange::Documentation => "documentation",
            SpecialRange::Benchmarking => "benchmarking",
            SpecialRange::Multicast => "multicast",
            SpecialRange::Broadcast => "broadcast",
            SpecialRange::Reserved => "reserved",
            SpecialRange::UniqueLocal => "unique-local",
            SpecialRange::SiteLocal => "site-local",
            SpecialRange::SixToFour => "6to4",
            SpecialRange::LocalNat64 => "local-use NAT64",
        }
    }
}

impl fmt::Display for SpecialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The special-purpose range `ip` falls in, or `None` if it is globally routable unicast.
///
/// IPv6 addresses that embed an IPv4 address are judged as that IPv4 address: IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-compatible (`::/96`, except `::` and `::1`), IPv4-translated
/// (`::ffff:0:0:0/96`) and well-known-prefix NAT64 (`64:ff9b::/96`). So `::ffff:127.0.0.1`
/// is loopback and `64:ff9b::a9fe:a9fe` is link-local.
pub fn special_range(ip: IpAddr) -> Option<SpecialRange> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<SpecialRange> {
    use SpecialRange::*;
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_broadcast() {
        return Some(Broadcast);
    }
    let range = match ip.octets() {
        [0, ..] => ThisNetwork,
        [10, ..] => Private,
        [100, 64..=127, ..] => SharedAddressSpace,
        [127, ..] => Loopback,
        [169, 254, ..] => LinkLocal,
        [172, 16..=31, ..] => Private,
        [192, 0, 0, _] => ProtocolAssignments,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Documentation,
        [192, 168, ..] => Private,
        [198, 18..=19, ..] => Benchmarking,
        [224..=239, ..] => Multicast,
        [240..=255, ..] => Reserved,
        _ => return None,
    };
    Some(range)
}

fn v6_range(ip: Ipv6Addr) -> Option<SpecialRange> {
    use SpecialRange::*;
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    if let Some(v4) = embedded_ipv4(ip) {
        return v4_range(v4);
    }
    let range = match ip.segments() {
        [0x64, 0xff9b, 0x1, ..] => LocalNat64,
        [0xfc00..=0xfdff, ..] => UniqueLocal,
        [0xfe80..=0xfebf, ..] => LinkLocal,
        [0xfec0..=0xfeff, ..] => SiteLocal,
        [0xff00..=0xffff, ..] => Multicast,
        [0x2001, 0x0db8, ..] => Documentation,
        [0x3fff, 0x0000..=0x0fff, ..] => Documentation,
        [0x2001, 0x0000..=0x01ff, ..] => ProtocolAssignments,
        [0x2002, ..] => SixToFour,
        [0x2000..=0x3fff, ..] => return None,
        _ => Reserved,
    };
    Some(range)
}

/// The IPv4 address carried in the low 32 bits of an IPv6 address whose prefix means "this is
/// really that IPv4 address".
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let carries_v4 = matches!(
        ip.segments(),
        [0, 0, 0, 0, 0, 0xffff, _, _]  // IPv4-mapped
            | [0, 0, 0, 0, 0, 0, _, _] // IPv4-compatible (deprecated)
            | [0, 0, 0, 0, 0xffff, 0, _, _] // IPv4-translated (SIIT)
            | [0x64, 0xff9b, 0, 0, 0, 0, _, _] // NAT64 well-known prefix
    );
    let [.., a, b, c, d] = ip.octets();
    carries_v4.then_some(Ipv4Addr::new(a, b, c, d))
}

/// The connection rule shared by the IP-literal check and the resolver: an address is
/// acceptable when the operator allowed it or when it is globally routable.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressPolicy {
    allow: Vec<IpNet>,
}

impl AddressPolicy {
    pub(crate) fn new(allow: Vec<IpNet>) -> Self {
        AddressPolicy { allow }
    }

    /// `Err` names the range that makes `ip` unacceptable.
    ///
    /// The allow-list is matched against the address exactly as given: `127.0.0.1/32` does not
    /// allow `::ffff:127.0.0.1`. Operators who want the mapped form list it too.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), SpecialRange> {
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        special_range(ip).map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::SpecialRange::*;
    use super::*;

    fn range(ip: &str) -> Option<SpecialRange> {
        special_range(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")))
    }

    /// Every row: an address at each edge of a range, and the range it must fall in.
    const V4_SPECIAL: &[(&str, SpecialRange)] = &[
        ("0.0.0.0", Unspecified),
        ("0.0.0.1", ThisNetwork),
        ("0.255.255.255", ThisNetwork),
        ("10.0.0.0", Private),
        ("10.255.255.255", Private),
        ("100.64.0.0", SharedAddressSpace),
        ("100.100.100.200", SharedAddressSpace), // Alibaba Cloud metadata
        ("100.127.255.255", SharedAddressSpace),
        ("127.0.0.1", Loopback),
        ("127.0.0.0", Loopback),
        ("127.255.255.254", Loopback),
        ("169.254.0.0", LinkLocal),
        ("169.254.169.254", LinkLocal), // AWS, GCP, Azure metadata
        ("169.254.255.255", LinkLocal),
        ("172.16.0.0", Private),
        ("172.31.255.255", Private),
        ("192.0.0.0", ProtocolAssignments),
        ("192.0.0.192", ProtocolAssignments), // Oracle Cloud metadata
        ("192.0.0.255", ProtocolAssignments),
        ("192.0.2.0", Documentation),
        ("192.0.2.255", Documentation),
        ("192.168.0.0", Private),
        ("192.168.255.255", Private),
        ("198.18.0.0", Benchmarking),
        ("198.19.255.255", Benchmarking),
        ("198.51.100.0", Documentation),
        ("198.51.100.255", Documentation),
        ("203.0.113.0", Documentation),
        ("203.0.113.255", Documentation),
        ("224.0.0.0", Multicast),
        ("239.255.255.255", Multicast),
        ("240.0.0.0", Reserved),
        ("255.255.255.254", Reserved),
        ("255.255.255.255", Broadcast),
    ];

    /// Public neighbours of the special ranges: one address either side of each edge.
    const V4_PUBLIC: &[&str] = &[
        "1.0.0.0",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "191.255.255.255",
        "192.0.1.0",
        "192.0.3.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "198.51.101.0",
        "203.0.112.255",
        "203.0.114.0",
        "223.255.255.255",
    ];

    const V6_SPECIAL: &[(&str, SpecialRange)] = &[
        ("::", Unspecified),
        ("::1", Loopback),
        // IPv4-mapped, judged as the IPv4 address.
        ("::ffff:127.0.0.1", Loopback),
        ("::ffff:10.0.0.1", Private),
        ("::ffff:169.254.169.254", LinkLocal),
        ("::ffff:0.0.0.0", Unspecified),
        // IPv4-compatible (deprecated), judged as the IPv4 address.
        ("::127.0.0.1", Loopback),
        ("::192.168.1.1", Private),
        ("::0.0.0.2", ThisNetwork),
        // IPv4-translated (SIIT).
        ("::ffff:0:127.0.0.1", Loopback),
        // NAT64 well-known prefix, judged by the embedded IPv4 address.
        ("64:ff9b::127.0.0.1", Loopback),
        ("64:ff9b::a9fe:a9fe", LinkLocal),
        ("64:ff9b::10.1.2.3", Private),
        // NAT64 local-use prefix: refused whatever it embeds.
        ("64:ff9b:1::8.8.8.8", LocalNat64),
        ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", LocalNat64),
        ("fc00::", UniqueLocal),
        ("fd00:ec2::254", UniqueLocal), // AWS metadata over IPv6
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UniqueLocal),
        ("fe80::", LinkLocal),
        ("fe80::1", LinkLocal),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LinkLocal),
        ("fec0::", SiteLocal),
        ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", SiteLocal),
        ("ff00::", Multicast),
        ("ff02::1", Multicast),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Multicast),
        ("2001:db8::", Documentation),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
        ("3fff::", Documentation),
        ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
        ("2001::", ProtocolAssignments), // Teredo
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ProtocolAssignments), // Teredo
        (
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            ProtocolAssignments,
        ),
        ("2002::", SixToFour),
        ("2002:7f00:1::", SixToFour),
        ("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", SixToFour),
        // Outside 2000::/3: not allocated for global unicast.
        ("::2:0:0", Reserved),
        ("100::", Reserved), // discard-only
        ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
        ("4000::", Reserved),
        ("5f00::1", Reserved), // SRv6 SIDs
        ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
    ];

    const V6_PUBLIC: &[&str] = &[
        "2000::",
        "2001:200::",                             // first address after 2001::/23
        "2001:4860:4860::8888",                   // Google DNS
        "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", // just below 2001:db8::/32
        "2001:db9::",                             // just above
        "2003::",
        "2606:4700:4700::1111",
        "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "3fff:1000::",
        // Embedded public IPv4 addresses are as public as the IPv4 address.
        "::ffff:8.8.8.8",
        "::8.8.8.8",
        "64:ff9b::8.8.8.8",
    ];

    #[test]
    fn every_special_ipv4_range_is_refused_at_both_edges() {
        for &(ip, expected) in V4_SPECIAL {
            assert_eq!(range(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv4_next_to_special_ranges_is_accepted() {
        for &ip in V4_PUBLIC {
            assert_eq!(range(ip), None, "{ip}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_refused_at_both_edges() {
        for &(ip, expected) in V6_SPECIAL {
            assert_eq!(range(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv6_and_embedded_public_ipv4_are_accepted() {
        for &ip in V6_PUBLIC {
            assert_eq!(range(ip), None, "{ip}");
        }
    }

    #[test]
    fn the_allow_list_overrides_the_special_ranges_only_for_the_listed_family() {
        let policy = AddressPolicy::new(vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.20.0.0/16".parse().unwrap(),
        ]);
        let check = |ip: &str| policy.check(ip.parse().unwrap());
        assert_eq!(check("127.0.0.1"), Ok(()));
        assert_eq!(check("10.20.30.40"), Ok(()));
        assert_eq!(check("127.0.0.2"), Err(Loopback));
        assert_eq!(check("10.21.0.1"), Err(Private));
        assert_eq!(check("::ffff:127.0.0.1"), Err(Loopback));
        assert_eq!(check("::1"), Err(Loopback));
        assert_eq!(check("93.184.215.14"), Ok(()));
    }

    #[test]
    fn an_empty_allow_list_refuses_every_special_range() {
        let policy = AddressPolicy::default();
        for &(ip, expected) in V4_SPECIAL.iter().chain(V6_SPECIAL) {
            assert_eq!(policy.check(ip.parse().unwrap()), Err(expected), "{ip}");
        }
    }
}
