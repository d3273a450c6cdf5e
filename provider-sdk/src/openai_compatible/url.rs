//! The upstream URL of an OpenAI-compatible provider, by Kong's rules:
//!
//! - without `upstream_url`: the provider's origin, its path prefix, then `upstream_path` or the
//!   route type's path (`preserve`: the client's path);
//! - `upstream_url` replaces the origin. A path in it is the whole path
//!   ([`UpstreamUrlRule::Endpoint`], Kong's rule) or the base the route's path is appended to
//!   ([`UpstreamUrlRule::Base`]); without a path, the prefix and route path follow as usual. Its
//!   query is dropped;
//! - `upstream_path` comes after the prefix, which is empty for most providers (Azure's is
//!   `/openai/deployments/{id}`);
//! - the client's query string is forwarded, and each default query parameter is added unless the
//!   client's query already sets it.

use super::{CompatibleUpstream, UpstreamUrlRule};
use crate::abi::{ModuleError, RequestPlan, RouteType};
use crate::options::{missing_option, ModelOptions};
use crate::url::{append_query_param, query_has_param, split_absolute};

pub(super) fn build(
    upstream: &CompatibleUpstream<'_>,
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
) -> Result<String, ModuleError> {
    let configured = options.upstream_url.as_deref().and_then(split_absolute);
    let (origin, url_path) = match (configured, upstream.default_origin.as_deref()) {
        (Some((origin, path)), _) => (origin, path),
        (None, Some(origin)) => (origin, ""),
        (None, None) => return Err(missing_option("upstream_url", upstream.provider)),
    };
    let mut url = String::with_capacity(origin.len() + 64 + plan.client_query.len());
    url.push_str(origin);
    if let Some(path) = options.upstream_path.as_deref() {
        url.push_str(&upstream.path_prefix);
        url.push_str(path);
    } else if plan.route_type == RouteType::PRESERVE {
        url.push_str(match plan.client_path.as_str() {
            "" => "/",
            path => path,
        });
    } else if !url_path.is_empty() && upstream.upstream_url_rule == UpstreamUrlRule::Endpoint {
        url.push_str(url_path);
    } else {
        let route_path = upstream
            .route_paths
            .get(plan.route_type)
            .ok_or_else(|| no_endpoint(upstream.provider, plan.route_type))?;
        if url_path.is_empty() {
            url.push_str(&upstream.path_prefix);
        } else {
            url.push_str(url_path.trim_end_matches('/'));
        }
        url.push_str(route_path);
    }
    let query = plan.client_query.as_str();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
    for (name, value) in &upstream.default_query {
        if !query_has_param(query, name) {
            append_query_param(&mut url, name, value);
        }
    }
    Ok(url)
}

pub(super) fn no_endpoint(provider: &str, route_type: RouteType) -> ModuleError {
    ModuleError::invalid_request(format!(
        "{provider} has no default endpoint for route type {}: set upstream_url or upstream_path",
        route_type.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use abi_stable::std_types::{RSlice, RStr};

    use super::*;
    use crate::openai_compatible::RoutePaths;
    use crate::options::Templates;

    fn plan<'a>(route_type: RouteType, client_path: &'a str, query: &'a str) -> RequestPlan<'a> {
        RequestPlan {
            route_type,
            model: RStr::from_str("m"),
            options: RStr::from_str("{}"),
            stream: false,
            client_wants_usage: false,
            client_method: RStr::from_str("POST"),
            client_path: RStr::from_str(client_path),
            client_query: RStr::from_str(query),
            client_headers: RSlice::from_slice(&[]),
        }
    }

    fn openai() -> CompatibleUpstream<'static> {
        CompatibleUpstream::new("openai", Some("https://api.openai.com".into()))
    }

    fn azure() -> CompatibleUpstream<'static> {
        CompatibleUpstream {
            path_prefix: "/openai/deployments/dep".into(),
            route_paths: RoutePaths {
                chat: Some("/chat/completions"),
                completions: Some("/completions"),
                embeddings: Some("/embeddings"),
            },
            default_query: vec![("api-version", Cow::Borrowed("2023-05-15"))],
            ..CompatibleUpstream::new("azure", Some("https://inst.openai.azure.com".into()))
        }
    }

    fn url(upstream: &CompatibleUpstream<'_>, plan: &RequestPlan<'_>, options: &str) -> String {
        let options = ModelOptions::parse(options, Templates::Resolved).unwrap();
        build(upstream, plan, &options).unwrap()
    }

    #[test]
    fn default_origin_and_route_paths() {
        let chat = plan(RouteType::CHAT, "/any", "");
        assert_eq!(
            url(&openai(), &chat, "{}"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            url(&azure(), &plan(RouteType::EMBEDDINGS, "/x", ""), "{}"),
            "https://inst.openai.azure.com/openai/deployments/dep/embeddings?api-version=2023-05-15"
        );
    }

    #[test]
    fn the_clients_query_is_kept_and_wins_over_defaults() {
        let chat = plan(RouteType::CHAT, "/x", "api-version=2024-10-21&trace=1");
        assert_eq!(
            url(&azure(), &chat, "{}"),
            "https://inst.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21&trace=1"
        );
        let chat = plan(RouteType::CHAT, "/x", "trace=1");
        assert_eq!(
            url(&azure(), &chat, "{}"),
            "https://inst.openai.azure.com/openai/deployments/dep/chat/completions?trace=1&api-version=2023-05-15"
        );
    }

    #[test]
    fn upstream_url_without_a_path_replaces_the_origin_only() {
        let chat = plan(RouteType::CHAT, "/x", "");
        assert_eq!(
            url(
                &azure(),
                &chat,
                r#"{"upstream_url":"http://127.0.0.1:9000"}"#
            ),
            "http://127.0.0.1:9000/openai/deployments/dep/chat/completions?api-version=2023-05-15"
        );
    }

    #[test]
    fn upstream_url_with_a_path_is_the_endpoint_or_a_base() {
        let chat = plan(RouteType::CHAT, "/x", "");
        let options = r#"{"upstream_url":"http://tgi:8080/models/m/?drop=1"}"#;
        assert_eq!(url(&openai(), &chat, options), "http://tgi:8080/models/m/");
        let base = CompatibleUpstream {
            upstream_url_rule: UpstreamUrlRule::Base,
            ..openai()
        };
        assert_eq!(
            url(&base, &chat, options),
            "http://tgi:8080/models/m/v1/chat/completions"
        );
    }

    #[test]
    fn upstream_path_follows_the_prefix() {
        let chat = plan(RouteType::CHAT, "/x", "");
        assert_eq!(
            url(&azure(), &chat, r#"{"upstream_path":"/extensions/chat/completions"}"#),
            "https://inst.openai.azure.com/openai/deployments/dep/extensions/chat/completions?api-version=2023-05-15"
        );
        let preserve = plan(RouteType::PRESERVE, "/client/path", "");
        assert_eq!(
            url(&azure(), &preserve, r#"{"upstream_path":"/images/generations"}"#),
            "https://inst.openai.azure.com/openai/deployments/dep/images/generations?api-version=2023-05-15"
        );
    }

    #[test]
    fn preserve_uses_the_clients_path() {
        let preserve = plan(RouteType::PRESERVE, "/openai/deployments/d/embeddings", "");
        assert_eq!(
            url(
                &azure(),
                &preserve,
                r#"{"upstream_url":"http://mock:1/ignored"}"#
            ),
            "http://mock:1/openai/deployments/d/embeddings?api-version=2023-05-15"
        );
        assert_eq!(
            url(&openai(), &plan(RouteType::PRESERVE, "", ""), "{}"),
            "https://api.openai.com/"
        );
    }

    #[test]
    fn missing_endpoints_are_explained() {
        let self_hosted = CompatibleUpstream::new("llama2", None);
        let options = ModelOptions::default();
        let error = build(&self_hosted, &plan(RouteType::CHAT, "/x", ""), &options).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "upstream_url: must be set for the llama2 provider"
        );
        let no_completions = CompatibleUpstream {
            route_paths: RoutePaths {
                completions: None,
                ..RoutePaths::OPENAI
            },
            ..CompatibleUpstream::new("mistral", Some("https://api.mistral.ai".into()))
        };
        let error = build(
            &no_completions,
            &plan(RouteType::COMPLETIONS, "/x", ""),
            &options,
        )
        .unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "mistral has no default endpoint for route type llm/v1/completions: set upstream_url or upstream_path"
        );
    }
}
