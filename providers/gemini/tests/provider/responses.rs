//! Whole answers: Gemini's `GenerateContentResponse` and error bodies as OpenAI's, checked
//! against OpenAI's schema. Where Kong's fixtures or behaviour are wrong, the test says so.

use abi_stable::std_types::ROption::{RNone, RSome};
use ai_provider_gemini::Gemini;
use provider_sdk::abi::{ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{fixture, json, plan, OPENAI_SPEC};

/// The translated `200`, checked against `schema` of OpenAI's spec.
fn translated(
    route_type: RouteType,
    model: &str,
    body: &[u8],
    schema: &str,
) -> (Value, ResponseMeta) {
    let plan = plan(route_type, model, "{}");
    let response = Gemini::parse_response(&plan, 200, &[], body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status, 200);
    assert_eq!(response.headers[0].name.as_str(), "content-type");
    assert_eq!(response.headers[0].value.as_str(), "application/json");
    let body = json(&response.body.into_option().unwrap().to_vec());
    assert_openapi(OPENAI_SPEC, schema, &body);
    (body, response.meta)
}

fn chat(body: &[u8]) -> (Value, ResponseMeta) {
    translated(
        RouteType::CHAT,
        "gemini-1.5-flash",
        body,
        "CreateChatCompletionResponse",
    )
}

fn usage(prompt: u64, completion: u64, total: u64) -> Usage {
    Usage {
        prompt_tokens: RSome(prompt),
        completion_tokens: RSome(completion),
        total_tokens: RSome(total),
        cached_tokens: RNone,
    }
}

#[test]
fn kong_good_response() {
    let (body, meta) = chat(&fixture("gemini/llm-v1-chat/responses/good.json"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(
        body["model"], "gemini-1.5-flash-002",
        "modelVersion, where Kong writes the configured name"
    );
    assert_eq!(
        body["choices"],
        json!([{
            "index": 0, "logprobs": null, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Everything is okay.", "refusal": null},
        }]),
        "Kong's finish_reason is the lower-cased raw value; STOP happens to be right"
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 11, "total_tokens": 13})
    );
    assert_eq!(meta.usage, usage(2, 11, 13));
    assert_eq!(meta.response_model.as_str(), "gemini-1.5-flash-002");
    assert_eq!(meta.finish_reasons[0].as_str(), "stop");
}

#[test]
fn kong_safety_block_is_content_filter() {
    let (body, meta) = chat(&fixture("gemini/llm-v1-chat/responses/fails_safety.json"));
    assert_eq!(
        body["choices"],
        json!([{
            "index": 0, "logprobs": null, "finish_reason": "content_filter",
            "message": {"role": "assistant", "content": "", "refusal": null},
        }]),
        "Kong answers with no choices; SAFETY is OpenAI's content_filter"
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 319, "completion_tokens": 0, "total_tokens": 319}),
        "proto3 JSON leaves out a zero candidatesTokenCount"
    );
    assert_eq!(meta.usage, usage(319, 0, 319));
}

#[test]
fn kong_unit_real_response_gives_the_expected_message_and_model() {
    let (body, _) = translated(
        RouteType::CHAT,
        "gemini-pro",
        &fixture("unit/real-responses/gemini/llm-v1-chat.json"),
        "CreateChatCompletionResponse",
    );
    let expected = json(&fixture("unit/expected-responses/gemini/llm-v1-chat.json"));
    assert_eq!(
        body["model"], expected["model"],
        "no modelVersion: the model asked for"
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        expected["choices"][0]["message"]["content"]
    );
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 14, "completion_tokens": 128, "total_tokens": 142})
    );
}

#[test]
fn kong_request_transformer_response_keeps_the_json_text() {
    let (body, _) = chat(&fixture("gemini/request-transformer/response-in-json.json"));
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    let persons: Value = serde_json::from_str(content).unwrap();
    assert_eq!(persons["persons"][1]["age"], 84);
}

#[test]
fn function_calls_are_tool_calls_with_ids_and_string_arguments() {
    let response = json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Adding first. "},
                {"functionCall": {"name": "add", "args": {"a": 2, "b": 12}}},
                {"functionCall": {"name": "now", "id": "fc-7"}, "thoughtSignature": "c2ln"},
            ]},
            "finishReason": "STOP", "index": 0,
        }],
        "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 12, "totalTokenCount": 42},
        "modelVersion": "gemini-2.0-flash-001",
        "responseId": "resp-abc",
    });
    let (body, meta) = chat(response.to_string().as_bytes());
    assert_eq!(body["id"], "resp-abc");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Adding first. ");
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(
        calls[0]["function"],
        json!({"name": "add", "arguments": "{\"a\":2,\"b\":12}"})
    );
    assert_eq!(
        calls[1],
        json!({"id": "fc-7__thought__c2ln", "type": "function", "function": {"name": "now", "arguments": "{}"}}),
        "Gemini's id, and the thought signature Gemini 3 needs back"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");
    assert_eq!(meta.response_id.as_str(), "resp-abc");
}

#[test]
fn a_reply_that_only_calls_tools_has_null_content() {
    let response = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "lights", "args": {}}},
    ]}, "finishReason": "STOP"}]});
    let (body, _) = chat(response.to_string().as_bytes());
    assert!(body["choices"][0]["message"]["content"].is_null());
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn a_blocked_prompt_is_content_filter_not_an_error() {
    let response = json!({
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
        "modelVersion": "gemini-2.0-flash",
    });
    let (body, meta) = chat(response.to_string().as_bytes());
    assert_eq!(body["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(body["choices"][0]["message"]["content"], "");
    assert_eq!(meta.usage, usage(8, 0, 8));
}

#[test]
fn candidates_are_choices_in_index_order_and_thoughts_are_left_out() {
    let response = json!({
        "candidates": [
            {"content": {"parts": [{"text": "Second"}]}, "finishReason": "MAX_TOKENS", "index": 1},
            {"content": {"parts": [{"text": "Let me think", "thought": true}, {"text": "First"}, {"text": " answer"}]}, "finishReason": "STOP"},
        ],
        "usageMetadata": {
            "promptTokenCount": 2006, "cachedContentTokenCount": 1920, "candidatesTokenCount": 40,
            "thoughtsTokenCount": 25, "totalTokenCount": 2071,
        },
    });
    let (body, meta) = chat(response.to_string().as_bytes());
    let choices = body["choices"].as_array().unwrap();
    assert_eq!(choices[0]["index"], 0);
    assert_eq!(choices[0]["message"]["content"], "First answer");
    assert_eq!(choices[0]["finish_reason"], "stop");
    assert_eq!(choices[1]["index"], 1);
    assert_eq!(choices[1]["message"]["content"], "Second");
    assert_eq!(choices[1]["finish_reason"], "length");
    assert_eq!(
        body["usage"],
        json!({
            "prompt_tokens": 2006, "completion_tokens": 65, "total_tokens": 2071,
            "prompt_tokens_details": {"cached_tokens": 1920},
        }),
        "cached tokens are part of promptTokenCount; thoughts are completion tokens"
    );
    assert_eq!(meta.usage.cached_tokens, RSome(1920));
}

#[test]
fn completions_are_text_completions() {
    let (body, meta) = translated(
        RouteType::COMPLETIONS,
        "gemini-1.5-flash",
        &fixture("gemini/llm-v1-chat/responses/good.json"),
        "CreateCompletionResponse",
    );
    assert_eq!(body["object"], "text_completion");
    assert!(body["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(
        body["choices"],
        json!([{"text": "Everything is okay.", "index": 0, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(meta.usage, usage(2, 11, 13));
}

#[test]
fn no_candidates_without_a_block_reason_is_a_502() {
    let plan = plan(RouteType::CHAT, "m", "{}");
    for body in [
        &br#"{"usageMetadata":{"promptTokenCount":1}}"#[..],
        b"[]",
        b"not json",
        br#"{"candidates":"x"}"#,
        br#"{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}"#,
    ] {
        let error = Gemini::parse_response(&plan, 200, &[], body).unwrap_err();
        assert_eq!(error.status, 502, "{}", String::from_utf8_lossy(body));
        assert!(error
            .message
            .starts_with("transformation failed from type gemini://llm/v1/chat: "));
    }
}

#[test]
fn googles_errors_keep_their_status_in_openais_envelope() {
    let plan = plan(RouteType::CHAT, "m", "{}");
    let cases = [
        (
            400,
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#,
            "API key not valid. Please pass a valid API key.",
            "invalid_request_error",
            json!("INVALID_ARGUMENT"),
        ),
        (
            429,
            r#"[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]"#,
            "Resource has been exhausted (e.g. check quota).",
            "rate_limit_error",
            json!("RESOURCE_EXHAUSTED"),
        ),
        (
            503,
            "<html><body>Service Unavailable</body></html>",
            "upstream gemini returned HTTP 503",
            "service_unavailable",
            Value::Null,
        ),
    ];
    for (status, body, message, kind, code) in cases {
        let response = Gemini::parse_response(&plan, status, &[], body.as_bytes()).unwrap();
        assert_eq!(response.status, status);
        let envelope = json(&response.body.into_option().unwrap().to_vec());
        assert_eq!(
            envelope,
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        );
        assert_eq!(response.meta, ResponseMeta::default());
    }
}

#[test]
fn preserve_answers_go_back_untouched_and_metered() {
    let plan = plan(RouteType::PRESERVE, "", "{}");
    let body = fixture("gemini/llm-v1-chat/responses/good.json");
    let response = Gemini::parse_response(&plan, 200, &[], &body).unwrap();
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage, usage(2, 11, 13));
    let meta = Gemini::native_metadata(&plan, 200, &body).unwrap();
    assert_eq!(meta.response_model.as_str(), "gemini-1.5-flash-002");
    let partial = [
        fixture("unit/streaming-chunk-formats/partial-json-beginning/input.bin"),
        fixture("unit/streaming-chunk-formats/partial-json-end/input.bin"),
    ]
    .concat();
    let meta = Gemini::native_metadata(&plan, 200, &partial).unwrap();
    assert_eq!(
        meta.usage,
        usage(6, 547, 553),
        "a streamed JSON array's last usage"
    );
}
