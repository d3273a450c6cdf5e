//! Google Gemini through the gateway: a mock that speaks Gemini's real wire format (JSON,
//! `alt=sse` streams, streamed JSON arrays, Google's errors) checks the API key in the
//! `x-goog-api-key` header or the `key` query parameter, or a service account's Bearer token on
//! Vertex AI, and records what it received.

use ai_gateway_tests::{
    config::{deck, merged, service, single_route},
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Recorded, Reply, Step},
    paths::{fixture, repo_root, Module},
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, wait_for_stats, wait_for_tokens};

const GEMINI_KEY: &str = "AIza-configured-key";
const MODEL: &str = "gemini-2.0-flash";

/// An `ai-proxy` config for the Gemini API at `upstream` with the key in `x-goog-api-key`.
fn gemini(route_type: &str, model: &str, upstream: &MockUpstream) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "header_name": "x-goog-api-key", "header_value": GEMINI_KEY },
        "model": {
            "provider": "gemini",
            "name": model,
            "options": { "upstream_url": upstream.url("") },
        },
    })
}

/// Checks every body `upstream` received against the Vertex AI discovery document's schema for
/// its method (the Gemini API takes the same shapes).
fn assert_bodies_conform(upstream: &MockUpstream) {
    for request in upstream.requests() {
        let schema = match request.path().rsplit(':').next() {
            Some("generateContent" | "streamGenerateContent") => "GenerateContentRequest",
            Some("embedContent") => "EmbedContentRequest",
            Some("batchEmbedContents") => "BatchEmbedContentsRequest",
            Some("predict") => "PredictRequest",
            other => panic!("unexpected method {other:?} in {}", request.target),
        };
        spec_check::assert_discovery(
            "vertex-ai/aiplatform.v1.json",
            &format!("GoogleCloudAiplatformV1{schema}"),
            &request.json(),
        );
    }
}

fn start(config: Value) -> Gateway {
    Serve::new(config).modules(&[Module::Gemini]).start()
}

fn assert_key_in_header(sent: &Recorded) {
    assert_eq!(sent.header_values("x-goog-api-key"), vec![GEMINI_KEY]);
    assert_eq!(
        sent.header("authorization"),
        None,
        "the client's own key stays with the gateway"
    );
    assert!(sent.query_values("key").is_empty());
}

/// One `alt=sse` event.
fn event(response: &Value) -> String {
    format!("data: {response}\r\n\r\n")
}

/// A streamed answer as Gemini sends it with `alt=sse`: text in two events, usage on each, the
/// finish and the full counts on the last.
fn text_stream_events() -> Vec<String> {
    let first = json!({
        "candidates": [{"content": {"parts": [{"text": "1 + 1"}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 11, "totalTokenCount": 11},
        "modelVersion": "gemini-2.0-flash-001", "responseId": "gemini-resp-1",
    });
    let last = json!({
        "candidates": [{"content": {"parts": [{"text": " = 2."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 6, "totalTokenCount": 17},
        "modelVersion": "gemini-2.0-flash-001", "responseId": "gemini-resp-1",
    });
    vec![event(&first), event(&last)]
}

/// The events split mid-event and mid-CRLF, so that the gateway sees partial frames.
fn split_steps(events: &[String]) -> Vec<Step> {
    let whole: String = events.concat();
    let (a, rest) = whole.split_at(whole.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2 + 1);
    vec![chunk(a), chunk(b), chunk(c)]
}

fn streamed_chat(include_usage: bool) -> Value {
    let mut request = merged(chat_request(), json!({ "stream": true }));
    if include_usage {
        request["stream_options"] = json!({ "include_usage": true });
    }
    request
}

fn data(events: Vec<http::Event>) -> Vec<Value> {
    events
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}

#[test]
fn chat_goes_to_generate_content_with_the_key_in_its_header() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        200,
        fixture("gemini/llm-v1-chat/responses/good.json"),
    ));
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));

    let response = http::post(&gateway.url("/gemini/chat"))
        .header("authorization", "Bearer sk-client")
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("gemini/gemini-2.0-flash")
    );
    let body = response.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gemini-1.5-flash-002");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Everything is okay."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 11, "total_tokens": 13})
    );
    let sent = upstream.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.target,
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_key_in_header(&sent);
    assert_eq!(
        sent.json(),
        json!({
            "contents": [{"role": "user", "parts": [{"text": "What is 1 + 1?"}]}],
            "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
        })
    );
    assert_bodies_conform(&upstream);
    wait_for_tokens(&gateway, "route", 2, 11, 13);
}

#[test]
fn the_key_goes_in_the_query_when_auth_says_so() {
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(
        200,
        fixture("gemini/llm-v1-chat/responses/good.json"),
    ));
    upstream.reply(Reply::sse(split_steps(&text_stream_events())));
    let mut config = gemini("llm/v1/chat", MODEL, &upstream);
    config["auth"] =
        json!({ "param_name": "key", "param_value": GEMINI_KEY, "param_location": "query" });
    let gateway = start(single_route("/gemini/chat", config));

    let plain = http::post(&gateway.url("/gemini/chat"))
        .json(&chat_request())
        .send();
    let mut stream = http::post(&gateway.url("/gemini/chat"))
        .json(&streamed_chat(false))
        .open();
    let events = stream.events();

    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(events.last().map(|e| e.data.as_str()), Some("[DONE]"));
    let requests = upstream.requests();
    assert_eq!(
        requests[0].path(),
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(requests[0].query(), format!("key={GEMINI_KEY}"));
    assert_eq!(
        requests[1].path(),
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    );
    assert_eq!(requests[1].query_values("alt"), vec!["sse"]);
    assert_eq!(requests[1].query_values("key"), vec![GEMINI_KEY]);
    for request in &requests {
        assert_eq!(request.header("x-goog-api-key"), None);
    }
    assert_bodies_conform(&upstream);
}

#[test]
fn a_streamed_chat_with_include_usage_ends_with_gemini_s_usage() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(split_steps(&text_stream_events())));
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));

    let mut stream = http::post(&gateway.url("/gemini/chat"))
        .json(&streamed_chat(true))
        .open();

    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let events = data(stream.events());
    assert_eq!(
        events.len(),
        6,
        "role, 2 deltas, finish, usage, [DONE]: {events:#?}"
    );
    for chunk in &events[..5] {
        assert_eq!(chunk["id"], "gemini-resp-1");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "gemini-2.0-flash-001");
        assert!(chunk["created"].as_u64().is_some());
    }
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "1 + 1 = 2.");
    assert_eq!(events[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        events[4]["usage"],
        json!({"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17})
    );
    assert_eq!(events[5], "[DONE]");
    let sent = upstream.only_request();
    assert_eq!(
        sent.target,
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    assert_key_in_header(&sent);
    assert_bodies_conform(&upstream);
    wait_for_tokens(&gateway, "route", 11, 6, 17);
}

#[test]
fn a_json_array_stream_is_translated_and_metered_without_the_usage_chunk() {
    let upstream = MockUpstream::start();
    let stream = [
        fixture("unit/streaming-chunk-formats/partial-json-beginning/input.bin"),
        fixture("unit/streaming-chunk-formats/partial-json-end/input.bin"),
    ]
    .concat();
    let (a, b) = stream.split_at(stream.len() / 2 + 7);
    upstream.always(Reply::Streamed {
        content_type: "application/json; charset=UTF-8".into(),
        steps: vec![Step::Chunk(a.to_vec()), Step::Chunk(b.to_vec())],
    });
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));

    let events = data(
        http::post(&gateway.url("/gemini/chat"))
            .json(&streamed_chat(false))
            .open()
            .events(),
    );

    assert!(events.iter().all(|e| e.get("usage").is_none()));
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.starts_with("The theory of relativity"), "{text}");
    assert!(
        text.ends_with("introductory materials available. \n"),
        "{text}"
    );
    assert_eq!(
        events[events.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert_bodies_conform(&upstream);
    wait_for_tokens(&gateway, "route", 6, 547, 553);
}

#[test]
fn a_streamed_tool_call_reaches_the_client_with_index_id_and_arguments() {
    let upstream = MockUpstream::start();
    let call = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "add", "args": {"a": 2, "b": 12}}},
        ]}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 70, "totalTokenCount": 70},
        "modelVersion": "gemini-2.0-flash-001",
    });
    let finish = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 70, "candidatesTokenCount": 5, "totalTokenCount": 75},
        "modelVersion": "gemini-2.0-flash-001",
    });
    upstream.always(Reply::sse(split_steps(&[event(&call), event(&finish)])));
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));
    let mut request = ai_gateway_tests::paths::fixture_json(
        "openai/llm-v1-chat/requests/good-stream-with-functions.json",
    );
    request["stream_options"] = json!({ "include_usage": true });
    request["tool_choice"] = json!("required");

    let events = data(
        http::post(&gateway.url("/gemini/chat"))
            .json(&request)
            .open()
            .events(),
    );

    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls.len(), 2, "{events:#?}");
    let start = &calls[0][0];
    assert_eq!(start["index"], 0);
    assert!(start["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(start["type"], "function");
    assert_eq!(start["function"], json!({"name": "add", "arguments": ""}));
    assert_eq!(
        calls[1][0],
        json!({"index": 0, "function": {"arguments": "{\"a\":2,\"b\":12}"}})
    );
    assert_eq!(
        events[events.len() - 3]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    assert_eq!(events[events.len() - 2]["usage"]["total_tokens"], 75);
    let sent = upstream.only_request().json();
    assert_eq!(
        sent["tools"][0]["functionDeclarations"][0]["parameters"]["type"],
        "OBJECT"
    );
    assert_eq!(
        sent["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(sent["generationConfig"], json!({"temperature": 0.7}));
    assert_bodies_conform(&upstream);
    wait_for_stats(&gateway, "route", &[("/tokens/total", json!(75))]);
}

#[test]
fn an_error_inside_the_stream_is_an_sse_error_event_and_the_end() {
    let upstream = MockUpstream::start();
    let partial = json!({"candidates": [{"content": {"parts": [{"text": "Partial"}], "role": "model"}, "index": 0}]});
    let error = json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}});
    upstream.always(Reply::sse(vec![
        chunk(&event(&partial)),
        chunk(&event(&error)),
    ]));
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));

    let events = data(
        http::post(&gateway.url("/gemini/chat"))
            .json(&streamed_chat(true))
            .open()
            .events(),
    );

    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[1]["choices"][0]["delta"]["content"], "Partial");
    assert_eq!(
        events[2],
        json!({"error": {
            "message": "The model is overloaded. Please try again later.",
            "type": "service_unavailable", "param": null, "code": "UNAVAILABLE",
        }})
    );
}

#[test]
fn googles_error_keeps_its_status_in_openais_envelope() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        429,
        r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#,
    ));
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));

    for request in [chat_request(), streamed_chat(true)] {
        let response = http::post(&gateway.url("/gemini/chat"))
            .json(&request)
            .send();
        let error = assert_error(&response, 429);
        assert_eq!(
            error["message"],
            "Resource has been exhausted (e.g. check quota)."
        );
        assert_eq!(error["type"], "rate_limit_error");
        assert_eq!(error["code"], "RESOURCE_EXHAUSTED");
    }
}

#[test]
fn completions_and_embeddings_use_their_methods() {
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(
        200,
        fixture("gemini/llm-v1-chat/responses/good.json"),
    ));
    upstream.reply(Reply::json(
        200,
        json!({"embeddings": [{"values": [0.5, -0.25]}, {"values": [0.125, 1.0]}]}).to_string(),
    ));
    let gateway = start(deck(vec![service(
        "gemini",
        vec![
            (
                "completions",
                "/gemini/completions",
                gemini("llm/v1/completions", MODEL, &upstream),
            ),
            (
                "embeddings",
                "/gemini/embeddings",
                gemini("llm/v1/embeddings", "text-embedding-004", &upstream),
            ),
        ],
    )]));

    let completion = http::post(&gateway.url("/gemini/completions"))
        .json(&json!({ "prompt": "What are you?" }))
        .send();
    let embeddings = http::post(&gateway.url("/gemini/embeddings"))
        .json(&json!({ "input": ["first", "second"] }))
        .send();

    assert_eq!(completion.status, 200, "{}", completion.text());
    let completion = completion.json();
    assert_eq!(completion["object"], "text_completion");
    assert_eq!(completion["choices"][0]["text"], "Everything is okay.");
    assert_eq!(embeddings.status, 200, "{}", embeddings.text());
    assert_eq!(
        embeddings.json()["data"],
        json!([
            {"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
            {"object": "embedding", "index": 1, "embedding": [0.125, 1.0]},
        ])
    );
    let requests = upstream.requests();
    assert_eq!(
        requests[0].path(),
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(
        requests[0].json()["contents"],
        json!([{"role": "user", "parts": [{"text": "What are you?"}]}])
    );
    assert_eq!(
        requests[1].path(),
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(
        requests[1].json()["requests"][1],
        json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "second"}]}})
    );
    for request in &requests {
        assert_key_in_header(request);
    }
    assert_bodies_conform(&upstream);
}

/// A service account key file's JSON, holding the repository's test-only RSA key, whose token
/// endpoint is `token_uri`.
fn service_account(token_uri: &str) -> String {
    let key = std::fs::read_to_string(repo_root().join("gateway/testdata/gcp-test-key.pem"))
        .expect("the test key in gateway/testdata");
    json!({
        "type": "service_account",
        "project_id": "kong-project",
        "private_key_id": "e2e-key-id",
        "private_key": key,
        "client_email": "gateway@kong-project.iam.gserviceaccount.com",
        "token_uri": token_uri,
    })
    .to_string()
}

#[test]
fn vertex_routes_send_the_service_accounts_token_to_the_projects_model() {
    let tokens = MockUpstream::start();
    tokens.always(Reply::json(
        200,
        json!({ "access_token": "ya29.vertex-token", "expires_in": 3599, "token_type": "Bearer" })
            .to_string(),
    ));
    let upstream = MockUpstream::start();
    upstream.reply(Reply::sse(split_steps(&text_stream_events())));
    upstream.reply(Reply::json(
        200,
        json!({"predictions": [{"embeddings": {"values": [0.5], "statistics": {"truncated": false, "token_count": 4}}}]})
            .to_string(),
    ));
    let vertex = |route_type: &str, model: &str| {
        json!({
            "route_type": route_type,
            "auth": {
                "gcp_use_service_account": true,
                "gcp_service_account_json": service_account(&tokens.url("/token")),
            },
            "model": {
                "provider": "gemini",
                "name": model,
                "options": {
                    "upstream_url": upstream.url(""),
                    "gemini": {
                        "api_endpoint": "us-central1-aiplatform.googleapis.com",
                        "project_id": "kong-project",
                        "location_id": "us-central1",
                    },
                },
            },
        })
    };
    let gateway = start(deck(vec![service(
        "vertex",
        vec![
            (
                "vertex-chat",
                "/vertex/chat",
                vertex("llm/v1/chat", "gemini-1.5-pro"),
            ),
            (
                "vertex-embeddings",
                "/vertex/embeddings",
                vertex("llm/v1/embeddings", "text-embedding-005"),
            ),
        ],
    )]));

    let events = data(
        http::post(&gateway.url("/vertex/chat"))
            .json(&streamed_chat(true))
            .open()
            .events(),
    );
    let embeddings = http::post(&gateway.url("/vertex/embeddings"))
        .json(&json!({ "input": "The food was delicious" }))
        .send();

    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert_eq!(events[events.len() - 2]["usage"]["total_tokens"], 17);
    assert_eq!(embeddings.status, 200, "{}", embeddings.text());
    assert_eq!(
        embeddings.json()["usage"],
        json!({"prompt_tokens": 4, "total_tokens": 4})
    );
    let requests = upstream.requests();
    let model_path = "/v1/projects/kong-project/locations/us-central1/publishers/google/models";
    assert_eq!(
        requests[0].target,
        format!("{model_path}/gemini-1.5-pro:streamGenerateContent?alt=sse")
    );
    assert_eq!(
        requests[1].target,
        format!("{model_path}/text-embedding-005:predict")
    );
    assert_eq!(
        requests[1].json(),
        json!({"instances": [{"content": "The food was delicious"}]})
    );
    for request in &requests {
        assert_eq!(
            request.header_values("authorization"),
            vec!["Bearer ya29.vertex-token"]
        );
        assert_eq!(request.header("x-goog-api-key"), None);
    }
    let exchanges = tokens.requests();
    assert_eq!(
        exchanges.len(),
        2,
        "one exchange per route, each caches its token"
    );
    assert!(exchanges.iter().all(|exchange| exchange.target == "/token"));
    assert_bodies_conform(&upstream);
    wait_for_stats(
        &gateway,
        "vertex-embeddings",
        &[("/tokens/prompt", json!(4))],
    );
}

#[test]
fn parameters_gemini_cannot_honour_are_refused_before_anything_is_sent() {
    let upstream = MockUpstream::start();
    let gateway = start(single_route(
        "/gemini/chat",
        gemini("llm/v1/chat", MODEL, &upstream),
    ));

    let response = http::post(&gateway.url("/gemini/chat"))
        .json(&merged(chat_request(), json!({ "logprobs": true })))
        .send();

    let error = assert_error(&response, 400);
    assert_eq!(
        error["message"],
        "`logprobs` is not supported by provider gemini"
    );
    assert!(upstream.requests().is_empty());
}
