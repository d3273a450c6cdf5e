//! A route's `hosts` entry: an exact host name, or one with a wildcard as its leftmost label
//! (`*.example.com`) or its rightmost label (`example.*`), optionally with a port.

use super::url::{is_valid_host, split_host_port};

/// One entry of a route's `hosts`, matched against the request's `Host` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    text: String,
    name: HostName,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostName {
    Exact(String),
    /// `*.example.com`, kept as `.example.com`: any number of labels may stand for the `*`.
    AnySubdomainOf(String),
    /// `example.*`, kept as `example.`.
    AnyTopLevelOf(String),
}

impl HostPattern {
    /// Reads a `hosts` entry, with Kong's messages for a misplaced wildcard.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let (host, port) =
            split_host_port(text).ok_or_else(|| format!("invalid hostname: {text}"))?;
        let host = host.to_ascii_lowercase();
        let name = match host.matches('*').count() {
            0 if is_valid_host(&host) => HostName::Exact(host),
            0 => return Err(format!("invalid hostname: {text}")),
            1 => wildcard_name(&host, text)?,
            _ => return Err("only one wildcard must be specified".to_owned()),
        };
        Ok(HostPattern {
            text: text.to_owned(),
            name,
            port,
        })
    }

    /// The entry as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_wildcard(&self) -> bool {
        !matches!(self.name, HostName::Exact(_))
    }

    /// Whether a request whose `Host` header is `host_header` matches. Names compare without
    /// regard to case. A port in the pattern must equal the port in the header; the header's port
    /// is ignored when the pattern has none.
    pub fn matches(&self, host_header: &str) -> bool {
        let Some((host, port)) = split_host_port(host_header) else {
            return false;
        };
        if self.port.is_some() && self.port != port {
            return false;
        }
        match &self.name {
            HostName::Exact(name) => host.eq_ignore_ascii_case(name),
            HostName::AnySubdomainOf(suffix) => {
                host.len() > suffix.len()
                    && host
                        .get(host.len() - suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
            HostName::AnyTopLevelOf(prefix) => {
                host.len() > prefix.len()
                    && host
                        .get(..prefix.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            }
        }
    }
}

fn wildcard_name(host: &str, text: &str) -> Result<HostName, String> {
    let (name, rest) = if let Some(suffix) = host.strip_prefix("*.") {
        (HostName::AnySubdomainOf(format!(".{suffix}")), suffix)
    } else if let Some(prefix) = host.strip_suffix(".*") {
        (HostName::AnyTopLevelOf(format!("{prefix}.")), prefix)
    } else {
        return Err("invalid wildcard: must be placed at leftmost or rightmost label".to_owned());
    };
    if rest.is_empty() {
        return Err(
            "invalid wildcard: must have at least one label besides the wildcard".to_owned(),
        );
    }
    if !is_valid_host(rest) {
        return Err(format!("invalid hostname: {text}"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> HostPattern {
        HostPattern::parse(text).unwrap()
    }

    #[test]
    fn exact_names_match_without_regard_to_case_or_port() {
        let exact = pattern("api.example.com");
        assert!(exact.matches("api.example.com"));
        assert!(exact.matches("API.Example.com:8000"));
        assert!(!exact.matches("x.api.example.com"));
        assert!(!exact.is_wildcard());
    }

    #[test]
    fn leftmost_wildcard_matches_any_subdomain() {
        let wildcard = pattern("*.example.com");
        assert!(wildcard.matches("a.example.com"));
        assert!(wildcard.matches("a.b.example.com:443"));
        assert!(!wildcard.matches("example.com"));
        assert!(!wildcard.matches("aexample.com"));
        assert!(wildcard.is_wildcard());
    }

    #[test]
    fn rightmost_wildcard_matches_any_top_level() {
        let wildcard = pattern("example.*");
        assert!(wildcard.matches("example.org"));
        assert!(!wildcard.matches("example."));
        assert!(!wildcard.matches("www.example.org"));
    }

    #[test]
    fn a_port_in_the_pattern_must_match() {
        let with_port = pattern("example.com:8080");
        assert!(with_port.matches("example.com:8080"));
        assert!(!with_port.matches("example.com:9090"));
        assert!(!with_port.matches("example.com"));
    }

    #[test]
    fn misplaced_wildcards_are_rejected_with_kongs_messages() {
        assert_eq!(
            HostPattern::parse("a.*.com").unwrap_err(),
            "invalid wildcard: must be placed at leftmost or rightmost label"
        );
        assert_eq!(
            HostPattern::parse("*.example.*").unwrap_err(),
            "only one wildcard must be specified"
        );
        assert_eq!(
            HostPattern::parse("*.").unwrap_err(),
            "invalid wildcard: must have at least one label besides the wildcard"
        );
        assert_eq!(
            HostPattern::parse("bad host").unwrap_err(),
            "invalid hostname: bad host"
        );
    }
}
