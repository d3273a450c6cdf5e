use abi_stable::std_types::{ROption, RString};
use ai_provider_openai::OpenAi;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, TranslatedResponse, Usage};
use provider_sdk::Provider;

use crate::common::{fixture, json, plan};

fn parse(plan: &RequestPlan<'_>, status: u16, body: &[u8]) -> TranslatedResponse {
    OpenAi::parse_response(plan, status, &[], body).unwrap()
}

fn usage(prompt: u64, completion: Option<u64>, total: u64) -> Usage {
    Usage {
        prompt_tokens: ROption::RSome(prompt),
        completion_tokens: completion.into(),
        total_tokens: ROption::RSome(total),
        cached_tokens: ROption::RNone,
    }
}

fn error_body(response: &TranslatedResponse) -> serde_json::Value {
    assert_eq!(response.headers.len(), 1);
    assert_eq!(response.headers[0].name.as_str(), "content-type");
    assert_eq!(response.headers[0].value.as_str(), "application/json");
    json(response.body.as_ref().into_option().unwrap())
}

#[test]
fn kong_good_chat_response_is_forwarded_and_metered() {
    let body = fixture("openai/llm-v1-chat/responses/good.json");
    let response = parse(&plan(RouteType::CHAT, "gpt-3.5-turbo", "{}"), 200, &body);
    assert_eq!(response.status, 200);
    assert!(response.body.is_none());
    assert!(response.headers.is_empty());
    assert_eq!(
        response.meta,
        ResponseMeta {
            usage: usage(25, Some(12), 37),
            response_model: "gpt-3.5-turbo-0613".into(),
            response_id: "chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2".into(),
            finish_reasons: vec![RString::from("stop")].into(),
        }
    );
}

#[test]
fn kong_completions_and_unit_responses() {
    let body = fixture("openai/llm-v1-completions/responses/good.json");
    let response = parse(&plan(RouteType::COMPLETIONS, "m", "{}"), 200, &body);
    assert_eq!(response.meta.usage, usage(4, Some(16), 20));
    assert_eq!(
        response.meta.response_model.as_str(),
        "gpt-3.5-turbo-instruct"
    );

    let cases = [
        (
            RouteType::CHAT,
            "llm-v1-chat.json",
            usage(130, Some(139), 269),
            "gpt-4-0613",
        ),
        (
            RouteType::COMPLETIONS,
            "llm-v1-completions.json",
            usage(10, Some(225), 235),
            "gpt-3.5-turbo-instruct",
        ),
    ];
    for (route_type, file, expected_usage, model) in cases {
        let body = fixture(&format!("unit/real-responses/openai/{file}"));
        let response = parse(&plan(route_type, "m", "{}"), 200, &body);
        assert!(
            response.body.is_none(),
            "the upstream body is already the client's format"
        );
        assert_eq!(response.meta.usage, expected_usage);
        assert_eq!(response.meta.response_model.as_str(), model);
        let expected = json(&fixture(&format!("unit/expected-responses/openai/{file}")));
        assert_eq!(json(&body)["choices"], expected["choices"]);
    }
}

#[test]
fn kong_bad_upstream_response_is_a_502() {
    let body = fixture("openai/llm-v1-chat/responses/bad_upstream_response.json");
    let error =
        OpenAi::parse_response(&plan(RouteType::CHAT, "m", "{}"), 200, &[], &body).unwrap_err();
    assert_eq!(error.status, 502);
    assert_eq!(error.kind.as_str(), "bad_gateway");
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type openai://llm/v1/chat: 'choices' not in response"
    );

    let error = OpenAi::parse_response(&plan(RouteType::EMBEDDINGS, "m", "{}"), 200, &[], &body)
        .unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type openai://llm/v1/embeddings: 'data' not in response"
    );

    let error = OpenAi::parse_response(
        &plan(RouteType::COMPLETIONS, "m", "{}"),
        200,
        &[],
        b"<html>",
    )
    .unwrap_err();
    assert_eq!(error.status, 502);
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type openai://llm/v1/completions: response is not a JSON object"
    );
}

#[test]
fn kong_error_envelopes_keep_status_and_bytes() {
    for (status, path) in [
        (401, "openai/llm-v1-chat/responses/unauthorized.json"),
        (400, "openai/llm-v1-chat/responses/bad_request.json"),
        (401, "openai/llm-v1-completions/responses/unauthorized.json"),
        (400, "openai/llm-v1-completions/responses/bad_request.json"),
    ] {
        let body = fixture(path);
        let response = parse(&plan(RouteType::CHAT, "m", "{}"), status, &body);
        assert_eq!(response.status, status);
        assert_eq!(
            response.body.as_ref().into_option().map(|b| b.as_slice()),
            Some(&body[..])
        );
        assert_eq!(
            error_body(&response)["error"]["code"],
            json(&body)["error"]["code"]
        );
        assert_eq!(response.meta, ResponseMeta::default());
    }
}

#[test]
fn kong_html_error_is_wrapped() {
    let body = fixture("openai/llm-v1-chat/responses/internal_server_error.html");
    let response = parse(&plan(RouteType::CHAT, "m", "{}"), 500, &body);
    assert_eq!(response.status, 500);
    let envelope = error_body(&response);
    assert_eq!(
        envelope["error"]["message"],
        "upstream openai returned HTTP 500"
    );
    assert_eq!(envelope["error"]["type"], "server_error");
}

#[test]
fn embeddings_route_and_preserve() {
    let body = fixture("openai/llm-v1-embeddings/responses/good.json");
    let expected_prompt = json(&body)["usage"]["prompt_tokens"].as_u64();
    assert!(expected_prompt.is_some());

    let response = parse(&plan(RouteType::EMBEDDINGS, "m", "{}"), 200, &body);
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage.prompt_tokens, expected_prompt.into());
    assert_eq!(
        response.meta.response_model.as_str(),
        "text-embedding-3-large"
    );

    let preserve = plan(RouteType::PRESERVE, "", "{}");
    let response = parse(&preserve, 200, &body);
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage.prompt_tokens, expected_prompt.into());

    let meta = OpenAi::native_metadata(&preserve, 200, &body).unwrap();
    assert_eq!(meta.usage.prompt_tokens, expected_prompt.into());
    assert_eq!(meta.usage.completion_tokens, ROption::RNone);
}

#[test]
fn preserve_forwards_anything_unchanged() {
    let preserve = plan(RouteType::PRESERVE, "", "{}");
    let html = fixture("openai/llm-v1-chat/responses/internal_server_error.html");
    let response = parse(&preserve, 500, &html);
    assert_eq!(response.status, 500);
    assert!(response.body.is_none());
    assert!(response.headers.is_empty());
    assert_eq!(response.meta, ResponseMeta::default());

    let no_choices = fixture("openai/llm-v1-chat/responses/bad_upstream_response.json");
    assert!(parse(&preserve, 200, &no_choices).body.is_none());
    assert_eq!(
        OpenAi::native_metadata(&preserve, 200, b"\x00binary").unwrap(),
        ResponseMeta::default()
    );
}
