//! Whole answers and errors, from Kong's fixtures and from TGI's documented shapes, as the client
//! receives them.

use abi_stable::std_types::{ROption, RString};
use ai_provider_huggingface::HuggingFace;
use provider_sdk::abi::{RequestPlan, RouteType, TranslatedResponse, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{
    assert_hf_schema, assert_openai, fixture, json, plan, CHAT_OUTPUT_SCHEMA,
    GENERATION_OUTPUT_SCHEMA, MODEL,
};

fn parse(plan: &RequestPlan<'_>, status: u16, body: &[u8]) -> TranslatedResponse {
    HuggingFace::parse_response(plan, status, &[], body).unwrap_or_else(|e| panic!("{e}"))
}

/// The body the client receives: the module's, or the upstream's when forwarded as is.
fn client_body(response: &TranslatedResponse, upstream: &[u8]) -> Value {
    match response.body.as_ref().into_option() {
        Some(body) => json(body),
        None => json(upstream),
    }
}

fn counts(prompt: Option<u64>, completion: Option<u64>, total: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: prompt.into(),
        completion_tokens: completion.into(),
        total_tokens: total.into(),
        cached_tokens: ROption::RNone,
    }
}

#[test]
fn kong_chat_answer_keeps_its_role_and_gets_openais_finish_reason() {
    let upstream = fixture("huggingface/llm-v1-chat/responses/good.json");
    assert_hf_schema(CHAT_OUTPUT_SCHEMA, &json(&upstream));
    let response = parse(&plan(RouteType::CHAT, MODEL, "{}"), 200, &upstream);
    assert_eq!(response.status, 200);
    let body = client_body(&response, &upstream);
    // Kong answers `finish_reason: "complete"`, drops the role, and replaces the model: its bugs.
    let mut expected = json(&upstream);
    expected["choices"][0]["finish_reason"] = json!("stop");
    assert_eq!(body, expected, "only the finish reason changes");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(response.meta.usage, counts(Some(26), Some(40), Some(66)));
    assert_eq!(response.meta.response_model.as_str(), MODEL);
    assert_eq!(
        response.meta.finish_reasons.as_slice(),
        &[RString::from("stop")]
    );
}

/// A TGI 3 chat answer that calls a tool: no `content`, arguments as a JSON string.
const TOOL_ANSWER: &str = r#"{"object":"chat.completion","id":"","created":1732000000,"model":"meta-llama/Llama-3.1-8B-Instruct","system_fingerprint":"3.0.1-sha-bb9095a","choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"0","type":"function","function":{"description":null,"name":"add","arguments":"{\"a\":2,\"b\":12}"}}]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":310,"completion_tokens":21,"total_tokens":331}}"#;

#[test]
fn a_tool_calling_answer_finishes_with_tool_calls() {
    assert_hf_schema(CHAT_OUTPUT_SCHEMA, &json(TOOL_ANSWER.as_bytes()));
    let response = parse(
        &plan(RouteType::CHAT, MODEL, "{}"),
        200,
        TOOL_ANSWER.as_bytes(),
    );
    let body = client_body(&response, TOOL_ANSWER.as_bytes());
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"],
        json(TOOL_ANSWER.as_bytes())["choices"][0]["message"]["tool_calls"]
    );
    assert_eq!(
        response.meta.finish_reasons.as_slice(),
        &[RString::from("tool_calls")]
    );
    assert_eq!(response.meta.usage, counts(Some(310), Some(21), Some(331)));
}

#[test]
fn kong_completion_answer_becomes_a_text_completion() {
    let upstream = fixture("huggingface/llm-v1-completions/responses/good.json");
    let response = parse(&plan(RouteType::COMPLETIONS, MODEL, "{}"), 200, &upstream);
    let body = client_body(&response, &upstream);
    // Kong answers this in `choices[0].message.content` with `object: "llm/v1/completions"` and
    // `finish_reason: "complete"`. The answer has no details, so nothing says why it stopped, and
    // no usage: the counts are not reported (zero in the body, which OpenAI's schema requires).
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["model"], MODEL);
    assert_eq!(
        body["choices"],
        json!([{"text": "I am a language model AI created by Mistral AI", "index": 0, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );
    assert!(body["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_openai("CreateCompletionResponse", &body);
    assert_eq!(response.meta.usage, Usage::default(), "not reported");
    assert_eq!(
        response.meta.finish_reasons.as_slice(),
        &[RString::from("stop")]
    );
}

#[test]
fn generation_details_give_the_finish_reason_and_usage() {
    let generation = json!({
        "generated_text": " Because division by zero is undefined.",
        "details": {
            "finish_reason": "length", "generated_tokens": 8, "seed": null,
            "prefill": [
                {"id": 1, "text": "<s>", "logprob": -0.1},
                {"id": 6140, "text": "Exp", "logprob": -9.2},
                {"id": 7146, "text": "lain", "logprob": -2.1},
            ],
            "tokens": [{"id": 5518, "text": " Because", "logprob": -0.4, "special": false}],
        },
    });
    assert_hf_schema(GENERATION_OUTPUT_SCHEMA, &generation);
    let inference_api = json!([generation]).to_string();
    let tgi = generation.to_string();
    for upstream in [inference_api.as_bytes(), tgi.as_bytes()] {
        let response = parse(&plan(RouteType::COMPLETIONS, MODEL, "{}"), 200, upstream);
        let body = client_body(&response, upstream);
        assert_eq!(
            body["choices"][0]["text"],
            " Because division by zero is undefined."
        );
        assert_eq!(body["choices"][0]["finish_reason"], "length");
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11})
        );
        assert_openai("CreateCompletionResponse", &body);
        assert_eq!(response.meta.usage, counts(Some(3), Some(8), None));
    }

    let no_prefill = json!([{"generated_text": "x", "details": {"finish_reason": "eos_token", "generated_tokens": 2, "prefill": [], "tokens": []}}]).to_string();
    let response = parse(
        &plan(RouteType::COMPLETIONS, MODEL, "{}"),
        200,
        no_prefill.as_bytes(),
    );
    assert_eq!(
        response.meta.usage,
        counts(None, Some(2), None),
        "an empty prefill is TGI not listing the prompt, not an empty prompt"
    );
    assert_eq!(
        response.meta.finish_reasons.as_slice(),
        &[RString::from("stop")]
    );
}

#[test]
fn feature_extraction_vectors_become_an_embeddings_list() {
    let model = "sentence-transformers/all-MiniLM-L6-v2";
    let upstream = b"[[0.25,-0.5,0.125],[1,0,-1e-3]]";
    let response = parse(&plan(RouteType::EMBEDDINGS, model, "{}"), 200, upstream);
    let body = client_body(&response, upstream);
    assert_eq!(
        body,
        json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 0.125]},
                {"object": "embedding", "index": 1, "embedding": [1.0, 0.0, -0.001]},
            ],
            "model": model,
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        })
    );
    assert_openai("CreateEmbeddingResponse", &body);
    assert_eq!(response.meta.usage, Usage::default(), "not reported");

    let flat = parse(
        &plan(RouteType::EMBEDDINGS, model, "{}"),
        200,
        b"[0.5, 0.25]",
    );
    assert_eq!(
        client_body(&flat, b"")["data"][0]["embedding"],
        json!([0.5, 0.25])
    );
}

#[test]
fn token_level_features_are_a_502_that_says_why() {
    let error = HuggingFace::parse_response(
        &plan(RouteType::EMBEDDINGS, "bert-base-uncased", "{}"),
        200,
        &[],
        b"[[[0.1,0.2],[0.3,0.4]]]",
    )
    .unwrap_err();
    assert_eq!(error.status, 502);
    assert!(
        error.message.contains("returns one vector per token"),
        "{error}"
    );
    for body in [&b"[[0.1],0.2]"[..], b"{}", b"[\"x\"]", b"<html>"] {
        let error =
            HuggingFace::parse_response(&plan(RouteType::EMBEDDINGS, "m", "{}"), 200, &[], body)
                .unwrap_err();
        assert_eq!(error.status, 502, "{}", String::from_utf8_lossy(body));
    }
}

fn error_envelope(route_type: RouteType, status: u16, body: &[u8]) -> Value {
    let response = parse(&plan(route_type, MODEL, "{}"), status, body);
    assert_eq!(response.status, status, "the upstream's status is kept");
    assert_eq!(response.headers[0].name.as_str(), "content-type");
    assert_eq!(response.headers[0].value.as_str(), "application/json");
    let body = client_body(&response, b"");
    assert!(body["error"]["param"].is_null());
    body["error"].clone()
}

#[test]
fn kong_error_fixtures_become_openais_envelope() {
    let cases = [
        (RouteType::CHAT, 400, "llm-v1-chat/responses/bad_request.json", "Template error: undefined value (in <string>:1)", "invalid_request_error", json!("template_error")),
        (RouteType::CHAT, 401, "llm-v1-chat/responses/unauthorized.json", "Authorization header is correct, but the token seems invalid", "authentication_error", Value::Null),
        (RouteType::CHAT, 503, "llm-v1-chat/responses/bad_response_model_load.json", "Model mistralai/Mistral-7B-Instruct-v0.2 is currently loading (estimated time until the model is loaded: 306 s)", "service_unavailable", Value::Null),
        (RouteType::CHAT, 504, "llm-v1-chat/responses/bad_response_timeout.json", "Model mistralai/Mistral-7B-Instruct-v0.2 time out", "timeout", Value::Null),
        (RouteType::COMPLETIONS, 422, "llm-v1-completions/responses/bad_request.json", "Failed to deserialize the JSON body into the target type: missing field `inputs` at line 9 column 7", "invalid_request_error", Value::Null),
        (RouteType::COMPLETIONS, 401, "llm-v1-completions/responses/unauthorized.json", "Authorization header is correct, but the token seems invalid", "authentication_error", Value::Null),
    ];
    for (route_type, status, path, message, kind, code) in cases {
        let error = error_envelope(route_type, status, &fixture(&format!("huggingface/{path}")));
        assert_eq!(error["message"], message, "{path}");
        assert_eq!(error["type"], kind, "{path}");
        assert_eq!(error["code"], code, "{path}");
    }
    let error = error_envelope(
        RouteType::EMBEDDINGS,
        400,
        br#"{"error":["Input should be a valid string"]}"#,
    );
    assert_eq!(error["message"], "Input should be a valid string");
}

#[test]
fn an_error_in_a_success_body_is_a_502() {
    let body = fixture("huggingface/llm-v1-chat/responses/bad_response_model_load.json");
    for route_type in [
        RouteType::CHAT,
        RouteType::COMPLETIONS,
        RouteType::EMBEDDINGS,
    ] {
        let error = HuggingFace::parse_response(&plan(route_type, MODEL, "{}"), 200, &[], &body)
            .unwrap_err();
        assert_eq!(error.status, 502);
        assert!(
            error
                .message
                .starts_with("huggingface answered HTTP 200 with an error: Model mistralai/Mistral-7B-Instruct-v0.2 is currently loading"),
            "{error}"
        );
    }
}

#[test]
fn preserve_answers_are_forwarded() {
    let body = fixture("huggingface/llm-v1-chat/responses/good.json");
    let response = parse(&plan(RouteType::PRESERVE, "", "{}"), 200, &body);
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage.total_tokens, ROption::RSome(66));
    let response = parse(
        &plan(RouteType::PRESERVE, "", "{}"),
        503,
        b"{\"error\":\"x\"}",
    );
    assert!(
        response.body.is_none(),
        "preserve keeps even errors as sent"
    );
}
