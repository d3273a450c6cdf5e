//! Mistral's chat replies written again for OpenAI's strict clients; embeddings and completions
//! forwarded as sent; errors in OpenAI's envelope.

use ai_provider_mistral::Mistral;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{fixture, json, plan, MANAGED};

fn translated(plan: &RequestPlan<'_>, status: u16, body: &[u8]) -> (u16, Value, ResponseMeta) {
    let response = Mistral::parse_response(plan, status, &[], body).unwrap();
    let body = json(response.body.as_ref().unwrap().as_slice());
    (response.status, body, response.meta)
}

#[test]
fn kong_unit_and_integration_replies() {
    for path in [
        "unit/real-responses/mistral/openai/llm-v1-chat.json",
        "mistral/llm-v1-chat/responses/good.json",
    ] {
        let reply = fixture(path);
        let (status, body, meta) =
            translated(&plan(RouteType::CHAT, "mistral-tiny", MANAGED), 200, &reply);
        assert_eq!(status, 200);
        let reply = json(&reply);
        for key in ["id", "object", "created", "model", "usage"] {
            assert_eq!(body[key], reply[key], "{path}: {key}");
        }
        assert_eq!(
            body["choices"][0],
            json!({"index": 0, "message": {"role": "assistant", "content": reply["choices"][0]["message"]["content"], "refusal": null},
                   "logprobs": null, "finish_reason": "stop"}),
            "{path}"
        );
        assert_eq!(
            meta.usage.total_tokens,
            reply["usage"]["total_tokens"].as_u64().into()
        );
        assert_eq!(
            meta.response_model.as_str(),
            reply["model"].as_str().unwrap()
        );
    }
    let expected = json(&fixture(
        "unit/expected-responses/mistral/openai/llm-v1-chat.json",
    ));
    let (_, body, _) = translated(
        &plan(RouteType::CHAT, "mistral-tiny", MANAGED),
        200,
        &fixture("unit/real-responses/mistral/openai/llm-v1-chat.json"),
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        expected["choices"][0]["message"]["content"]
    );
    assert_eq!(body["model"], expected["model"]);
}

#[test]
fn mistrals_own_shapes_become_openais() {
    let reply = br#"{"id":"b2","object":"chat.completion","created":1735000000,"model":"mistral-large-latest","choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"D681PevKs","function":{"name":"add","arguments":"{\"a\": 2, \"b\": 12}"},"index":0},{"id":"null","function":{"name":"now","arguments":{}}}],"prefix":false},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":90,"completion_tokens":31,"total_tokens":121,"num_cached_tokens":64}}"#;
    let (_, body, meta) = translated(
        &plan(RouteType::CHAT, "mistral-large-latest", MANAGED),
        200,
        reply,
    );
    assert_eq!(
        body["choices"][0],
        json!({"index": 0, "logprobs": null, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": null, "refusal": null, "tool_calls": [
            {"id": "D681PevKs", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
            {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": "{}"}},
        ]}})
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 90, "completion_tokens": 31, "total_tokens": 121, "prompt_tokens_details": {"cached_tokens": 64}})
    );
    assert_eq!(meta.usage.cached_tokens, Some(64).into());

    let thinking = br#"{"id":"m","object":"chat.completion","created":1,"model":"magistral-medium-latest","choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"6 times 7..."}]},{"type":"text","text":"The answer"},{"type":"text","text":" is 42."}]},"finish_reason":"model_length"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":0}}}"#;
    let (_, body, _) = translated(
        &plan(RouteType::CHAT, "magistral-medium-latest", MANAGED),
        200,
        thinking,
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "The answer is 42."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(
        body["usage"]["prompt_tokens_details"],
        json!({"cached_tokens": 0})
    );
}

#[test]
fn finish_reasons_map_to_openais() {
    for (mistral, openai) in [
        ("stop", "stop"),
        ("length", "length"),
        ("model_length", "length"),
        ("tool_calls", "tool_calls"),
        ("error", "stop"),
    ] {
        let reply = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": mistral}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
        let (_, body, meta) = translated(
            &plan(RouteType::CHAT, "m", MANAGED),
            200,
            reply.to_string().as_bytes(),
        );
        assert_eq!(body["choices"][0]["finish_reason"], openai, "{mistral}");
        assert_eq!(meta.finish_reasons[0].as_str(), openai);
    }
}

#[test]
fn embeddings_and_completions_are_forwarded_as_sent() {
    let embeddings = br#"{"id":"e","object":"list","data":[{"object":"embedding","embedding":[-0.0166,0.0701],"index":0}],"model":"mistral-embed","usage":{"prompt_tokens":15,"completion_tokens":0,"total_tokens":15,"prompt_audio_seconds":null}}"#;
    let response = Mistral::parse_response(
        &plan(RouteType::EMBEDDINGS, "mistral-embed", MANAGED),
        200,
        &[],
        embeddings,
    )
    .unwrap();
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage.prompt_tokens, Some(15).into());

    let options = r#"{"mistral_format":"openai","upstream_url":"http://vllm:8000/v1/completions"}"#;
    let completion = fixture("mistral/llm-v1-completions/responses/good.json");
    let response = Mistral::parse_response(
        &plan(RouteType::COMPLETIONS, "m", options),
        200,
        &[],
        &completion,
    )
    .unwrap();
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage.total_tokens, Some(20).into());
    assert_eq!(response.meta.finish_reasons[0].as_str(), "length");
}

#[test]
fn mistral_errors_keep_their_status_in_openais_envelope() {
    let cases: [(u16, &[u8], &str, &str); 3] = [
        (401, br#"{"message":"Unauthorized","request_id":"5b4c"}"#, "Unauthorized", "authentication_error"),
        (
            422,
            br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","foo"],"msg":"Extra inputs are not permitted","input":1}]},"type":"invalid_request_error","param":null,"code":null}"#,
            "upstream mistral returned HTTP 422",
            "invalid_request_error",
        ),
        (
            400,
            br#"{"detail":[{"type":"missing","loc":["body","model"],"msg":"Field required","input":{}}]}"#,
            "Field required",
            "invalid_request_error",
        ),
    ];
    for (status, reply, message, kind) in cases {
        let (got, body, meta) = translated(&plan(RouteType::CHAT, "m", MANAGED), status, reply);
        assert_eq!(got, status);
        assert_eq!(body["error"]["message"], message);
        assert_eq!(body["error"]["type"], kind);
        assert_eq!(meta, ResponseMeta::default());
    }
}

#[test]
fn a_reply_without_choices_is_a_502() {
    for reply in [
        &fixture("openai/llm-v1-chat/responses/bad_upstream_response.json")[..],
        b"[]",
        b"<html>",
    ] {
        let error = Mistral::parse_response(&plan(RouteType::CHAT, "m", MANAGED), 200, &[], reply)
            .unwrap_err();
        assert_eq!(error.status, 502);
        assert!(
            error
                .message
                .starts_with("transformation failed from type mistral://llm/v1/chat: "),
            "{error}"
        );
    }
}
