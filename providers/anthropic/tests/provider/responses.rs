use abi_stable::std_types::{ROption, RString};
use ai_provider_anthropic::Anthropic;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, TranslatedResponse, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{fixture, json, plan, OPTIONS};

const OPENAI_SPEC: &str = "openai/openapi.prism.json";

fn parse(plan: &RequestPlan<'_>, status: u16, body: &[u8]) -> TranslatedResponse {
    Anthropic::parse_response(plan, status, &[], body).unwrap()
}

/// A translated 200 chat body, checked against OpenAI's response schema.
fn chat_completion(body: &[u8]) -> (Value, ResponseMeta) {
    let response = parse(&plan(RouteType::CHAT, "claude-2.1", OPTIONS), 200, body);
    assert_eq!(response.status, 200);
    assert_eq!(response.headers[0].value.as_str(), "application/json");
    let sent = json(response.body.as_ref().into_option().unwrap());
    assert_openapi(OPENAI_SPEC, "CreateChatCompletionResponse", &sent);
    assert_eq!(sent["object"], "chat.completion");
    (sent, response.meta)
}

fn usage(prompt: Option<u64>, completion: Option<u64>, cached: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: prompt.into(),
        completion_tokens: completion.into(),
        total_tokens: ROption::RNone,
        cached_tokens: cached.into(),
    }
}

#[test]
fn kong_good_chat_response() {
    let (sent, meta) = chat_completion(&fixture("anthropic/llm-v1-chat/responses/good.json"));
    assert_eq!(
        sent["choices"],
        json!([{
            "index": 0,
            "message": {"role": "assistant", "content": "The sum of 1 + 1 is 2.", "refusal": null},
            "logprobs": null,
            // Kong passes Anthropic's `end_turn` through.
            "finish_reason": "stop",
        }])
    );
    assert_eq!(sent["model"], "claude-2.1");
    assert!(
        sent["id"].as_str().unwrap().starts_with("chatcmpl-"),
        "the fixture has no id"
    );
    assert_eq!(
        sent["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );
    assert_eq!(meta.usage, usage(Some(0), Some(0), None), "reported zeros");
    assert_eq!(meta.response_model.as_str(), "claude-2.1");
    assert_eq!(meta.finish_reasons.as_slice(), &[RString::from("stop")]);
}

#[test]
fn a_response_without_usage_still_has_a_usage_object() {
    // Kong writes `"usage": "no usage data returned from upstream"` for the first and `{}` for
    // the second; OpenAI's clients need the object with its three counts.
    for file in ["no_usage_response.json", "malformed_usage_response.json"] {
        let (sent, meta) =
            chat_completion(&fixture(&format!("anthropic/llm-v1-chat/responses/{file}")));
        assert_eq!(
            sent["usage"],
            json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
            "{file}"
        );
        assert_eq!(
            meta.usage,
            Usage::default(),
            "{file}: not reported, not zero"
        );
    }
}

#[test]
fn kong_unit_response_with_the_mapped_finish_reason() {
    let (sent, _) = chat_completion(&fixture("unit/real-responses/anthropic/llm-v1-chat.json"));
    let expected = json(&fixture(
        "unit/expected-responses/anthropic/llm-v1-chat.json",
    ));
    assert_eq!(sent["model"], expected["model"]);
    let message = &sent["choices"][0]["message"];
    assert_eq!(message["role"], expected["choices"][0]["message"]["role"]);
    assert_eq!(
        message["content"],
        expected["choices"][0]["message"]["content"]
    );
    // Kong's expected `stop_sequence` is Anthropic's raw value, which OpenAI clients do not know.
    assert_eq!(expected["choices"][0]["finish_reason"], "stop_sequence");
    assert_eq!(sent["choices"][0]["finish_reason"], "stop");
}

#[test]
fn the_message_id_and_usage_are_kept() {
    let (sent, meta) = chat_completion(&fixture(
        "anthropic/request-transformer/response-in-json.json",
    ));
    assert_eq!(sent["id"], "msg_013Zva2CMHLNnXjNJJKqJ2EF", "Kong drops it");
    assert_eq!(
        sent["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 25, "total_tokens": 35})
    );
    assert!(sent["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .contains("\"persons\""));
    assert_eq!(meta.response_id.as_str(), "msg_013Zva2CMHLNnXjNJJKqJ2EF");
}

/// A Messages response as the API writes it: thinking, text split around a citation, and two
/// tool calls, with cache reads and writes.
const TOOL_USE_RESPONSE: &str = r#"{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"Two sums.","signature":"EqQBCgIYAhIM"},{"type":"text","text":"I'll add both "},{"type":"text","text":"pairs.","citations":null},{"type":"tool_use","id":"toolu_01A","name":"add","input":{"a": 2, "b": 12},"caller":{"type":"direct"}},{"type":"tool_use","id":"toolu_01B","name":"add","input":{"a":3,"b":4}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":120,"service_tier":"standard"}}"#;

#[test]
fn tool_use_blocks_become_tool_calls_and_thinking_is_left_out() {
    let (sent, meta) = chat_completion(TOOL_USE_RESPONSE.as_bytes());
    let choice = &sent["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "I'll add both pairs.");
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([
            {"id": "toolu_01A", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":12}"}},
            {"id": "toolu_01B", "type": "function", "function": {"name": "add", "arguments": "{\"a\":3,\"b\":4}"}},
        ])
    );
    assert_eq!(sent["model"], "claude-sonnet-4-5-20250929");
    // Cache reads and writes are prompt tokens too; reads are the cached ones.
    assert_eq!(
        sent["usage"],
        json!({"prompt_tokens": 3050, "completion_tokens": 120, "total_tokens": 3170,
               "prompt_tokens_details": {"cached_tokens": 2000}})
    );
    assert_eq!(meta.usage, usage(Some(3050), Some(120), Some(2000)));
    assert_eq!(
        meta.finish_reasons.as_slice(),
        &[RString::from("tool_calls")]
    );
}

#[test]
fn a_reply_of_only_tool_calls_has_null_content() {
    let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"now","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":3}}"#;
    let (sent, _) = chat_completion(body.as_bytes());
    assert!(sent["choices"][0]["message"]["content"].is_null());
    assert_eq!(
        sent["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        "{}"
    );
}

#[test]
fn stop_reasons_are_openais() {
    for (stop_reason, finish_reason) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
    ] {
        let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [], "stop_reason": stop_reason, "usage": {"input_tokens": 1, "output_tokens": 0}});
        let (sent, _) = chat_completion(body.to_string().as_bytes());
        assert_eq!(
            sent["choices"][0]["finish_reason"], finish_reason,
            "{stop_reason}"
        );
        assert_eq!(sent["choices"][0]["message"]["content"], "");
    }
}

#[test]
fn a_200_without_content_is_a_502_naming_anthropic() {
    let body = fixture("anthropic/llm-v1-chat/responses/bad_upstream_response.json");
    let error = Anthropic::parse_response(&plan(RouteType::CHAT, "m", OPTIONS), 200, &[], &body)
        .unwrap_err();
    assert_eq!(error.status, 502);
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type anthropic://llm/v1/chat: 'content' not in response"
    );
    let error = Anthropic::parse_response(&plan(RouteType::CHAT, "m", OPTIONS), 200, &[], b"[1]")
        .unwrap_err();
    assert!(error.message.starts_with(
        "transformation failed from type anthropic://llm/v1/chat: response is not an Anthropic one"
    ));
}

#[test]
fn kong_error_bodies_become_openai_envelopes_with_their_status() {
    let cases = [
        (
            401,
            "anthropic/llm-v1-chat/responses/unauthorized.json",
            "authentication_error",
            "Invalid API Key",
        ),
        (
            400,
            "anthropic/llm-v1-chat/responses/bad_request.json",
            "invalid_request_error",
            "Invalid request",
        ),
        (
            401,
            "anthropic/llm-v1-completions/responses/unauthorized.json",
            "authentication_error",
            "Invalid API Key",
        ),
        (
            400,
            "anthropic/llm-v1-completions/responses/bad_request.json",
            "invalid_request_error",
            "Invalid request",
        ),
    ];
    for (status, file, kind, message) in cases {
        for route_type in [RouteType::CHAT, RouteType::COMPLETIONS] {
            let response = parse(&plan(route_type, "m", OPTIONS), status, &fixture(file));
            assert_eq!(response.status, status);
            assert_eq!(
                json(response.body.as_ref().into_option().unwrap()),
                json!({"error": {"message": message, "type": kind, "param": null, "code": kind}}),
                "{file}"
            );
            assert_eq!(response.meta, ResponseMeta::default());
        }
    }
    let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#;
    let response = parse(&plan(RouteType::CHAT, "m", OPTIONS), 529, overloaded);
    assert_eq!(response.status, 529);
    assert_eq!(
        json(response.body.as_ref().into_option().unwrap())["error"],
        json!({"message": "Overloaded", "type": "server_error", "param": null, "code": "overloaded_error"})
    );
    let html = fixture("anthropic/llm-v1-chat/responses/internal_server_error.html");
    let response = parse(&plan(RouteType::CHAT, "m", OPTIONS), 500, &html);
    assert_eq!(
        json(response.body.as_ref().into_option().unwrap())["error"]["message"],
        "upstream anthropic returned HTTP 500"
    );
}

#[test]
fn kong_completions_responses() {
    let completions = plan(RouteType::COMPLETIONS, "claude-2.1", OPTIONS);
    let response = parse(
        &completions,
        200,
        &fixture("anthropic/llm-v1-completions/responses/good.json"),
    );
    let sent = json(response.body.as_ref().into_option().unwrap());
    assert_openapi(OPENAI_SPEC, "CreateCompletionResponse", &sent);
    assert_eq!(sent["object"], "text_completion");
    assert_eq!(sent["model"], "claude-2.1");
    assert!(sent["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(
        sent["choices"],
        json!([{"text": " Hello! My name is Claude.", "index": 0, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        sent["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );
    assert_eq!(
        response.meta.usage,
        Usage::default(),
        "/v1/complete reports no usage"
    );

    let real = parse(
        &completions,
        200,
        &fixture("unit/real-responses/anthropic/llm-v1-completions.json"),
    );
    let sent = json(real.body.as_ref().into_option().unwrap());
    let expected = json(&fixture(
        "unit/expected-responses/anthropic/llm-v1-completions.json",
    ));
    assert_eq!(sent["model"], expected["model"]);
    assert_eq!(sent["choices"][0]["text"], expected["choices"][0]["text"]);
    // Kong's `stop_sequence` is Anthropic's raw value.
    assert_eq!(sent["choices"][0]["finish_reason"], "stop");

    let max_tokens = br#"{"type":"completion","id":"compl_01","completion":" Two","stop_reason":"max_tokens","model":"claude-2.1"}"#;
    let sent = json(
        parse(&completions, 200, max_tokens)
            .body
            .as_ref()
            .into_option()
            .unwrap(),
    );
    assert_eq!(sent["id"], "compl_01");
    assert_eq!(sent["choices"][0]["finish_reason"], "length");

    let error = Anthropic::parse_response(
        &completions,
        200,
        &[],
        &fixture("anthropic/llm-v1-chat/responses/good.json"),
    )
    .unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type anthropic://llm/v1/completions: 'completion' not in response"
    );
}

#[test]
fn preserve_forwards_and_meters_anthropics_own_bodies() {
    let preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    let response = parse(&preserve, 200, TOOL_USE_RESPONSE.as_bytes());
    assert!(response.body.is_none(), "forwarded byte for byte");
    assert!(response.headers.is_empty());
    let meta = Anthropic::native_metadata(&preserve, 200, TOOL_USE_RESPONSE.as_bytes()).unwrap();
    assert_eq!(meta, response.meta);
    assert_eq!(meta.usage, usage(Some(3050), Some(120), Some(2000)));
    assert_eq!(meta.response_model.as_str(), "claude-sonnet-4-5-20250929");
    assert_eq!(meta.response_id.as_str(), "msg_01Aq9w938a90dw8q");
    let error = fixture("anthropic/llm-v1-chat/responses/unauthorized.json");
    let response = parse(&preserve, 401, &error);
    assert_eq!(response.status, 401);
    assert!(
        response.body.is_none(),
        "a preserved error is the client's business"
    );
    for body in [&b"\x00"[..], b"", b"{\"models\":[]}"] {
        assert_eq!(
            Anthropic::native_metadata(&preserve, 200, body)
                .unwrap()
                .usage,
            Usage::default()
        );
    }
}
