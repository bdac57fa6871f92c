//! `outbound = [...]` in `guests.toml`: the destinations a guest may call.
//!
//! An entry is `scheme://host[:port]`: the scheme is `http` or `https`; the
//! host a name, an IP address (`[v6]` in brackets), `*.suffix` (any name
//! ending in `.suffix`, not `suffix` itself) or `*` (any host); the port
//! a number or `*`, and without one the scheme's default (80, 443). Names
//! are matched as written, never resolved: listing `127.0.0.1` does not
//! allow `localhost`.

use std::fmt;

use anyhow::{Result, bail};

/// One allowed destination pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    scheme: Scheme,
    host: HostPattern,
    port: PortPattern,
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// From a URI scheme (case-insensitive); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else if text.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else {
            None
        }
    }

    /// The port a URL of this scheme uses when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    Subdomains(String),
    Exact(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Any,
    Exact(u16),
}

impl AllowRule {
    /// Parses one entry.
    ///
    /// # Errors
    /// Says what is wrong with the entry: a missing or unknown scheme, a
    /// path, an empty or malformed host, a bad port.
    pub fn parse(entry: &str) -> Result<Self> {
        let Some((scheme_text, rest)) = entry.split_once("://") else {
            bail!("`{entry}`: write scheme://host[:port], e.g. https://api.example.com");
        };
        let Some(scheme) = Scheme::parse(scheme_text) else {
            bail!("`{entry}`: the scheme must be http or https");
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            bail!("`{entry}`: only scheme, host and port are matched; remove the path or user");
        }
        let (host_text, port_text) = split_host_port(rest)
            .ok_or_else(|| anyhow::anyhow!("`{entry}`: malformed host or port"))?;
        let host = if host_text == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host_text.strip_prefix("*.") {
            if !is_host_name(suffix) {
                bail!("`{entry}`: `*.` must be followed by a domain name");
            }
            HostPattern::Subdomains(format!(".{}", suffix.to_ascii_lowercase()))
        } else if is_host_name(host_text) || host_text.parse::<std::net::IpAddr>().is_ok() {
            HostPattern::Exact(normalize_host(host_text))
        } else {
            bail!(
                "`{entry}`: `{host_text}` is not a host name or IP address (`*` may only start a pattern)"
            );
        };
        let port = match port_text {
            None => PortPattern::Exact(scheme.default_port()),
            Some("*") => PortPattern::Any,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 => PortPattern::Exact(port),
                _ => bail!("`{entry}`: the port must be 1-65535 or *"),
            },
        };
        Ok(Self { scheme, host, port })
    }

    /// Whether a request to `scheme://host:port` is allowed by this rule.
    /// `host` as it appears in the URL (brackets around IPv6 are ignored).
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        if scheme != self.scheme {
            return false;
        }
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => p == port,
        };
        let host = normalize_host(host);
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            HostPattern::Exact(name) => *name == host,
        };
        port_ok && host_ok
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Any => "*".to_owned(),
            HostPattern::Subdomains(suffix) => format!("*{suffix}"),
            HostPattern::Exact(name) if name.contains(':') => format!("[{name}]"),
            HostPattern::Exact(name) => name.clone(),
        };
        match self.port {
            PortPattern::Any => write!(f, "{}://{host}:*", self.scheme.as_str()),
            PortPattern::Exact(port) => write!(f, "{}://{host}:{port}", self.scheme.as_str()),
        }
    }
}

/// Lower case, IPv6 brackets removed, a trailing root dot dropped.
pub fn normalize_host(host: &str) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// `host[:port]`, with `[v6]` hosts; `None` when malformed.
fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        return match after {
            "" => Some((v6, None)),
            port => Some((v6, Some(port.strip_prefix(':')?))),
        };
    }
    match text.split_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host, Some(port))),
        Some(_) => None,
        None if text.is_empty() => None,
        None => Some((text, None)),
    }
}

/// Letters, digits, `-` and `.`, in non-empty labels.
fn is_host_name(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> AllowRule {
        AllowRule::parse(text).unwrap()
    }

    #[test]
    fn exact_hosts_need_the_scheme_and_port() {
        let r = rule("https://api.example.com");
        assert!(r.allows(Scheme::Https, "api.example.com", 443));
        assert!(r.allows(Scheme::Https, "API.Example.com.", 443));
        assert!(!r.allows(Scheme::Http, "api.example.com", 80));
        assert!(!r.allows(Scheme::Https, "api.example.com", 8443));
        assert!(!r.allows(Scheme::Https, "evil-api.example.com", 443));
        assert_eq!(r.to_string(), "https://api.example.com:443");
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let r = rule("https://*.amazonaws.com");
        assert!(r.allows(Scheme::Https, "dynamodb.us-east-1.amazonaws.com", 443));
        assert!(!r.allows(Scheme::Https, "amazonaws.com", 443));
        assert!(!r.allows(Scheme::Https, "notamazonaws.com", 443));
        assert!(rule("http://*:*").allows(Scheme::Http, "anything", 1234));
    }

    #[test]
    fn addresses_are_matched_as_written() {
        let r = rule("http://127.0.0.1:8080");
        assert!(r.allows(Scheme::Http, "127.0.0.1", 8080));
        assert!(!r.allows(Scheme::Http, "localhost", 8080));
        let v6 = rule("http://[::1]:8080/");
        assert!(v6.allows(Scheme::Http, "[::1]", 8080));
        assert_eq!(v6.to_string(), "http://[::1]:8080");
    }

    #[test]
    fn malformed_entries_say_why() {
        for (entry, says) in [
            ("api.example.com", "scheme://host"),
            ("ftp://x.com", "http or https"),
            ("https://x.com/path", "remove the path"),
            ("https://x.com:0", "port"),
            ("https://x.com:99999", "port"),
            ("https://*x.com", "not a host name"),
            ("https://a.*.com", "not a host name"),
            ("https://", "malformed"),
            ("https://*.", "domain name"),
        ] {
            let error = AllowRule::parse(entry).unwrap_err().to_string();
            assert!(error.contains(says), "{entry}: {error}");
        }
    }
}
