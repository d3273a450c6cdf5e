use abi_stable::std_types::RStr;
use ai_provider_openai::OpenAi;
use provider_sdk::abi::{Framing, RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::Value;

use crate::common::{fixture, json, plan};
use crate::openapi::violations;

fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    OpenAi::build_request(plan, &ClientBody::new(body)).unwrap()
}

fn url(plan: &RequestPlan<'_>) -> String {
    build(
        plan,
        br#"{"model":"m","messages":[{"role":"user","content":"x"}],"prompt":"x","input":"x"}"#,
    )
    .url
    .into_string()
}

/// The body that goes upstream: the edited one, or the client's when the module sends it as is.
fn sent_body(request: &UpstreamRequest, client_body: &[u8]) -> Vec<u8> {
    request
        .body
        .as_ref()
        .map(|b| b.to_vec())
        .into_option()
        .unwrap_or_else(|| client_body.to_vec())
}

#[test]
fn default_urls_per_route_type() {
    let cases = [
        (
            RouteType::CHAT,
            "https://api.openai.com/v1/chat/completions",
        ),
        (
            RouteType::COMPLETIONS,
            "https://api.openai.com/v1/completions",
        ),
        (
            RouteType::EMBEDDINGS,
            "https://api.openai.com/v1/embeddings",
        ),
    ];
    for (route_type, expected) in cases {
        assert_eq!(url(&plan(route_type, "m", "{}")), expected);
    }
}

#[test]
fn upstream_url_replaces_origin_and_path_and_drops_its_query() {
    let options = r#"{"upstream_url":"http://localhost:8080/openai/v1/chat?secret=1"}"#;
    let mut chat = plan(RouteType::CHAT, "m", options);
    assert_eq!(url(&chat), "http://localhost:8080/openai/v1/chat");
    chat.client_query = RStr::from_str("trace=on&x=%20");
    assert_eq!(
        url(&chat),
        "http://localhost:8080/openai/v1/chat?trace=on&x=%20"
    );

    let bare = plan(
        RouteType::EMBEDDINGS,
        "m",
        r#"{"upstream_url":"http://vllm:8000"}"#,
    );
    assert_eq!(url(&bare), "http://vllm:8000/v1/embeddings");
}

#[test]
fn upstream_path_replaces_only_the_path() {
    let mut completions = plan(
        RouteType::COMPLETIONS,
        "m",
        r#"{"upstream_path":"/proxy/v1/completions"}"#,
    );
    assert_eq!(
        url(&completions),
        "https://api.openai.com/proxy/v1/completions"
    );
    completions.client_query = RStr::from_str("a=1");
    assert_eq!(
        url(&completions),
        "https://api.openai.com/proxy/v1/completions?a=1"
    );

    let both = plan(
        RouteType::CHAT,
        "m",
        r#"{"upstream_url":"https://llm.internal:9443/ignored","upstream_path":"/v1/chat/completions?api=2"}"#,
    );
    let mut both = both;
    both.client_query = RStr::from_str("a=1");
    assert_eq!(
        url(&both),
        "https://llm.internal:9443/v1/chat/completions?api=2&a=1"
    );
}

#[test]
fn preserve_uses_the_client_path_method_and_body() {
    let mut preserve = plan(RouteType::PRESERVE, "", "{}");
    preserve.client_method = RStr::from_str("GET");
    preserve.client_path = RStr::from_str("/v1/models/gpt-4o");
    preserve.client_query = RStr::from_str("limit=2");
    let request = build(&preserve, b"");
    assert_eq!(
        request.url.as_str(),
        "https://api.openai.com/v1/models/gpt-4o?limit=2"
    );
    assert_eq!(request.method.as_str(), "GET");
    assert!(request.body.is_none());
    assert!(request.headers.is_empty());
    assert_eq!(request.response_framing, Framing::JSON);

    let mut preserve = plan(
        RouteType::PRESERVE,
        "",
        r#"{"upstream_url":"http://mock:9000/other/path?q=1"}"#,
    );
    preserve.client_path = RStr::from_str("/v1/embeddings");
    let body = br#"{"model":"text-embedding-ada-002","input":"hi","top_k":3}"#;
    let request = build(&preserve, body);
    assert_eq!(request.url.as_str(), "http://mock:9000/v1/embeddings");
    assert!(request.body.is_none(), "preserve sends the client's bytes");

    let mut preserve = plan(
        RouteType::PRESERVE,
        "",
        r#"{"upstream_path":"/openai/deployments/d/chat"}"#,
    );
    preserve.client_query = RStr::from_str("api-version=2024-02-01");
    preserve.stream = true;
    let request = build(&preserve, b"{}");
    assert_eq!(
        request.url.as_str(),
        "https://api.openai.com/openai/deployments/d/chat?api-version=2024-02-01"
    );
    assert_eq!(request.response_framing, Framing::SSE);
}

#[test]
fn method_headers_and_framing() {
    let body = fixture("openai/llm-v1-chat/requests/good.json");
    let request = build(&plan(RouteType::CHAT, "gpt-4", "{}"), &body);
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.headers.len(), 1);
    assert_eq!(request.headers[0].name.as_str(), "content-type");
    assert_eq!(request.headers[0].value.as_str(), "application/json");
    assert_eq!(request.response_framing, Framing::JSON);

    let mut streamed = plan(RouteType::CHAT, "gpt-4", "{}");
    streamed.stream = true;
    assert_eq!(build(&streamed, &body).response_framing, Framing::SSE);
}

#[test]
fn kong_unit_requests_match_the_expected_openai_bodies() {
    let options = r#"{"max_tokens":512,"temperature":0.5,"top_k":40}"#;
    let cases = [
        (RouteType::CHAT, "gpt-4", "llm-v1-chat.json"),
        (
            RouteType::COMPLETIONS,
            "gpt-3.5-turbo-instruct",
            "llm-v1-completions.json",
        ),
    ];
    for (route_type, model, file) in cases {
        let client = fixture(&format!("unit/requests/{file}"));
        let request = build(&plan(route_type, model, options), &client);
        let mut sent = json(&sent_body(&request, &client));
        let mut expected = json(&fixture(&format!("unit/expected-requests/openai/{file}")));
        // Kong always writes `stream: false`; a body that did not ask for streaming is left
        // without it here.
        assert_eq!(
            expected.as_object_mut().unwrap().remove("stream"),
            Some(Value::Bool(false))
        );
        assert_eq!(sent.as_object_mut().unwrap().remove("stream"), None);
        assert_eq!(sent, expected, "{file}");
    }
}

#[test]
fn the_clients_bytes_are_kept_outside_the_edited_fields() {
    let client = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let request = build(
        &plan(RouteType::CHAT, "gpt-4o", r#"{"max_tokens":100}"#),
        &client,
    );
    let sent = String::from_utf8(sent_body(&request, &client)).unwrap();
    let original = json(&client);
    let client_text = String::from_utf8(client.clone()).unwrap();
    let tools_start = client_text
        .find("[\n    {\n      \"type\": \"function\"")
        .unwrap();
    let tools_text = &client_text[tools_start..client_text.rfind(']').unwrap() + 1];
    assert!(sent.contains(tools_text), "tools forwarded byte for byte");

    let sent = json(sent.as_bytes());
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["temperature"], original["temperature"]);
    assert_eq!(sent["n"], 1);
    assert_eq!(
        sent["stream"], false,
        "the client sent stream, the plan does not stream"
    );
}

#[test]
fn client_tuning_wins_and_config_fills_in() {
    let body = br#"{"messages":[{"role":"user","content":"x"}],"temperature":0.9,"max_tokens":4096,"top_k":5}"#;
    let options = r#"{"temperature":0.2,"top_p":0.8,"max_tokens":256,"top_k":10}"#;
    let request = build(&plan(RouteType::CHAT, "gpt-4", options), body);
    let sent = json(&sent_body(&request, body));
    assert_eq!(sent["temperature"], 0.9);
    assert_eq!(sent["top_p"], 0.8);
    assert_eq!(sent["max_tokens"], 256);
    assert!(sent.get("top_k").is_none());

    let body = br#"{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":4096}"#;
    let request = build(&plan(RouteType::CHAT, "o3", r#"{"max_tokens":256}"#), body);
    let sent = json(&sent_body(&request, body));
    assert_eq!(sent["max_completion_tokens"], 256);
    assert!(sent.get("max_tokens").is_none());
}

#[test]
fn streaming_always_asks_for_usage() {
    let client = fixture("openai/llm-v1-chat/requests/good-stream.json");
    let mut streamed = plan(RouteType::CHAT, "gpt-4", "{}");
    streamed.stream = true;
    let request = build(&streamed, &client);
    let sent = json(&sent_body(&request, &client));
    assert_eq!(sent["stream"], true);
    assert_eq!(
        sent["stream_options"],
        serde_json::json!({"include_usage": true})
    );

    let body = br#"{"model":"gpt-4","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_obfuscation":false}}"#;
    let request = build(&streamed, body);
    let sent = json(&sent_body(&request, body));
    assert_eq!(
        sent["stream_options"],
        serde_json::json!({"include_obfuscation": false, "include_usage": true})
    );
}

#[test]
fn an_untouched_body_is_sent_as_is() {
    let body = br#"{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}"#;
    assert!(build(&plan(RouteType::CHAT, "gpt-4", "{}"), body)
        .body
        .is_none());
    let body = br#"{"model":"text-embedding-3-small","input":["a","b"]}"#;
    let request = build(
        &plan(
            RouteType::EMBEDDINGS,
            "text-embedding-3-small",
            r#"{"temperature":1}"#,
        ),
        body,
    );
    assert!(request.body.is_none(), "tuning never applies to embeddings");
}

#[test]
fn bad_bodies_and_resolved_options_are_client_errors() {
    let error = OpenAi::build_request(&plan(RouteType::CHAT, "m", "{}"), &ClientBody::new(b"[]"))
        .unwrap_err();
    assert_eq!(
        (error.status, error.message.as_str()),
        (400, "request body must be a JSON object")
    );

    let resolved_badly = plan(RouteType::CHAT, "m", r#"{"upstream_url":"not a url"}"#);
    let error = OpenAi::build_request(&resolved_badly, &ClientBody::new(b"{}")).unwrap_err();
    assert_eq!(error.status, 400);
    assert_eq!(
        error.message.as_str(),
        "upstream_url: must be an absolute http or https URL"
    );

    let error =
        OpenAi::build_request(&plan(RouteType(7), "m", "{}"), &ClientBody::new(b"{}")).unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "openai does not support route type 7"
    );
}

#[test]
fn upstream_bodies_conform_to_the_openai_schema() {
    let options = r#"{"max_tokens":512,"temperature":0.5,"top_p":1,"top_k":40}"#;
    let mut streamed = plan(RouteType::CHAT, "gpt-4o", options);
    streamed.stream = true;
    let cases = [
        (
            plan(RouteType::CHAT, "gpt-4o", options),
            "openai/llm-v1-chat/requests/good.json",
            "CreateChatCompletionRequest",
        ),
        (
            streamed,
            "openai/llm-v1-chat/requests/good-stream-with-functions.json",
            "CreateChatCompletionRequest",
        ),
        (
            plan(RouteType::CHAT, "gpt-4o", options),
            "openai/llm-v1-chat/requests/good_multi_modal.json",
            "CreateChatCompletionRequest",
        ),
        (
            plan(RouteType::CHAT, "gpt-4o", "{}"),
            "unit/requests/llm-v1-chat.json",
            "CreateChatCompletionRequest",
        ),
        (
            plan(RouteType::COMPLETIONS, "gpt-3.5-turbo-instruct", options),
            "openai/llm-v1-completions/requests/good.json",
            "CreateCompletionRequest",
        ),
    ];
    for (plan, path, schema) in cases {
        let client = fixture(path);
        let client_value = json(&client);
        assert!(
            !violations(schema, &client_value).is_empty(),
            "{path}: the client body lacks `model`, so the schema check has something to catch"
        );
        let request = build(&plan, &client);
        let sent = json(&sent_body(&request, &client));
        assert_eq!(violations(schema, &sent), Vec::<String>::new(), "{path}");
    }

    let body = br#"{"input":["a","b"],"encoding_format":"float"}"#;
    let request = build(
        &plan(RouteType::EMBEDDINGS, "text-embedding-3-small", "{}"),
        body,
    );
    let sent = json(&sent_body(&request, body));
    assert_eq!(
        violations("CreateEmbeddingRequest", &sent),
        Vec::<String>::new()
    );
}

#[test]
fn the_schema_check_catches_wrong_types() {
    let bad = serde_json::json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "x"}],
        "stream_options": {"include_usage": "yes"},
        "max_completion_tokens": 1.5,
    });
    let bad_message = serde_json::json!({
        "model": "gpt-4o",
        "messages": [{"role": "wizard", "content": "x"}],
    });
    assert_eq!(
        violations("CreateChatCompletionRequest", &bad_message),
        vec!["$.messages[0]: matches no oneOf branch".to_string()]
    );
    let found = violations("CreateChatCompletionRequest", &bad);
    assert!(
        found.iter().any(|v| v.starts_with("$.stream_options")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("$.max_completion_tokens")),
        "{found:?}"
    );
}
