//! Base URLs of providers: `http(s)://host[:port][/prefix]`, nothing else.
//!
//! A small parser instead of a URL crate: we accept a deliberately narrow shape
//! (no credentials, query or fragment: those belong in `api_key`, `headers` and the
//! format's own path) and need host, port and prefix apart to build a peer.

use std::net::Ipv6Addr;

/// A base URL split into what a peer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub tls: bool,
    /// Lower-case host; IPv6 literal without brackets.
    pub host: String,
    pub port: u16,
    /// `""` or `/x`, no trailing slash.
    pub path_prefix: String,
    /// `scheme://host[:port]prefix`, normalized.
    pub normalized: String,
}

impl BaseUrl {
    /// The `Host` header of requests to it: the host, an IPv6 literal in brackets
    /// (RFC 9110), with `:port` unless it is the scheme's default.
    pub fn host_header(&self) -> http::HeaderValue {
        let default_port = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let value = if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        };
        crate::edge::header_value::owned(value)
    }
}

/// Parses a base URL; the error says what is wrong, without repeating the input.
pub fn parse_base_url(s: &str) -> Result<BaseUrl, String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or("expected http://host[:port][/prefix] or https://...")?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err("the scheme must be http or https".into()),
    };
    if rest.contains(['?', '#']) {
        return Err("a base URL has no query or fragment".into());
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err("credentials in the URL are not allowed (use api_key or headers)".into());
    }
    let (host, explicit_port) = split_host_port(authority)?;
    let port = explicit_port.unwrap_or(if tls { 443 } else { 80 });
    let path_prefix = check_path(path)?;
    let shown_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let port_part = explicit_port.map(|p| format!(":{p}")).unwrap_or_default();
    let normalized = format!(
        "{}://{shown_host}{port_part}{path_prefix}",
        if tls { "https" } else { "http" }
    );
    Ok(BaseUrl {
        tls,
        host,
        port,
        path_prefix,
        normalized,
    })
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or("unclosed `[` in the host")?;
        ip.parse::<Ipv6Addr>()
            .map_err(|_| "invalid IPv6 address in the host")?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':').ok_or("junk after `]`")?)?),
        };
        return Ok((ip.to_ascii_lowercase(), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(parse_port(p)?)),
        None => (authority, None),
    };
    check_host(host)?;
    Ok((host.to_ascii_lowercase(), port))
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err("the port must be a number from 1 to 65535".into()),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    // One trailing dot (a fully qualified name) is allowed.
    if host
        .strip_suffix('.')
        .unwrap_or(host)
        .split('.')
        .all(label_ok)
    {
        Ok(())
    } else {
        Err("the host must be a DNS name or an IP address".into())
    }
}

fn check_path(path: &str) -> Result<String, String> {
    if path
        .bytes()
        .any(|b| b <= b' ' || b == 0x7f || !b.is_ascii())
    {
        return Err("the path may not contain spaces, control or non-ASCII characters (percent-encode them)".into());
    }
    Ok(path.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_accepted_shapes() {
        let u = parse_base_url("https://API.openai.com/v1/").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path_prefix.as_str()),
            (true, "api.openai.com", 443, "/v1")
        );
        assert_eq!(u.normalized, "https://api.openai.com/v1");
        let u = parse_base_url("http://127.0.0.1:9001").unwrap();
        assert_eq!((u.tls, u.port, u.path_prefix.as_str()), (false, 9001, ""));
        let u = parse_base_url("http://[::1]:11434/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 11434));
        assert_eq!(u.normalized, "http://[::1]:11434");
        assert_eq!(parse_base_url("http://h").unwrap().port, 80);
    }

    #[test]
    fn host_headers_keep_non_default_ports_and_bracket_ipv6() {
        for (url, host) in [
            ("https://api.openai.com/v1", "api.openai.com"),
            ("http://127.0.0.1:80", "127.0.0.1"),
            ("http://127.0.0.1:9001", "127.0.0.1:9001"),
            ("https://h:80", "h:80"),
            ("http://[::1]:11434/", "[::1]:11434"),
            ("https://[::1]", "[::1]"),
        ] {
            assert_eq!(parse_base_url(url).unwrap().host_header(), host, "{url}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "htp:/x",
            "ftp://h",
            "https://",
            "https://h:0",
            "https://h:99999",
            "https://h:+1",
            "https://h?x=1",
            "https://h/p#f",
            "https://u:p@h",
            "https://h o",
            "https://a..b",
            "https://[::1",
            "https://[zz]",
            "https://[::1]x",
            "https://h/p q",
            "https://h:",
            "api.openai.com",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }
}
