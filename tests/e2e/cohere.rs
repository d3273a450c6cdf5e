//! Cohere through the gateway: a mock upstream that speaks Cohere's v2 API (JSON and SSE) and v1
//! (NDJSON streams), what it received, and what the client gets back in OpenAI's shapes.

use ai_gateway_tests::{
    config::single_route,
    gateway::{command, run, Gateway, Serve},
    http,
    mock::{MockUpstream, Recorded, Reply, Step},
    paths::{fixture, repo_root, Module, ProvidersDir},
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, wait_for_stats, wait_for_tokens};

const COHERE_AUTH: &str = "Bearer co-configured-key";

const CHAT_MODEL: &str = "command-a-03-2025";

/// A `/v2/chat` answer as Cohere's reference shows it.
const V2_CHAT: &str = r#"{"id":"c14c80c3-18eb-4519-9460-6c92edd8cfb4","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"1 + 1 = 2."}]},"usage":{"billed_units":{"input_tokens":12,"output_tokens":7},"tokens":{"input_tokens":78,"output_tokens":7}}}"#;

/// An `ai-proxy` config for Cohere that sends to `upstream` with the configured key, and
/// `options` (merged into `model.options`).
fn cohere(route_type: &str, model: &str, upstream: &MockUpstream, options: Value) -> Value {
    let mut all = json!({ "upstream_url": upstream.url("") });
    for (key, value) in options.as_object().into_iter().flatten() {
        all[key] = value.clone();
    }
    json!({
        "route_type": route_type,
        "auth": { "header_name": "Authorization", "header_value": COHERE_AUTH },
        "model": { "provider": "cohere", "name": model, "options": all },
    })
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::Cohere]).start()
}

fn assert_reached_cohere(sent: &Recorded, path: &str) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path(), path);
    assert_eq!(sent.header_values("authorization"), vec![COHERE_AUTH]);
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

/// A v2 SSE event as Cohere frames it.
fn sse(data: &Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

/// `events` framed as SSE and written in pieces cut inside events, as a network splits them.
fn sse_steps(events: &[Value]) -> Vec<Step> {
    let stream: String = events.iter().map(sse).collect();
    let bytes = stream.as_bytes();
    bytes
        .chunks(37)
        .map(|piece| Step::Chunk(piece.to_vec()))
        .collect()
}

fn message_start() -> Value {
    json!({"id": "29f14a5a-11de-4cae-9800-25e4747408ea", "type": "message-start",
           "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}})
}

fn content_delta(text: &str) -> Value {
    json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": text}}}})
}

fn message_end(reason: &str) -> Value {
    json!({"type": "message-end", "delta": {"finish_reason": reason, "usage": {
        "billed_units": {"input_tokens": 12, "output_tokens": 9},
        "tokens": {"input_tokens": 78, "output_tokens": 9},
    }}})
}

fn streamed(mut request: Value, include_usage: bool) -> Value {
    request["stream"] = json!(true);
    if include_usage {
        request["stream_options"] = json!({ "include_usage": true });
    }
    request
}

/// The JSON chunks of a stream, and whether it ended with `[DONE]`.
fn chunks(stream: &mut http::Stream) -> (Vec<Value>, bool) {
    let mut chunks = Vec::new();
    let mut done = false;
    for event in stream.events() {
        if event.data == "[DONE]" {
            done = true;
        } else {
            assert!(!done, "an event after [DONE]: {}", event.data);
            chunks.push(serde_json::from_str(&event.data).unwrap());
        }
    }
    (chunks, done)
}

fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[test]
fn chat_reaches_v2_with_the_system_prompt_and_answers_in_openai_s_shape() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, V2_CHAT));
    let gateway = start(single_route(
        "/cohere/chat",
        cohere("llm/v1/chat", CHAT_MODEL, &upstream, json!({})),
    ));

    let response = http::post(&gateway.url("/cohere/chat"))
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("cohere/command-a-03-2025")
    );
    let body = response.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["id"], "c14c80c3-18eb-4519-9460-6c92edd8cfb4");
    assert_eq!(body["model"], CHAT_MODEL);
    assert_eq!(body["choices"][0]["message"]["content"], "1 + 1 = 2.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 78, "completion_tokens": 7, "total_tokens": 85})
    );
    let sent = upstream.only_request();
    assert_reached_cohere(&sent, "/v2/chat");
    assert_eq!(
        sent.json(),
        json!({
            "model": CHAT_MODEL,
            "messages": chat_request()["messages"],
            "stream": false,
        }),
        "the system prompt stays a system message (Kong makes it a user turn)"
    );
    wait_for_tokens(&gateway, "route", 78, 7, 85);
}

#[test]
fn a_streamed_chat_with_include_usage_ends_with_the_usage_chunk() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(sse_steps(&[
        message_start(),
        json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        content_delta("The answer"),
        content_delta(" is 2."),
        json!({"type": "content-end", "index": 0}),
        message_end("COMPLETE"),
    ])));
    let gateway = start(single_route(
        "/cohere/chat",
        cohere("llm/v1/chat", CHAT_MODEL, &upstream, json!({})),
    ));

    let mut stream = http::post(&gateway.url("/cohere/chat"))
        .json(&streamed(chat_request(), true))
        .open();

    assert_eq!(stream.status, 200);
    assert!(stream
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    let (chunks, done) = chunks(&mut stream);
    assert!(done, "the stream ends with [DONE]");
    assert_eq!(text_of(&chunks), "The answer is 2.");
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"
        && c["id"] == "29f14a5a-11de-4cae-9800-25e4747408ea"
        && c["model"] == CHAT_MODEL));
    let finishes: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| &c["finish_reason"])
        .filter(|r| !r.is_null())
        .collect();
    assert_eq!(finishes, vec!["stop"]);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 78, "completion_tokens": 9, "total_tokens": 87})
    );
    let sent = upstream.only_request();
    assert_reached_cohere(&sent, "/v2/chat");
    assert_eq!(sent.json()["stream"], true);
    assert!(sent.json().get("stream_options").is_none());
    wait_for_tokens(&gateway, "route", 78, 9, 87);
}

#[test]
fn a_streamed_tool_call_keeps_its_index_id_and_arguments() {
    let upstream = MockUpstream::start();
    let call_delta = |fragment: &str| json!({"type": "tool-call-delta", "index": 1, "delta": {"message": {"tool_calls": {"function": {"arguments": fragment}}}}});
    upstream.always(Reply::sse(sse_steps(&[
        message_start(),
        json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will add them."}}}),
        json!({"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": {
            "id": "add_9x2k", "type": "function", "function": {"name": "add", "arguments": ""}}}}}),
        call_delta("{\"a\": 2, "),
        call_delta("\"b\": 12}"),
        json!({"type": "tool-call-end", "index": 1}),
        message_end("TOOL_CALL"),
    ])));
    let gateway = start(single_route(
        "/cohere/chat",
        cohere("llm/v1/chat", CHAT_MODEL, &upstream, json!({})),
    ));
    let request = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let mut request: Value = serde_json::from_slice(&request).unwrap();
    request.as_object_mut().unwrap().remove("model");

    let mut stream = http::post(&gateway.url("/cohere/chat"))
        .json(&request)
        .open();

    assert_eq!(stream.status, 200);
    let (chunks, done) = chunks(&mut stream);
    assert!(done);
    assert_eq!(text_of(&chunks), "I will add them.");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(
        calls,
        vec![
            &json!({"index": 0, "id": "add_9x2k", "type": "function", "function": {"name": "add", "arguments": ""}}),
            &json!({"index": 0, "function": {"arguments": "{\"a\": 2, "}}),
            &json!({"index": 0, "function": {"arguments": "\"b\": 12}"}}),
        ]
    );
    assert_eq!(
        chunks[chunks.len() - 1]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    let sent = upstream.only_request().json();
    let tool_names: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(tool_names, ["add", "multiply"]);
    assert_eq!(sent["tools"][0]["type"], "function");
}

#[test]
fn an_error_inside_the_stream_becomes_an_error_event_and_the_stream_ends() {
    let upstream = MockUpstream::start();
    let mut end = message_end("ERROR");
    end["delta"]["error"] = json!("internal error");
    upstream.always(Reply::sse(sse_steps(&[
        message_start(),
        content_delta("Par"),
        end,
    ])));
    let gateway = start(single_route(
        "/cohere/chat",
        cohere("llm/v1/chat", CHAT_MODEL, &upstream, json!({})),
    ));

    let mut stream = http::post(&gateway.url("/cohere/chat"))
        .json(&streamed(chat_request(), false))
        .open();

    let (chunks, done) = chunks(&mut stream);
    assert!(!done, "no [DONE] after an error");
    let error = &chunks.last().unwrap()["error"];
    assert_eq!(
        error["message"],
        "cohere stopped generating (ERROR): internal error"
    );
    assert_eq!(text_of(&chunks), "Par");
}

#[test]
fn a_v1_chat_stream_in_ndjson() {
    let upstream = MockUpstream::start();
    let mut ndjson = fixture("unit/streaming-chunk-formats/complete-json/input.bin");
    ndjson.extend_from_slice(b"\n");
    ndjson.extend_from_slice(br#"{"is_finished":true,"event_type":"stream-end","finish_reason":"COMPLETE","response":{"generation_id":"10f31c2f-1a4c-48cf-b500-dc8141a25ae5","text":"2","meta":{"billed_units":{"input_tokens":9,"output_tokens":1}}}}"#);
    ndjson.extend_from_slice(b"\n");
    upstream.always(Reply::Streamed {
        content_type: "application/stream+json".to_owned(),
        steps: ndjson
            .chunks(29)
            .map(|piece| Step::Chunk(piece.to_vec()))
            .collect(),
    });
    let gateway = start(single_route(
        "/cohere/chat",
        cohere(
            "llm/v1/chat",
            "command-r",
            &upstream,
            json!({"cohere": {"api_version": "v1"}}),
        ),
    ));

    let mut stream = http::post(&gateway.url("/cohere/chat"))
        .json(&streamed(chat_request(), true))
        .open();

    assert_eq!(stream.status, 200);
    let (chunks, done) = chunks(&mut stream);
    assert!(done);
    assert_eq!(text_of(&chunks), "2");
    assert_eq!(chunks[0]["id"], "10f31c2f-1a4c-48cf-b500-dc8141a25ae5");
    assert_eq!(
        chunks.last().unwrap()["usage"],
        json!({"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10})
    );
    let sent = upstream.only_request();
    assert_reached_cohere(&sent, "/v1/chat");
    assert_eq!(
        sent.json(),
        json!({
            "model": "command-r",
            "preamble": "You are a helpful assistant.",
            "message": "What is 1 + 1?",
            "stream": true,
        })
    );
    wait_for_tokens(&gateway, "route", 9, 1, 10);
}

#[test]
fn embeddings_reach_v2_embed() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        200,
        r#"{"id":"e-1","embeddings":{"float":[[0.25,-0.5,1.0]]},"texts":["The food was delicious"],"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":5}},"response_type":"embeddings_by_type"}"#,
    ));
    let gateway = start(single_route(
        "/cohere/embeddings",
        cohere(
            "llm/v1/embeddings",
            "embed-v4.0",
            &upstream,
            json!({"cohere": {"input_type": "search_query"}}),
        ),
    ));

    let response = http::post(&gateway.url("/cohere/embeddings"))
        .json(&json!({ "input": "The food was delicious", "encoding_format": "float" }))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1.0]}],
            "model": "embed-v4.0",
            "usage": {"prompt_tokens": 5, "total_tokens": 5},
        })
    );
    let sent = upstream.only_request();
    assert_reached_cohere(&sent, "/v2/embed");
    assert_eq!(
        sent.json(),
        json!({
            "model": "embed-v4.0",
            "texts": ["The food was delicious"],
            "input_type": "search_query",
            "embedding_types": ["float"],
        })
    );
    wait_for_stats(&gateway, "route", &[("/tokens/prompt", json!(5))]);
}

#[test]
fn completions_reach_generate() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        200,
        fixture("cohere/llm-v1-completions/responses/good.json"),
    ));
    let gateway = start(single_route(
        "/cohere/completions",
        cohere("llm/v1/completions", "command", &upstream, json!({})),
    ));

    let response = http::post(&gateway.url("/cohere/completions"))
        .json(&json!({ "prompt": "What are you?", "max_tokens": 20 }))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], "1 + 1 is 2.");
    let sent = upstream.only_request();
    assert_reached_cohere(&sent, "/v1/generate");
    assert_eq!(
        sent.json(),
        json!({"model": "command", "prompt": "What are you?", "max_tokens": 20, "stream": false})
    );
}

#[test]
fn cohere_s_errors_keep_their_status_in_openai_s_envelope() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        401,
        fixture("cohere/llm-v1-chat/responses/unauthorized.json"),
    ));
    let gateway = start(single_route(
        "/cohere/chat",
        cohere("llm/v1/chat", CHAT_MODEL, &upstream, json!({})),
    ));

    for request in [chat_request(), streamed(chat_request(), true)] {
        let response = http::post(&gateway.url("/cohere/chat"))
            .json(&request)
            .send();
        let error = assert_error(&response, 401);
        assert_eq!(error["message"], "invalid api token");
        assert_eq!(error["type"], "authentication_error");
    }

    let refused = http::post(&gateway.url("/cohere/chat"))
        .json(&json!({"messages": [{"role": "user", "content": "x"}], "logprobs": true}))
        .send();
    let error = assert_error(&refused, 400);
    assert_eq!(
        error["message"],
        "`logprobs` is not supported by provider cohere"
    );
    assert_eq!(
        upstream.requests().len(),
        2,
        "a refused request never leaves"
    );
}

#[test]
fn the_example_config_passes_check() {
    let dir = ProvidersDir::new(&[Module::Cohere]);
    let example = repo_root().join("config/examples/cohere.yaml");

    let outcome = run(command()
        .arg("check")
        .arg("--config")
        .arg(&example)
        .arg("--providers")
        .arg(dir.path())
        .env("DECK_COHERE_API_KEY", "co-test"));

    assert!(outcome.status.success(), "{outcome:?}");
    assert!(!outcome.stdout.trim().is_empty(), "{outcome:?}");
}
