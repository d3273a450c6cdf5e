//! `http(s)://host[:port][/path][?query]` URLs, as services (`url`) and `model.options.upstream_url`
//! write them, and the host names inside them.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::entities::Protocol;

/// The parts of an HTTP URL, borrowed from its text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl<'a> {
    pub protocol: Protocol,
    /// An IPv6 address is given without its brackets.
    pub host: &'a str,
    pub port: Option<u16>,
    pub path: Option<&'a str>,
    pub query: Option<&'a str>,
}

pub(crate) fn parse_http_url(text: &str) -> Result<HttpUrl<'_>, String> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| format!("invalid URL '{text}': expected http://host or https://host"))?;
    let protocol = if scheme.eq_ignore_ascii_case("http") {
        Protocol::Http
    } else if scheme.eq_ignore_ascii_case("https") {
        Protocol::Https
    } else {
        return Err(format!(
            "invalid URL '{text}': the scheme must be http or https"
        ));
    };
    if rest.contains('#') {
        return Err(format!("invalid URL '{text}': a fragment is not allowed"));
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, after_authority) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(format!(
            "invalid URL '{text}': credentials in the URL are not supported"
        ));
    }
    let (host, port) = split_host_port(authority)
        .ok_or_else(|| format!("invalid URL '{text}': invalid host or port"))?;
    if !is_valid_host(host) {
        return Err(format!("invalid URL '{text}': invalid host '{host}'"));
    }
    let (path, query) = match after_authority.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (after_authority, None),
    };
    Ok(HttpUrl {
        protocol,
        host,
        port,
        path: Some(path).filter(|path| !path.is_empty()),
        query,
    })
}

/// Splits `host[:port]` or `[v6]:port`. `None` when the port is not a number below 65536 or the
/// brackets do not close.
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => Some((authority, None)),
        None => Some((authority, None)),
    }
}

/// A DNS name, an IPv4 address or an IPv6 address (without brackets).
pub(crate) fn is_valid_host(host: &str) -> bool {
    if host.parse::<Ipv4Addr>().is_ok() || host.parse::<Ipv6Addr>().is_ok() {
        return true;
    }
    is_valid_dns_name(host)
}

fn is_valid_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_url_is_split_into_its_parts() {
        assert_eq!(
            parse_http_url("https://api.example.com:8443/v1/chat?x=1").unwrap(),
            HttpUrl {
                protocol: Protocol::Https,
                host: "api.example.com",
                port: Some(8443),
                path: Some("/v1/chat"),
                query: Some("x=1"),
            }
        );
    }

    #[test]
    fn host_only_url_has_no_port_or_path() {
        let url = parse_http_url("http://ollama.ollama").unwrap();
        assert_eq!(
            (url.host, url.port, url.path),
            ("ollama.ollama", None, None)
        );
    }

    #[test]
    fn ipv6_hosts_are_written_in_brackets() {
        let url = parse_http_url("http://[::1]:11434/api/chat").unwrap();
        assert_eq!((url.host, url.port), ("::1", Some(11434)));
    }

    #[test]
    fn bad_urls_are_rejected_with_a_reason() {
        assert_eq!(
            parse_http_url("ftp://x").unwrap_err(),
            "invalid URL 'ftp://x': the scheme must be http or https"
        );
        assert_eq!(
            parse_http_url("localhost:8080").unwrap_err(),
            "invalid URL 'localhost:8080': expected http://host or https://host"
        );
        assert_eq!(
            parse_http_url("http://user:pw@host").unwrap_err(),
            "invalid URL 'http://user:pw@host': credentials in the URL are not supported"
        );
        assert_eq!(
            parse_http_url("http://host:99999").unwrap_err(),
            "invalid URL 'http://host:99999': invalid host or port"
        );
        assert_eq!(
            parse_http_url("http://bad host/").unwrap_err(),
            "invalid URL 'http://bad host/': invalid host 'bad host'"
        );
    }

    #[test]
    fn host_names_and_addresses_are_checked() {
        assert!(is_valid_host("localhost"));
        assert!(is_valid_host("10.0.0.1"));
        assert!(is_valid_host("::1"));
        assert!(!is_valid_host(""));
        assert!(!is_valid_host("a..b"));
        assert!(!is_valid_host("-a.com"));
        assert!(!is_valid_host("a/b"));
    }
}
