//! Converse answers as OpenAI's `chat.completion` and `text_completion`, checked against OpenAI's
//! schema; Bedrock's errors as OpenAI's envelope.

use abi_stable::std_types::{ROption, RStr};
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::{HeaderRef, ResponseMeta, RouteType, TranslatedResponse, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{fixture, json, plan, CLAUDE, NOVA, OPTIONS};

const OPENAI_SPEC: &str = "openai/openapi.prism.json";

fn translate(route_type: RouteType, model: &str, status: u16, body: &[u8]) -> TranslatedResponse {
    Bedrock::parse_response(&plan(route_type, model, OPTIONS), status, &[], body)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The client's body, checked against OpenAI's schema for the route.
fn chat(body: &Value) -> (Value, ResponseMeta) {
    let response = translate(RouteType::CHAT, NOVA, 200, body.to_string().as_bytes());
    assert_eq!(response.status, 200);
    let out = json(response.body.as_ref().map(|b| b.as_slice()).unwrap());
    spec_check::assert_openapi(OPENAI_SPEC, "CreateChatCompletionResponse", &out);
    assert!(out["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(out["created"].as_u64().unwrap() > 1_700_000_000);
    (out, response.meta)
}

fn converse(content: Value, stop_reason: &str, usage: Value) -> Value {
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": usage,
        "metrics": {"latencyMs": 312},
    })
}

fn usage(prompt: u64, completion: u64, total: u64, cached: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: ROption::RSome(prompt),
        completion_tokens: ROption::RSome(completion),
        total_tokens: ROption::RSome(total),
        cached_tokens: cached.into(),
    }
}

/// Kong's "real" Bedrock response. Kong maps `end_turn` to `stop` too, though its expected-response
/// fixture says `end_turn`. Its `usage` has OpenAI's key names, which Bedrock never sends
/// (`inputTokens`, `outputTokens`, `totalTokens`): read as Bedrock's, they report nothing, so the
/// client sees zeros and the gateway meters "not reported" rather than numbers Bedrock did not say.
#[test]
fn kong_unit_chat_response() {
    let (out, meta) = chat(&json(&fixture(
        "unit/real-responses/bedrock/llm-v1-chat.json",
    )));
    let kong = json(&fixture("unit/expected-responses/bedrock/llm-v1-chat.json"));
    assert_eq!(
        out["choices"][0]["message"]["content"],
        kong["choices"][0]["message"]["content"]
    );
    assert_eq!(out["choices"][0]["message"]["role"], "assistant");
    assert_eq!(out["choices"][0]["finish_reason"], "stop");
    assert_eq!(out["object"], "chat.completion");
    assert_eq!(out["model"], NOVA);
    assert_eq!(
        out["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );
    assert_eq!(meta.usage, Usage::default());
    assert_eq!(meta.finish_reasons[0].as_str(), "stop");
    assert_eq!(meta.response_model.as_str(), NOVA);
}

#[test]
fn text_blocks_are_joined_and_usage_is_bedrocks() {
    let body = converse(
        json!([{"text": "Pi is about "}, {"reasoningContent": {"reasoningText": {"text": "hm"}}}, {"text": "3.14159."}]),
        "end_turn",
        json!({"inputTokens": 5, "outputTokens": 9, "totalTokens": 14}),
    );
    let (out, meta) = chat(&body);
    assert_eq!(
        out["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": "Pi is about 3.14159.", "refusal": null},
                "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        out["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14})
    );
    assert_eq!(meta.usage, usage(5, 9, 14, None));
    assert_eq!(meta.response_id.as_str(), out["id"].as_str().unwrap());
}

#[test]
fn tool_use_blocks_are_tool_calls() {
    let body = converse(
        json!([
            {"text": "Adding."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "add", "input": {"a": 2, "b": 12}}},
            {"toolUse": {"toolUseId": "tooluse_2", "name": "now", "input": {}}},
        ]),
        "tool_use",
        json!({"inputTokens": 478, "outputTokens": 44, "totalTokens": 522}),
    );
    let (out, meta) = chat(&body);
    let message = &out["choices"][0]["message"];
    assert_eq!(message["content"], "Adding.");
    assert_eq!(
        message["tool_calls"],
        json!([
            {"id": "tooluse_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":12}"}},
            {"id": "tooluse_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
        ])
    );
    assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");

    let only_calls = converse(
        json!([{"toolUse": {"toolUseId": "t", "name": "now", "input": {}}}]),
        "tool_use",
        json!({"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}),
    );
    let (out, _) = chat(&only_calls);
    assert!(out["choices"][0]["message"]["content"].is_null());
}

#[test]
fn cache_reads_and_writes_count_as_prompt_tokens() {
    let body = converse(
        json!([{"text": "ok"}]),
        "end_turn",
        json!({"inputTokens": 12, "outputTokens": 3, "totalTokens": 2063, "cacheReadInputTokens": 2016, "cacheWriteInputTokens": 32}),
    );
    let (out, meta) = chat(&body);
    assert_eq!(
        out["usage"],
        json!({"prompt_tokens": 2060, "completion_tokens": 3, "total_tokens": 2063,
               "prompt_tokens_details": {"cached_tokens": 2016}})
    );
    assert_eq!(meta.usage, usage(2060, 3, 2063, Some(2016)));
}

#[test]
fn stop_reasons_are_openais() {
    for (stop_reason, finish_reason) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ] {
        let body = converse(
            json!([{"text": "x"}]),
            stop_reason,
            json!({"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}),
        );
        assert_eq!(
            chat(&body).0["choices"][0]["finish_reason"],
            finish_reason,
            "{stop_reason}"
        );
    }
    let empty = converse(
        json!([]),
        "max_tokens",
        json!({"inputTokens": 1, "outputTokens": 0, "totalTokens": 1}),
    );
    assert_eq!(chat(&empty).0["choices"][0]["message"]["content"], "");
}

#[test]
fn a_completion_is_a_text_completion() {
    let body = converse(
        json!([{"text": "1 + 1 is 2."}]),
        "max_tokens",
        json!({"inputTokens": 4, "outputTokens": 16, "totalTokens": 20}),
    );
    let response = translate(
        RouteType::COMPLETIONS,
        NOVA,
        200,
        body.to_string().as_bytes(),
    );
    let out = json(response.body.as_ref().map(|b| b.as_slice()).unwrap());
    spec_check::assert_openapi(OPENAI_SPEC, "CreateCompletionResponse", &out);
    assert_eq!(out["object"], "text_completion");
    assert_eq!(out["choices"][0]["text"], "1 + 1 is 2.");
    assert_eq!(out["choices"][0]["finish_reason"], "length");
    assert_eq!(out["usage"]["total_tokens"], 20);
    assert!(out["id"].as_str().unwrap().starts_with("cmpl-"));
}

#[test]
fn bedrock_errors_become_openai_envelopes_with_their_status() {
    let headers = [HeaderRef {
        name: RStr::from_str("x-amzn-errortype"),
        value: RStr::from_str(
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        ),
    }];
    let response = Bedrock::parse_response(
        &plan(RouteType::CHAT, CLAUDE, OPTIONS),
        429,
        &headers,
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    )
    .unwrap();
    assert_eq!(response.status, 429);
    assert_eq!(
        json(response.body.as_ref().map(|b| b.as_slice()).unwrap()),
        json!({"error": {"message": "Too many requests, please wait before trying again.",
                         "type": "rate_limit_error", "param": null, "code": "ThrottlingException"}})
    );
    let response = translate(
        RouteType::EMBEDDINGS,
        "amazon.titan-embed-text-v2:0",
        400,
        br#"{"message":"Malformed input request"}"#,
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        json(response.body.as_ref().map(|b| b.as_slice()).unwrap())["error"]["message"],
        "Malformed input request"
    );
}

#[test]
fn answers_without_a_message_are_502s() {
    for body in [
        &b"{}"[..],
        br#"{"output":{}}"#,
        b"[]",
        b"<html>",
        br#"{"output":{"message":{"content":[{"toolUse":{"name":"x"}}]}}}"#,
    ] {
        let error = Bedrock::parse_response(&plan(RouteType::CHAT, NOVA, OPTIONS), 200, &[], body)
            .unwrap_err();
        assert_eq!(error.status, 502, "{}", String::from_utf8_lossy(body));
        assert!(error
            .message
            .starts_with("transformation failed from type bedrock://llm/v1/chat: "));
    }
}

#[test]
fn preserved_answers_go_untouched_and_are_metered() {
    let body = converse(
        json!([{"text": "x"}]),
        "end_turn",
        json!({"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}),
    );
    let bytes = body.to_string();
    let response = translate(RouteType::PRESERVE, "", 200, bytes.as_bytes());
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage, usage(3, 2, 5, None));
    let meta = Bedrock::native_metadata(
        &plan(RouteType::PRESERVE, "", OPTIONS),
        200,
        bytes.as_bytes(),
    )
    .unwrap();
    assert_eq!(meta.usage, usage(3, 2, 5, None));
    let meta =
        Bedrock::native_metadata(&plan(RouteType::PRESERVE, "", OPTIONS), 500, b"<html>").unwrap();
    assert_eq!(meta, ResponseMeta::default());
}
