//! Plans, options, Kong fixtures, schema checks and event-stream frames for the tests.

use abi_stable::std_types::{RSlice, RStr};
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::{RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::framing::aws_eventstream::{
    encode_event, encode_exception, encode_message, HeaderValue,
};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

/// botocore's model of Bedrock Runtime, relative to `shared/specs`.
pub const SERVICE_MODEL: &str = "bedrock-runtime/service-2.json";

/// The seed's region.
pub const OPTIONS: &str = r#"{"bedrock":{"aws_region":"us-west-2"}}"#;

/// The seed's model.
pub const NOVA: &str = "us.amazon.nova-micro-v1:0";

pub const CLAUDE: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{KONG_FIXTURES}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// A plan for `route_type` as the gateway would resolve it for a plain, non-streamed request.
pub fn plan<'a>(route_type: RouteType, model: &'a str, options: &'a str) -> RequestPlan<'a> {
    let client_path = match route_type {
        RouteType::COMPLETIONS => "/bedrock/v1/completions",
        RouteType::EMBEDDINGS => "/bedrock/v1/embeddings",
        _ => "/bedrock/v1/chat/completions",
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

pub fn streamed<'a>(route_type: RouteType, model: &'a str, wants_usage: bool) -> RequestPlan<'a> {
    let mut plan = plan(route_type, model, OPTIONS);
    plan.stream = true;
    plan.client_wants_usage = wants_usage;
    plan
}

/// The upstream body of a request, after checking that it is a valid Converse (or
/// ConverseStream) request by botocore's model of Bedrock Runtime.
pub fn converse_body(plan: &RequestPlan<'_>, client_body: &Value) -> Value {
    let request =
        Bedrock::build_request(plan, &ClientBody::new(client_body.to_string().as_bytes()))
            .unwrap_or_else(|e| panic!("{e}"));
    let body = sent_body(&request);
    let shape = if plan.stream {
        "ConverseStreamRequest"
    } else {
        "ConverseRequest"
    };
    spec_check::assert_botocore(SERVICE_MODEL, shape, &body);
    body
}

pub fn sent_body(request: &UpstreamRequest) -> Value {
    json(request.body.as_ref().map(|b| b.as_slice()).unwrap())
}

/// The error message of a request the module refuses, checked to be a 400.
pub fn refused(plan: &RequestPlan<'_>, client_body: &Value) -> String {
    match Bedrock::build_request(plan, &ClientBody::new(client_body.to_string().as_bytes())) {
        Ok(request) => panic!("accepted: {}", sent_body(&request)),
        Err(error) => {
            assert_eq!(error.status, 400, "{error}");
            error.message.into_string()
        }
    }
}

/// One event-stream message as Bedrock frames it: string headers, payload, both CRC-32s.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let headers: Vec<(&str, HeaderValue<'_>)> = headers
        .iter()
        .map(|&(name, value)| (name, HeaderValue::String(value)))
        .collect();
    encode_message(&headers, payload).unwrap()
}

/// A Converse stream event.
pub fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    encode_event(event_type, payload.to_string().as_bytes()).unwrap()
}

/// A Converse stream exception.
pub fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "message": message }).to_string();
    encode_exception(exception_type, body.as_bytes()).unwrap()
}

/// Kong's three base64 chunks of a Bedrock tool-call stream, decoded.
pub fn kong_chunks() -> Vec<Vec<u8>> {
    (1..=3)
        .map(|i| {
            base64(&String::from_utf8(fixture(&format!("bedrock/chunks/chunk-{i}.txt"))).unwrap())
        })
        .collect()
}

fn base64(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        bits = (bits << 6 | u32::from(value)) & 0xFFFF;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}
