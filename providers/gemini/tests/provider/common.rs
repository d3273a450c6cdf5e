//! Plans, options, fixtures and schema checks for the tests.

use abi_stable::std_types::{RSlice, RStr};
use ai_provider_gemini::Gemini;
use provider_sdk::abi::{RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

/// The Vertex AI discovery document; the Gemini API's bodies have the same shapes.
pub const VERTEX_SPEC: &str = "vertex-ai/aiplatform.v1.json";

pub const OPENAI_SPEC: &str = "openai/openapi.prism.json";

/// A Vertex AI location, as a route's options.
pub const VERTEX: &str = r#"{"gemini":{"api_endpoint":"us-central1-aiplatform.googleapis.com","project_id":"kong-project","location_id":"us-central1"}}"#;

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
    RequestPlan {
        route_type,
        model: RStr::from_str(model),
        options: RStr::from_str(options),
        stream: false,
        client_wants_usage: false,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str("/gemini/chat"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

pub fn streamed<'a>(route_type: RouteType, model: &'a str, options: &'a str) -> RequestPlan<'a> {
    RequestPlan {
        stream: true,
        ..plan(route_type, model, options)
    }
}

pub fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    Gemini::build_request(plan, &ClientBody::new(body)).unwrap_or_else(|e| panic!("{e}"))
}

/// The body sent upstream, as JSON.
pub fn sent(request: &UpstreamRequest) -> Value {
    json(&request.body.as_ref().into_option().unwrap().to_vec())
}

/// The error message of a request the module refuses, which must be a 400.
pub fn refused(plan: &RequestPlan<'_>, body: &str) -> String {
    let error = Gemini::build_request(plan, &ClientBody::new(body.as_bytes())).unwrap_err();
    assert_eq!(error.status, 400, "{error}");
    error.message.into_string()
}

/// Checks `body` against the discovery schema `schema` (e.g. `GenerateContentRequest`).
pub fn assert_vertex(schema: &str, body: &Value) {
    spec_check::assert_discovery(
        VERTEX_SPEC,
        &format!("GoogleCloudAiplatformV1{schema}"),
        body,
    );
}
