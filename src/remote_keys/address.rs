//! Which IP addresses are public: the pure classification behind the production rule that keys
//! are fetched from the public internet only (no server-side request forgery into the service's
//! own network). `std`'s `IpAddr::is_global` is unstable, so the special-purpose ranges of the
//! IANA IPv4 and IPv6 registries (RFC 6890 and successors) are listed here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public (global unicast) one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// `0.0.0.0` or `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// RFC 6598 carrier-grade NAT: `100.64/10`.
    SharedNat,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// RFC 4193 unique local: `fc00::/7`.
    UniqueLocal,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// Documentation ranges (`192.0.2/24`, `2001:db8::/32`, ...).
    Documentation,
    /// Anything else special-purpose or unallocated (`0/8`, `240/4`, benchmarking, `2001::/23`,
    /// everything outside `2000::/3`, ...).
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private network",
            Self::SharedNat => "carrier-grade NAT",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique local",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
        })
    }
}

/// Classifies an address: `None` for a public one, else why it is not.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_unspecified() => Some(Unspecified),
        (0, ..) => Some(Reserved),
        (10, ..) => Some(Private),
        (100, 64..=127, _) => Some(SharedNat),
        (127, ..) => Some(Loopback),
        (169, 254, _) => Some(LinkLocal),
        (172, 16..=31, _) => Some(Private),
        (192, 0, 0) | (192, 88, 99) => Some(Reserved),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Some(Documentation),
        (192, 168, _) => Some(Private),
        (198, 18..=19, _) => Some(Reserved),
        (224..=239, ..) => Some(Multicast),
        (240..=255, ..) => Some(Reserved),
        _ => None,
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    // Forms that carry an IPv4 address and reach it: IPv4-mapped (::ffff:a.b.c.d, which a
    // dual-stack socket connects to as IPv4), NAT64 (64:ff9b::/96, RFC 6052) and 6to4
    // (2002::/16, RFC 3056). They are as public as the address they carry.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return classify_v4(embedded(s[1], s[2]));
    }
    match s[0] {
        0xfc00..=0xfdff => Some(UniqueLocal),
        0xfe80..=0xfebf => Some(LinkLocal),
        0xff00..=0xffff => Some(Multicast),
        0x2001 if s[1] == 0x0db8 => Some(Documentation),
        0x3fff if s[1] <= 0x0fff => Some(Documentation),
        // 2001::/23: IETF protocol assignments (Teredo, benchmarking, ORCHID, ...).
        0x2001 if s[1] < 0x0200 => Some(Reserved),
        // Only 2000::/3 is global unicast; the rest (IPv4-compatible ::/96, site-local
        // fec0::/10, 64:ff9b:1::/48, unallocated space) is not.
        0x2000..=0x3fff => None,
        _ => Some(Reserved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn class(raw: &str) -> Option<AddressClass> {
        classify(raw.parse().unwrap())
    }

    #[test]
    fn public_ipv4_and_ipv6_addresses_are_global() {
        for raw in [
            "8.8.8.8",
            "1.1.1.1",
            "140.82.112.3",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "2002:0808:0808::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(class(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_special_ipv4_range_is_classified() {
        for (raw, expected) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedNat),
            ("100.127.255.255", SharedNat),
            ("169.254.169.254", LinkLocal),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("192.88.99.1", Reserved),
            ("198.18.0.1", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Reserved),
        ] {
            assert_eq!(class(raw), Some(expected), "{raw}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_classified() {
        for (raw, expected) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Reserved),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001::1", Reserved),
            ("2001:2::1", Reserved),
            ("::7f00:1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Reserved),
        ] {
            assert_eq!(class(raw), Some(expected), "{raw}");
        }
    }

    #[test]
    fn ipv6_forms_carrying_ipv4_are_as_private_as_the_ipv4_they_carry() {
        for (raw, expected) in [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:100.64.0.1", SharedNat),
            ("::ffff:0.0.0.0", Unspecified),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::7f00:1", Loopback),
            ("2002:c0a8:0101::1", Private),
            ("2002:7f00:0001::1", Loopback),
        ] {
            assert_eq!(class(raw), Some(expected), "{raw}");
        }
    }
}
