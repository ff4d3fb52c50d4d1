//! Where the server may send HTTP requests on a tenant's behalf. Channel URLs are typed in by
//! tenant admins, so without a guard a webhook could reach the server's own network: the
//! database host, a cloud metadata endpoint, an internal admin page (SSRF). Unless the operator
//! allows private networks, only public addresses are reached — checked when the channel is
//! saved and again at every connection, after DNS, so a name cannot later resolve inward.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an address is on the public internet (not loopback, private, link-local, CGNAT,
/// multicast, documentation or otherwise special).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

/// Whether a host name can only be a public DNS name: not localhost, not a local-only suffix
/// (mDNS, home and cloud-internal zones), not a bare intranet label. Trailing dots (the
/// absolute form, `localhost.`) and case are ignored, as resolvers ignore them.
fn is_public_name(name: &str) -> bool {
    const LOCAL_SUFFIXES: &[&str] = &[
        ".localhost",
        ".local",
        ".localdomain",
        ".internal",
        ".intranet",
        ".lan",
        ".home.arpa",
    ];
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !(name.is_empty()
        || name == "localhost"
        || !name.contains('.')
        || LOCAL_SUFFIXES.iter().any(|s| name.ends_with(s)))
}

/// Why a URL may not be used.
pub fn check_url(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => {
            Err(format!("{ip} is not a public address"))
        }
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => {
            Err(format!("{ip} is not a public address"))
        }
        Some(url::Host::Domain(name)) if !is_public_name(name) => {
            Err(format!("{name} is not a public host"))
        }
        None => Err("the URL has no host".into()),
        _ => Ok(()),
    }
}

/// A DNS resolver that only hands out public addresses: a name that resolves inward fails
/// to connect instead of reaching the private network.
#[derive(Debug, Default, Clone, Copy)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "203.119.0.1", "2400:3200::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_to_the_inside_are_refused_unless_allowed() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_url(&url("http://169.254.169.254/latest/meta-data"), false).is_err());
        assert!(check_url(&url("http://localhost:8080/hook"), false).is_err());
        for inward in [
            "http://localhost.:8080/hook",
            "http://LOCALHOST../hook",
            "http://printer.local/hook",
            "http://metadata.google.internal/computeMetadata",
            "http://intranet/hook",
            "http://router.home.arpa./hook",
        ] {
            assert!(check_url(&url(inward), false).is_err(), "{inward}");
        }
        assert!(check_url(&url("https://open.feishu.cn./open-apis/bot"), false).is_ok());
        assert!(check_url(&url("http://[::1]/hook"), false).is_err());
        assert!(check_url(&url("https://oapi.dingtalk.com/robot/send"), false).is_ok());
        assert!(check_url(&url("http://127.0.0.1:9000/hook"), true).is_ok());
    }

    #[tokio::test]
    async fn names_that_resolve_inward_do_not_connect() {
        let name: Name = "localhost".parse().unwrap();
        assert!(PublicOnlyResolver.resolve(name).await.is_err());
    }
}
