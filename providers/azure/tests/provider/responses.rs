use abi_stable::std_types::{ROption, RString};
use ai_provider_azure::Azure;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, TranslatedResponse, Usage};
use provider_sdk::Provider;

use crate::common::{fixture, json, plan, OPTIONS};

/// A chat completion as Azure writes it: OpenAI's shape plus the content filter's verdicts on the
/// prompt and on each choice.
pub const AZURE_CHAT: &str = r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"1 + 1 = 2.","refusal":null,"role":"assistant"}}],"created":1731000000,"id":"chatcmpl-AzUre","model":"gpt-4o-2024-08-06","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"system_fingerprint":"fp_04751d0b65","usage":{"completion_tokens":7,"completion_tokens_details":{"reasoning_tokens":0},"prompt_tokens":25,"prompt_tokens_details":{"cached_tokens":0},"total_tokens":32}}"#;

fn parse(plan: &RequestPlan<'_>, status: u16, body: &[u8]) -> TranslatedResponse {
    Azure::parse_response(plan, status, &[], body).unwrap()
}

fn usage(prompt: u64, completion: Option<u64>, total: u64, cached: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: ROption::RSome(prompt),
        completion_tokens: completion.into(),
        total_tokens: ROption::RSome(total),
        cached_tokens: cached.into(),
    }
}

#[test]
fn azure_chat_responses_reach_the_client_with_their_filter_results() {
    let response = parse(
        &plan(RouteType::CHAT, "gpt-4o", OPTIONS),
        200,
        AZURE_CHAT.as_bytes(),
    );
    assert_eq!(response.status, 200);
    assert!(
        response.body.is_none(),
        "forwarded byte for byte, content_filter_results and prompt_filter_results included"
    );
    assert!(response.headers.is_empty());
    assert_eq!(
        response.meta,
        ResponseMeta {
            usage: usage(25, Some(7), 32, Some(0)),
            response_model: "gpt-4o-2024-08-06".into(),
            response_id: "chatcmpl-AzUre".into(),
            finish_reasons: vec![RString::from("stop")].into(),
        }
    );
}

#[test]
fn kong_azure_responses_are_metered() {
    let cases = [
        (
            RouteType::CHAT,
            "unit/real-responses/azure/llm-v1-chat.json",
        ),
        (
            RouteType::COMPLETIONS,
            "unit/real-responses/azure/llm-v1-completions.json",
        ),
        (
            RouteType::CHAT,
            "azure/request-transformer/response-in-json.json",
        ),
    ];
    for (route_type, path) in cases {
        let body = fixture(path);
        let expected = json(&body);
        let response = parse(&plan(route_type, "m", OPTIONS), 200, &body);
        assert!(response.body.is_none(), "{path}");
        assert_eq!(
            response.meta.usage.prompt_tokens,
            expected["usage"]["prompt_tokens"].as_u64().into(),
            "{path}"
        );
        assert_eq!(
            response.meta.usage.completion_tokens,
            expected["usage"]["completion_tokens"].as_u64().into(),
            "{path}"
        );
        assert_eq!(
            Some(response.meta.response_model.as_str()),
            expected["model"].as_str(),
            "{path}"
        );
    }
}

#[test]
fn embeddings_are_metered() {
    let body = fixture("openai/llm-v1-embeddings/responses/good.json");
    let expected = json(&body);
    let response = parse(&plan(RouteType::EMBEDDINGS, "m", OPTIONS), 200, &body);
    assert!(response.body.is_none());
    assert_eq!(
        response.meta.usage.prompt_tokens,
        expected["usage"]["prompt_tokens"].as_u64().into()
    );
    assert_eq!(response.meta.usage.completion_tokens, ROption::RNone);
}

#[test]
fn azure_error_envelopes_keep_status_and_bytes() {
    let content_filter = br#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}"#;
    let not_found = br#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#;
    for (status, body) in [(400, &content_filter[..]), (404, &not_found[..])] {
        let response = parse(&plan(RouteType::CHAT, "m", OPTIONS), status, body);
        assert_eq!(response.status, status);
        assert_eq!(
            response.body.as_ref().into_option().map(|b| b.as_slice()),
            Some(body)
        );
        assert_eq!(response.meta, ResponseMeta::default());
    }
}

#[test]
fn gateway_errors_in_front_of_azure_become_envelopes() {
    // Azure API Management answers a bad key in its own shape.
    let apim = br#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription." }"#;
    let response = parse(&plan(RouteType::CHAT, "m", OPTIONS), 401, apim);
    let envelope = json(response.body.as_ref().into_option().unwrap());
    assert_eq!(
        envelope["error"]["message"],
        "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
    );
    assert_eq!(envelope["error"]["type"], "authentication_error");
    assert_eq!(response.headers[0].value.as_str(), "application/json");

    let html = fixture("openai/llm-v1-chat/responses/internal_server_error.html");
    let response = parse(&plan(RouteType::CHAT, "m", OPTIONS), 500, &html);
    let envelope = json(response.body.as_ref().into_option().unwrap());
    assert_eq!(
        envelope["error"]["message"],
        "upstream azure returned HTTP 500"
    );
}

#[test]
fn a_200_without_choices_is_a_502_naming_azure() {
    let body = fixture("openai/llm-v1-chat/responses/bad_upstream_response.json");
    let error =
        Azure::parse_response(&plan(RouteType::CHAT, "m", OPTIONS), 200, &[], &body).unwrap_err();
    assert_eq!(error.status, 502);
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type azure://llm/v1/chat: 'choices' not in response"
    );
}

#[test]
fn preserve_forwards_and_meters() {
    let preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    let response = parse(&preserve, 200, AZURE_CHAT.as_bytes());
    assert!(response.body.is_none());
    assert_eq!(response.meta.usage.total_tokens, ROption::RSome(32));
    let meta = Azure::native_metadata(&preserve, 200, AZURE_CHAT.as_bytes()).unwrap();
    assert_eq!(meta.response_model.as_str(), "gpt-4o-2024-08-06");
    assert_eq!(
        Azure::native_metadata(&preserve, 200, b"\x00").unwrap(),
        ResponseMeta::default()
    );
}
