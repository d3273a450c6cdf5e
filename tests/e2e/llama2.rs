//! Self-hosted Llama through the gateway: a mock Ollama server (JSON replies, NDJSON streams, tool
//! calls, embeddings, errors) and a mock TGI server (Llama chat template, SSE token streams). Each
//! test checks what the upstream received as well as what the client got.

use ai_gateway_tests::{
    config::{deck, service, single_route},
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Reply, Step},
    paths::Module,
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, wait_for_tokens};

const MODEL: &str = "llama3.2:1b";

/// An `ai-proxy` config for llama2 in `format` at `upstream_url`, as Kong's seed config writes it.
fn llama2(route_type: &str, model: &str, format: &str, upstream_url: &str) -> Value {
    json!({
        "route_type": route_type,
        "model": {
            "provider": "llama2",
            "name": model,
            "options": { "llama2_format": format, "upstream_url": upstream_url },
        },
    })
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::Llama2]).start()
}

fn ndjson(lines: &[Value]) -> Vec<Step> {
    lines
        .iter()
        .map(|line| chunk(&format!("{line}\n")))
        .collect()
}

fn ollama_line(message: Value, done: bool) -> Value {
    json!({"model": MODEL, "created_at": "2025-07-07T20:22:19.184789Z", "message": message, "done": done})
}

fn ollama_done(done_reason: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "model": MODEL, "created_at": "2025-07-07T20:22:19.19314Z",
        "message": {"role": "assistant", "content": ""},
        "done_reason": done_reason, "done": true, "total_duration": 182242375, "load_duration": 41295167,
        "prompt_eval_count": prompt, "prompt_eval_duration": 24573166, "eval_count": completion, "eval_duration": 115959084,
    })
}

fn streamed_chat(include_usage: bool) -> Value {
    let mut request = chat_request();
    request["stream"] = json!(true);
    if include_usage {
        request["stream_options"] = json!({"include_usage": true});
    }
    request
}

/// The JSON payloads of a stream's events, `[DONE]` as a string.
fn payloads(stream: &mut http::Stream) -> Vec<Value> {
    stream
        .events()
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}

#[test]
fn ollama_chat_through_kongs_seed_route() {
    let upstream = MockUpstream::start();
    let reply = json!({
        "model": MODEL, "created_at": "2023-12-12T14:13:43.416799Z",
        "message": {"role": "assistant", "content": "1 + 1 = 2."},
        "done_reason": "stop", "done": true, "prompt_eval_count": 26, "eval_count": 7,
    });
    upstream.always(Reply::json(200, reply.to_string()));
    let gateway = start(single_route(
        "/ollama-route",
        llama2("llm/v1/chat", MODEL, "ollama", &upstream.url("/api/chat")),
    ));

    let response = http::post(&gateway.url("/ollama-route"))
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("llama2/llama3.2:1b")
    );
    let body = response.json();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["created"], 1702390423);
    assert_eq!(body["model"], MODEL);
    assert_eq!(
        body["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": "1 + 1 = 2.", "refusal": null},
                "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 26, "completion_tokens": 7, "total_tokens": 33})
    );
    let sent = upstream.only_request();
    assert_eq!((sent.method.as_str(), sent.path()), ("POST", "/api/chat"));
    assert_eq!(
        sent.json(),
        json!({"model": MODEL, "messages": chat_request()["messages"], "stream": false}),
        "stream is always written: Ollama streams unless told not to"
    );
    wait_for_tokens(&gateway, "route", 26, 7, 33);
}

#[test]
fn ollama_streamed_chat_with_include_usage() {
    let upstream = MockUpstream::start();
    let lines = [
        ollama_line(json!({"role": "assistant", "content": "The answer"}), false),
        ollama_line(json!({"role": "assistant", "content": " is 2."}), false),
        ollama_done("stop", 26, 282),
    ];
    // One line split across writes, and two lines in one write.
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (a, rest) = text.split_at(40);
    let (b, c) = rest.split_at(rest.len() - 120);
    upstream.always(Reply::Streamed {
        content_type: "application/x-ndjson".to_owned(),
        steps: vec![chunk(a), chunk(b), chunk(c)],
    });
    let gateway = start(single_route(
        "/ollama",
        llama2("llm/v1/chat", MODEL, "ollama", &upstream.url("/api/chat")),
    ));

    let mut stream = http::post(&gateway.url("/ollama"))
        .json(&streamed_chat(true))
        .open();

    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let events = payloads(&mut stream);
    let deltas: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .map(|c| &c["delta"])
        .collect();
    assert_eq!(
        deltas,
        vec![
            &json!({"role": "assistant", "content": ""}),
            &json!({"content": "The answer"}),
            &json!({"content": " is 2."}),
            &json!({}),
        ]
    );
    assert_eq!(events[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[4]["choices"], json!([]));
    assert_eq!(
        events[4]["usage"],
        json!({"prompt_tokens": 26, "completion_tokens": 282, "total_tokens": 308})
    );
    assert_eq!(events[5], json!("[DONE]"));
    assert!(events
        .iter()
        .take(5)
        .all(|e| e["object"] == "chat.completion.chunk" && e["model"] == MODEL));
    let sent = upstream.only_request().json();
    assert_eq!(sent["stream"], true);
    assert!(
        sent.get("stream_options").is_none(),
        "Ollama reports usage without being asked"
    );
    wait_for_tokens(&gateway, "route", 26, 282, 308);
}

#[test]
fn ollama_streamed_tool_call_keeps_its_index() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::Streamed {
        content_type: "application/x-ndjson".to_owned(),
        steps: ndjson(&[
            ollama_line(
                json!({"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": "add", "arguments": {"a": 2, "b": 12}}},
                    {"function": {"name": "multiply", "arguments": {"a": 3, "b": 4}}},
                ]}),
                false,
            ),
            ollama_done("stop", 169, 15),
        ]),
    });
    let gateway = start(single_route(
        "/ollama",
        llama2("llm/v1/chat", MODEL, "ollama", &upstream.url("/api/chat")),
    ));
    let mut request = ai_gateway_tests::paths::fixture_json(
        "openai/llm-v1-chat/requests/good-stream-with-functions.json",
    );
    request["stream_options"] = json!({"include_usage": false});

    let mut stream = http::post(&gateway.url("/ollama")).json(&request).open();

    assert_eq!(stream.status, 200);
    let events = payloads(&mut stream);
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .filter_map(|c| c["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        calls,
        vec![
            &json!([{"index": 0, "id": "call_0", "type": "function", "function": {"name": "add", "arguments": ""}}]),
            &json!([{"index": 0, "function": {"arguments": "{\"a\":2,\"b\":12}"}}]),
            &json!([{"index": 1, "id": "call_1", "type": "function", "function": {"name": "multiply", "arguments": ""}}]),
            &json!([{"index": 1, "function": {"arguments": "{\"a\":3,\"b\":4}"}}]),
        ]
    );
    let finishes: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0].get("finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, vec![&json!("tool_calls")]);
    assert!(events.iter().all(|e| e.get("usage").is_none()));
    let sent = upstream.only_request().json();
    let tools: Vec<&Value> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["function"]["name"])
        .collect();
    assert_eq!(tools, vec![&json!("add"), &json!("multiply")]);
    wait_for_tokens(&gateway, "route", 169, 15, 184);
}

#[test]
fn ollama_embeddings_beside_the_chat_endpoint() {
    let upstream = MockUpstream::start();
    let reply = json!({"model": "all-minilm", "embeddings": [[0.010071029, -0.0017594862], [0.25, 0.5]],
                       "total_duration": 14143917, "load_duration": 1019500, "prompt_eval_count": 8});
    upstream.always(Reply::json(200, reply.to_string()));
    let gateway = start(single_route(
        "/embed",
        llama2(
            "llm/v1/embeddings",
            "all-minilm",
            "ollama",
            &upstream.url("/api/chat"),
        ),
    ));

    let response = http::post(&gateway.url("/embed"))
        .json(&json!({"input": ["Why is the sky blue?", "Why is the grass green?"]}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"object": "list", "model": "all-minilm",
               "data": [{"object": "embedding", "index": 0, "embedding": [0.010071029, -0.0017594862]},
                        {"object": "embedding", "index": 1, "embedding": [0.25, 0.5]}],
               "usage": {"prompt_tokens": 8, "total_tokens": 8}})
    );
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/api/embed");
    assert_eq!(
        sent.json(),
        json!({"model": "all-minilm", "input": ["Why is the sky blue?", "Why is the grass green?"]})
    );
}

#[test]
fn ollama_errors_keep_their_status_and_an_in_stream_error_ends_the_stream() {
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(
        404,
        r#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
    ));
    upstream.reply(Reply::Streamed {
        content_type: "application/x-ndjson".to_owned(),
        steps: vec![
            chunk(&format!("{}\n", ollama_line(json!({"role": "assistant", "content": "Hel"}), false))),
            chunk("{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n"),
        ],
    });
    let gateway = start(single_route(
        "/ollama",
        llama2("llm/v1/chat", MODEL, "ollama", &upstream.url("/api/chat")),
    ));

    let response = http::post(&gateway.url("/ollama"))
        .json(&chat_request())
        .send();
    let error = assert_error(&response, 404);
    assert_eq!(
        error["message"],
        "model \"llama9\" not found, try pulling it first"
    );

    let mut stream = http::post(&gateway.url("/ollama"))
        .json(&streamed_chat(true))
        .open();
    assert_eq!(stream.status, 200);
    let events = payloads(&mut stream);
    assert_eq!(events[1]["choices"][0]["delta"]["content"], "Hel");
    assert_eq!(
        events.last().unwrap()["error"]["message"],
        "upstream llama2: an error was encountered while running the model: unexpected EOF"
    );
    assert!(!events.contains(&json!("[DONE]")));
}

#[test]
fn raw_tgi_chat_uses_the_llama_template_and_reads_the_details() {
    let upstream = MockUpstream::start();
    let reply = json!([{"generated_text": " The sum is 2.", "details": {
        "finish_reason": "eos_token", "generated_tokens": 7, "seed": null, "prefill": [], "tokens": []}}]);
    upstream.always(Reply::json(200, reply.to_string()));
    let gateway = start(single_route(
        "/tgi",
        llama2(
            "llm/v1/chat",
            "meta-llama/Llama-2-7b-chat-hf",
            "raw",
            &upstream.url("/"),
        ),
    ));
    let mut request = chat_request();
    request["messages"] = json!([
        {"role": "system", "content": "You are a mathematician."},
        {"role": "user", "content": "What is 1 + 1?"},
        {"role": "assistant", "content": "2."},
        {"role": "user", "content": "Say it as a sentence."},
    ]);
    request["max_tokens"] = json!(32);

    let response = http::post(&gateway.url("/tgi")).json(&request).send();

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["choices"][0]["message"]["content"], "The sum is 2.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["model"], "meta-llama/Llama-2-7b-chat-hf");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 7, "total_tokens": 7})
    );
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/");
    assert_eq!(
        sent.json(),
        json!({
            "inputs": "<s>[INST] <<SYS>>\nYou are a mathematician.\n<</SYS>>\n\nWhat is 1 + 1? [/INST] 2. </s><s>[INST] Say it as a sentence. [/INST]",
            "parameters": {"max_new_tokens": 32, "details": true, "return_full_text": false},
            "stream": false,
        })
    );
}

#[test]
fn raw_tgi_stream_with_include_usage() {
    let upstream = MockUpstream::start();
    let token = |index: u32, text: &str, special: bool| json!({"index": index, "token": {"id": index, "text": text, "logprob": -0.3, "special": special}, "generated_text": null, "details": null});
    let last = json!({"index": 3, "token": {"id": 128009, "text": "<|eot_id|>", "logprob": 0.0, "special": true},
                      "generated_text": "Two.", "details": {"finish_reason": "eos_token", "generated_tokens": 3, "input_length": 40, "seed": null}});
    let events: Vec<Step> = [token(1, "Two", false), token(2, ".", false), last]
        .iter()
        .map(|e| chunk(&format!("data:{e}\n\n")))
        .collect();
    upstream.always(Reply::sse(events));
    let gateway = start(single_route(
        "/tgi",
        llama2(
            "llm/v1/chat",
            "meta-llama/Meta-Llama-3-8B-Instruct",
            "raw",
            &upstream.url("/generate_stream"),
        ),
    ));

    let mut stream = http::post(&gateway.url("/tgi"))
        .json(&streamed_chat(true))
        .open();

    assert_eq!(stream.status, 200);
    let events = payloads(&mut stream);
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Two.");
    assert_eq!(
        events[events.len() - 3]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(
        events[events.len() - 2]["usage"],
        json!({"prompt_tokens": 40, "completion_tokens": 3, "total_tokens": 43})
    );
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/generate_stream");
    let sent = sent.json();
    assert_eq!(sent["stream"], true);
    assert!(sent["inputs"]
        .as_str()
        .unwrap()
        .starts_with("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"));
    assert!(sent["inputs"]
        .as_str()
        .unwrap()
        .ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));
    wait_for_tokens(&gateway, "route", 40, 3, 43);
}

#[test]
fn one_gateway_serves_every_format() {
    let ollama = MockUpstream::start();
    ollama.always(Reply::json(
        200,
        json!({"model": MODEL, "response": "Once upon a time.", "done": true, "done_reason": "length", "prompt_eval_count": 3, "eval_count": 5}).to_string(),
    ));
    let compatible = MockUpstream::start();
    compatible.always(Reply::json(200, crate::chat_response()));
    let gateway = start(deck(vec![service(
        "llama",
        vec![
            (
                "completions",
                "/ollama/completions",
                llama2(
                    "llm/v1/completions",
                    MODEL,
                    "ollama",
                    &ollama.url("/api/chat"),
                ),
            ),
            (
                "openai",
                "/vllm/chat",
                llama2(
                    "llm/v1/chat",
                    "llama3",
                    "openai",
                    &compatible.url("/v1/chat/completions"),
                ),
            ),
        ],
    )]));

    let completion = http::post(&gateway.url("/ollama/completions"))
        .json(&json!({"prompt": "Once", "max_tokens": 5}))
        .send();
    assert_eq!(completion.status, 200, "{}", completion.text());
    let body = completion.json();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], "Once upon a time.");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    let sent = ollama.only_request();
    assert_eq!(sent.path(), "/api/generate");
    assert_eq!(
        sent.json(),
        json!({"model": MODEL, "prompt": "Once", "options": {"num_predict": 5}, "stream": false})
    );

    let chat = http::post(&gateway.url("/vllm/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(chat.status, 200);
    assert_eq!(
        chat.body,
        crate::chat_response(),
        "an OpenAI-compatible reply is forwarded as sent"
    );
    let sent = compatible.only_request();
    assert_eq!(sent.path(), "/v1/chat/completions");
    assert_eq!(sent.json()["model"], "llama3");
}
