//! Mistral through the gateway: a mock of Mistral's API speaking its own dialect (tool calls
//! without `type`, usage on the last stream chunk, `model_length`, 422 validation errors), and a
//! mock Ollama for `mistral_format: ollama`. Each test checks what the upstream received as well
//! as what the client got.

use ai_gateway_tests::{
    config::single_route,
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Reply, Step},
    paths::{fixture_json, Module},
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, wait_for_stats, wait_for_tokens};

const MISTRAL_KEY: &str = "Bearer mistral-configured-key";

const MODEL: &str = "mistral-small-latest";

/// An `ai-proxy` config for Mistral's API at the mock's origin, with Bearer auth.
fn mistral(route_type: &str, model: &str, upstream: &MockUpstream) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "header_name": "Authorization", "header_value": MISTRAL_KEY },
        "model": {
            "provider": "mistral",
            "name": model,
            "options": { "mistral_format": "openai", "upstream_url": upstream.url("") },
        },
    })
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::Mistral]).start()
}

fn payloads(stream: &mut http::Stream) -> Vec<Value> {
    stream
        .events()
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}

fn mistral_chunk(choices: Value, usage: Option<Value>) -> String {
    let mut chunk = json!({"id": "cmpl-7f1d", "object": "chat.completion.chunk", "created": 1735000000, "model": MODEL, "choices": choices});
    if let Some(usage) = usage {
        chunk["usage"] = usage;
    }
    chunk.to_string()
}

fn sse(payloads: &[String]) -> Vec<Step> {
    payloads
        .iter()
        .map(|p| chunk(&format!("data: {p}\n\n")))
        .collect()
}

#[test]
fn chat_reaches_mistral_in_its_dialect_and_tool_calls_come_back_typed() {
    let upstream = MockUpstream::start();
    let reply = json!({
        "id": "cmpl-e5cc", "object": "chat.completion", "created": 1702256327, "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "", "prefix": false,
            "tool_calls": [{"id": "D681PevKs", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}, "index": 0}],
        }}],
        "usage": {"prompt_tokens": 90, "completion_tokens": 31, "total_tokens": 121},
    });
    upstream.always(Reply::json(200, reply.to_string()));
    let gateway = start(single_route(
        "/mistral/chat",
        mistral("llm/v1/chat", MODEL, &upstream),
    ));
    let mut request = fixture_json("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    request["stream"] = json!(false);
    request["seed"] = json!(11);
    request["tool_choice"] = json!("required");
    request["max_completion_tokens"] = json!(200);

    let response = http::post(&gateway.url("/mistral/chat"))
        .json(&request)
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("mistral/mistral-small-latest")
    );
    let body = response.json();
    assert_eq!(
        body["choices"][0],
        json!({"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null, "refusal": null,
            "tool_calls": [{"id": "D681PevKs", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}}],
        }})
    );
    assert_eq!(
        (body["id"].as_str(), body["created"].as_u64()),
        (Some("cmpl-e5cc"), Some(1702256327))
    );
    let sent = upstream.only_request();
    assert_eq!(
        (sent.method.as_str(), sent.path()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(sent.header_values("authorization"), vec![MISTRAL_KEY]);
    let sent = sent.json();
    assert_eq!(sent["random_seed"], 11);
    assert_eq!(sent["tool_choice"], "any");
    assert_eq!(sent["max_tokens"], 200);
    assert_eq!(sent["model"], MODEL);
    for openai_only in ["seed", "max_completion_tokens", "stream_options"] {
        assert!(sent.get(openai_only).is_none(), "{openai_only}: {sent}");
    }
    wait_for_tokens(&gateway, "route", 90, 31, 121);
}

#[test]
fn a_stream_with_include_usage_gets_its_own_usage_chunk() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(sse(&[
        mistral_chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]), None),
        mistral_chunk(json!([{"index": 0, "delta": {"content": "The answer"}, "finish_reason": null}]), None),
        mistral_chunk(
            json!([{"index": 0, "delta": {"content": " is 2."}, "finish_reason": "stop"}]),
            Some(json!({"prompt_tokens": 10, "total_tokens": 17, "completion_tokens": 7})),
        ),
        "[DONE]".to_owned(),
    ])));
    let gateway = start(single_route(
        "/mistral/chat",
        mistral("llm/v1/chat", MODEL, &upstream),
    ));
    let mut request = chat_request();
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});

    let mut stream = http::post(&gateway.url("/mistral/chat"))
        .json(&request)
        .open();

    assert_eq!(stream.status, 200);
    let events = payloads(&mut stream);
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "The answer is 2.");
    let n = events.len();
    assert_eq!(events[n - 3]["choices"][0]["finish_reason"], "stop");
    assert!(
        events[n - 3].get("usage").is_none(),
        "usage leaves Mistral's last chunk"
    );
    assert_eq!(events[n - 2]["choices"], json!([]));
    assert_eq!(
        events[n - 2]["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17})
    );
    assert_eq!(events[n - 1], json!("[DONE]"));
    assert!(events
        .iter()
        .take(n - 1)
        .all(|e| e["id"] == "cmpl-7f1d" && e["object"] == "chat.completion.chunk"));
    let sent = upstream.only_request().json();
    assert_eq!(sent["stream"], true);
    assert!(
        sent.get("stream_options").is_none(),
        "Mistral refuses stream_options"
    );
    wait_for_tokens(&gateway, "route", 10, 7, 17);
}

#[test]
fn a_streamed_tool_call_keeps_its_index_and_usage_stays_in_the_statistics() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(sse(&[
        mistral_chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]), None),
        mistral_chunk(
            json!([{"index": 0, "delta": {"tool_calls": [
                {"id": "D681PevKs", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}, "index": 0},
                {"id": "Kq9x1Lmn2", "function": {"name": "multiply", "arguments": "{\"a\": 14, \"b\": 10}"}, "index": 1},
            ]}, "finish_reason": "tool_calls"}]),
            Some(json!({"prompt_tokens": 120, "total_tokens": 160, "completion_tokens": 40})),
        ),
        "[DONE]".to_owned(),
    ])));
    let gateway = start(single_route(
        "/mistral/chat",
        mistral("llm/v1/chat", MODEL, &upstream),
    ));

    let mut stream = http::post(&gateway.url("/mistral/chat"))
        .json(&fixture_json(
            "openai/llm-v1-chat/requests/good-stream-with-functions.json",
        ))
        .open();

    let events = payloads(&mut stream);
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .filter_map(|c| c["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        calls,
        vec![
            &json!([{"index": 0, "id": "D681PevKs", "type": "function", "function": {"name": "add", "arguments": ""}}]),
            &json!([{"index": 0, "function": {"arguments": "{\"a\": 2, \"b\": 12}"}}]),
            &json!([{"index": 1, "id": "Kq9x1Lmn2", "type": "function", "function": {"name": "multiply", "arguments": ""}}]),
            &json!([{"index": 1, "function": {"arguments": "{\"a\": 14, \"b\": 10}"}}]),
        ]
    );
    assert!(
        events.iter().all(|e| e.get("usage").is_none()),
        "the client did not ask for usage"
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    let sent = upstream.only_request().json();
    assert_eq!(sent["tools"][0]["function"]["name"], "add");
    assert_eq!(sent["tools"][0]["type"], "function");
    wait_for_tokens(&gateway, "route", 120, 40, 160);
}

#[test]
fn embeddings_reach_v1_embeddings_with_mistrals_field_names() {
    let upstream = MockUpstream::start();
    let reply = json!({"id": "emb-1", "object": "list", "model": "mistral-embed",
                       "data": [{"object": "embedding", "embedding": [-0.016632080078125, 0.0701904296875], "index": 0}],
                       "usage": {"prompt_tokens": 6, "completion_tokens": 0, "total_tokens": 6, "prompt_audio_seconds": null}});
    upstream.always(Reply::json(200, reply.to_string()));
    let gateway = start(single_route(
        "/mistral/embeddings",
        mistral("llm/v1/embeddings", "mistral-embed", &upstream),
    ));

    let response = http::post(&gateway.url("/mistral/embeddings"))
        .json(&json!({"input": "Embed this sentence.", "dimensions": 512, "encoding_format": "float"}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), reply, "forwarded as Mistral sent it");
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/v1/embeddings");
    assert_eq!(
        sent.json(),
        json!({"input": "Embed this sentence.", "encoding_format": "float", "model": "mistral-embed", "output_dimension": 512})
    );
    wait_for_stats(&gateway, "route", &[("/tokens/prompt", json!(6))]);
}

#[test]
fn mistral_errors_keep_their_status_and_parameters_it_lacks_are_refused() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        401,
        r#"{"message":"Unauthorized","request_id":"d4d6a0b7"}"#,
    ));
    let gateway = start(single_route(
        "/mistral/chat",
        mistral("llm/v1/chat", MODEL, &upstream),
    ));

    let response = http::post(&gateway.url("/mistral/chat"))
        .json(&chat_request())
        .send();
    let error = assert_error(&response, 401);
    assert_eq!(error["message"], "Unauthorized");
    assert_eq!(error["type"], "authentication_error");

    let mut request = chat_request();
    request["logit_bias"] = json!({"1": 5});
    let response = http::post(&gateway.url("/mistral/chat"))
        .json(&request)
        .send();
    let error = assert_error(&response, 400);
    assert_eq!(
        error["message"],
        "`logit_bias` is not supported by provider mistral"
    );
    assert_eq!(
        upstream.requests().len(),
        1,
        "a refused request never reaches Mistral"
    );
}

#[test]
fn the_ollama_format_streams_from_ollama() {
    let upstream = MockUpstream::start();
    let line = |content: &str| json!({"model": "mistral:7b", "created_at": "2024-01-15T08:13:38.876196Z", "message": {"role": "assistant", "content": content}, "done": false});
    upstream.always(Reply::Streamed {
        content_type: "application/x-ndjson".to_owned(),
        steps: vec![
            chunk(&format!("{}\n{}\n", line("Bonjour"), line(" !"))),
            chunk(&format!(
                "{}\n",
                json!({"model": "mistral:7b", "created_at": "2024-01-15T08:13:39Z", "message": {"role": "assistant", "content": ""},
                       "done": true, "done_reason": "length", "prompt_eval_count": 12, "eval_count": 4})
            )),
        ],
    });
    let gateway = start(single_route(
        "/mistral/local",
        json!({"route_type": "llm/v1/chat", "model": {"provider": "mistral", "name": "mistral:7b",
               "options": {"mistral_format": "ollama", "upstream_url": upstream.url("")}}}),
    ));
    let mut request = chat_request();
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});

    let mut stream = http::post(&gateway.url("/mistral/local"))
        .json(&request)
        .open();

    let events = payloads(&mut stream);
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Bonjour !");
    assert_eq!(
        events[events.len() - 3]["choices"][0]["finish_reason"],
        "length"
    );
    assert_eq!(events[events.len() - 2]["usage"]["total_tokens"], 16);
    assert_eq!(events[0]["created"], 1705306418);
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/api/chat");
    assert_eq!(sent.json()["stream"], true);
    wait_for_tokens(&gateway, "route", 12, 4, 16);
}
