//! Which Ollama endpoint serves a route type, and its URL from `upstream_url` (the rule is in the
//! [module documentation](super)). The query of `upstream_url` is dropped and the client's query
//! string is forwarded, as Kong does.

use crate::abi::{ModuleError, RouteType};
use crate::url::split_absolute;

/// One of Ollama's generation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/chat`, for `llm/v1/chat`.
    Chat,
    /// `/api/generate`, for `llm/v1/completions`.
    Generate,
    /// `/api/embed`, for `llm/v1/embeddings`.
    Embed,
}

/// Paths an `upstream_url` may end in to name the server rather than one fixed endpoint.
/// `/api/embeddings` is Ollama's older embeddings endpoint.
const ENDPOINT_PATHS: [&str; 4] = [
    "/api/chat",
    "/api/generate",
    "/api/embed",
    "/api/embeddings",
];

impl Endpoint {
    pub fn for_route(route_type: RouteType) -> Option<Endpoint> {
        match route_type {
            RouteType::CHAT => Some(Endpoint::Chat),
            RouteType::COMPLETIONS => Some(Endpoint::Generate),
            RouteType::EMBEDDINGS => Some(Endpoint::Embed),
            _ => None,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/api/chat",
            Endpoint::Generate => "/api/generate",
            Endpoint::Embed => "/api/embed",
        }
    }

    /// The absolute URL of this endpoint on the server `upstream_url` points at.
    pub fn url(self, upstream_url: &str, client_query: &str) -> Result<String, ModuleError> {
        let (origin, path) = split(upstream_url)?;
        let trimmed = path.trim_end_matches('/');
        let named_server = ENDPOINT_PATHS
            .iter()
            .find_map(|endpoint| trimmed.strip_suffix(endpoint));
        let mut url = String::with_capacity(upstream_url.len() + client_query.len() + 16);
        url.push_str(origin);
        match named_server {
            Some(prefix) => {
                url.push_str(prefix);
                url.push_str(self.path());
            }
            None if path.is_empty() || path.ends_with('/') => {
                url.push_str(trimmed);
                url.push_str(self.path());
            }
            None => url.push_str(path),
        }
        push_query(&mut url, client_query);
        Ok(url)
    }
}

/// `preserve`: the client's path on the server's origin.
pub(super) fn preserved_url(
    upstream_url: &str,
    client_path: &str,
    client_query: &str,
) -> Result<String, ModuleError> {
    let (origin, _) = split(upstream_url)?;
    let mut url = format!(
        "{origin}{}",
        if client_path.is_empty() {
            "/"
        } else {
            client_path
        }
    );
    push_query(&mut url, client_query);
    Ok(url)
}

fn split(upstream_url: &str) -> Result<(&str, &str), ModuleError> {
    split_absolute(upstream_url).ok_or_else(|| {
        ModuleError::invalid_request("upstream_url: must be an absolute http or https URL")
    })
}

fn push_query(url: &mut String, client_query: &str) {
    if !client_query.is_empty() {
        url.push('?');
        url.push_str(client_query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(endpoint: Endpoint, upstream_url: &str) -> String {
        endpoint.url(upstream_url, "").unwrap()
    }

    #[test]
    fn kongs_seed_url_serves_chat_as_given_and_the_other_endpoints_beside_it() {
        let seed = "http://ollama.ollama:11434/api/chat";
        assert_eq!(url(Endpoint::Chat, seed), seed);
        assert_eq!(
            url(Endpoint::Generate, seed),
            "http://ollama.ollama:11434/api/generate"
        );
        assert_eq!(
            url(Endpoint::Embed, seed),
            "http://ollama.ollama:11434/api/embed"
        );
    }

    #[test]
    fn an_endpoint_behind_a_path_prefix_keeps_the_prefix() {
        for upstream_url in [
            "https://gpu.example.com/ollama/api/generate?ignored=1",
            "https://gpu.example.com/ollama/api/embeddings/",
        ] {
            assert_eq!(
                url(Endpoint::Chat, upstream_url),
                "https://gpu.example.com/ollama/api/chat"
            );
        }
    }

    #[test]
    fn a_server_root_or_a_base_ending_in_a_slash_gets_the_endpoint_appended() {
        assert_eq!(
            url(Endpoint::Embed, "http://127.0.0.1:11434"),
            "http://127.0.0.1:11434/api/embed"
        );
        assert_eq!(
            url(Endpoint::Chat, "http://127.0.0.1:11434/"),
            "http://127.0.0.1:11434/api/chat"
        );
        assert_eq!(
            url(Endpoint::Generate, "http://proxy/ollama/"),
            "http://proxy/ollama/api/generate"
        );
    }

    #[test]
    fn any_other_path_is_the_endpoint_itself() {
        let custom = "http://proxy:8080/llm/chat-endpoint";
        assert_eq!(url(Endpoint::Chat, custom), custom);
        assert_eq!(url(Endpoint::Embed, custom), custom);
    }

    #[test]
    fn the_clients_query_is_forwarded_and_the_configured_one_dropped() {
        assert_eq!(
            Endpoint::Chat
                .url("http://h:1/api/chat?key=configured", "trace=1")
                .unwrap(),
            "http://h:1/api/chat?trace=1"
        );
        assert_eq!(
            preserved_url("http://h:1/api/chat?x=1", "/api/tags", "verbose=true").unwrap(),
            "http://h:1/api/tags?verbose=true"
        );
        assert_eq!(preserved_url("http://h:1", "", "").unwrap(), "http://h:1/");
    }

    #[test]
    fn a_url_that_is_not_absolute_is_a_400() {
        let error = Endpoint::Chat.url("ollama:11434/api/chat", "").unwrap_err();
        assert_eq!(error.status, 400);
        assert_eq!(
            error.message.as_str(),
            "upstream_url: must be an absolute http or https URL"
        );
    }
}
