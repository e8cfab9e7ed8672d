//! Where Kindred may connect: the guard between every outgoing request (deliveries, fetches)
//! and the network. In production mode (`federation.debug = false`) nothing is sent to a
//! loopback, private, link-local, unique-local, unspecified, multicast or otherwise non-global
//! address, checked when the connection is made (after DNS, so a name that resolves inward is
//! caught, and the address checked is the address used) and for IP literals before that.
//! URLs taken from remote documents are checked with the same rules when they are stored.

use crate::config::Config;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};
use url::{Host, Url};

/// Whether `address` is one Kindred never connects to in production: anything that is not a
/// global unicast address, plus the IPv4 ranges cloud providers use for internal services.
pub fn is_internal_address(address: IpAddr) -> bool {
    match address.to_canonical() {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    let [first, second, ..] = v4.octets();
    v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_documentation()
        || v4.is_unspecified()
        || v4.is_broadcast()
        // 0.0.0.0/8 reaches this host on Linux.
        || first == 0
        // 100.64.0.0/10, shared address space (carrier-grade NAT, cloud-internal services).
        || (first == 100 && (second & 0xc0) == 0x40)
        // 198.18.0.0/15, benchmarking networks.
        || (first == 198 && (second & 0xfe) == 18)
        // 240.0.0.0/4, reserved.
        || first >= 240
}

fn is_internal_v6(v6: Ipv6Addr) -> bool {
    let segments = v6.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address: judge that one.
    if matches!(segments, [0x64, 0xff9b, 0, 0, 0, 0, ..]) {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_internal_v4(Ipv4Addr::new(a, b, c, d));
    }
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || v6.is_unique_local()
        || v6.is_unicast_link_local()
        || matches!(
            segments,
            // Documentation (2001:db8::/32, 3fff::/20).
            [0x2001, 0xdb8, ..] | [0x3fff, 0..=0x0fff, ..]
            // IPv4-compatible and IPv4-mapped forms not folded by `to_canonical`.
            | [0, 0, 0, 0, 0, 0, ..] | [0, 0, 0, 0, 0, 0xffff, ..]
            // Local-use NAT64 and 6to4, which can wrap any IPv4 address.
            | [0x64, 0xff9b, 1, ..] | [0x2002, ..]
            // Site-local (deprecated, fec0::/10).
            | [0xfec0..=0xfeff, ..]
        )
}

/// Why an outgoing request was not made; kept with the refused delivery.
#[derive(Debug, Clone, thiserror::Error)]
#[error("refused: {host} is an internal address ({address})")]
pub struct InternalAddress {
    pub host: String,
    pub address: IpAddr,
}

/// The marker every refusal's text carries, so it can be recognised through error wrappers
/// that do not keep the type.
const REFUSAL_MARKER: &str = "is an internal address";

/// Checks a URL Kindred is about to request (or to store as somewhere it will request): the
/// scheme must be https (plain http only in debug mode), and in production an IP literal must
/// be a global address and `localhost` is refused. Names are checked again when they resolve.
/// Returns the reason for a refusal.
pub fn check_outbound_url(config: &Config, url: &Url) -> Result<(), String> {
    let debug = config.federation.debug;
    match url.scheme() {
        "https" => {}
        "http" if debug => {}
        scheme => return Err(format!("refused: the scheme {scheme}: is not allowed")),
    }
    if debug {
        return Ok(());
    }
    let address = match url.host() {
        None => return Err("refused: the URL has no host".into()),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(format!("refused: {name} {REFUSAL_MARKER}"));
            }
            return Ok(());
        }
    };
    if is_internal_address(address) {
        return Err(InternalAddress {
            host: address.to_string(),
            address,
        }
        .to_string());
    }
    Ok(())
}

/// As [`check_outbound_url`], as a yes or no, for optional links in remote documents.
pub fn is_allowed_outbound_url(config: &Config, url: &Url) -> bool {
    check_outbound_url(config, url).is_ok()
}

/// The refusal behind a failed request, when the guard refused it (the resolver's error comes
/// back wrapped by reqwest and hyper).
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(refusal) = error.downcast_ref::<InternalAddress>() {
            return Some(refusal.to_string());
        }
        let text = error.to_string();
        if let Some(start) = text.find("refused: ")
            && text.contains(REFUSAL_MARKER)
        {
            return Some(text[start..].to_string());
        }
        current = error.source();
    }
    None
}

/// The DNS resolver of Kindred's HTTP client. Names listed in `federation.resolve` (a test
/// hook: the federation tests give each instance a name on 127.0.0.x) resolve to their fixed
/// address, others through the system resolver; then, in production, a name with any internal
/// address is refused, whichever way it resolved.
pub struct GuardedResolver {
    fixed: Arc<BTreeMap<String, IpAddr>>,
    refuse_internal: bool,
}

impl GuardedResolver {
    pub fn new(config: &Config) -> GuardedResolver {
        GuardedResolver {
            fixed: Arc::new(
                config
                    .federation
                    .resolve
                    .iter()
                    .map(|(name, address)| (canonical_name(name), *address))
                    .collect(),
            ),
            refuse_internal: !config.federation.debug,
        }
    }
}

fn canonical_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let fixed = self.fixed.clone();
        let refuse_internal = self.refuse_internal;
        Box::pin(async move {
            let host = canonical_name(name.as_str());
            let addresses: Vec<SocketAddr> = match fixed.get(&host) {
                Some(address) => vec![SocketAddr::new(*address, 0)],
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            if refuse_internal
                && let Some(internal) = addresses
                    .iter()
                    .map(SocketAddr::ip)
                    .find(|address| is_internal_address(*address))
            {
                // One internal answer refuses the name: a server must not be able to mix
                // one in and win a race.
                return Err(Box::new(InternalAddress {
                    host,
                    address: internal,
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn production() -> Config {
        let mut config = Config::default();
        config.federation.debug = false;
        config
    }

    #[test]
    fn internal_addresses_are_recognised_in_every_form() {
        for internal in [
            "127.0.0.1",
            "127.5.6.7",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
        ] {
            assert!(
                is_internal_address(internal.parse().unwrap()),
                "{internal} passed"
            );
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "64:ff9b::5db8:d822",
        ] {
            assert!(!is_internal_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn outbound_urls_are_checked_in_production_only() {
        let production = production();
        let refused = |text: &str| check_outbound_url(&production, &Url::parse(text).unwrap());
        assert!(refused("https://lemmy.example/inbox").is_ok());
        assert!(refused("https://93.184.216.34/inbox").is_ok());
        for bad in [
            "http://lemmy.example/inbox",
            "ftp://lemmy.example/inbox",
            "https://127.0.0.1/inbox",
            "https://[::1]:8443/inbox",
            "https://0x7f000001/inbox",
            "https://2130706433/inbox",
            "https://[::ffff:169.254.169.254]/latest",
            "https://localhost/inbox",
            "https://LOCALHOST./inbox",
            "https://x.localhost/inbox",
        ] {
            assert!(refused(bad).is_err(), "{bad} was allowed");
        }
        let debug = Config::default();
        assert!(
            check_outbound_url(&debug, &Url::parse("http://127.0.0.1:8080/inbox").unwrap()).is_ok()
        );
        assert!(check_outbound_url(&debug, &Url::parse("file:///etc/passwd").unwrap()).is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_inward_even_when_fixed() {
        let mut config = production();
        config
            .federation
            .resolve
            .insert("inward.test".into(), "127.0.0.9".parse().unwrap());
        config
            .federation
            .resolve
            .insert("outward.test".into(), "93.184.216.34".parse().unwrap());
        let resolver = GuardedResolver::new(&config);
        let error = resolver
            .resolve("Inward.Test.".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert!(refusal_in(error.as_ref()).unwrap().contains("127.0.0.9"));
        let addresses: Vec<SocketAddr> = resolver
            .resolve("outward.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addresses[0].ip().to_string(), "93.184.216.34");
        assert!(
            resolver
                .resolve("localhost".parse().unwrap())
                .await
                .is_err()
        );
        // Debug mode connects anywhere (the federation tests run on 127.0.0.x).
        let mut debug = Config::default();
        debug.federation.resolve = config.federation.resolve.clone();
        assert!(
            GuardedResolver::new(&debug)
                .resolve("inward.test".parse().unwrap())
                .await
                .is_ok()
        );
    }
}
