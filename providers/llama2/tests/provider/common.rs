//! Plans, options and Kong fixtures for the tests.

use abi_stable::std_types::{RSlice, RStr};
use ai_provider_llama2::Llama2;
use provider_sdk::abi::{RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

/// A TGI server, as in Kong's llama2 integration test.
pub const RAW: &str = r#"{"llama2_format":"raw","upstream_url":"http://tgi:8080/"}"#;

/// Kong's seed config (`config/examples/ai-proxy.yaml`).
pub const OLLAMA: &str =
    r#"{"llama2_format":"ollama","upstream_url":"http://ollama.ollama:11434/api/chat"}"#;

pub const OPENAI: &str =
    r#"{"llama2_format":"openai","upstream_url":"http://vllm:8000/v1/chat/completions"}"#;

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{KONG_FIXTURES}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
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
        client_path: RStr::from_str("/llama2"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

/// The same plan for a streamed request; `include_usage` as the client set it.
pub fn streamed<'a>(
    route_type: RouteType,
    model: &'a str,
    options: &'a str,
    include_usage: bool,
) -> RequestPlan<'a> {
    RequestPlan {
        stream: true,
        client_wants_usage: include_usage,
        ..plan(route_type, model, options)
    }
}

pub fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    Llama2::build_request(plan, &ClientBody::new(body)).unwrap()
}

/// The body that goes upstream: the translated one, or the client's when the module sends it as
/// is.
pub fn sent_body(request: &UpstreamRequest, client_body: &[u8]) -> Value {
    json(
        &request
            .body
            .as_ref()
            .map(|b| b.to_vec())
            .into_option()
            .unwrap_or_else(|| client_body.to_vec()),
    )
}

/// The 400 a request gets.
pub fn refused(plan: &RequestPlan<'_>, body: &Value) -> String {
    let error = Llama2::build_request(plan, &ClientBody::new(&serde_json::to_vec(body).unwrap()))
        .unwrap_err();
    assert_eq!(error.status, 400, "{error}");
    error.message.into_string()
}

/// The SSE events of `out`, each `data:` payload as JSON (`[DONE]` as a string).
pub fn events(out: &[u8]) -> Vec<Value> {
    let text = String::from_utf8(out.to_vec()).unwrap();
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {event}"));
            serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_owned()))
        })
        .collect()
}
