//! `llama2_format: openai`: an OpenAI-compatible server at `upstream_url`; bodies go through
//! with the route's edits and replies come back as sent.

use ai_provider_llama2::Llama2;
use provider_sdk::abi::{Framing, RouteType};
use provider_sdk::Provider;
use serde_json::json;
use spec_check::assert_openapi;

use crate::common::{build, fixture, json, plan, sent_body, streamed, OPENAI};

const OPENAI_SPEC: &str = "openai/openapi.prism.json";

#[test]
fn upstream_url_is_the_endpoint_and_the_body_gets_the_routes_edits() {
    let client = fixture("openai/llm-v1-chat/requests/good-stream.json");
    let request = build(
        &streamed(RouteType::CHAT, "llama3-8b", OPENAI, false),
        &client,
    );
    assert_eq!(request.url.as_str(), "http://vllm:8000/v1/chat/completions");
    assert_eq!(request.response_framing, Framing::SSE);
    let sent = sent_body(&request, &client);
    assert_openapi(OPENAI_SPEC, "CreateChatCompletionRequest", &sent);
    assert_eq!(sent["model"], "llama3-8b");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent["messages"], json(&client)["messages"]);

    let completions = fixture("openai/llm-v1-completions/requests/good.json");
    let request = build(
        &plan(RouteType::COMPLETIONS, "llama3-8b", OPENAI),
        &completions,
    );
    assert_eq!(
        request.url.as_str(),
        "http://vllm:8000/v1/chat/completions",
        "Kong's rule: the URL as given"
    );
    assert_openapi(
        OPENAI_SPEC,
        "CreateCompletionRequest",
        &sent_body(&request, &completions),
    );
}

#[test]
fn replies_are_forwarded_and_metered() {
    let reply = fixture("openai/llm-v1-chat/responses/good.json");
    let response =
        Llama2::parse_response(&plan(RouteType::CHAT, "m", OPENAI), 200, &[], &reply).unwrap();
    assert!(response.body.is_none(), "forwarded as sent");
    assert_eq!(response.meta.usage.total_tokens, Some(37).into());
    let error = Llama2::parse_response(
        &plan(RouteType::CHAT, "m", OPENAI),
        200,
        &[],
        &fixture("openai/llm-v1-chat/responses/bad_upstream_response.json"),
    )
    .unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "transformation failed from type llama2://llm/v1/chat: 'choices' not in response"
    );
}

#[test]
fn an_openai_stream_is_relayed_with_usage_only_when_asked() {
    let stream = b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n";
    let mut translator = Llama2::new_stream_translator(
        &streamed(RouteType::CHAT, "llama3", OPENAI, false),
        200,
        &[],
    )
    .unwrap();
    let mut out = translator.push(stream).unwrap();
    out.extend(translator.finish().unwrap());
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("usage"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert_eq!(translator.meta().usage.total_tokens, Some(4).into());
}
