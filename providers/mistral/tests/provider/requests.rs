//! Mistral's dialect of OpenAI's requests (`mistral_format: openai`), each upstream body checked
//! against Mistral's OpenAPI document, which refuses any field it does not define.

use abi_stable::std_types::RStr;
use ai_provider_mistral::Mistral;
use provider_sdk::abi::{Framing, RequestPlan, RouteType};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{build, fixture, json, plan, refused, sent_body, streamed, MANAGED};

const SPEC: &str = "mistral/openapi.yaml";

fn chat_body(plan: &RequestPlan<'_>, client: &Value) -> Value {
    let client = serde_json::to_vec(client).unwrap();
    let sent = sent_body(&build(plan, &client), &client);
    assert_openapi(SPEC, "ChatCompletionRequest", &sent);
    sent
}

#[test]
fn kong_unit_chat_matches_the_expected_mistral_body() {
    let options = r#"{"mistral_format":"openai","max_tokens":512,"temperature":0.5,"top_k":40}"#;
    let client = fixture("unit/requests/llm-v1-chat.json");
    let request = build(&plan(RouteType::CHAT, "mistral-tiny", options), &client);
    assert_eq!(
        request.url.as_str(),
        "https://api.mistral.ai/v1/chat/completions"
    );
    assert_eq!(request.response_framing, Framing::JSON);
    let mut sent = sent_body(&request, &client);
    assert_openapi(SPEC, "ChatCompletionRequest", &sent);
    let mut expected = json(&fixture(
        "unit/expected-requests/mistral/openai/llm-v1-chat.json",
    ));
    // Kong always writes `stream: false`; a body that did not ask for streaming is left without
    // it (Mistral's default). The configured `top_k` is not sent: Mistral has none.
    assert_eq!(
        expected.as_object_mut().unwrap().remove("stream"),
        Some(Value::Bool(false))
    );
    assert_eq!(sent.as_object_mut().unwrap().remove("stream"), None);
    assert_eq!(sent, expected);
}

#[test]
fn openai_fields_take_mistrals_names() {
    let client = json!({
        "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "seed": 7, "max_completion_tokens": 99, "stream": true, "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "now"}}], "tool_choice": "required",
        "presence_penalty": 0.1, "safe_prompt": true, "n": 1,
    });
    let sent = chat_body(
        &streamed(RouteType::CHAT, "mistral-small-latest", MANAGED, true),
        &client,
    );
    assert_eq!(
        sent,
        json!({
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "max_tokens": 99, "stream": true, "random_seed": 7,
            "tools": [{"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}],
            "tool_choice": "any", "presence_penalty": 0.1, "safe_prompt": true, "n": 1,
            "model": "mistral-small-latest",
        })
    );
}

#[test]
fn the_configured_cap_replaces_max_completion_tokens() {
    let options = r#"{"mistral_format":"openai","max_tokens":64,"temperature":0.3}"#;
    let sent = chat_body(
        &plan(RouteType::CHAT, "mistral-large-latest", options),
        &json!({"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 4000, "temperature": 0.9}),
    );
    assert_eq!(sent["max_tokens"], 64);
    assert!(sent.get("max_completion_tokens").is_none());
    assert_eq!(
        sent["temperature"], 0.9,
        "the client's temperature wins; the configured one fills in"
    );
}

#[test]
fn conversation_history_is_rewritten_to_mistrals_message_shapes() {
    let client = json!({
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "You add numbers."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is 2 + 12? And this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/sum.png", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": null, "refusal": null, "annotations": [], "tool_calls": [
                {"id": "D681PevKs", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
            ]},
            {"role": "tool", "tool_call_id": "D681PevKs", "name": "add", "content": "14"},
            {"role": "assistant", "content": "14, and the picture says 3."},
        ],
        "tools": [{"type": "function", "function": {"name": "add", "description": "Adds", "strict": true,
                   "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "add"}},
        "response_format": {"type": "json_object"},
    });
    let sent = chat_body(&plan(RouteType::CHAT, "pixtral-12b", MANAGED), &client);
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "You add numbers."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is 2 + 12? And this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/sum.png", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "D681PevKs", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
            ]},
            {"role": "tool", "content": "14", "tool_call_id": "D681PevKs", "name": "add"},
            {"role": "assistant", "content": "14, and the picture says 3."},
        ])
    );
    assert_eq!(sent["tool_choice"], client["tool_choice"]);
    assert_eq!(sent["tools"][0]["function"]["strict"], true);
    assert_eq!(sent["response_format"], json!({"type": "json_object"}));
}

#[test]
fn what_mistral_cannot_honour_is_a_400_naming_it() {
    let chat = plan(RouteType::CHAT, "mistral-small-latest", MANAGED);
    let messages = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (
            json!({"messages": messages, "top_k": 5, "user": "u"}),
            "`top_k`, `user` are not supported by provider mistral",
        ),
        (
            json!({"messages": messages, "logprobs": true, "store": true}),
            "`logprobs`, `store` are not supported by provider mistral",
        ),
        (
            json!({"messages": messages, "seed": -3}),
            "seed: must not be negative for provider mistral",
        ),
        (
            json!({"messages": [{"role": "user", "name": "ann", "content": "hi"}]}),
            "messages[0].name is not supported by provider mistral",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}),
            "content parts of type `input_audio` are not supported by provider mistral",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]}),
            "image_url: must be an http or https URL or a base64 data URL",
        ),
        (
            json!({"messages": messages, "tool_choice": "required"}),
            "tool_choice asks for a tool call, but the request has no tools",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(refused(&chat, &body), message, "{body}");
    }
    assert_eq!(
        refused(
            &streamed(RouteType::CHAT, "m", MANAGED, false),
            &json!({"messages": messages, "n": 2})
        ),
        "`n` above 1 in a streamed request is not supported by provider mistral"
    );
}

#[test]
fn embeddings_go_to_v1_embeddings_with_mistrals_names() {
    let client = br#"{"input":["Embed this sentence.","As well as this one."],"dimensions":256,"encoding_format":"float","output_dtype":"int8"}"#;
    let request = build(
        &plan(RouteType::EMBEDDINGS, "mistral-embed", MANAGED),
        client,
    );
    assert_eq!(request.url.as_str(), "https://api.mistral.ai/v1/embeddings");
    let sent = sent_body(&request, client);
    assert_openapi(SPEC, "EmbeddingRequest", &sent);
    assert_eq!(
        sent,
        json!({"input": ["Embed this sentence.", "As well as this one."], "encoding_format": "float",
               "output_dtype": "int8", "model": "mistral-embed", "output_dimension": 256})
    );
    let embeddings = plan(RouteType::EMBEDDINGS, "mistral-embed", MANAGED);
    assert_eq!(
        refused(&embeddings, &json!({"input": "x", "user": "u"})),
        "`user` is not supported by provider mistral"
    );
    assert_eq!(
        refused(&embeddings, &json!({"input": [[1, 2]]})),
        "inputs given as token ids are not supported by provider mistral"
    );
}

#[test]
fn upstream_url_and_completions_follow_kongs_rules() {
    let self_hosted =
        r#"{"mistral_format":"openai","upstream_url":"http://vllm:8000/v1/chat/completions?x=1"}"#;
    let mut chat = plan(RouteType::CHAT, "mistral-7b", self_hosted);
    chat.client_query = RStr::from_str("trace=1");
    let client = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
    let request = build(&chat, client);
    assert_eq!(
        request.url.as_str(),
        "http://vllm:8000/v1/chat/completions?trace=1"
    );
    assert_openapi(SPEC, "ChatCompletionRequest", &sent_body(&request, client));

    let completions =
        r#"{"mistral_format":"openai","upstream_url":"http://vllm:8000/v1/completions"}"#;
    let client = fixture("openai/llm-v1-completions/requests/good.json");
    let request = build(
        &plan(RouteType::COMPLETIONS, "mistral-7b", completions),
        &client,
    );
    assert_eq!(request.url.as_str(), "http://vllm:8000/v1/completions");
    let sent = sent_body(&request, &client);
    assert_openapi(
        "openai/openapi.prism.json",
        "CreateCompletionRequest",
        &sent,
    );
    assert_eq!(sent["prompt"], "What are you?");

    let error = Mistral::build_request(
        &plan(RouteType::COMPLETIONS, "mistral-7b", MANAGED),
        &ClientBody::new(&client),
    )
    .unwrap_err();
    assert_eq!(error.status, 400);
    assert_eq!(
        error.message.as_str(),
        "mistral has no default endpoint for route type llm/v1/completions: set upstream_url or upstream_path"
    );
}

#[test]
fn preserve_sends_the_clients_request_to_the_clients_path() {
    let mut preserve = plan(RouteType::PRESERVE, "", MANAGED);
    preserve.client_path = RStr::from_str("/v1/fim/completions");
    let request = build(
        &preserve,
        br#"{"model":"codestral-latest","prompt":"def f(","suffix":"return 1"}"#,
    );
    assert_eq!(
        request.url.as_str(),
        "https://api.mistral.ai/v1/fim/completions"
    );
    assert!(request.body.is_none(), "the client's bytes, as sent");
    let meta = Mistral::native_metadata(
        &preserve,
        200,
        &fixture("unit/real-responses/mistral/openai/llm-v1-chat.json"),
    )
    .unwrap();
    assert_eq!(meta.usage.total_tokens, Some(269).into());
}
