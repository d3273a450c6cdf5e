//! Plans, options, Kong fixtures, Anthropic transcripts and schema checks for the tests.

use abi_stable::std_types::{RSlice, RStr};
use ai_provider_anthropic::Anthropic;
use provider_sdk::abi::{RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

pub const SSE_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/specs/anthropic/sse-fixtures"
);

/// The options of Kong's anthropic integration tests.
pub const OPTIONS: &str = r#"{"anthropic_version":"2023-06-01"}"#;

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{KONG_FIXTURES}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// One of the Anthropic SDK's recorded streams, e.g. `tool_use_response.txt`.
pub fn transcript(name: &str) -> Vec<u8> {
    let full = format!("{SSE_FIXTURES}/{name}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// A plan for `route_type` as the gateway would resolve it for a plain, non-streamed request.
pub fn plan<'a>(route_type: RouteType, model: &'a str, options: &'a str) -> RequestPlan<'a> {
    let client_path = match route_type {
        RouteType::COMPLETIONS => "/anthropic/completions",
        RouteType::PRESERVE => "/v1/messages",
        _ => "/anthropic/chat",
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

/// The upstream request for `body`, which must build.
pub fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    Anthropic::build_request(plan, &ClientBody::new(body)).unwrap_or_else(|e| {
        panic!(
            "build_request refused {}: {e}",
            String::from_utf8_lossy(body)
        )
    })
}

/// The Messages request body built for `body`, checked against Anthropic's schema for a
/// streamed or a whole response, as the plan asks.
pub fn messages_body(plan: &RequestPlan<'_>, body: &[u8]) -> Value {
    let request = build(plan, body);
    let sent = json(
        request
            .body
            .as_ref()
            .into_option()
            .expect("a translated body"),
    );
    assert_messages_schema(&sent);
    sent
}

pub fn assert_messages_schema(sent: &Value) {
    let schema = if sent["stream"] == Value::Bool(true) {
        "anthropic/messages-create-request.streaming.schema.json"
    } else {
        "anthropic/messages-create-request.nonstreaming.schema.json"
    };
    spec_check::assert_json_schema(schema, sent);
}

/// The message of the 400 `build_request` gives for `body`.
pub fn refused(plan: &RequestPlan<'_>, body: &str) -> String {
    let error = Anthropic::build_request(plan, &ClientBody::new(body.as_bytes()))
        .err()
        .unwrap_or_else(|| panic!("build_request accepted {body}"));
    assert_eq!(error.status, 400, "{error}");
    assert_eq!(error.kind.as_str(), "invalid_request_error");
    error.message.into_string()
}
