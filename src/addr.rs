//! Network addresses the way Lotus writes them: multiaddrs such as `/ip4/127.0.0.1/tcp/1234/http`, plus plain
//! `host:port` and URLs where those are the natural thing to type.

use std::net::IpAddr;

use multiaddr::{Multiaddr, Protocol};

/// The transport security a listener or upstream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// A host and port to listen on or connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// An IP address or a DNS name.
    pub host: Host,
    pub port: u16,
    pub scheme: Scheme,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Dns(String),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Dns(name) => f.write_str(name),
        }
    }
}

impl HostPort {
    /// `host:port`, with IPv6 addresses in brackets, as socket APIs take it.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Whether the address only accepts connections from this machine.
    pub fn is_loopback(&self) -> bool {
        match &self.host {
            Host::Ip(ip) => ip.is_loopback(),
            Host::Dns(name) => name.eq_ignore_ascii_case("localhost"),
        }
    }

    pub fn base_url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}", self.authority())
    }
}

const EXPECTED: &str = "a multiaddr such as /ip4/127.0.0.1/tcp/3453/http, /ip6/::1/tcp/3453/http or /dns/example.com/tcp/3453/https, or host:port";

/// Parses a multiaddr (`/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/http|/https|/tls/http|/ws|/wss]`) or `host:port`.
pub fn parse_host_port(input: &str) -> Result<HostPort, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err(format!("empty address: expected {EXPECTED}"));
    }
    if input.starts_with('/') {
        parse_multiaddr(input)
    } else {
        parse_plain(input)
    }
}

fn parse_multiaddr(input: &str) -> Result<HostPort, String> {
    let ma: Multiaddr = input
        .parse()
        .map_err(|e| format!("invalid multiaddr \"{input}\" ({e}): expected {EXPECTED}"))?;
    let mut host = None;
    let mut port = None;
    let mut scheme = Scheme::Http;
    for proto in ma.iter() {
        match proto {
            Protocol::Ip4(ip) => host = Some(Host::Ip(IpAddr::V4(ip))),
            Protocol::Ip6(ip) => host = Some(Host::Ip(IpAddr::V6(ip))),
            Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => {
                if !is_dns_name(&name) {
                    return Err(format!(
                        "invalid DNS name \"{name}\" in multiaddr \"{input}\": expected letters, digits, '-' and '.' only, ending in a label that starts with a letter"
                    ));
                }
                host = Some(Host::Dns(name.to_string()))
            }
            Protocol::Tcp(p) => port = Some(p),
            Protocol::Http | Protocol::Ws(_) => {}
            Protocol::Https | Protocol::Tls | Protocol::Wss(_) => scheme = Scheme::Https,
            other => {
                return Err(format!(
                    "unsupported protocol /{} in multiaddr \"{input}\": expected {EXPECTED}",
                    other.tag()
                ))
            }
        }
    }
    let host = host.ok_or_else(|| {
        format!("multiaddr \"{input}\" has no /ip4, /ip6 or /dns part: expected {EXPECTED}")
    })?;
    let port =
        port.ok_or_else(|| format!("multiaddr \"{input}\" has no /tcp part: expected {EXPECTED}"))?;
    Ok(HostPort { host, port, scheme })
}

fn parse_plain(input: &str) -> Result<HostPort, String> {
    let (host, port) = input
        .rsplit_once(':')
        .ok_or_else(|| format!("invalid address \"{input}\": expected {EXPECTED}"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|_| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("invalid port \"{port}\" in \"{input}\": expected 0 to 65535"))?;
    let bad_host = || format!("invalid host \"{host}\" in \"{input}\": expected {EXPECTED}");
    // An IPv6 address is written in brackets, and only it; anything else is a plain IPv4 address or DNS name.
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => match inner.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => Host::Ip(IpAddr::V6(ip)),
            Err(_) => return Err(bad_host()),
        },
        None => match host.parse::<std::net::Ipv4Addr>() {
            Ok(ip) => Host::Ip(IpAddr::V4(ip)),
            Err(_) if is_dns_name(host) => Host::Dns(host.to_string()),
            Err(_) => return Err(bad_host()),
        },
    };
    Ok(HostPort {
        host,
        port,
        scheme: Scheme::Http,
    })
}

/// A DNS name a URL keeps as a name: letters, digits and hyphens in dot-separated labels, the last starting with a
/// letter (so that no URL parser reads it as an IPv4 address such as `1.2` or `0x7f000001`).
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.rsplit('.')
            .next()
            .and_then(|last| last.chars().next())
            .is_some_and(|c| c.is_ascii_alphabetic())
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Turns what Lotus users write for an API endpoint (a multiaddr from `FULLNODE_API_INFO` or a repo's `api` file, or
/// a URL) into the JSON-RPC URL to POST to. `default_path` (e.g. `/rpc/v1`) is used when the input names none.
pub fn upstream_url(input: &str, default_path: &str) -> Result<url::Url, String> {
    let input = input.trim();
    let text = if input.starts_with('/') {
        format!("{}{default_path}", parse_multiaddr(input)?.base_url())
    } else if input.contains("://") {
        let mut url = url::Url::parse(input).map_err(|e| {
            format!(
                "invalid URL \"{input}\" ({e}): expected http(s)://host:port/rpc/v1 or a multiaddr"
            )
        })?;
        let scheme = match url.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => {
                return Err(format!(
                    "unsupported URL scheme \"{other}\" in \"{input}\": expected http, https, ws or wss"
                ))
            }
        };
        url.set_scheme(scheme)
            .map_err(|_| format!("cannot use scheme {scheme} with \"{input}\""))?;
        if url.path() == "/" || url.path().is_empty() {
            url.set_path(default_path);
        }
        url.to_string()
    } else {
        format!("{}{default_path}", parse_plain(input)?.base_url())
    };
    url::Url::parse(&text).map_err(|e| format!("invalid upstream address \"{input}\": {e}"))
}

/// A `FULLNODE_API_INFO`-style value: `TOKEN:MULTIADDR`, or a bare multiaddr or URL (no token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiInfo {
    pub token: Option<String>,
    pub url: url::Url,
}

impl ApiInfo {
    pub fn parse(input: &str, default_path: &str) -> Result<Self, String> {
        let input = input.trim();
        // A JWT has no '/' or ':'; what follows the first ':' of TOKEN:ADDRESS is a multiaddr or a URL.
        let is_url = ["http://", "https://", "ws://", "wss://"]
            .iter()
            .any(|p| input.to_ascii_lowercase().starts_with(p));
        if !input.starts_with('/') && !is_url {
            if let Some((token, rest)) = input.split_once(':') {
                if !token.contains('/') && (rest.starts_with('/') || rest.contains("://")) {
                    let token = token.trim();
                    return Ok(ApiInfo {
                        token: (!token.is_empty()).then(|| token.to_string()),
                        url: upstream_url(rest, default_path)?,
                    });
                }
            }
        }
        Ok(ApiInfo {
            token: None,
            url: upstream_url(input, default_path)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs() {
        let a = parse_host_port("/ip4/127.0.0.1/tcp/3453/http").unwrap();
        assert_eq!(a.authority(), "127.0.0.1:3453");
        assert!(a.is_loopback());
        let b = parse_host_port("/ip6/::1/tcp/3453/http").unwrap();
        assert_eq!(b.authority(), "[::1]:3453");
        assert!(b.is_loopback());
        let c = parse_host_port("/ip4/0.0.0.0/tcp/3453/https").unwrap();
        assert_eq!(c.scheme, Scheme::Https);
        assert!(!c.is_loopback());
        let d = parse_host_port("/dns/lotus/tcp/1234/http").unwrap();
        assert_eq!(d.host, Host::Dns("lotus".into()));
        assert_eq!(parse_host_port("localhost:80").unwrap().port, 80);
        assert_eq!(parse_host_port("[::1]:80").unwrap().authority(), "[::1]:80");
    }

    #[test]
    fn bad_addresses_say_what_is_expected() {
        for bad in [
            "/ip4/1.2.3/tcp/1",
            "/ip4/127.0.0.1",
            "/tcp/80",
            "nonsense",
            "host:99999",
            "/ip4/127.0.0.1/udp/1",
        ] {
            let err = parse_host_port(bad).unwrap_err();
            assert!(err.contains(bad) || err.contains("expected"), "{err}");
        }
    }

    #[test]
    fn hosts_that_could_mean_another_host_are_refused() {
        for bad in [
            "/dns/x@evil.example/tcp/1234/http",
            "/dns/evil.example:80#/tcp/1",
            "/dns/a?b/tcp/1",
            "/dns/a b/tcp/1",
            "/dns//tcp/1",
            "/dns/0x7f000001/tcp/1234/http",
            "1.2:1234",
            "[1.2.3.4]:80",
            "1.2.3.4]:80",
            "[[::1]]:80",
            "[localhost]:80",
            "::1:80",
            "localhost:+80",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad} was accepted");
            if bad.starts_with('/') {
                assert!(upstream_url(bad, "/rpc/v1").is_err(), "{bad} was accepted");
            }
        }
    }

    #[test]
    fn api_info() {
        let info =
            ApiInfo::parse("eyJhbGc.eyJB.sig:/ip4/127.0.0.1/tcp/1234/http", "/rpc/v1").unwrap();
        assert_eq!(info.token.as_deref(), Some("eyJhbGc.eyJB.sig"));
        assert_eq!(info.url.as_str(), "http://127.0.0.1:1234/rpc/v1");
        let bare = ApiInfo::parse("/ip4/10.0.0.1/tcp/1234/http", "/rpc/v1").unwrap();
        assert_eq!(bare.token, None);
        let url = ApiInfo::parse("ws://node:1234/rpc/v0", "/rpc/v1").unwrap();
        assert_eq!(url.url.as_str(), "http://node:1234/rpc/v0");
        let tok_url = ApiInfo::parse("abc:https://node.example/", "/rpc/v1").unwrap();
        assert_eq!(tok_url.token.as_deref(), Some("abc"));
        assert_eq!(tok_url.url.as_str(), "https://node.example/rpc/v1");
        assert!(ApiInfo::parse("tok:/ip4/x/tcp/1", "/rpc/v1").is_err());
    }
}
