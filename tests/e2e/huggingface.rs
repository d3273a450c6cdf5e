//! Hugging Face through the gateway, against a mock that speaks the Inference API and TGI: chat
//! on TGI's Messages API (JSON, streamed with usage, a streamed tool call), text generation (JSON
//! and streamed), feature extraction, and a model still loading. The mock records what it
//! received, and each test checks it.

use ai_gateway_tests::{
    config::{merged, single_route},
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Recorded, Reply, Step},
    paths::{fixture, fixture_json, Module},
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, wait_for_stats, wait_for_tokens};

const HF_AUTH: &str = "Bearer hf_configured";

const MODEL: &str = "mistralai/Mistral-7B-Instruct-v0.2";

const EMBEDDINGS_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// An `ai-proxy` config for Hugging Face whose `upstream_url` is the mock's copy of the
/// Inference API path `base_path`, with `wait_for_model` on.
fn huggingface(route_type: &str, model: &str, upstream_url: String) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "header_name": "Authorization", "header_value": HF_AUTH },
        "model": {
            "provider": "huggingface",
            "name": model,
            "options": {
                "upstream_url": upstream_url,
                "huggingface": { "wait_for_model": true },
            },
        },
    })
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::HuggingFace]).start()
}

fn chat_gateway(upstream: &MockUpstream) -> Gateway {
    let base = upstream.url(&format!("/models/{MODEL}"));
    start(single_route(
        "/hf/chat",
        huggingface("llm/v1/chat", MODEL, base),
    ))
}

fn assert_reached_hugging_face(sent: &Recorded, path: &str) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path(), path);
    assert_eq!(sent.header_values("authorization"), vec![HF_AUTH]);
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("x-use-cache"), Some("false"));
    assert_eq!(sent.header("x-wait-for-model"), Some("true"));
}

fn chat_path() -> String {
    format!("/models/{MODEL}/v1/chat/completions")
}

#[test]
fn chat_reaches_tgis_messages_api_and_answers_with_openais_finish_reason() {
    let upstream = MockUpstream::start();
    let answer = fixture("huggingface/llm-v1-chat/responses/good.json");
    upstream.always(Reply::json(200, answer.clone()));
    let gateway = chat_gateway(&upstream);

    let request = fixture_json("huggingface/llm-v1-chat/requests/good.json");
    let response = http::post(&gateway.url("/hf/chat")).json(&request).send();

    assert_eq!(response.status, 200, "{}", response.text());
    let mut expected: Value = serde_json::from_slice(&answer).unwrap();
    // TGI's `eos_token`; Kong answers `complete` and drops the message's role.
    expected["choices"][0]["finish_reason"] = json!("stop");
    assert_eq!(response.json(), expected);
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some(format!("huggingface/{MODEL}").as_str())
    );
    let sent = upstream.only_request();
    assert_reached_hugging_face(&sent, &chat_path());
    let sent_body = sent.json();
    assert_eq!(sent_body["model"], MODEL);
    assert_eq!(sent_body["messages"], request["messages"]);
    assert_eq!(sent_body["stream"], false);
    assert!(sent_body.get("parameters").is_none() && sent_body.get("options").is_none());
    wait_for_tokens(&gateway, "route", 26, 40, 66);
}

/// A TGI 3 chat chunk.
fn tgi_chunk(delta: Value, finish_reason: Value) -> Value {
    json!({
        "object": "chat.completion.chunk", "id": "", "created": 1732000000, "model": MODEL,
        "system_fingerprint": "3.0.1-sha-bb9095a",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        "usage": null,
    })
}

fn tgi_usage_chunk(prompt: u64, completion: u64) -> Value {
    json!({
        "object": "chat.completion.chunk", "id": "", "created": 1732000000, "model": MODEL,
        "system_fingerprint": "3.0.1-sha-bb9095a", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    })
}

/// TGI's chunks as it writes them (`data:` without a space), each event split across two writes.
fn tgi_steps(events: &[Value]) -> Vec<Step> {
    let mut stream: Vec<String> = events.iter().map(|e| format!("data:{e}\n\n")).collect();
    stream.push("data:[DONE]\n\n".to_string());
    stream
        .iter()
        .flat_map(|event| {
            let (a, b) = event.split_at(event.len() / 2);
            [chunk(a), chunk(b)]
        })
        .collect()
}

fn text_events() -> Vec<Value> {
    let text = |content: &str, finish: Value| {
        tgi_chunk(json!({"role": "assistant", "content": content}), finish)
    };
    vec![
        text("1 + 1", Value::Null),
        text(" is 2.", Value::Null),
        text("", json!("eos_token")),
        tgi_usage_chunk(26, 9),
    ]
}

fn streamed_chat(include_usage: bool) -> Value {
    let mut request = merged(chat_request(), json!({ "stream": true }));
    if include_usage {
        request["stream_options"] = json!({ "include_usage": true });
    }
    request
}

fn data(stream: &mut http::Stream) -> Vec<Value> {
    stream
        .events()
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}

#[test]
fn a_streamed_chat_with_include_usage_ends_with_tgis_usage() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(tgi_steps(&text_events())));
    let gateway = chat_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/hf/chat"))
        .json(&streamed_chat(true))
        .open();

    assert_eq!(stream.status, 200);
    let events = data(&mut stream);
    let mut expected = text_events();
    expected[2]["choices"][0]["finish_reason"] = json!("stop");
    expected.push(json!("[DONE]"));
    assert_eq!(events, expected, "TGI's chunks, finish reason mapped");
    let sent = upstream.only_request();
    assert_reached_hugging_face(&sent, &chat_path());
    assert_eq!(sent.json()["stream"], true);
    assert_eq!(
        sent.json()["stream_options"],
        json!({ "include_usage": true })
    );
    wait_for_tokens(&gateway, "route", 26, 9, 35);
}

#[test]
fn a_streamed_chat_without_include_usage_is_metered_all_the_same() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(tgi_steps(&text_events())));
    let gateway = chat_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/hf/chat"))
        .json(&streamed_chat(false))
        .open();

    let events = data(&mut stream);
    assert_eq!(events.len(), 4, "no usage chunk: {events:#?}");
    assert!(events
        .iter()
        .all(|e| e.get("usage").is_none_or(Value::is_null)));
    assert_eq!(
        upstream.only_request().json()["stream_options"],
        json!({ "include_usage": true }),
        "the gateway asks TGI for usage to meter the stream"
    );
    wait_for_tokens(&gateway, "route", 26, 9, 35);
}

#[test]
fn a_streamed_tool_call_reaches_the_client_as_openais_deltas() {
    let call = |name: Value, arguments: &str| {
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "", "type": "function",
               "function": {"name": name, "arguments": arguments}}]})
    };
    let tool_events = vec![
        tgi_chunk(call(json!("add"), "{"), Value::Null),
        tgi_chunk(call(Value::Null, "\"a\": 2, \"b\": 12"), Value::Null),
        tgi_chunk(call(Value::Null, "}"), json!("eos_token")),
        tgi_usage_chunk(310, 21),
    ];
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(tgi_steps(&tool_events)));
    let gateway = chat_gateway(&upstream);
    let tools = fixture_json("openai/llm-v1-chat/requests/good-stream-with-functions.json")
        ["tools"]
        .clone();
    let request = json!({
        "messages": [{"role": "user", "content": "What is 2 + 12?"}],
        "tools": tools, "tool_choice": "auto",
        "stream": true, "stream_options": {"include_usage": true},
    });

    let mut stream = http::post(&gateway.url("/hf/chat")).json(&request).open();

    let events = data(&mut stream);
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|call| call["index"] == 0));
    assert_eq!(calls[0]["function"]["name"], "add");
    let arguments: String = calls
        .iter()
        .filter_map(|call| call["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"a": 2, "b": 12}"#);
    let finishes: Vec<&Value> = events
        .iter()
        .map(|e| &e["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("tool_calls")]);
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    let sent = upstream.only_request().json();
    assert_eq!(sent["tools"], tools);
    assert_eq!(sent["tool_choice"], "auto");
    wait_for_tokens(&gateway, "route", 310, 21, 331);
}

/// A text generation answer with details, as the Inference API lists it.
fn generation_answer() -> Value {
    json!([{
        "generated_text": " I am a language model.",
        "details": {
            "finish_reason": "length", "generated_tokens": 8, "seed": null,
            "prefill": [
                {"id": 1, "text": "<s>", "logprob": null},
                {"id": 1824, "text": "What", "logprob": -9.5},
                {"id": 460, "text": " are", "logprob": -3.1},
            ],
            "tokens": [],
        },
    }])
}

fn completions_gateway(upstream: &MockUpstream) -> Gateway {
    let endpoint = upstream.url(&format!("/models/{MODEL}"));
    start(single_route(
        "/hf/completions",
        huggingface("llm/v1/completions", MODEL, endpoint),
    ))
}

#[test]
fn completions_become_text_generation() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, generation_answer().to_string()));
    let gateway = completions_gateway(&upstream);

    let response = http::post(&gateway.url("/hf/completions"))
        .json(&json!({"prompt": "What are you?", "max_tokens": 8, "temperature": 0.5, "stop": ["\n"]}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["model"], MODEL);
    assert_eq!(
        body["choices"],
        json!([{"text": " I am a language model.", "index": 0, "logprobs": null, "finish_reason": "length"}])
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11})
    );
    let sent = upstream.only_request();
    assert_reached_hugging_face(&sent, &format!("/models/{MODEL}"));
    assert_eq!(
        sent.json(),
        json!({
            "inputs": "What are you?",
            "parameters": {
                "temperature": 0.5, "do_sample": true, "stop": ["\n"], "return_full_text": false,
                "max_new_tokens": 8, "details": true,
            },
            "options": {"use_cache": false, "wait_for_model": true},
            "stream": false,
        })
    );
    wait_for_tokens(&gateway, "route", 3, 8, 11);
}

#[test]
fn a_streamed_completion_becomes_text_completion_chunks() {
    let token = |index: u64, text: &str, special: bool| {
        json!({"index": index, "token": {"id": 100 + index, "text": text, "logprob": -0.2, "special": special},
               "generated_text": null, "details": null})
    };
    let mut last = token(3, "</s>", true);
    last["generated_text"] = json!(" I am");
    last["details"] = json!({"finish_reason": "eos_token", "generated_tokens": 3, "seed": null, "input_length": 5});
    let events = [token(1, " I", false), token(2, " am", false), last];
    let steps: Vec<Step> = events
        .iter()
        .map(|e| chunk(&format!("data:{e}\n\n")))
        .collect();
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(steps));
    let gateway = completions_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/hf/completions"))
        .json(&json!({"prompt": "What are you?", "stream": true, "stream_options": {"include_usage": true}}))
        .open();

    let events = data(&mut stream);
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| e["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [" I", " am", ""],
        "the special token's text is left out"
    );
    assert!(events[..4]
        .iter()
        .all(|e| e["object"] == "text_completion" && e["id"] == events[0]["id"]));
    assert_eq!(events[2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        events[3]["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    );
    assert_eq!(events[4], json!("[DONE]"));
    let sent = upstream.only_request().json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["inputs"], "What are you?");
    wait_for_tokens(&gateway, "route", 5, 3, 8);
}

#[test]
fn embeddings_go_to_feature_extraction() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, "[[0.25,-0.5,0.125],[1.0,0.0,-0.001]]"));
    let endpoint = upstream.url(&format!("/pipeline/feature-extraction/{EMBEDDINGS_MODEL}"));
    let gateway = start(single_route(
        "/hf/embeddings",
        huggingface("llm/v1/embeddings", EMBEDDINGS_MODEL, endpoint),
    ));

    let response = http::post(&gateway.url("/hf/embeddings"))
        .json(&json!({"input": ["The food was delicious", "The waiter was friendly"]}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 0.125]},
                {"object": "embedding", "index": 1, "embedding": [1.0, 0.0, -0.001]},
            ],
            "model": EMBEDDINGS_MODEL,
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        })
    );
    let sent = upstream.only_request();
    assert_reached_hugging_face(
        &sent,
        &format!("/pipeline/feature-extraction/{EMBEDDINGS_MODEL}"),
    );
    assert_eq!(
        sent.json(),
        json!({
            "inputs": ["The food was delicious", "The waiter was friendly"],
            "options": {"use_cache": false, "wait_for_model": true},
        })
    );
    wait_for_stats(&gateway, "route", &[("/requests", json!(1))]);
}

#[test]
fn a_loading_model_is_a_503_in_openais_envelope() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        503,
        fixture("huggingface/llm-v1-chat/responses/bad_response_model_load.json"),
    ));
    let gateway = chat_gateway(&upstream);

    let response = http::post(&gateway.url("/hf/chat"))
        .json(&chat_request())
        .send();

    let error = assert_error(&response, 503);
    assert_eq!(
        error["message"],
        "Model mistralai/Mistral-7B-Instruct-v0.2 is currently loading (estimated time until the model is loaded: 306 s)"
    );
    assert_eq!(error["type"], "service_unavailable");
}

#[test]
fn what_tgi_would_ignore_is_a_400_before_anything_is_sent() {
    let upstream = MockUpstream::start();
    let gateway = chat_gateway(&upstream);

    let response = http::post(&gateway.url("/hf/chat"))
        .json(&merged(chat_request(), json!({"top_k": 5})))
        .send();

    let error = assert_error(&response, 400);
    assert_eq!(
        error["message"],
        "`top_k` is not supported by provider huggingface"
    );
    assert!(upstream.requests().is_empty());
}
