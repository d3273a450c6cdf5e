//! The pieces of an upstream URL that modules build from configuration and from the client: the
//! checks that keep a configured or templated value from steering a request elsewhere, and query
//! parameters.

/// Splits an absolute `http`/`https` URL into its origin (`scheme://authority`) and its path
/// (possibly empty), dropping query and fragment. `None` when it is not such a URL.
pub fn split_absolute(url: &str) -> Option<(&str, &str)> {
    // Bytes first: the character walk's Unicode tables cost more than the rest of the split.
    let blank_or_control = if url.is_ascii() {
        url.bytes().any(|b| b == b' ' || b.is_ascii_control())
    } else {
        url.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if blank_or_control {
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

/// Whether `value` can stand as one path segment or one DNS label without changing what the URL
/// points at: ASCII letters, digits, `-`, `_` and `.`, and not `.` or `..`. Values that come from
/// templates are chosen by the client, so `/`, `@`, `%`, `?` or `#` must never get through.
pub fn is_safe_segment(value: &str) -> bool {
    !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The raw (still percent-encoded) value of the first parameter called `name` in the query string
/// `query` (without `?`); a parameter without `=` has the value `""`.
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// Whether the query string `query` (without `?`) has a parameter called `name`.
pub fn query_has_param(query: &str, name: &str) -> bool {
    query_param(query, name).is_some()
}

/// Appends `name=value` to `url`, with `?` or `&` as the URL needs, percent-encoding `value`.
pub fn append_query_param(url: &mut String, name: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(name);
    url.push('=');
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
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
            split_absolute("https://h/caf\u{e9}"),
            Some(("https://h", "/caf\u{e9}"))
        );
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
            "http://h/x\ty",
            "http://h/x\u{7f}",
            "http://h/caf\u{e9}\u{a0}x",
            "http://h/\u{2028}",
            "http://h/\u{85}",
            "http",
            "https:/h",
        ] {
            assert_eq!(split_absolute(bad), None, "{bad}");
        }
    }

    #[test]
    fn safe_segments_are_plain_names() {
        for good in ["gpt-4o", "my_deployment.v2", "001-kong-t", "A"] {
            assert!(is_safe_segment(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "evil.com#",
            "user@evil.com",
            "a%2Fb",
            "a?b",
            "a b",
            "é",
            "a\nb",
        ] {
            assert!(!is_safe_segment(bad), "{bad:?}");
        }
    }

    #[test]
    fn query_params_are_found_by_exact_name() {
        assert!(query_has_param("api-version=2024-10-21", "api-version"));
        assert!(query_has_param("a=1&api-version", "api-version"));
        assert!(!query_has_param("my-api-version=1", "api-version"));
        assert!(!query_has_param("a=api-version", "api-version"));
        assert!(!query_has_param("", "api-version"));
    }

    #[test]
    fn query_param_values_are_raw() {
        let query = "a=1&api-version=2024-10-21&api-version=x&flag&e=%20";
        assert_eq!(query_param(query, "api-version"), Some("2024-10-21"));
        assert_eq!(query_param(query, "flag"), Some(""));
        assert_eq!(query_param(query, "e"), Some("%20"));
        assert_eq!(query_param(query, "missing"), None);
        assert_eq!(query_param("", "a"), None);
    }

    #[test]
    fn appended_params_are_encoded() {
        let mut url = "https://h/p".to_string();
        append_query_param(&mut url, "api-version", "2024-10-21");
        assert_eq!(url, "https://h/p?api-version=2024-10-21");
        append_query_param(&mut url, "x", "a b&c=d/é");
        assert_eq!(
            url,
            "https://h/p?api-version=2024-10-21&x=a%20b%26c%3Dd%2F%C3%A9"
        );
    }
}
