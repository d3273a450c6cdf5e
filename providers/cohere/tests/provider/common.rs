//! Plans, options, Kong fixtures and the stream harness for the tests.

use abi_stable::std_types::{RSlice, RStr};
use ai_provider_cohere::Cohere;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

use crate::cohere_api::assert_documented;

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

/// Selects Cohere's v1 chat and embed APIs.
pub const V1: &str = r#"{"cohere":{"api_version":"v1"}}"#;

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{KONG_FIXTURES}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// A plan for `route_type` as the gateway would resolve it for a plain, non-streamed request.
pub fn plan<'a>(route_type: RouteType, model: &'a str, options: &'a str) -> RequestPlan<'a> {
    let client_path = match route_type {
        RouteType::COMPLETIONS => "/cohere/completions",
        RouteType::EMBEDDINGS => "/cohere/embeddings",
        RouteType::PRESERVE => "/v2/chat",
        _ => "/cohere/chat",
    };
    RequestPlan {
        route_type,
        model: RStr::from_str(model),
        options: RStr::from_str(options),
        stream: false,
        client_wants_usage: false,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str(client_path),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

/// The same plan for a streamed call.
pub fn streamed<'a>(mut plan: RequestPlan<'a>, client_wants_usage: bool) -> RequestPlan<'a> {
    plan.stream = true;
    plan.client_wants_usage = client_wants_usage;
    plan
}

/// Builds the upstream request for `body`, failing the test on an error, and checks the body
/// it sends against Cohere's documented shape for the endpoint it goes to.
pub fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    let request = Cohere::build_request(plan, &ClientBody::new(body))
        .unwrap_or_else(|e| panic!("build_request: {e}"));
    check_documented(&request);
    request
}

/// Checks the body `request` sends (if it sends its own) against Cohere's documented shape for
/// the endpoint it goes to.
pub fn check_documented(request: &UpstreamRequest) {
    let Some(body) = request.body.as_ref().into_option() else {
        return;
    };
    let path = request
        .url
        .as_str()
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_documented(&path, &json(body));
}

/// The body the upstream receives for `body`, checked as [`build`] does.
pub fn sent(plan: &RequestPlan<'_>, body: &[u8]) -> Value {
    let request = build(plan, body);
    json(
        request
            .body
            .as_ref()
            .into_option()
            .unwrap_or_else(|| panic!("the module sent the client's body unchanged")),
    )
}

/// The message of the error `build_request` answers `body` with, checked to be a 400.
pub fn refused(plan: &RequestPlan<'_>, body: &str) -> String {
    let error = Cohere::build_request(plan, &ClientBody::new(body.as_bytes())).expect_err(body);
    assert_eq!(error.status, 400, "{error}");
    error.message.into_string()
}

/// A stream's output, split into `chunks`, and its meta.
pub fn translate_stream(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Cohere::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

/// The events of an OpenAI stream: JSON values, or the literal `[DONE]` as a string. `created`
/// is zeroed, and a generated `id` (`chatcmpl-…`, `cmpl-…`) replaced by `generated`, since both
/// depend on when the stream ran.
pub fn events(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.is_empty() || text.ends_with("\n\n"), "{text:?}");
    text.split_terminator("\n\n")
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {event:?}"));
            let mut value: Value =
                serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()));
            if value.get("created").is_some() {
                value["created"] = Value::from(0);
            }
            let generated = value["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("chatcmpl-") || id.starts_with("cmpl-"));
            if generated {
                value["id"] = Value::from("generated");
            }
            value
        })
        .collect()
}

/// The translated events of `stream` in one chunk, checked to be the same at every split into
/// two chunks, and byte by byte; with the meta, whose id is normalised as in [`events`].
pub fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<Value>, ResponseMeta) {
    let run = |chunks: &[&[u8]]| {
        let (out, mut meta) = translate_stream(plan, chunks);
        if meta.response_id.starts_with("chatcmpl-") || meta.response_id.starts_with("cmpl-") {
            meta.response_id = "generated".into();
        }
        (events(&out), meta)
    };
    let whole = run(&[stream]);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(run(&[a, b]), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "byte by byte");
    whole
}

/// The `choices[0].delta` of each chunk that has one.
pub fn deltas(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter_map(|e| e["choices"].get(0).map(|c| c["delta"].clone()))
        .collect()
}
