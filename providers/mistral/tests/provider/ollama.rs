//! `mistral_format: ollama`: Kong's Mistral fixtures through provider-sdk's Ollama translation.

use ai_provider_mistral::Mistral;
use provider_sdk::abi::RouteType;
use provider_sdk::Provider;
use serde_json::json;
use spec_check::assert_openapi;

use crate::common::{build, fixture, json, plan, sent_body, OLLAMA};

#[test]
fn kong_unit_chat_matches_the_expected_ollama_body() {
    let options = r#"{"mistral_format":"ollama","upstream_url":"http://ollama:11434/api/chat","max_tokens":512,"temperature":0.5}"#;
    let client = fixture("unit/requests/llm-v1-chat.json");
    let request = build(&plan(RouteType::CHAT, "mistral-tiny", options), &client);
    assert_eq!(request.url.as_str(), "http://ollama:11434/api/chat");
    let sent = sent_body(&request, &client);
    assert_openapi("ollama/openapi.yaml", "ChatRequest", &sent);
    assert_eq!(
        sent,
        json(&fixture(
            "unit/expected-requests/mistral/ollama/llm-v1-chat.json"
        ))
    );
}

#[test]
fn kong_replies_with_the_replys_own_counts() {
    let reply = fixture("unit/real-responses/mistral/ollama/llm-v1-chat.json");
    let response = Mistral::parse_response(
        &plan(RouteType::CHAT, "mistral-tiny", OLLAMA),
        200,
        &[],
        &reply,
    )
    .unwrap();
    let body = json(response.body.as_ref().unwrap().as_slice());
    let expected = json(&fixture(
        "unit/expected-responses/mistral/ollama/llm-v1-chat.json",
    ));
    assert_eq!(
        body["choices"][0]["message"]["content"],
        expected["choices"][0]["message"]["content"]
    );
    assert_eq!(body["model"], expected["model"]);
    // Kong's expected usage (130 / 139) is not in this reply, whose counts are 26 and 100.
    assert_eq!(expected["usage"]["completion_tokens"], 139);
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 26, "completion_tokens": 100, "total_tokens": 126})
    );

    let reply = fixture("mistral/request-transformer/response-in-json.json");
    let response = Mistral::parse_response(
        &plan(RouteType::CHAT, "mistral-tiny", OLLAMA),
        200,
        &[],
        &reply,
    )
    .unwrap();
    let body = json(response.body.as_ref().unwrap().as_slice());
    let content: serde_json::Value =
        serde_json::from_str(body["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["persons"][0]["name"], "Kong A");
}

#[test]
fn embeddings_reach_api_embed() {
    let request = build(
        &plan(RouteType::EMBEDDINGS, "mxbai-embed-large", OLLAMA),
        br#"{"input":"hi"}"#,
    );
    assert_eq!(request.url.as_str(), "http://ollama:11434/api/embed");
    let sent = sent_body(&request, b"");
    assert_openapi("ollama/openapi.yaml", "EmbedRequest", &sent);
    assert_eq!(sent, json!({"model": "mxbai-embed-large", "input": "hi"}));
}
