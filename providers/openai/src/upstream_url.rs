//! The upstream URL for a request, following Kong's rules for OpenAI: `upstream_url` replaces the
//! scheme, host, port and path (its query is dropped), `upstream_path` replaces the path, and the
//! client's query string is forwarded.

use provider_sdk::abi::{RequestPlan, RouteType};

use crate::options::Options;

pub const DEFAULT_ORIGIN: &str = "https://api.openai.com";

/// OpenAI's path for a route type; `None` for `preserve`, which uses the client's.
pub fn default_path(route_type: RouteType) -> Option<&'static str> {
    match route_type {
        RouteType::CHAT => Some("/v1/chat/completions"),
        RouteType::COMPLETIONS => Some("/v1/completions"),
        RouteType::EMBEDDINGS => Some("/v1/embeddings"),
        _ => None,
    }
}

/// Splits an absolute `http`/`https` URL into its origin (`scheme://authority`) and its path
/// (possibly empty), dropping query and fragment. `None` when it is not such a URL.
pub fn split_absolute(url: &str) -> Option<(&str, &str)> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let scheme_len = ["http://", "https://"].iter().find_map(|scheme| {
        let prefix = url.get(..scheme.len())?;
        prefix.eq_ignore_ascii_case(scheme).then_some(scheme.len())
    })?;
    let after_scheme = url.get(scheme_len..)?;
    let authority_len = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    if authority_len == 0 {
        return None;
    }
    let (origin, rest) = url.split_at(scheme_len + authority_len);
    let path_len = rest.find(['?', '#']).unwrap_or(rest.len());
    Some((origin, rest.get(..path_len)?))
}

/// The absolute URL to send `plan`'s request to. `options` must have been parsed with templates
/// resolved, so `upstream_url` is known to be absolute.
pub fn build(plan: &RequestPlan<'_>, options: &Options<'_>) -> String {
    let (origin, url_path) = options
        .upstream_url
        .and_then(split_absolute)
        .unwrap_or((DEFAULT_ORIGIN, ""));
    let client_path = match plan.client_path.as_str() {
        "" => "/",
        path => path,
    };
    let path = match (options.upstream_path, default_path(plan.route_type)) {
        (Some(path), _) => path,
        (None, None) => client_path,
        // An `upstream_url` with no path (`http://host:8080`) means the route's usual path there.
        (None, Some(default)) if url_path.is_empty() => default,
        (None, Some(_)) => url_path,
    };
    let query = plan.client_query.as_str();
    let mut url = String::with_capacity(origin.len() + path.len() + query.len() + 1);
    url.push_str(origin);
    url.push_str(path);
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_absolute_urls() {
        assert_eq!(
            split_absolute("http://localhost:8080/v1/chat?x=1#f"),
            Some(("http://localhost:8080", "/v1/chat"))
        );
        assert_eq!(
            split_absolute("HTTPS://api.example.com"),
            Some(("HTTPS://api.example.com", ""))
        );
        assert_eq!(split_absolute("https://h?q=1"), Some(("https://h", "")));
        assert_eq!(
            split_absolute("http://[::1]:9000/p"),
            Some(("http://[::1]:9000", "/p"))
        );
        for bad in [
            "",
            "localhost:8080",
            "http://",
            "http:///x",
            "ftp://h/x",
            "http://h /x",
            "http",
            "https:/h",
        ] {
            assert_eq!(split_absolute(bad), None, "{bad}");
        }
    }
}
