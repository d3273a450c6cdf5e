use ai_provider_cohere::Cohere;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, TranslatedResponse, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{fixture, json, plan, V1};

fn parse(plan: &RequestPlan<'_>, status: u16, body: &[u8]) -> TranslatedResponse {
    Cohere::parse_response(plan, status, &[], body).unwrap_or_else(|e| panic!("{e}"))
}

/// The translated body, checked to be a JSON success with the right content type.
fn ok(plan: &RequestPlan<'_>, body: &[u8]) -> (Value, ResponseMeta) {
    let translated = parse(plan, 200, body);
    assert_eq!(translated.status, 200);
    assert_eq!(translated.headers[0].value.as_str(), "application/json");
    let body = translated.body.into_option().unwrap();
    (json(&body), translated.meta)
}

fn failure(plan: &RequestPlan<'_>, body: &[u8]) -> String {
    let error = Cohere::parse_response(plan, 200, &[], body).unwrap_err();
    assert_eq!(error.status, 502, "{error}");
    error.message.into_string()
}

fn usage(prompt: u64, completion: u64, total: Option<u64>, cached: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: Some(prompt).into(),
        completion_tokens: Some(completion).into(),
        total_tokens: total.into(),
        cached_tokens: cached.into(),
    }
}

#[test]
fn kong_s_v1_chat_response() {
    let (mut body, meta) = ok(
        &plan(RouteType::CHAT, "command", V1),
        &fixture("cohere/llm-v1-chat/responses/good.json"),
    );
    assert!(body["created"].as_u64().is_some());
    body["created"] = json!(0);
    assert_eq!(
        body,
        json!({
            "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "object": "chat.completion",
            "created": 0,
            "model": "command",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "The sum of 1 + 1 is 2.", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            // The tokens the model read (token_count), not the billed ones (meta.billed_units,
            // 81), which leave out what Cohere adds to the prompt.
            "usage": {"prompt_tokens": 102, "completion_tokens": 258, "total_tokens": 360},
        })
    );
    assert_eq!(meta.usage, usage(102, 258, Some(360), None));
    assert_eq!(meta.response_model.as_str(), "command");
    assert_eq!(meta.finish_reasons[0].as_str(), "stop");
}

#[test]
fn kong_s_unit_responses() {
    let (chat, _) = ok(
        &plan(RouteType::CHAT, "command", V1),
        &fixture("unit/real-responses/cohere/llm-v1-chat.json"),
    );
    let expected = json(&fixture("unit/expected-responses/cohere/llm-v1-chat.json"));
    assert_eq!(chat["model"], expected["model"]);
    assert_eq!(chat["id"], expected["id"]);
    assert_eq!(
        chat["choices"][0]["message"]["content"],
        expected["choices"][0]["message"]["content"]
    );
    assert_eq!(chat["choices"][0]["message"]["role"], "assistant");
    assert_eq!(chat["usage"], expected["usage"]);

    let (completion, meta) = ok(
        &plan(RouteType::COMPLETIONS, "command", "{}"),
        &fixture("unit/real-responses/cohere/llm-v1-completions.json"),
    );
    let expected = json(&fixture(
        "unit/expected-responses/cohere/llm-v1-completions.json",
    ));
    assert_eq!(completion["object"], "text_completion");
    assert_eq!(completion["model"], expected["model"]);
    assert_eq!(completion["id"], expected["id"]);
    assert_eq!(
        completion["choices"][0]["text"],
        expected["choices"][0]["text"]
    );
    // Kong's bug: it answers `stop` for every generation. This one ended on MAX_TOKENS.
    assert_eq!(expected["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["choices"][0]["finish_reason"], "length");
    assert_eq!(completion["usage"], expected["usage"]);
    assert_eq!(meta.usage, usage(8, 100, None, None));
}

#[test]
fn kong_s_completions_response() {
    let (body, _) = ok(
        &plan(RouteType::COMPLETIONS, "command", "{}"),
        &fixture("cohere/llm-v1-completions/responses/good.json"),
    );
    assert_eq!(body["id"], "string");
    assert_eq!(
        body["choices"],
        json!([{"text": "1 + 1 is 2.", "index": 0, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );
}

#[test]
fn a_body_without_a_reply_is_a_502() {
    let bad = fixture("cohere/llm-v1-chat/responses/bad_upstream_response.json");
    assert_eq!(
        failure(&plan(RouteType::CHAT, "command", V1), &bad),
        "transformation failed from type cohere://llm/v1/chat: 'text' or 'generations' missing from cohere response body"
    );
    assert_eq!(
        failure(&plan(RouteType::COMPLETIONS, "command", "{}"), &bad),
        "transformation failed from type cohere://llm/v1/completions: 'text' or 'generations' missing from cohere response body"
    );
    assert_eq!(
        failure(&plan(RouteType::CHAT, "command", "{}"), &bad),
        "transformation failed from type cohere://llm/v1/chat: 'message' missing from cohere response body"
    );
    assert_eq!(
        failure(&plan(RouteType::EMBEDDINGS, "embed", "{}"), &bad),
        "transformation failed from type cohere://llm/v1/embeddings: 'embeddings' missing from cohere response body"
    );
    assert!(
        failure(&plan(RouteType::CHAT, "command", "{}"), b"[1]").starts_with(
            "transformation failed from type cohere://llm/v1/chat: not a v2 chat response"
        )
    );
}

#[test]
fn kong_s_error_bodies_become_openai_envelopes_with_their_status() {
    let cases = [
        (
            "cohere/llm-v1-chat/responses/unauthorized.json",
            401,
            "invalid api token",
            "authentication_error",
        ),
        (
            "cohere/llm-v1-chat/responses/bad_request.json",
            400,
            "bad request",
            "invalid_request_error",
        ),
        (
            "cohere/llm-v1-completions/responses/bad_request.json",
            400,
            "Invalid request",
            "invalid_request_error",
        ),
        (
            "cohere/llm-v1-chat/responses/internal_server_error.html",
            500,
            "upstream cohere returned HTTP 500",
            "server_error",
        ),
    ];
    for (path, status, message, kind) in cases {
        for route in [
            plan(RouteType::CHAT, "command", "{}"),
            plan(RouteType::EMBEDDINGS, "e", V1),
        ] {
            let translated = parse(&route, status, &fixture(path));
            assert_eq!(translated.status, status, "{path}");
            let body = json(&translated.body.into_option().unwrap());
            assert_eq!(body["error"]["message"], message, "{path}");
            assert_eq!(body["error"]["type"], kind, "{path}");
            assert_eq!(translated.meta, ResponseMeta::default());
        }
    }
}

/// A v2 chat response as Cohere's reference shows it.
const V2_TEXT: &str = r#"{"id":"c14c80c3-18eb-4519-9460-6c92edd8cfb4","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"1 + 1 = 2."}]},"usage":{"billed_units":{"input_tokens":5,"output_tokens":7},"tokens":{"input_tokens":71,"output_tokens":7},"cached_tokens":64}}"#;

#[test]
fn a_v2_text_reply() {
    let (mut body, meta) = ok(
        &plan(RouteType::CHAT, "command-a-03-2025", "{}"),
        V2_TEXT.as_bytes(),
    );
    body["created"] = json!(0);
    assert_eq!(
        body,
        json!({
            "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
            "object": "chat.completion",
            "created": 0,
            "model": "command-a-03-2025",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "1 + 1 = 2.", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 71, "completion_tokens": 7, "total_tokens": 78,
                      "prompt_tokens_details": {"cached_tokens": 64}},
        })
    );
    assert_eq!(meta.usage, usage(71, 7, None, Some(64)));
    assert_eq!(
        meta.response_id.as_str(),
        "c14c80c3-18eb-4519-9460-6c92edd8cfb4"
    );
}

#[test]
fn a_v2_tool_call_reply() {
    let body = r#"{"id":"r1","finish_reason":"TOOL_CALL","message":{"role":"assistant","tool_plan":"I will check the weather in Toronto.","tool_calls":[{"id":"get_weather_nsz5zm3w56q3","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Toronto\"}"}},{"id":"now_1","type":"function","function":{"name":"now","arguments":""}}]},"usage":{"billed_units":{"input_tokens":37,"output_tokens":28}}}"#;
    let (body, meta) = ok(&plan(RouteType::CHAT, "command-a", "{}"), body.as_bytes());
    assert_eq!(
        body["choices"][0]["message"],
        json!({
            "role": "assistant",
            "content": "I will check the weather in Toronto.",
            "refusal": null,
            "tool_calls": [
                {"id": "get_weather_nsz5zm3w56q3", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}},
                {"id": "now_1", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            ],
        })
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        meta.usage,
        usage(37, 28, None, None),
        "billed units when tokens are absent"
    );
}

#[test]
fn v2_replies_of_every_shape() {
    let chat = plan(RouteType::CHAT, "m", "{}");
    let thinking = r#"{"id":"t","finish_reason":"MAX_TOKENS","message":{"role":"assistant","content":[{"type":"thinking","thinking":"Let me add."},{"type":"text","text":"It is "},{"type":"text","text":"2."}]}}"#;
    let (body, meta) = ok(&chat, thinking.as_bytes());
    assert_eq!(body["choices"][0]["message"]["content"], "It is 2.");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(meta.usage, Usage::default(), "no usage reported");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );

    let calls_only = r#"{"id":"c","finish_reason":"TOOL_CALL","message":{"role":"assistant","content":null,"tool_calls":[{"id":"x","type":"function","function":{"name":"now"}}]}}"#;
    let (body, _) = ok(&chat, calls_only.as_bytes());
    assert!(body["choices"][0]["message"]["content"].is_null());

    let filtered =
        r#"{"id":"f","finish_reason":"ERROR_TOXIC","message":{"role":"assistant","content":[]}}"#;
    let (body, _) = ok(&chat, filtered.as_bytes());
    assert_eq!(body["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(body["choices"][0]["message"]["content"], "");

    let no_id = r#"{"finish_reason":"STOP_SEQUENCE","message":{"role":"assistant","content":[{"type":"text","text":"x"}]}}"#;
    let (body, _) = ok(&chat, no_id.as_bytes());
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["choices"][0]["finish_reason"], "stop");

    for reason in ["ERROR", "TIMEOUT"] {
        let failed = format!(
            r#"{{"id":"e","finish_reason":"{reason}","message":{{"role":"assistant","content":[{{"type":"text","text":"partial"}}]}}}}"#
        );
        assert_eq!(
            failure(&chat, failed.as_bytes()),
            format!("cohere stopped generating ({reason})")
        );
    }
}

#[test]
fn a_v1_tool_call_reply_gets_ids() {
    let body = r#"{"response_id":"r","text":"I will use get_weather.","generation_id":"g-1","chat_history":[],"finish_reason":"COMPLETE","tool_calls":[{"name":"get_weather","parameters":{"city": "Paris"}},{"name":"now","parameters":{}}],"meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":20,"output_tokens":9},"tokens":{"input_tokens":900,"output_tokens":9}}}"#;
    let (body, meta) = ok(&plan(RouteType::CHAT, "command-r", V1), body.as_bytes());
    assert_eq!(body["id"], "g-1");
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"],
        json!([
            {"id": "g-1-0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "g-1-1", "type": "function", "function": {"name": "now", "arguments": "{}"}},
        ])
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "I will use get_weather."
    );
    // v1 says COMPLETE; the reply waits for tool results, which OpenAI calls `tool_calls`.
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(meta.usage, usage(900, 9, None, None));
}

#[test]
fn completions_keep_cohere_s_generation_order() {
    let body = r#"{"id":"gen","generations":[{"id":"b","text":"Blue","index":1,"finish_reason":"COMPLETE"},{"id":"a","text":"Red","index":0,"finish_reason":"ERROR_LIMIT"}],"meta":{"billed_units":{"input_tokens":3,"output_tokens":2}}}"#;
    let (body, meta) = ok(
        &plan(RouteType::COMPLETIONS, "command", "{}"),
        body.as_bytes(),
    );
    assert_eq!(
        body["choices"],
        json!([
            {"text": "Red", "index": 0, "logprobs": null, "finish_reason": "length"},
            {"text": "Blue", "index": 1, "logprobs": null, "finish_reason": "stop"},
        ])
    );
    assert_eq!(meta.finish_reasons.len(), 2);
    let failed = r#"{"id":"gen","generations":[{"id":"a","text":"","finish_reason":"ERROR"}]}"#;
    assert_eq!(
        failure(
            &plan(RouteType::COMPLETIONS, "command", "{}"),
            failed.as_bytes()
        ),
        "cohere stopped generating (ERROR)"
    );
}

#[test]
fn embeddings_in_both_shapes_and_encodings() {
    let v2 = r#"{"id":"e1","embeddings":{"float":[[0.5,-1.25],[0.0023064255]]},"texts":["a","b"],"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":8}},"response_type":"embeddings_by_type"}"#;
    let (body, meta) = ok(
        &plan(RouteType::EMBEDDINGS, "embed-v4.0", "{}"),
        v2.as_bytes(),
    );
    assert_eq!(
        body,
        json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.5, -1.25]},
                {"object": "embedding", "index": 1, "embedding": [0.0023064255]},
            ],
            "model": "embed-v4.0",
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        })
    );
    assert_eq!(meta.usage.prompt_tokens, Some(8).into());

    let v1 = r#"{"id":"e2","embeddings":[[1.0]],"texts":["a"],"meta":{"billed_units":{"input_tokens":1}},"response_type":"embeddings_floats"}"#;
    let (body, _) = ok(
        &plan(RouteType::EMBEDDINGS, "embed-english-v3.0", V1),
        v1.as_bytes(),
    );
    assert_eq!(body["data"][0]["embedding"], json!([1.0]));

    let asked_base64 = r#"{"id":"e3","embeddings":{"float":[[0.5,-1.25]],"base64":["AAAAPwAAoL8="]},"texts":["a"],"meta":{"billed_units":{"input_tokens":1}}}"#;
    let (body, _) = ok(
        &plan(RouteType::EMBEDDINGS, "embed-v4.0", "{}"),
        asked_base64.as_bytes(),
    );
    assert_eq!(body["data"][0]["embedding"], "AAAAPwAAoL8=");

    let no_floats = r#"{"id":"e4","embeddings":{"int8":[[1]]}}"#;
    assert!(failure(
        &plan(RouteType::EMBEDDINGS, "e", "{}"),
        no_floats.as_bytes()
    )
    .contains("no `float` embeddings"));
}
