//! The rules that keep webhook deliveries from reaching the service's own network (no
//! server-side request forgery): which addresses are public, and which URLs may be registered.
//!
//! The same rules run at registration ([`Policy::check_url`]) and again at every delivery,
//! on the addresses actually connected to (the sender's resolver calls [`Policy::resolve`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// How long a registration waits for the name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// IPv4 ranges no webhook may reach, each with the name given in refusals; first match wins.
const REFUSED_V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "unspecified (this network)"),
    (v4(10, 0, 0, 0, 8), "private"),
    (v4(100, 64, 0, 0, 10), "shared (carrier-grade NAT)"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local"),
    (v4(172, 16, 0, 0, 12), "private"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignment"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 168, 0, 0, 16), "private"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(240, 0, 0, 0, 4), "reserved"),
];

/// IPv6 ranges no webhook may reach, after the ones that embed an IPv4 address; first match
/// wins, and anything outside global unicast (2000::/3) is refused as well.
const REFUSED_V6: &[(Ipv6Net, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), "local-use NAT64"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only"),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), "Teredo"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignment",
    ),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "private (unique local)",
    ),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), "site-local"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// IPv6 global unicast, the only IPv6 space a webhook may reach.
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// IPv6 ranges whose last 32 bits are an IPv4 address, judged as that address.
const EMBEDDING_V4_LOW: &[Ipv6Net] = &[
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),    // IPv4-mapped
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96),         // IPv4-compatible (deprecated)
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), // well-known NAT64 prefix
];

/// 6to4, whose bits 16..48 are an IPv4 address, judged as that address.
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// An IPv4 network in a constant.
const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// An IPv6 network in a constant.
const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    let addr = Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
    Ipv6Net::new_assert(addr, len)
}

/// Whether a webhook may be delivered to `ip`: false for loopback, private, link-local,
/// multicast, unspecified, broadcast, shared, documentation, benchmarking and reserved space,
/// and for IPv6 addresses that embed such an IPv4 address or tunnel to one (Teredo).
pub fn is_public(ip: IpAddr) -> bool {
    forbidden_range(ip).is_none()
}

/// The name of the refused range `ip` falls in, or `None` when it is public.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => forbidden_v4(ip),
        IpAddr::V6(ip) => forbidden_v6(ip),
    }
}

/// [`forbidden_range`] for IPv4.
fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    REFUSED_V4
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, name)| *name)
}

/// [`forbidden_range`] for IPv6: an embedded IPv4 address decides for its carrier.
fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(name) = REFUSED_V6.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(name.1);
    }
    if let Some(embedded) = embedded_v4(ip) {
        return forbidden_v4(embedded);
    }
    if !GLOBAL_UNICAST.contains(&ip) {
        return Some("reserved");
    }
    None
}

/// The IPv4 address an IPv6 address carries (mapped, compatible, NAT64 or 6to4), if any.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    if EMBEDDING_V4_LOW.iter().any(|net| net.contains(&ip)) {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if SIX_TO_FOUR.contains(&ip) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// Why a webhook URL or address is refused, with a stable `code` for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    code: RefusalCode,
    message: String,
}

/// The kinds of refusal, each with a stable snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// Not an absolute URL with a host.
    Invalid,
    /// Neither `https` nor, when local addresses are allowed, `http`.
    Scheme,
    /// A user name or password in the URL.
    Credentials,
    /// The host is an address that is not public, or a name that does not resolve to public
    /// addresses only (whether it resolves at all is not told: that would let a tenant map the
    /// service's internal names).
    ForbiddenAddress,
}

impl RefusalCode {
    /// The code clients see, e.g. `webhook_url_forbidden_address`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "webhook_url_invalid",
            Self::Scheme => "webhook_url_scheme",
            Self::Credentials => "webhook_url_credentials",
            Self::ForbiddenAddress => "webhook_url_forbidden_address",
        }
    }
}

impl Refusal {
    /// A refusal of kind `code` saying `message`.
    fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// What kind of refusal this is.
    pub fn code(&self) -> RefusalCode {
        self.code
    }

    /// A sentence naming what was wrong; it never repeats credentials.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Where webhooks may go: public `https` only, unless `allow_local` (development and tests,
/// `CASEBRIDGE_WEBHOOKS_ALLOW_LOCAL=true`) also admits `http` and local addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Admit `http://` and addresses that are not public.
    pub allow_local: bool,
}

impl Policy {
    /// Checks a URL at registration: its form, then every address its host resolves to.
    pub async fn check_url(&self, url: &str) -> Result<Url, Refusal> {
        let url = self.check_form(url)?;
        if let Some(Host::Domain(domain)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            self.resolve(domain, port).await?;
        }
        Ok(url)
    }

    /// Checks what can be checked without DNS: an absolute URL with an allowed scheme, no
    /// credentials, a host, and, when the host is a literal IP address, a permitted one.
    pub fn check_form(&self, url: &str) -> Result<Url, Refusal> {
        let url = Url::parse(url).map_err(|e| {
            Refusal::new(
                RefusalCode::Invalid,
                format!("the webhook URL is invalid: {e}"),
            )
        })?;
        self.check_scheme(&url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::new(
                RefusalCode::Credentials,
                "the webhook URL must not carry a user name or password",
            ));
        }
        match url.host() {
            None => Err(Refusal::new(
                RefusalCode::Invalid,
                "the webhook URL names no host",
            )),
            Some(Host::Ipv4(ip)) => self.check_address(&ip.to_string(), ip.into()),
            Some(Host::Ipv6(ip)) => self.check_address(&ip.to_string(), ip.into()),
            Some(Host::Domain(_)) => Ok(()),
        }?;
        Ok(url)
    }

    /// Refuses any scheme but `https`, or `http` too when local addresses are allowed.
    fn check_scheme(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_local => Ok(()),
            other => Err(Refusal::new(
                RefusalCode::Scheme,
                format!("the webhook URL must use https, not {other}"),
            )),
        }
    }

    /// Resolves `host` and refuses it unless every address is permitted: one private answer
    /// among public ones is enough to refuse, since the connection might use it. The refusal
    /// says neither what the name resolved to nor whether it resolved (what a tenant could
    /// learn of the service's own network); the log says both.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let refused = |why: String| {
            tracing::info!(host, why, "a webhook host was refused");
            Refusal::new(
                RefusalCode::ForbiddenAddress,
                format!(
                    "webhooks may only reach public addresses: {host} does not resolve to public addresses only"
                ),
            )
        };
        let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| refused(format!("no answer within {RESOLVE_TIMEOUT:?}")))?
            .map_err(|e| refused(e.to_string()))?;
        let addrs: Vec<SocketAddr> = found.collect();
        if addrs.is_empty() {
            return Err(refused("no addresses".to_owned()));
        }
        for addr in &addrs {
            if let Some(range) = forbidden_range(addr.ip())
                && !self.allow_local
            {
                return Err(refused(format!("{} is a {range} address", addr.ip())));
            }
        }
        Ok(addrs)
    }

    /// Refuses `ip` (found for `host`) unless it is public or local addresses are allowed.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        match forbidden_range(ip) {
            Some(range) if !self.allow_local => {
                let found = if host == ip.to_string() {
                    format!("{ip} is a {range} address")
                } else {
                    format!("{host} resolves to {ip}, a {range} address")
                };
                Err(Refusal::new(
                    RefusalCode::ForbiddenAddress,
                    format!("webhooks may only reach public addresses: {found}"),
                ))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Asserts that each address is refused, naming the range.
    fn assert_refused(addresses: &[&str], range: &str) {
        for text in addresses {
            assert_eq!(forbidden_range(ip(text)), Some(range), "{text}");
            assert!(!is_public(ip(text)), "{text}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for text in [
            "93.184.215.14",
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81c::200e",
            "::ffff:93.184.215.14",
            "64:ff9b::808:808",
            "2002:5db8:d70e::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(forbidden_range(ip(text)), None, "{text}");
            assert!(is_public(ip(text)), "{text}");
        }
    }

    #[test]
    fn loopback_private_and_link_local_ipv4_are_refused() {
        assert_refused(&["127.0.0.1", "127.255.255.254"], "loopback");
        assert_refused(
            &[
                "10.0.0.1",
                "10.255.255.255",
                "172.16.0.1",
                "172.31.255.255",
                "192.168.1.1",
            ],
            "private",
        );
        assert_refused(&["169.254.169.254", "169.254.0.1"], "link-local");
    }

    #[test]
    fn unspecified_broadcast_multicast_and_shared_ipv4_are_refused() {
        assert_refused(&["0.0.0.0", "0.1.2.3"], "unspecified (this network)");
        assert_refused(&["255.255.255.255"], "broadcast");
        assert_refused(&["224.0.0.1", "239.255.255.250"], "multicast");
        assert_refused(
            &["100.64.0.1", "100.127.255.255"],
            "shared (carrier-grade NAT)",
        );
    }

    #[test]
    fn documentation_benchmarking_and_reserved_ipv4_are_refused() {
        assert_refused(&["192.0.0.1", "192.0.0.170"], "IETF protocol assignment");
        assert_refused(
            &["192.0.2.1", "198.51.100.7", "203.0.113.200"],
            "documentation",
        );
        assert_refused(&["198.18.0.1", "198.19.255.255"], "benchmarking");
        assert_refused(&["240.0.0.1", "255.255.255.254"], "reserved");
    }

    #[test]
    fn loopback_private_link_local_and_site_local_ipv6_are_refused() {
        assert_refused(&["::"], "unspecified");
        assert_refused(&["::1"], "loopback");
        assert_refused(&["fc00::1", "fd12:3456::1"], "private (unique local)");
        assert_refused(&["fe80::1", "febf::1"], "link-local");
        assert_refused(&["fec0::1", "feff::1"], "site-local");
        assert_refused(&["ff02::1", "ff0e::1"], "multicast");
    }

    #[test]
    fn documentation_teredo_and_reserved_ipv6_are_refused() {
        assert_refused(&["2001:db8::1", "3fff::1"], "documentation");
        assert_refused(
            &["2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
            "Teredo",
        );
        assert_refused(&["2001:2::1"], "IETF protocol assignment");
        assert_refused(&["100::1"], "discard-only");
        assert_refused(&["64:ff9b:1::1"], "local-use NAT64");
        assert_refused(&["4000::1", "1::1"], "reserved");
    }

    #[test]
    fn ipv6_embedding_an_ipv4_address_is_judged_by_it() {
        // IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of refused IPv4 addresses.
        assert_refused(
            &["::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1"],
            "loopback",
        );
        assert_refused(&["2002:7f00:1::1"], "loopback");
        assert_refused(
            &["::ffff:10.0.0.1", "64:ff9b::c0a8:101", "2002:c0a8:101::"],
            "private",
        );
        assert_refused(
            &["::ffff:169.254.169.254", "2002:a9fe:a9fe::1"],
            "link-local",
        );
        assert_refused(&["::ffff:0.0.0.0"], "unspecified (this network)");
        assert_refused(&["::ffff:255.255.255.255"], "broadcast");
    }

    #[tokio::test]
    async fn registration_refuses_http_unless_local_is_allowed() {
        let refusal = Policy::default()
            .check_url("http://127.0.0.1/x")
            .await
            .unwrap_err();

        assert_eq!(refusal.code().as_str(), "webhook_url_scheme");
        assert!(refusal.message().contains("not http"), "{refusal}");
    }

    #[tokio::test]
    async fn registration_refuses_literal_private_and_link_local_addresses() {
        for (url, shown) in [
            ("https://10.0.0.1/x", "10.0.0.1 is a private address"),
            (
                "https://169.254.169.254/latest",
                "169.254.169.254 is a link-local address",
            ),
            (
                "https://[::ffff:127.0.0.1]/x",
                "::ffff:127.0.0.1 is a loopback address",
            ),
            ("https://2130706433/x", "127.0.0.1 is a loopback address"),
        ] {
            let refusal = Policy::default().check_url(url).await.unwrap_err();

            assert_eq!(refusal.code(), RefusalCode::ForbiddenAddress, "{url}");
            assert_eq!(refusal.code().as_str(), "webhook_url_forbidden_address");
            assert!(refusal.message().contains(shown), "{url}: {refusal}");
        }
    }

    #[tokio::test]
    async fn registration_refuses_a_name_resolving_to_loopback() {
        let refusal = Policy::default()
            .check_url("https://localhost/x")
            .await
            .unwrap_err();

        assert_eq!(refusal.code(), RefusalCode::ForbiddenAddress);
        assert!(
            refusal
                .message()
                .contains("localhost does not resolve to public addresses only"),
            "{refusal}"
        );
        // What it resolved to is not told.
        assert!(!refusal.message().contains("127.0.0.1"), "{refusal}");
    }

    #[tokio::test]
    async fn registration_refuses_credentials_without_echoing_them() {
        let refusal = Policy::default()
            .check_url("https://user:pw@example.com/")
            .await
            .unwrap_err();

        assert_eq!(refusal.code().as_str(), "webhook_url_credentials");
        assert!(!refusal.message().contains("pw"), "{refusal}");
        assert!(!refusal.message().contains("user:"), "{refusal}");
    }

    #[tokio::test]
    async fn registration_refuses_other_schemes_and_unparsable_urls() {
        let ftp = Policy { allow_local: true }
            .check_url("ftp://x")
            .await
            .unwrap_err();
        let relative = Policy::default().check_url("/hook").await.unwrap_err();
        // "https:///hook" would not do: WHATWG parsing reads it as host "hook".
        let empty_host = Policy::default().check_url("https://").await;
        let spaced_host = Policy::default().check_url("https://ex ample.com/").await;

        assert_eq!(ftp.code().as_str(), "webhook_url_scheme");
        assert_eq!(relative.code().as_str(), "webhook_url_invalid");
        assert_eq!(empty_host.unwrap_err().code(), RefusalCode::Invalid);
        assert_eq!(spaced_host.unwrap_err().code(), RefusalCode::Invalid);
    }

    #[tokio::test]
    async fn registration_refuses_a_name_that_does_not_resolve() {
        let refusal = Policy::default()
            .check_url("https://no-such-host.invalid/hook")
            .await
            .unwrap_err();

        // Refused as a name resolving to a private address is: the answer does not tell them
        // apart.
        let private = Policy::default()
            .check_url("https://localhost/hook")
            .await
            .unwrap_err();
        assert_eq!(refusal.code(), private.code());
        assert_eq!(
            refusal
                .message()
                .replace("no-such-host.invalid", "localhost"),
            private.message()
        );
        assert!(
            refusal.message().contains("no-such-host.invalid"),
            "{refusal}"
        );
    }

    #[tokio::test]
    async fn registration_accepts_a_literal_public_address_without_dns() {
        let url = Policy::default()
            .check_url("https://93.184.215.14/hook")
            .await
            .unwrap();

        assert_eq!(url.as_str(), "https://93.184.215.14/hook");
    }

    #[tokio::test]
    async fn allowing_local_admits_http_and_loopback() {
        let policy = Policy { allow_local: true };

        assert!(policy.check_url("http://127.0.0.1:8080/x").await.is_ok());
        assert!(policy.check_url("https://localhost/x").await.is_ok());
        assert!(policy.check_url("http://[::1]/x").await.is_ok());
    }
}
