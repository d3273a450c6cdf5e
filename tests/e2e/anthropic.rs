//! Anthropic through the gateway: OpenAI clients in front of a mock that speaks Anthropic's real
//! wire format (Messages JSON, named SSE events, error bodies). The mock records what it
//! received, and each test checks the translated request as well as the client's answer.

use ai_gateway_tests::{
    config::{deck, merged, service, single_route},
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Recorded, Reply, Step},
    paths::{fixture, Module},
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, wait_for_stats, wait_for_tokens};

const ANTHROPIC_KEY: &str = "sk-ant-configured";

const ANTHROPIC_VERSION: &str = "2023-06-01";

const MODEL: &str = "claude-sonnet-4-5";

/// A Messages API response as Anthropic writes it, with cache reads and writes.
const MESSAGE: &str = r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"1 + 1 = 2."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":8,"service_tier":"standard"}}"#;

/// An `ai-proxy` config for Anthropic that sends to `upstream` with `x-api-key` auth.
fn anthropic(route_type: &str, upstream: &MockUpstream) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "header_name": "x-api-key", "header_value": ANTHROPIC_KEY },
        "model": {
            "provider": "anthropic",
            "name": MODEL,
            "options": {
                "anthropic_version": ANTHROPIC_VERSION,
                "upstream_url": upstream.url(""),
            },
        },
    })
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::Anthropic]).start()
}

/// What every request to Anthropic carries: the configured key in `x-api-key` (never the client's
/// `Authorization`), the configured `anthropic-version`, JSON.
fn assert_reached_anthropic(sent: &Recorded, path: &str) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path(), path);
    assert_eq!(sent.header_values("x-api-key"), vec![ANTHROPIC_KEY]);
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.header_values("anthropic-version"),
        vec![ANTHROPIC_VERSION]
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

#[test]
fn chat_is_translated_both_ways() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, MESSAGE));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let response = http::post(&gateway.url("/anthropic/chat"))
        .header("authorization", "Bearer sk-client-key")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .json(&merged(
            chat_request(),
            json!({"max_completion_tokens": 300, "temperature": 0.3, "stop": ["\n\n"]}),
        ))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("anthropic/claude-sonnet-4-5")
    );
    let body = response.json();
    assert_eq!(body["id"], "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(
        body["choices"],
        json!([{
            "index": 0,
            "message": {"role": "assistant", "content": "1 + 1 = 2.", "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }])
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 1120, "completion_tokens": 8, "total_tokens": 1128,
               "prompt_tokens_details": {"cached_tokens": 1000}})
    );

    let sent = upstream.only_request();
    assert_reached_anthropic(&sent, "/v1/messages");
    assert_eq!(
        sent.header_values("anthropic-beta"),
        vec!["prompt-caching-2024-07-31"],
        "the client's beta flags reach Anthropic"
    );
    assert_eq!(
        sent.json(),
        json!({
            "model": MODEL,
            "messages": [{"role": "user", "content": "What is 1 + 1?"}],
            "system": "You are a helpful assistant.",
            "max_tokens": 300,
            "temperature": 0.3,
            "stop_sequences": ["\n\n"],
            "stream": false,
        })
    );
    wait_for_tokens(&gateway, "route", 1120, 8, 1128);
}

/// Anthropic's `basic_response.txt` transcript, cut into writes at awkward places: inside an
/// event name, between `data:` and its value, inside a JSON string, between the two newlines
/// that end an event.
fn basic_stream_steps() -> Vec<Step> {
    let stream = String::from_utf8(
        std::fs::read(
            ai_gateway_tests::paths::repo_root()
                .join("../shared/specs/anthropic/sse-fixtures/basic_response.txt"),
        )
        .unwrap(),
    )
    .unwrap();
    let cuts = [
        stream.find("message_start").unwrap() + 7,
        stream.find("content_block_start").unwrap() + 19 + 6,
        stream.find("\"Hello\"").unwrap() + 3,
        stream.find("\" there\"").unwrap() + 8 + 3,
        stream.find("message_delta").unwrap() - 1,
    ];
    let mut steps = Vec::new();
    let mut from = 0;
    for cut in cuts {
        steps.push(chunk(&stream[from..cut]));
        from = cut;
    }
    steps.push(chunk(&stream[from..]));
    steps
}

fn streamed(request: Value, include_usage: bool) -> Value {
    let mut request = merged(request, json!({ "stream": true }));
    if include_usage {
        request["stream_options"] = json!({ "include_usage": true });
    }
    request
}

fn data_events(stream: &mut http::Stream) -> Vec<Value> {
    stream
        .events()
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}

#[test]
fn a_stream_with_include_usage_ends_with_anthropics_own_counts() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(basic_stream_steps()));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let mut stream = http::post(&gateway.url("/anthropic/chat"))
        .json(&streamed(chat_request(), true))
        .open();

    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let events = data_events(&mut stream);
    let id = "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK";
    for event in &events[..events.len() - 1] {
        assert_eq!(event["id"], id, "{event}");
        assert_eq!(event["object"], "chat.completion.chunk");
        assert_eq!(event["model"], "claude-3-opus-latest");
    }
    let deltas: Vec<&Value> = events.iter().map(|e| &e["choices"][0]["delta"]).collect();
    assert_eq!(deltas[0], &json!({"role": "assistant", "content": ""}));
    let text: String = deltas
        .iter()
        .filter_map(|d| d["content"].as_str())
        .collect();
    assert_eq!(text, "Hello there!");
    let finish: Vec<&Value> = events
        .iter()
        .map(|e| &e["choices"][0]["finish_reason"])
        .filter(|r| !r.is_null())
        .collect();
    assert_eq!(finish, vec!["stop"]);
    // message_start says 11 in and 1 out, message_delta 6 out so far: 6 is the total.
    let usage_chunk = &events[events.len() - 2];
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"],
        json!({"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17})
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));

    let sent = upstream.only_request();
    assert_reached_anthropic(&sent, "/v1/messages");
    assert_eq!(sent.json()["stream"], true);
    assert!(sent.json().get("stream_options").is_none());
    wait_for_tokens(&gateway, "route", 11, 6, 17);
}

#[test]
fn a_stream_without_include_usage_is_metered_all_the_same() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(basic_stream_steps()));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let mut stream = http::post(&gateway.url("/anthropic/chat"))
        .json(&streamed(chat_request(), false))
        .open();

    let events = data_events(&mut stream);
    assert!(
        events.iter().all(|e| e.get("usage").is_none()),
        "{events:#?}"
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    wait_for_tokens(&gateway, "route", 11, 6, 17);
}

/// An Anthropic stream from `(event name, data)` pairs.
fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn input_json(index: u64, partial_json: &str) -> (&'static str, Value) {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": partial_json}}),
    )
}

fn block_stop(index: u64) -> (&'static str, Value) {
    (
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    )
}

fn tool_use_start(index: u64, id: &str, name: &str) -> (&'static str, Value) {
    (
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
    )
}

/// Text, then two tool calls whose arguments arrive in fragments; each fragment and each event
/// is its own write, and the first call's arguments are also cut mid-event.
fn two_tool_calls_steps() -> Vec<Step> {
    let head = sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01Tools", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 640, "cache_read_input_tokens": 0, "output_tokens": 2}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Adding and multiplying."}}),
        ),
        block_stop(0),
        tool_use_start(1, "toolu_01Add", "add"),
        input_json(1, ""),
    ]);
    let first_arguments = sse(&[input_json(1, "{\"a\": 2"), input_json(1, ", \"b\": 12}")]);
    let (first_half, second_half) = first_arguments.split_at(first_arguments.len() / 2);
    let rest = [
        block_stop(1),
        tool_use_start(2, "toolu_02Mul", "multiply"),
        input_json(2, "{\"a\""),
        input_json(2, ": 3, \"b\": 4}"),
        block_stop(2),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 97}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let mut steps = vec![chunk(&head), chunk(first_half), chunk(second_half)];
    steps.extend(
        rest.iter()
            .map(|event| chunk(&sse(std::slice::from_ref(event)))),
    );
    steps
}

fn tools_request() -> Value {
    json!({
        "messages": [{"role": "user", "content": "What are 2 + 12 and 3 * 4?"}],
        "tools": [
            {"type": "function", "function": {"name": "add", "description": "Adds two numbers", "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}}},
            {"type": "function", "function": {"name": "multiply", "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}},
        ],
        "stream": true,
    })
}

#[test]
fn a_streamed_tool_call_keeps_both_calls_with_their_arguments() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(two_tool_calls_steps()));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let mut stream = http::post(&gateway.url("/anthropic/chat"))
        .json(&tools_request())
        .open();

    let events = data_events(&mut stream);
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    let starts: Vec<(u64, &str, &str)> = calls
        .iter()
        .filter(|c| c.get("id").is_some())
        .map(|c| {
            (
                c["index"].as_u64().unwrap(),
                c["id"].as_str().unwrap(),
                c["function"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        vec![(0, "toolu_01Add", "add"), (1, "toolu_02Mul", "multiply")]
    );
    let arguments = |index: u64| -> Value {
        let joined: String = calls
            .iter()
            .filter(|c| c["index"] == index)
            .map(|c| c["function"]["arguments"].as_str().unwrap())
            .collect();
        serde_json::from_str(&joined).unwrap()
    };
    assert_eq!(arguments(0), json!({"a": 2, "b": 12}));
    assert_eq!(arguments(1), json!({"a": 3, "b": 4}));
    let fragments = calls.iter().filter(|c| c.get("id").is_none()).count();
    assert_eq!(fragments, 4, "each fragment as Anthropic streamed it");
    let finish: Vec<&Value> = events
        .iter()
        .map(|e| &e["choices"][0]["finish_reason"])
        .filter(|r| !r.is_null())
        .collect();
    assert_eq!(finish, vec!["tool_calls"]);
    assert_eq!(events.last(), Some(&json!("[DONE]")));

    let sent = upstream.only_request().json();
    assert_eq!(
        sent["tools"][0],
        json!({"name": "add", "description": "Adds two numbers", "input_schema": tools_request()["tools"][0]["function"]["parameters"]})
    );
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));
    wait_for_tokens(&gateway, "route", 640, 97, 737);
}

#[test]
fn a_tool_conversation_goes_upstream_in_anthropics_turns() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, MESSAGE));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));
    let mut request = tools_request();
    request["stream"] = json!(false);
    request["parallel_tool_calls"] = json!(false);
    request["messages"] = json!([
        {"role": "system", "content": "Use the tools."},
        {"role": "user", "content": "What are 2 + 12 and 3 * 4?"},
        {"role": "assistant", "content": "Adding and multiplying.", "tool_calls": [
            {"id": "toolu_01Add", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
            {"id": "toolu_02Mul", "type": "function", "function": {"name": "multiply", "arguments": "{\"a\": 3, \"b\": 4}"}},
        ]},
        {"role": "tool", "tool_call_id": "toolu_01Add", "content": "14"},
        {"role": "tool", "tool_call_id": "toolu_02Mul", "content": "12"},
    ]);

    let response = http::post(&gateway.url("/anthropic/chat"))
        .json(&request)
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    let sent = upstream.only_request().json();
    assert_eq!(sent["system"], "Use the tools.");
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "What are 2 + 12 and 3 * 4?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Adding and multiplying."},
                {"type": "tool_use", "id": "toolu_01Add", "name": "add", "input": {"a": 2, "b": 12}},
                {"type": "tool_use", "id": "toolu_02Mul", "name": "multiply", "input": {"a": 3, "b": 4}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01Add", "content": "14"},
                {"type": "tool_result", "tool_use_id": "toolu_02Mul", "content": "12"},
            ]},
        ])
    );
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
}

#[test]
fn anthropic_errors_reach_the_client_as_openai_errors_with_their_status() {
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(
        401,
        fixture("anthropic/llm-v1-chat/responses/unauthorized.json"),
    ));
    upstream.reply(Reply::body(
        529,
        "application/json",
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011"}"#,
    ));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let unauthorized = http::post(&gateway.url("/anthropic/chat"))
        .json(&chat_request())
        .send();
    let overloaded = http::post(&gateway.url("/anthropic/chat"))
        .json(&streamed(chat_request(), true))
        .send();

    let error = assert_error(&unauthorized, 401);
    assert_eq!(
        error,
        json!({"message": "Invalid API Key", "type": "authentication_error", "param": null, "code": "authentication_error"})
    );
    let error = assert_error(&overloaded, 529);
    assert_eq!(error["type"], "server_error");
    assert_eq!(error["code"], "overloaded_error");
    assert_eq!(error["message"], "Overloaded");
}

#[test]
fn an_error_event_mid_stream_becomes_an_sse_error_and_the_stream_ends() {
    let upstream = MockUpstream::start();
    let stream = sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Par"}}),
        ),
        (
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ]);
    upstream.always(Reply::sse(vec![chunk(&stream)]));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let mut response = http::post(&gateway.url("/anthropic/chat"))
        .json(&streamed(chat_request(), true))
        .open();

    assert_eq!(response.status, 200);
    let events = data_events(&mut response);
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[1]["choices"][0]["delta"]["content"], "Par");
    assert_eq!(
        events[2],
        json!({"error": {"message": "Overloaded", "type": "server_error", "param": null, "code": "overloaded_error"}})
    );
}

#[test]
fn completions_use_anthropics_turn_format() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        200,
        fixture("anthropic/llm-v1-completions/responses/good.json"),
    ));
    let gateway = start(single_route(
        "/anthropic/completions",
        anthropic("llm/v1/completions", &upstream),
    ));

    let response = http::post(&gateway.url("/anthropic/completions"))
        .json(&json!({"prompt": "What are you?", "max_tokens": 64}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], " Hello! My name is Claude.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let sent = upstream.only_request();
    assert_reached_anthropic(&sent, "/v1/complete");
    assert_eq!(
        sent.json(),
        json!({
            "model": MODEL,
            "prompt": "\n\nHuman: What are you?\n\nAssistant:",
            "max_tokens_to_sample": 64,
            "stream": false,
        })
    );
}

#[test]
fn what_anthropic_cannot_honour_is_a_400_and_nothing_is_sent() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, MESSAGE));
    let gateway = start(single_route(
        "/anthropic/chat",
        anthropic("llm/v1/chat", &upstream),
    ));

    let response = http::post(&gateway.url("/anthropic/chat"))
        .json(&merged(
            chat_request(),
            json!({"seed": 42, "response_format": {"type": "json_object"}}),
        ))
        .send();

    let error = assert_error(&response, 400);
    assert_eq!(
        error["message"],
        "`seed`, `response_format` are not supported by provider anthropic; the Messages API \
         has no `response_format` parameter"
    );
    assert!(upstream.requests().is_empty());
}

#[test]
fn preserve_forwards_anthropics_own_api_and_meters_it() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, MESSAGE));
    let mut config = anthropic("preserve", &upstream);
    config["model"]["name"] = Value::Null;
    let gateway = start(deck(vec![service(
        "svc",
        vec![("native", "/v1/messages", config)],
    )]));
    let native = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}],
    });

    let response = http::post(&gateway.url("/v1/messages"))
        .header("anthropic-version", "2023-01-01")
        .json(&native)
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.body, MESSAGE.as_bytes(), "forwarded byte for byte");
    let sent = upstream.only_request();
    assert_reached_anthropic(&sent, "/v1/messages");
    assert_eq!(sent.json(), native, "the client's body, untouched");
    wait_for_stats(
        &gateway,
        "native",
        &[
            ("/tokens/prompt", json!(1120)),
            ("/tokens/completion", json!(8)),
        ],
    );
}
