//! Trusted reverse proxies: the public URL of a request that reached the
//! app through a proxy, read from `Forwarded` (RFC 7239) or
//! `X-Forwarded-Proto`/`-Host`/`-Prefix`, **only** when the TCP peer is a
//! configured proxy and only for allow-listed public origins.
//!
//! The public URL is where a client sent the request; DPoP proofs name it
//! (`htu`, RFC 9449 §4.3), and the start-up self-check compares it with the
//! resource identifiers. It never changes what is accepted otherwise: the
//! audience, the metadata document and the challenge's `resource_metadata`
//! always come from the configured identifier, so a forged `Host` or
//! `X-Forwarded-Host` can neither redirect clients nor widen the audience.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
};

use actix_web::{HttpRequest, http::header::HeaderMap};
use url::Url;

use crate::ConfigError;

/// The reverse proxies in front of the app, for
/// [`McpAuthBuilder::trusted_proxies`](crate::McpAuthBuilder::trusted_proxies).
///
/// ```
/// # use mcp_auth::TrustedProxies;
/// // nginx on the same host; clients use https://mcp.example.com/api/mcp.
/// let proxies = TrustedProxies::new(["127.0.0.1", "::1"]);
/// // A second public host name for the same resources:
/// let proxies = TrustedProxies::new(["10.0.0.0/8"]).public_origins(["https://mcp.example.org"]);
/// ```
///
/// Forwarding headers are read only from a request whose TCP peer is one
/// of the addresses, and only the proxy's own (last) entry: a chain of
/// proxies must be collapsed by the nearest one. A forwarded origin is used
/// only when it is the origin of a configured resource or one of
/// [`public_origins`](Self::public_origins); otherwise the configured
/// origin is used (and a DPoP proof naming the forged origin fails).
#[derive(Clone, Default)]
pub struct TrustedProxies {
    addresses: Vec<String>,
    origins: Vec<String>,
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedProxies")
            .field("addresses", &self.addresses)
            .field("public_origins", &self.origins)
            .finish()
    }
}

impl TrustedProxies {
    /// Proxies at these addresses: an IP (`10.0.0.7`, `::1`) or a network
    /// in CIDR notation (`10.0.0.0/8`, `fd00::/8`). An empty list, a
    /// malformed entry, or a network that contains every address
    /// (`0.0.0.0/0`, `::/0`) fails `build()`.
    pub fn new(addresses: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            addresses: addresses.into_iter().map(Into::into).collect(),
            origins: Vec::new(),
        }
    }

    /// Public origins (`https://host[:port]`) the proxies may name besides
    /// the origins of the configured resources. Calls add to the list.
    pub fn public_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Checks the configuration; `resource_origins` are always allowed.
    pub(crate) fn build(
        &self,
        resource_origins: impl IntoIterator<Item = Url>,
        allow_insecure_http: bool,
    ) -> Result<ProxyPolicy, ConfigError> {
        let invalid = |field: &'static str, reason: String| ConfigError::InvalidField {
            subject: "TrustedProxies".into(),
            field,
            reason,
        };
        if self.addresses.is_empty() {
            return Err(invalid("addresses", "no proxy address is given".into()));
        }
        let networks = self
            .addresses
            .iter()
            .map(|a| Network::parse(a).map_err(|reason| invalid("addresses", reason)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut origins: Vec<Url> = resource_origins.into_iter().collect();
        for origin in &self.origins {
            let url = crate::resource::validate::parse_origin(origin)
                .ok()
                .ok_or_else(|| {
                    invalid(
                        "public_origins",
                        format!("`{origin}` is not scheme://host[:port]"),
                    )
                })?;
            mcp_auth_rules::resource::secure_scheme("public_origins", &url, allow_insecure_http)
                .map_err(|reason| invalid("public_origins", reason))?;
            origins.push(url);
        }
        Ok(ProxyPolicy { networks, origins })
    }
}

/// An address or network a proxy may connect from.
#[derive(Debug, Clone, Copy)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0..={max}"))?,
        };
        if prefix == 0 {
            return Err(format!(
                "`{s}` contains every address: any client could then forge forwarding headers"
            ));
        }
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let mask = |bits: u32, len: u8| -> u128 {
            let len = u32::from(len);
            if len == 0 {
                0
            } else {
                (!0u128) << (bits - len) & (!0u128 >> (128 - bits))
            }
        };
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(32, self.prefix);
                u128::from(u32::from(net)) & m == u128::from(u32::from(ip)) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(128, self.prefix);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

/// [`TrustedProxies`], checked at `build()`.
#[derive(Debug)]
pub(crate) struct ProxyPolicy {
    networks: Vec<Network>,
    origins: Vec<Url>,
}

/// Where a client sent a request: scheme + host + port, and the path
/// prefix a proxy stripped before forwarding.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PublicRequest {
    /// `Some`: an allow-listed origin a trusted proxy named.
    pub(crate) origin: Option<Url>,
    /// The stripped prefix (`/api`), or empty.
    pub(crate) prefix: String,
}

impl ProxyPolicy {
    /// What a trusted proxy says about `req`; nothing for any other peer.
    pub(crate) fn public_request(&self, req: &HttpRequest) -> PublicRequest {
        self.forwarded(req.peer_addr(), req.headers())
    }

    pub(crate) fn forwarded(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> PublicRequest {
        let none = PublicRequest {
            origin: None,
            prefix: String::new(),
        };
        let Some(peer) = peer else { return none };
        if !self.networks.iter().any(|n| n.contains(peer.ip())) {
            return none;
        }
        let (proto, host) = match last_forwarded(headers) {
            Some(pair) => pair,
            None => (
                last_value(headers, "x-forwarded-proto"),
                last_value(headers, "x-forwarded-host"),
            ),
        };
        let origin = match (proto, host) {
            (Some(proto), Some(host)) => self.allowed_origin(&proto, &host),
            _ => None,
        };
        let prefix = last_value(headers, "x-forwarded-prefix")
            .and_then(|p| valid_prefix(&p))
            .unwrap_or_default();
        PublicRequest { origin, prefix }
    }

    /// `proto://host` when it is an allow-listed origin.
    fn allowed_origin(&self, proto: &str, host: &str) -> Option<Url> {
        let proto = proto.to_ascii_lowercase();
        if !matches!(proto.as_str(), "http" | "https")
            || host.is_empty()
            || host.contains(['/', '\\', '@', '?', '#'])
        {
            return None;
        }
        let url = Url::parse(&format!("{proto}://{host}")).ok()?;
        let found = self.origins.iter().find(|o| o.origin() == url.origin());
        if found.is_none() {
            tracing::debug!(
                "a trusted proxy forwarded a request for an origin that is not allow-listed; the configured origin is used"
            );
        }
        found.cloned()
    }
}

/// Whether `path` is `resource_path` or below it (`/mcp`, `/mcp/x`; not
/// `/mcpx`).
pub(crate) fn is_within(resource_path: &str, path: &str) -> bool {
    path.strip_prefix(resource_path.trim_end_matches('/'))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The last value of the last `name` header (the nearest proxy's), trimmed.
fn last_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get_all(name).last()?.to_str().ok()?;
    let last = value.rsplit(',').next()?.trim();
    (!last.is_empty()).then(|| last.to_owned())
}

/// `proto` and `host` of the last `Forwarded` element (RFC 7239 §4), when
/// there is a `Forwarded` header at all.
fn last_forwarded(headers: &HeaderMap) -> Option<(Option<String>, Option<String>)> {
    let value = headers.get_all("forwarded").last()?.to_str().ok()?;
    let element = value.rsplit(',').next()?;
    let (mut proto, mut host) = (None, None);
    for pair in element.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = Some(value),
            "host" => host = Some(value),
            _ => {}
        }
    }
    Some((proto, host))
}

/// A path prefix as a proxy may send it (`/api`, `/a/b`), without a
/// trailing slash; `None` for anything else (dot segments, empty
/// segments, query, fragment, percent-encoding, non-ASCII).
fn valid_prefix(prefix: &str) -> Option<String> {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return Some(String::new());
    }
    let ok = prefix.len() <= 256
        && prefix.starts_with('/')
        && prefix[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b))
        });
    ok.then(|| prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn policy() -> ProxyPolicy {
        TrustedProxies::new(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])
            .public_origins(["https://alt.example"])
            .build([Url::parse("https://mcp.example").unwrap()], false)
            .unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 4000))
    }

    fn origin(p: &PublicRequest) -> Option<&str> {
        p.origin.as_ref().map(|u| u.as_str())
    }

    #[test]
    fn networks() {
        let n = Network::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.255.1.2".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        let one = Network::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = Network::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(
            Network::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "0.0.0.0/0",
            "::/0",
            "host",
            "10.0.0.0/x",
            "1.2.3.4/-1",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_refuses_bad_configuration() {
        let origins = || [Url::parse("https://mcp.example").unwrap()];
        assert!(
            TrustedProxies::new(Vec::<String>::new())
                .build(origins(), false)
                .is_err()
        );
        assert!(
            TrustedProxies::new(["0.0.0.0/0"])
                .build(origins(), false)
                .is_err()
        );
        for bad in [
            "https://x.example/path",
            "x.example",
            "http://x.example",
            "https://x.example?q",
        ] {
            let err = TrustedProxies::new(["127.0.0.1"])
                .public_origins([bad])
                .build(origins(), false)
                .unwrap_err();
            assert!(err.to_string().contains("public_origins"), "{bad}: {err}");
        }
        assert!(
            TrustedProxies::new(["127.0.0.1"])
                .public_origins(["http://127.0.0.1:8080"])
                .build(origins(), false)
                .is_ok()
        );
    }

    #[test]
    fn forwarding_headers_only_from_trusted_peers_and_for_allowed_origins() {
        let p = policy();
        let h = headers(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "mcp.example"),
            ("x-forwarded-prefix", "/api"),
        ]);
        let trusted = p.forwarded(peer("127.0.0.1"), &h);
        assert_eq!(origin(&trusted), Some("https://mcp.example/"));
        assert_eq!(trusted.prefix, "/api");
        // Untrusted peers, and no peer at all: nothing is read.
        for untrusted in [peer("127.0.0.2"), peer("192.168.1.1"), None] {
            let r = p.forwarded(untrusted, &h);
            assert_eq!((r.origin, r.prefix.as_str()), (None, ""), "{untrusted:?}");
        }
        // A trusted proxy naming an origin that is not allow-listed.
        for (proto, host) in [
            ("https", "evil.example"),
            ("http", "mcp.example"),
            ("https", "mcp.example:444"),
            ("ftp", "mcp.example"),
            ("https", "mcp.example/x"),
            ("https", "user@mcp.example"),
            ("https", ""),
        ] {
            let h = headers(&[("x-forwarded-proto", proto), ("x-forwarded-host", host)]);
            assert_eq!(
                p.forwarded(peer("10.1.2.3"), &h).origin,
                None,
                "{proto} {host}"
            );
        }
        // The nearest proxy's entry is the last one.
        let h = headers(&[
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.example, alt.example"),
        ]);
        assert_eq!(
            origin(&p.forwarded(peer("10.0.0.1"), &h)),
            Some("https://alt.example/")
        );
        // `Forwarded` wins over `X-Forwarded-*`.
        let h = headers(&[
            (
                "forwarded",
                "for=1.2.3.4;host=evil.example;proto=https, for=10.0.0.9;host=\"mcp.example\";proto=https",
            ),
            ("x-forwarded-host", "alt.example"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(
            origin(&p.forwarded(peer("fd00::1"), &h)),
            Some("https://mcp.example/")
        );
        let h = headers(&[("forwarded", "for=10.0.0.9")]);
        assert_eq!(p.forwarded(peer("10.0.0.1"), &h).origin, None);
    }

    #[test]
    fn prefixes() {
        for (raw, want) in [
            ("/api", Some("/api")),
            ("/api/", Some("/api")),
            ("/a/b-c_d", Some("/a/b-c_d")),
            ("", Some("")),
            ("/", Some("")),
            ("api", None),
            ("/a//b", None),
            ("/a/../b", None),
            ("/a/./b", None),
            ("/a?x", None),
            ("/a#x", None),
            ("/a%2fb", None),
            ("/a b", None),
        ] {
            assert_eq!(valid_prefix(raw).as_deref(), want, "{raw:?}");
        }
    }
}
