//! Where a request goes, and the Inference API's options that go with it.
//!
//! | route type | without `upstream_url` | with `upstream_url` (Kong's rules) |
//! |---|---|---|
//! | `llm/v1/chat` | `{origin}/models/{model}/v1/chat/completions` | `{upstream_url}/v1/chat/completions`: the URL is the model's base, as TGI serves chat beside it |
//! | `llm/v1/completions` | `{origin}/models/{model}` (text generation) | the URL as given (a TGI server's `/` or `/generate`, an Inference Endpoint) |
//! | `llm/v1/embeddings` | `{origin}/pipeline/feature-extraction/{model}` | the URL as given (e.g. a TEI server's `/embed`) |
//! | `preserve` | the client's path on the origin | the client's path on `upstream_url`'s origin |
//!
//! `{origin}` is `https://api-inference.huggingface.co`, Kong's default. Embeddings use the
//! Inference API's `pipeline/feature-extraction` path because `/models/{model}` runs the model's
//! default task, which for sentence-transformers models is sentence similarity, not embeddings.
//! `upstream_url`'s query is dropped and the client's query string is forwarded, as in Kong.
//! `upstream_path` is refused: Kong's Hugging Face driver ignores it, and an option that silently
//! does nothing is a misconfiguration nobody notices.
//!
//! `huggingface.use_cache` and `huggingface.wait_for_model` (Kong's default for both: `false`) go
//! in the body's `options` for text generation and feature extraction, where Kong puts them and
//! the Inference API reads them, and on every route as the `x-use-cache` and `x-wait-for-model`
//! headers, which is how the Inference API takes them for its OpenAI-compatible chat (whose
//! body has no `options`). TGI servers ignore both.

use std::borrow::Cow;

use abi_stable::std_types::RVec;
use provider_sdk::abi::{Header, ModuleError, RouteType};
use provider_sdk::openai_compatible::{CompatibleUpstream, RoutePaths, UpstreamUrlRule};
use provider_sdk::options::{HuggingfaceOptions, ModelOptions};
use provider_sdk::url::is_safe_segment;
use serde::Serialize;

use crate::PROVIDER;

/// Kong's default origin for Hugging Face.
pub const DEFAULT_ORIGIN: &str = "https://api-inference.huggingface.co";

/// The route paths after the prefix; text generation and feature extraction are the prefix
/// itself.
const ROUTE_PATHS: RoutePaths = RoutePaths {
    chat: Some("/v1/chat/completions"),
    completions: Some(""),
    embeddings: Some(""),
};

/// Checks at config load what only this provider refuses. Every route type has an endpoint
/// without `upstream_url`, so nothing else can be missing.
pub fn check_config(options: &ModelOptions<'_>) -> Result<(), ModuleError> {
    if options.upstream_path.is_some() {
        return Err(ModuleError::invalid_request(format!(
            "upstream_path: not supported by the {PROVIDER} provider: set upstream_url to the \
             model's endpoint instead"
        )));
    }
    Ok(())
}

/// The upstream of a request of `route_type` for `model`, as provider-sdk's OpenAI-compatible
/// upstream describes it.
pub fn upstream<'a>(
    route_type: RouteType,
    model: &str,
    options: &ModelOptions<'_>,
) -> Result<CompatibleUpstream<'a>, ModuleError> {
    let has_url = options.upstream_url.is_some();
    let path_prefix = match (route_type, has_url) {
        (RouteType::PRESERVE, _) | (RouteType::CHAT, true) => Cow::Borrowed(""),
        // Text generation and feature extraction post to the URL itself, so a bare origin means
        // its root.
        (_, true) => Cow::Borrowed("/"),
        (RouteType::EMBEDDINGS, false) => Cow::Owned(format!(
            "/pipeline/feature-extraction/{}",
            model_path(model)?
        )),
        (_, false) => Cow::Owned(format!("/models/{}", model_path(model)?)),
    };
    let upstream_url_rule = if route_type == RouteType::CHAT {
        UpstreamUrlRule::Base
    } else {
        UpstreamUrlRule::Endpoint
    };
    Ok(CompatibleUpstream {
        path_prefix,
        route_paths: ROUTE_PATHS,
        upstream_url_rule,
        ..CompatibleUpstream::new(PROVIDER, Some(DEFAULT_ORIGIN.into()))
    })
}

/// A Hugging Face model id as it stands in a path: `name` or `namespace/name`, each part a plain
/// segment. The model may come from the client's body, so nothing else may steer the URL.
fn model_path(model: &str) -> Result<&str, ModuleError> {
    let mut parts = model.split('/');
    let valid = match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) => is_safe_segment(name),
        (Some(namespace), Some(name), None) => is_safe_segment(namespace) && is_safe_segment(name),
        _ => false,
    };
    if valid {
        Ok(model)
    } else {
        Err(ModuleError::invalid_request(format!(
            "model: {model:?} is not a Hugging Face model id (`name` or `namespace/name` of \
             letters, digits, '-', '_' and '.')"
        )))
    }
}

/// The Inference API's options with Kong's defaults, as the body's `options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InferenceOptions {
    pub use_cache: bool,
    pub wait_for_model: bool,
}

impl InferenceOptions {
    pub fn of(options: &ModelOptions<'_>) -> InferenceOptions {
        let HuggingfaceOptions {
            use_cache,
            wait_for_model,
        } = options.huggingface;
        InferenceOptions {
            use_cache: use_cache.unwrap_or(false),
            wait_for_model: wait_for_model.unwrap_or(false),
        }
    }

    /// `x-use-cache` and `x-wait-for-model`.
    pub fn headers(self) -> [Header; 2] {
        let flag = |on: bool| if on { "true" } else { "false" };
        [
            Header::new("x-use-cache", flag(self.use_cache)),
            Header::new("x-wait-for-model", flag(self.wait_for_model)),
        ]
    }
}

/// The headers of a translated request: its content type and the options.
pub fn json_headers(options: InferenceOptions) -> RVec<Header> {
    let mut headers = vec![Header::new("content-type", "application/json")];
    headers.extend(options.headers());
    RVec::from(headers)
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::{RSlice, RStr};
    use provider_sdk::abi::RequestPlan;
    use provider_sdk::options::Templates;

    use super::*;

    fn url(route_type: RouteType, model: &str, options: &str, query: &str) -> String {
        let options = ModelOptions::parse(options, Templates::Resolved).unwrap();
        let plan = RequestPlan {
            route_type,
            model: RStr::from_str(model),
            options: RStr::from_str("{}"),
            stream: false,
            client_wants_usage: false,
            client_method: RStr::from_str("POST"),
            client_path: RStr::from_str("/client/path"),
            client_query: RStr::from_str(query),
            client_headers: RSlice::from_slice(&[]),
        };
        upstream(route_type, model, &options)
            .and_then(|u| u.url(&plan, &options))
            .unwrap()
    }

    #[test]
    fn default_urls_name_the_model() {
        let model = "mistralai/Mistral-7B-Instruct-v0.2";
        assert_eq!(
            url(RouteType::CHAT, model, "{}", ""),
            "https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.2/v1/chat/completions"
        );
        assert_eq!(
            url(RouteType::COMPLETIONS, "gpt2", "{}", "trace=1"),
            "https://api-inference.huggingface.co/models/gpt2?trace=1"
        );
        assert_eq!(
            url(RouteType::EMBEDDINGS, "sentence-transformers/all-MiniLM-L6-v2", "{}", ""),
            "https://api-inference.huggingface.co/pipeline/feature-extraction/sentence-transformers/all-MiniLM-L6-v2"
        );
        assert_eq!(
            url(RouteType::PRESERVE, "", "{}", "a=1"),
            "https://api-inference.huggingface.co/client/path?a=1"
        );
    }

    #[test]
    fn chat_appends_to_upstream_url_and_the_others_use_it_as_given() {
        let tgi = r#"{"upstream_url":"http://tgi:8080/?drop=1"}"#;
        assert_eq!(
            url(RouteType::CHAT, "m", tgi, ""),
            "http://tgi:8080/v1/chat/completions"
        );
        assert_eq!(
            url(RouteType::COMPLETIONS, "m", tgi, ""),
            "http://tgi:8080/"
        );
        let bare = r#"{"upstream_url":"http://tgi:8080"}"#;
        assert_eq!(
            url(RouteType::CHAT, "m", bare, ""),
            "http://tgi:8080/v1/chat/completions"
        );
        assert_eq!(
            url(RouteType::COMPLETIONS, "m", bare, ""),
            "http://tgi:8080/"
        );
        assert_eq!(
            url(RouteType::EMBEDDINGS, "m", bare, ""),
            "http://tgi:8080/"
        );
        let endpoint = r#"{"upstream_url":"https://x.endpoints.huggingface.cloud/models/org/m"}"#;
        assert_eq!(
            url(RouteType::CHAT, "any thing", endpoint, "q=1"),
            "https://x.endpoints.huggingface.cloud/models/org/m/v1/chat/completions?q=1"
        );
        assert_eq!(
            url(
                RouteType::EMBEDDINGS,
                "m",
                r#"{"upstream_url":"http://tei:80/embed"}"#,
                ""
            ),
            "http://tei:80/embed"
        );
    }

    #[test]
    fn model_ids_cannot_steer_the_url() {
        let options = ModelOptions::default();
        for model in [
            "",
            "../admin",
            "a/b/c",
            "org/",
            "/m",
            "m?x=1",
            "m#f",
            "user@host",
            "a b",
            "%2e%2e",
        ] {
            let error = upstream(RouteType::CHAT, model, &options).unwrap_err();
            assert_eq!(error.status, 400, "{model}");
            assert!(error.message.starts_with("model: "), "{error}");
        }
        for model in ["gpt2", "meta-llama/Llama-3.1-8B-Instruct", "org_1/m.v2"] {
            assert!(
                upstream(RouteType::COMPLETIONS, model, &options).is_ok(),
                "{model}"
            );
        }
    }

    #[test]
    fn upstream_path_is_refused() {
        let options =
            ModelOptions::parse(r#"{"upstream_path":"/generate"}"#, Templates::Unresolved).unwrap();
        let error = check_config(&options).unwrap_err();
        assert!(
            error.message.starts_with("upstream_path: not supported"),
            "{error}"
        );
        assert!(check_config(&ModelOptions::default()).is_ok());
    }

    #[test]
    fn options_default_to_kongs_and_go_in_headers() {
        assert_eq!(
            InferenceOptions::of(&ModelOptions::default()),
            InferenceOptions {
                use_cache: false,
                wait_for_model: false
            }
        );
        let options = ModelOptions::parse(
            r#"{"huggingface":{"wait_for_model":true}}"#,
            Templates::Resolved,
        )
        .unwrap();
        let headers = InferenceOptions::of(&options).headers();
        assert_eq!(headers[0], Header::new("x-use-cache", "false"));
        assert_eq!(headers[1], Header::new("x-wait-for-model", "true"));
    }
}
