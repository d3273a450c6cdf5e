//! End-to-end tests: the real `ai-gateway` binary, provider modules as cargo built them, and mock
//! upstreams on 127.0.0.1. One binary for all of them keeps link times down.

// The helpers shared by these tests fail the test on an unexpected value, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod anthropic;
mod auth;
mod azure;
mod bedrock;
mod cloud_auth;
mod cohere;
mod errors;
mod gemini;
mod huggingface;
mod llama2;
mod mistral;
mod modules;
mod panics;
mod passthrough;
mod proxy;
mod sdk_conformance;
mod status;
mod streaming;
mod telemetry;

use ai_gateway_tests::{
    gateway::Gateway,
    http::Response,
    paths::{fixture, fixture_json},
};
use serde_json::{json, Value};

/// The credential the gateway's routes are configured with.
const CONFIGURED_AUTH: &str = "Bearer sk-configured";

/// The `ai-proxy` config of an OpenAI route that sends to `upstream_url` with header auth.
fn openai(route_type: &str, model: &str, upstream_url: &str) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "header_name": "Authorization", "header_value": CONFIGURED_AUTH },
        "model": {
            "provider": "openai",
            "name": model,
            "options": { "upstream_url": upstream_url },
        },
    })
}

/// Kong's chat request: a system and a user message, `stream: false`, no model.
fn chat_request() -> Value {
    fixture_json("openai/llm-v1-chat/requests/good.json")
}

/// Kong's chat response: `gpt-3.5-turbo-0613`, usage 25/12/37.
fn chat_response() -> Vec<u8> {
    fixture("openai/llm-v1-chat/responses/good.json")
}

/// Checks that `response` is a gateway error: `status`, JSON, and OpenAI's envelope
/// `{"error":{"message","type","param","code"}}` with a message. Returns the `error` object.
fn assert_error(response: &Response, status: u16) -> Value {
    assert_eq!(
        response.status,
        status,
        "expected a {status} error, got {}: {}",
        response.status,
        response.text()
    );
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "a gateway error must be JSON, got content-type {content_type:?}: {}",
        response.text()
    );
    let body = response.json();
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error.message must be a non-empty string: {body}"
    );
    assert!(
        error["type"].is_string(),
        "error.type must be a string: {body}"
    );
    for key in ["param", "code"] {
        assert!(
            error.get(key).is_some(),
            "error.{key} must be present (null when unused): {body}"
        );
    }
    error.clone()
}

/// Waits until the `/status/routes` entry of `route` has each JSON-pointer field at its value. The
/// counters are updated after the response is sent, so they may lag the client by a moment.
fn wait_for_stats(gateway: &Gateway, route: &str, expected: &[(&str, Value)]) -> Value {
    ai_gateway_tests::eventually(&format!("/status/routes for route {route}"), || {
        let stats = gateway.route_stats(route);
        let differs = expected
            .iter()
            .any(|(pointer, value)| stats.pointer(pointer) != Some(value));
        if differs {
            Err(format!("wanted {expected:?}, have {stats}"))
        } else {
            Ok(stats)
        }
    })
}

fn wait_for_tokens(gateway: &Gateway, route: &str, prompt: u64, completion: u64, total: u64) {
    wait_for_stats(
        gateway,
        route,
        &[
            ("/tokens/prompt", json!(prompt)),
            ("/tokens/completion", json!(completion)),
            ("/tokens/total", json!(total)),
        ],
    );
}
