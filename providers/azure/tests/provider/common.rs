//! Plans, options and Kong fixtures for the tests.

use abi_stable::std_types::{RSlice, RStr};
use provider_sdk::abi::{RequestPlan, RouteType};

pub const KONG_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/kong-ai-proxy"
);

/// Kong's azure integration test deployment.
pub const OPTIONS: &str =
    r#"{"azure_instance":"001-kong-t","azure_deployment_id":"gpt-3.5-custom"}"#;

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{KONG_FIXTURES}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// A plan for `route_type` as the gateway would resolve it for a plain, non-streamed request.
pub fn plan<'a>(route_type: RouteType, model: &'a str, options: &'a str) -> RequestPlan<'a> {
    let client_path = match route_type {
        RouteType::COMPLETIONS => "/azure/completions",
        RouteType::EMBEDDINGS => "/azure/embeddings",
        _ => "/azure/chat/completions",
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
