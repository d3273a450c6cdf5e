//! Plans, Kong fixtures, TGI's wire shapes and the schemas they are checked against.

use abi_stable::std_types::{RSlice, RStr};
use ai_provider_huggingface::HuggingFace;
use provider_sdk::abi::{RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

/// The model of Kong's Hugging Face fixtures.
pub const MODEL: &str = "mistralai/Mistral-7B-Instruct-v0.2";

pub const CHAT_INPUT_SCHEMA: &str = "huggingface/chat-completion/input.json";
pub const CHAT_OUTPUT_SCHEMA: &str = "huggingface/chat-completion/output.json";
pub const CHAT_STREAM_SCHEMA: &str = "huggingface/chat-completion/stream_output.json";
pub const GENERATION_INPUT_SCHEMA: &str = "huggingface/text-generation/input.json";
pub const GENERATION_OUTPUT_SCHEMA: &str = "huggingface/text-generation/output.json";
pub const GENERATION_STREAM_SCHEMA: &str = "huggingface/text-generation/stream_output.json";

const OPENAI_SPEC: &str = "openai/openapi.prism.json";

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
        RouteType::COMPLETIONS => "/v1/completions",
        RouteType::EMBEDDINGS => "/v1/embeddings",
        _ => "/v1/chat/completions",
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

/// The same plan, streamed.
pub fn streamed<'a>(mut plan: RequestPlan<'a>, client_wants_usage: bool) -> RequestPlan<'a> {
    plan.stream = true;
    plan.client_wants_usage = client_wants_usage;
    plan
}

pub fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    HuggingFace::build_request(plan, &ClientBody::new(body)).unwrap_or_else(|e| panic!("{e}"))
}

/// The body that goes upstream: the module's, or the client's when the module sends it as is.
pub fn sent_body(request: &UpstreamRequest, client_body: &[u8]) -> Value {
    let bytes = request
        .body
        .as_ref()
        .map(|b| b.to_vec())
        .into_option()
        .unwrap_or_else(|| client_body.to_vec());
    json(&bytes)
}

pub fn header<'r>(request: &'r UpstreamRequest, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Checks `value` against one of Hugging Face's schemas. They mark optional values
/// `nullable: true`, OpenAPI 3.0's keyword, which JSON Schema does not read, so members whose
/// value is `null` are left out of the check.
pub fn assert_hf_schema(schema: &str, value: &Value) {
    spec_check::assert_json_schema(schema, &without_nulls(value));
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Checks `value` against a component of OpenAI's OpenAPI document: what the client receives.
pub fn assert_openai(component: &str, value: &Value) {
    spec_check::assert_openapi(OPENAI_SPEC, component, value);
}
