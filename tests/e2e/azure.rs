//! Azure OpenAI through the gateway: the deployment path, `api-version` and `api-key` the upstream
//! receives, and Azure's content filter results reaching the client in JSON and in streams.

use ai_gateway_tests::{
    config::{merged, single_route},
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Recorded, Reply, Step},
    paths::{fixture, Module},
};
use serde_json::{json, Value};

use crate::{chat_request, wait_for_stats, wait_for_tokens};

const AZURE_KEY: &str = "azure-configured-key";

const CHAT_DEPLOYMENT: &str = "gpt-4o-prod";

const EMBEDDINGS_DEPLOYMENT: &str = "embeddings-prod";

/// A chat completion as Azure writes it: OpenAI's shape plus the content filter's verdicts on the
/// prompt and on the choice.
const AZURE_CHAT: &str = r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"1 + 1 = 2.","refusal":null,"role":"assistant"}}],"created":1731000000,"id":"chatcmpl-AzUre","model":"gpt-4o-2024-08-06","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false}}}],"system_fingerprint":"fp_04751d0b65","usage":{"completion_tokens":7,"prompt_tokens":25,"total_tokens":32}}"#;

/// The `data:` payloads of an Azure chat stream with `include_usage`. Azure opens with a chunk that
/// carries only the prompt's filter results, with empty id, model and object.
fn azure_stream_payloads() -> Vec<String> {
    let chunk = |choices: Value| {
        json!({
            "choices": choices, "created": 1731000000, "id": "chatcmpl-AzUre",
            "model": "gpt-4o-2024-08-06", "object": "chat.completion.chunk",
            "system_fingerprint": "fp_1",
        })
    };
    let choice = |delta: Value, finish: Value| {
        json!([{
            "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}},
            "delta": delta, "finish_reason": finish, "index": 0, "logprobs": null,
        }])
    };
    let mut usage = chunk(json!([]));
    usage["usage"] = json!({"completion_tokens": 7, "prompt_tokens": 25, "total_tokens": 32});
    // Azure's JSON is compact and orders keys alphabetically; `json!` does the same.
    vec![
        json!({
            "choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}}}],
        })
        .to_string(),
        chunk(choice(json!({"content": "", "role": "assistant"}), Value::Null)).to_string(),
        chunk(choice(json!({"content": "1 + 1 = 2."}), Value::Null)).to_string(),
        chunk(choice(json!({}), json!("stop"))).to_string(),
        usage.to_string(),
        "[DONE]".to_string(),
    ]
}

/// An `ai-proxy` config for Azure that sends to `upstream` with `api-key` auth.
fn azure(route_type: &str, model: &str, deployment: &str, upstream: &MockUpstream) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "header_name": "api-key", "header_value": AZURE_KEY },
        "model": {
            "provider": "azure",
            "name": model,
            "options": {
                "azure_instance": "001-kong-t",
                "azure_deployment_id": deployment,
                "upstream_url": upstream.url(""),
            },
        },
    })
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::Azure]).start()
}

fn assert_reached_the_deployment(
    sent: &Recorded,
    deployment: &str,
    operation: &str,
    api_version: &str,
) {
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.path(),
        format!("/openai/deployments/{deployment}/{operation}")
    );
    assert_eq!(sent.query_values("api-version"), vec![api_version]);
    assert_eq!(sent.header_values("api-key"), vec![AZURE_KEY]);
    assert_eq!(sent.header("authorization"), None);
}

#[test]
fn chat_reaches_the_deployment_and_the_filter_results_reach_the_client() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, AZURE_CHAT));
    let gateway = start(single_route(
        "/azure/chat",
        azure("llm/v1/chat", "gpt-4o", CHAT_DEPLOYMENT, &upstream),
    ));

    let response = http::post(&gateway.url("/azure/chat"))
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.body,
        AZURE_CHAT.as_bytes(),
        "forwarded byte for byte"
    );
    let body = response.json();
    assert_eq!(body["prompt_filter_results"][0]["prompt_index"], 0);
    assert_eq!(
        body["choices"][0]["content_filter_results"]["hate"]["filtered"],
        false
    );
    assert_eq!(response.header("x-kong-llm-model"), Some("azure/gpt-4o"));
    let sent = upstream.only_request();
    assert_reached_the_deployment(&sent, CHAT_DEPLOYMENT, "chat/completions", "2023-05-15");
    let sent_body = sent.json();
    assert_eq!(sent_body["model"], "gpt-4o");
    assert_eq!(sent_body["messages"], chat_request()["messages"]);
    wait_for_tokens(&gateway, "route", 25, 7, 32);
}

#[test]
fn the_clients_api_version_wins_over_the_configured_one() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, AZURE_CHAT));
    let mut config = azure("llm/v1/chat", "gpt-4o", CHAT_DEPLOYMENT, &upstream);
    config["model"]["options"]["azure_api_version"] = json!("2024-06-01");
    let gateway = start(single_route("/azure/chat", config));

    let configured = http::post(&gateway.url("/azure/chat?trace=on"))
        .json(&chat_request())
        .send();
    let overridden = http::post(&gateway.url("/azure/chat?api-version=2024-10-21"))
        .json(&chat_request())
        .send();

    assert_eq!((configured.status, overridden.status), (200, 200));
    let requests = upstream.requests();
    assert_reached_the_deployment(
        &requests[0],
        CHAT_DEPLOYMENT,
        "chat/completions",
        "2024-06-01",
    );
    assert_eq!(requests[0].query_values("trace"), vec!["on"]);
    assert_reached_the_deployment(
        &requests[1],
        CHAT_DEPLOYMENT,
        "chat/completions",
        "2024-10-21",
    );
}

fn stream_steps() -> Vec<Step> {
    azure_stream_payloads()
        .iter()
        .map(|p| chunk(&format!("data: {p}\r\n\r\n")))
        .collect()
}

fn streamed_chat(include_usage: bool) -> Value {
    let mut request = merged(chat_request(), json!({ "stream": true }));
    if include_usage {
        request["stream_options"] = json!({ "include_usage": true });
    }
    request
}

fn stream_gateway(upstream: &MockUpstream) -> Gateway {
    let mut config = azure("llm/v1/chat", "gpt-4o", CHAT_DEPLOYMENT, upstream);
    config["model"]["options"]["azure_api_version"] = json!("2024-10-21");
    start(single_route("/azure/chat", config))
}

#[test]
fn a_stream_with_include_usage_keeps_the_filter_results_and_ends_with_usage() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(stream_steps()));
    let gateway = stream_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/azure/chat"))
        .json(&streamed_chat(true))
        .open();

    assert_eq!(stream.status, 200);
    let events: Vec<String> = stream.events().into_iter().map(|e| e.data).collect();
    let mut expected = azure_stream_payloads();
    expected[0] = expected[0].replace(r#""object":"""#, r#""object":"chat.completion.chunk""#);
    assert_eq!(
        events, expected,
        "every event as Azure sent it, the first one's empty object named"
    );
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["prompt_filter_results"][0]["prompt_index"], 0);
    let sent = upstream.only_request();
    assert_reached_the_deployment(&sent, CHAT_DEPLOYMENT, "chat/completions", "2024-10-21");
    assert_eq!(
        sent.json()["stream_options"],
        json!({ "include_usage": true })
    );
    wait_for_tokens(&gateway, "route", 25, 7, 32);
}

#[test]
fn a_stream_without_include_usage_is_metered_all_the_same() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(stream_steps()));
    let gateway = stream_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/azure/chat"))
        .json(&streamed_chat(false))
        .open();

    let events: Vec<String> = stream.events().into_iter().map(|e| e.data).collect();
    assert_eq!(events.len(), 5, "no usage chunk: {events:#?}");
    assert!(events.iter().all(|e| !e.contains("\"usage\"")));
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(
        upstream.only_request().json()["stream_options"],
        json!({ "include_usage": true }),
        "the gateway asks for usage on API versions that accept it"
    );
    wait_for_tokens(&gateway, "route", 25, 7, 32);
}

#[test]
fn embeddings_reach_the_embeddings_deployment() {
    let upstream = MockUpstream::start();
    let embeddings = fixture("openai/llm-v1-embeddings/responses/good.json");
    upstream.always(Reply::json(200, embeddings.clone()));
    let gateway = start(single_route(
        "/azure/embeddings",
        azure(
            "llm/v1/embeddings",
            "text-embedding-3-large",
            EMBEDDINGS_DEPLOYMENT,
            &upstream,
        ),
    ));

    let response = http::post(&gateway.url("/azure/embeddings"))
        .json(&json!({ "input": "The food was delicious", "encoding_format": "float" }))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.body, embeddings);
    let sent = upstream.only_request();
    assert_reached_the_deployment(&sent, EMBEDDINGS_DEPLOYMENT, "embeddings", "2023-05-15");
    assert_eq!(
        sent.json(),
        json!({
            "input": "The food was delicious",
            "encoding_format": "float",
            "model": "text-embedding-3-large",
        })
    );
    let prompt_tokens =
        serde_json::from_slice::<Value>(&embeddings).unwrap()["usage"]["prompt_tokens"].clone();
    wait_for_stats(&gateway, "route", &[("/tokens/prompt", prompt_tokens)]);
}
