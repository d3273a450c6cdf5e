//! Where a request goes.
//!
//! - Gemini API (the default): `https://generativelanguage.googleapis.com/v1beta/models/{model}:{method}`.
//! - Vertex AI, when `gemini.{api_endpoint, project_id, location_id}` are set:
//!   `https://{api_endpoint}/v1/projects/{project_id}/locations/{location_id}/publishers/google/models/{model}:{method}`.
//!
//! Streams call `streamGenerateContent?alt=sse`, so that Google answers with server-sent events;
//! an upstream that ignores `alt` and answers with a streamed JSON array is decoded all the same.
//!
//! `upstream_url` replaces the origin. A path in it is used as given (Kong's rule), and so is
//! `upstream_path`, which replaces the path; in both, a `:method` at the end of the last segment
//! is replaced by the method the request needs, so that one configured URL serves plain and
//! streamed calls. The client's query string is not forwarded: its parameters are OpenAI's, and
//! the gateway adds the `key` parameter itself when auth is configured so. `preserve` sends the
//! client's path and query to the origin, as Kong does.
//!
//! Every name that goes into the URL may come from a template the client fills, so each must be
//! one plain segment (`provider_sdk::url::is_safe_segment`): a model called `../files` or
//! `x:delete` must not reach another endpoint.

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::options::{is_template, ModelOptions, Templates};
use provider_sdk::url::{is_safe_segment, split_absolute};

/// The Gemini API's origin.
pub const GEMINI_API_ORIGIN: &str = "https://generativelanguage.googleapis.com";

/// Which of Google's APIs a route calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api<'o> {
    Gemini,
    Vertex(VertexLocation<'o>),
}

/// `model.options.gemini`: where a Vertex AI model is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VertexLocation<'o> {
    /// A host, optionally with a port, e.g. `us-central1-aiplatform.googleapis.com`.
    pub api_endpoint: &'o str,
    pub project_id: &'o str,
    pub location_id: &'o str,
}

/// The RPC a request calls, the part of the path after the model's `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    GenerateContent,
    StreamGenerateContent,
    /// Gemini API, one input.
    EmbedContent,
    /// Gemini API, several inputs.
    BatchEmbedContents,
    /// Vertex AI's embeddings.
    Predict,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::GenerateContent => "generateContent",
            Method::StreamGenerateContent => "streamGenerateContent",
            Method::EmbedContent => "embedContent",
            Method::BatchEmbedContents => "batchEmbedContents",
            Method::Predict => "predict",
        }
    }
}

impl<'o> Api<'o> {
    /// Reads the Vertex location when it is configured. With [`Templates::Unresolved`], a
    /// templated value is checked once resolved, per request.
    pub fn from_options(
        options: &'o ModelOptions<'_>,
        templates: Templates,
    ) -> Result<Api<'o>, ModuleError> {
        let gemini = &options.gemini;
        // ModelOptions has checked that the three are set together.
        let (Some(api_endpoint), Some(project_id), Some(location_id)) = (
            gemini.api_endpoint.as_deref(),
            gemini.project_id.as_deref(),
            gemini.location_id.as_deref(),
        ) else {
            return Ok(Api::Gemini);
        };
        let checked_later = |value: &str| templates == Templates::Unresolved && is_template(value);
        if !checked_later(api_endpoint) && !is_host(api_endpoint) {
            return Err(ModuleError::invalid_request(format!(
                "gemini.api_endpoint: must be a host name, optionally with a port, such as \
                 us-central1-aiplatform.googleapis.com, not {api_endpoint:?}"
            )));
        }
        for (name, value) in [
            ("gemini.project_id", project_id),
            ("gemini.location_id", location_id),
        ] {
            if !checked_later(value) && !is_safe_segment(value) {
                return Err(ModuleError::invalid_request(format!(
                    "{name}: must be a plain name (letters, digits, '-', '_' and '.'), not {value:?}"
                )));
            }
        }
        Ok(Api::Vertex(VertexLocation {
            api_endpoint,
            project_id,
            location_id,
        }))
    }

    /// The method that embeds `inputs` texts.
    pub fn embeddings_method(&self, inputs: usize) -> Method {
        match self {
            Api::Vertex(_) => Method::Predict,
            Api::Gemini if inputs == 1 => Method::EmbedContent,
            Api::Gemini => Method::BatchEmbedContents,
        }
    }

    fn origin(&self) -> String {
        match self {
            Api::Gemini => GEMINI_API_ORIGIN.to_owned(),
            Api::Vertex(vertex) => format!("https://{}", vertex.api_endpoint),
        }
    }

    fn model_path(&self, model: &str, method: Method) -> String {
        let method = method.name();
        match self {
            Api::Gemini => format!("/v1beta/models/{model}:{method}"),
            Api::Vertex(vertex) => format!(
                "/v1/projects/{}/locations/{}/publishers/google/models/{model}:{method}",
                vertex.project_id, vertex.location_id
            ),
        }
    }
}

/// The URL of `method` on `model`. `model` must have passed [`check_model`].
pub fn url(api: &Api<'_>, options: &ModelOptions<'_>, model: &str, method: Method) -> String {
    let configured = options.upstream_url.as_deref().and_then(split_absolute);
    let (origin, url_path) = match configured {
        Some((origin, path)) => (origin.to_owned(), path),
        None => (api.origin(), ""),
    };
    let path = match options.upstream_path.as_deref() {
        Some(path) => with_method(path, method),
        None if !url_path.is_empty() && url_path != "/" => with_method(url_path, method),
        None => api.model_path(model, method),
    };
    let query = if method == Method::StreamGenerateContent {
        "?alt=sse"
    } else {
        ""
    };
    format!("{origin}{path}{query}")
}

/// The URL of a `preserve` request: the client's path (or `upstream_path`) and query at the
/// route's origin.
pub fn preserve_url(api: &Api<'_>, options: &ModelOptions<'_>, plan: &RequestPlan<'_>) -> String {
    let origin = options
        .upstream_url
        .as_deref()
        .and_then(split_absolute)
        .map_or_else(|| api.origin(), |(origin, _)| origin.to_owned());
    let path = match options.upstream_path.as_deref() {
        Some(path) => path,
        None if plan.client_path.is_empty() => "/",
        None => plan.client_path.as_str(),
    };
    let query = plan.client_query.as_str();
    if query.is_empty() {
        format!("{origin}{path}")
    } else {
        format!("{origin}{path}?{query}")
    }
}

/// A model name must be one plain path segment: Gemini names (`gemini-2.0-flash-001`) are.
pub fn check_model(model: &str) -> Result<(), ModuleError> {
    if is_safe_segment(model) {
        Ok(())
    } else {
        Err(ModuleError::invalid_request(format!(
            "model {model:?} is not a Gemini model name: use letters, digits, '-', '_' and '.' \
             only, without a `models/` prefix"
        )))
    }
}

/// `path` with the method after the last segment's `:` replaced by `method`; a path whose last
/// segment names no method is kept as it is.
fn with_method(path: &str, method: Method) -> String {
    let last_segment = path.rfind('/').map_or(0, |slash| slash + 1);
    match path
        .get(last_segment..)
        .and_then(|segment| segment.rfind(':'))
    {
        Some(colon) => format!(
            "{}:{}",
            path.get(..last_segment + colon).unwrap_or_default(),
            method.name()
        ),
        None => path.to_owned(),
    }
}

/// A host name made of DNS labels, with an optional decimal port.
fn is_host(value: &str) -> bool {
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok
        && is_safe_segment(host)
        && host
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: &str) -> ModelOptions<'_> {
        ModelOptions::parse(json, Templates::Resolved).unwrap()
    }

    const VERTEX: &str = r#"{"gemini":{"api_endpoint":"us-central1-aiplatform.googleapis.com","project_id":"my-project","location_id":"us-central1"}}"#;

    #[test]
    fn gemini_api_urls_per_method() {
        let options = options("{}");
        let api = Api::from_options(&options, Templates::Resolved).unwrap();
        assert_eq!(api, Api::Gemini);
        let cases = [
            (
                Method::GenerateContent,
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
            ),
            (
                Method::StreamGenerateContent,
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            ),
            (
                Method::EmbedContent,
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:embedContent",
            ),
            (
                Method::BatchEmbedContents,
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:batchEmbedContents",
            ),
        ];
        for (method, expected) in cases {
            assert_eq!(url(&api, &options, "gemini-2.0-flash", method), expected);
        }
    }

    #[test]
    fn vertex_urls_per_method() {
        let options = options(VERTEX);
        let api = Api::from_options(&options, Templates::Resolved).unwrap();
        let base = "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models";
        assert_eq!(
            url(&api, &options, "gemini-1.5-pro", Method::GenerateContent),
            format!("{base}/gemini-1.5-pro:generateContent")
        );
        assert_eq!(
            url(
                &api,
                &options,
                "gemini-1.5-pro",
                Method::StreamGenerateContent
            ),
            format!("{base}/gemini-1.5-pro:streamGenerateContent?alt=sse")
        );
        assert_eq!(api.embeddings_method(3), Method::Predict);
        assert_eq!(
            url(&api, &options, "text-embedding-004", Method::Predict),
            format!("{base}/text-embedding-004:predict")
        );
        assert_eq!(Api::Gemini.embeddings_method(1), Method::EmbedContent);
        assert_eq!(Api::Gemini.embeddings_method(2), Method::BatchEmbedContents);
    }

    #[test]
    fn upstream_url_replaces_the_origin_and_a_path_in_it_is_the_endpoint() {
        let mock = options(r#"{"upstream_url":"http://127.0.0.1:9000/?ignored=1"}"#);
        assert_eq!(
            url(&Api::Gemini, &mock, "m", Method::StreamGenerateContent),
            "http://127.0.0.1:9000/v1beta/models/m:streamGenerateContent?alt=sse"
        );
        let vertex_mock = options(
            r#"{"upstream_url":"http://127.0.0.1:9000","gemini":{"api_endpoint":"us-central1-aiplatform.googleapis.com","project_id":"my-project","location_id":"us-central1"}}"#,
        );
        let api = Api::from_options(&vertex_mock, Templates::Resolved).unwrap();
        assert_eq!(
            url(&api, &vertex_mock, "m", Method::GenerateContent),
            "http://127.0.0.1:9000/v1/projects/my-project/locations/us-central1/publishers/google/models/m:generateContent"
        );
        let exact = options(
            r#"{"upstream_url":"https://proxy.internal/gemini/models/pinned:generateContent"}"#,
        );
        assert_eq!(
            url(&Api::Gemini, &exact, "m", Method::GenerateContent),
            "https://proxy.internal/gemini/models/pinned:generateContent"
        );
        assert_eq!(
            url(&Api::Gemini, &exact, "m", Method::StreamGenerateContent),
            "https://proxy.internal/gemini/models/pinned:streamGenerateContent?alt=sse"
        );
        let no_method = options(r#"{"upstream_url":"https://proxy.internal/generate"}"#);
        assert_eq!(
            url(&Api::Gemini, &no_method, "m", Method::EmbedContent),
            "https://proxy.internal/generate"
        );
    }

    #[test]
    fn upstream_path_replaces_the_path() {
        let options = options(r#"{"upstream_path":"/v1/models/gemini-pro:generateContent"}"#);
        assert_eq!(
            url(&Api::Gemini, &options, "ignored", Method::StreamGenerateContent),
            "https://generativelanguage.googleapis.com/v1/models/gemini-pro:streamGenerateContent?alt=sse"
        );
    }

    #[test]
    fn preserve_keeps_the_clients_path_and_query() {
        use abi_stable::std_types::{RSlice, RStr};
        let plan = RequestPlan {
            route_type: provider_sdk::abi::RouteType::PRESERVE,
            model: RStr::from_str(""),
            options: RStr::from_str("{}"),
            stream: false,
            client_wants_usage: false,
            client_method: RStr::from_str("GET"),
            client_path: RStr::from_str("/v1beta/models"),
            client_query: RStr::from_str("pageSize=5"),
            client_headers: RSlice::from_slice(&[]),
        };
        let none = options("{}");
        assert_eq!(
            preserve_url(&Api::Gemini, &none, &plan),
            "https://generativelanguage.googleapis.com/v1beta/models?pageSize=5"
        );
        let path = options(r#"{"upstream_url":"http://mock:1/x","upstream_path":"/v1/files"}"#);
        assert_eq!(
            preserve_url(&Api::Gemini, &path, &plan),
            "http://mock:1/v1/files?pageSize=5"
        );
    }

    #[test]
    fn model_names_must_be_plain_segments() {
        for good in [
            "gemini-2.0-flash-001",
            "text-embedding-004",
            "gemini-1.5-pro",
        ] {
            assert_eq!(check_model(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "models/gemini-pro",
            "../../v1/files",
            "gemini:delete",
            "gemini?x=1",
            "gemini#",
            "a b",
            "..",
        ] {
            let error = check_model(bad).unwrap_err();
            assert_eq!(error.status, 400, "{bad}");
        }
    }

    #[test]
    fn vertex_locations_must_be_plain() {
        let bad = [
            (
                r#"{"gemini":{"api_endpoint":"evil.com/x?","project_id":"p","location_id":"l"}}"#,
                "gemini.api_endpoint",
            ),
            (
                r#"{"gemini":{"api_endpoint":"user@evil.com","project_id":"p","location_id":"l"}}"#,
                "gemini.api_endpoint",
            ),
            (
                r#"{"gemini":{"api_endpoint":"h:99999x","project_id":"p","location_id":"l"}}"#,
                "gemini.api_endpoint",
            ),
            (
                r#"{"gemini":{"api_endpoint":"h","project_id":"../p","location_id":"l"}}"#,
                "gemini.project_id",
            ),
            (
                r#"{"gemini":{"api_endpoint":"h","project_id":"p","location_id":"l#"}}"#,
                "gemini.location_id",
            ),
        ];
        for (json, name) in bad {
            let options = options(json);
            let error = Api::from_options(&options, Templates::Resolved).unwrap_err();
            assert!(error.message.starts_with(name), "{json}: {error}");
        }
        let with_port = options(
            r#"{"gemini":{"api_endpoint":"localhost:8443","project_id":"p","location_id":"l"}}"#,
        );
        assert!(Api::from_options(&with_port, Templates::Resolved).is_ok());
        let templated = ModelOptions::parse(
            r#"{"gemini":{"api_endpoint":"$(headers.x-endpoint)","project_id":"$(headers.x-project)","location_id":"l"}}"#,
            Templates::Unresolved,
        )
        .unwrap();
        assert!(Api::from_options(&templated, Templates::Unresolved).is_ok());
        assert!(Api::from_options(&templated, Templates::Resolved).is_err());
    }

    #[test]
    fn methods_replace_only_the_last_segments_suffix() {
        assert_eq!(
            with_method("/a:b/models/m:generateContent", Method::Predict),
            "/a:b/models/m:predict"
        );
        assert_eq!(with_method("/a:b/plain", Method::Predict), "/a:b/plain");
        assert_eq!(with_method(":x", Method::Predict), ":predict");
    }
}
