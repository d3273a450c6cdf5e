//! `llama2_format: ollama`: Kong's unit fixtures through provider-sdk's Ollama translation, each
//! upstream body checked against Ollama's OpenAPI document.

use ai_provider_llama2::Llama2;
use provider_sdk::abi::{Framing, RouteType};
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{build, events, fixture, json, plan, sent_body, streamed, OLLAMA};

const SPEC: &str = "ollama/openapi.yaml";

/// Kong's unit test options for the Ollama drivers (its expected bodies carry these two).
const KONG_UNIT_OPTIONS: &str = r#"{"llama2_format":"ollama","upstream_url":"http://ollama:11434/api/chat","max_tokens":512,"temperature":0.5}"#;

#[test]
fn kong_unit_requests_match_the_expected_ollama_bodies() {
    for (route_type, file, schema) in [
        (RouteType::CHAT, "llm-v1-chat.json", "ChatRequest"),
        (
            RouteType::COMPLETIONS,
            "llm-v1-completions.json",
            "GenerateRequest",
        ),
    ] {
        let client = fixture(&format!("unit/requests/{file}"));
        let sent = sent_body(
            &build(&plan(route_type, "llama2", KONG_UNIT_OPTIONS), &client),
            &client,
        );
        assert_openapi(SPEC, schema, &sent);
        let expected = json(&fixture(&format!(
            "unit/expected-requests/llama2/ollama/{file}"
        )));
        assert_eq!(sent, expected, "{file}");
    }
}

#[test]
fn each_route_type_reaches_its_endpoint_beside_the_seed_url() {
    let chat = fixture("llama2/ollama/chat-stream.json");
    let request = build(
        &streamed(RouteType::CHAT, "llama3.2:1b", OLLAMA, false),
        &chat,
    );
    assert_eq!(request.url.as_str(), "http://ollama.ollama:11434/api/chat");
    assert_eq!(request.response_framing, Framing::NDJSON);
    let sent = sent_body(&request, &chat);
    assert_openapi(SPEC, "ChatRequest", &sent);
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["messages"], json(&chat)["messages"]);

    let request = build(
        &plan(RouteType::COMPLETIONS, "llama3.2:1b", OLLAMA),
        br#"{"prompt":"Hi"}"#,
    );
    assert_eq!(
        request.url.as_str(),
        "http://ollama.ollama:11434/api/generate"
    );
    let sent = sent_body(&request, b"");
    assert_openapi(SPEC, "GenerateRequest", &sent);
    assert_eq!(
        sent,
        json!({"model": "llama3.2:1b", "prompt": "Hi", "stream": false})
    );

    let client = br#"{"input":["a","b"],"encoding_format":"float"}"#;
    let request = build(&plan(RouteType::EMBEDDINGS, "all-minilm", OLLAMA), client);
    assert_eq!(request.url.as_str(), "http://ollama.ollama:11434/api/embed");
    let sent = sent_body(&request, client);
    assert_openapi(SPEC, "EmbedRequest", &sent);
    assert_eq!(sent, json!({"model": "all-minilm", "input": ["a", "b"]}));
}

#[test]
fn kong_unit_replies_become_openai_responses_with_the_replys_own_counts() {
    for (route_type, file) in [
        (RouteType::CHAT, "llm-v1-chat.json"),
        (RouteType::COMPLETIONS, "llm-v1-completions.json"),
    ] {
        let reply = fixture(&format!("unit/real-responses/llama2/ollama/{file}"));
        let response =
            Llama2::parse_response(&plan(route_type, "llama2", OLLAMA), 200, &[], &reply).unwrap();
        assert_eq!(response.status, 200);
        let body = json(response.body.as_ref().unwrap().as_slice());
        let expected = json(&fixture(&format!(
            "unit/expected-responses/llama2/ollama/{file}"
        )));
        assert_eq!(body["model"], expected["model"]);
        assert_eq!(body["object"], expected["object"]);
        let reply = json(&reply);
        if route_type == RouteType::CHAT {
            assert_eq!(
                body["choices"][0]["message"],
                json!({"role": "assistant", "content": expected["choices"][0]["message"]["content"], "refusal": null})
            );
            assert_eq!(body["choices"][0]["finish_reason"], "stop");
        } else {
            // Kong's expected text is another reply's; the reply says "Because I said so.".
            assert_eq!(body["choices"][0]["text"], reply["response"]);
            assert_eq!(body["choices"][0]["finish_reason"], "stop");
        }
        // Kong's expected usage (130 / 139) is not this reply's: Ollama reported
        // prompt_eval_count and eval_count, and those are the counts.
        assert_eq!(expected["usage"]["prompt_tokens"], 130);
        let (prompt, completion) = (
            reply["prompt_eval_count"].as_u64().unwrap(),
            reply["eval_count"].as_u64().unwrap(),
        );
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
        );
        assert_eq!(
            body["created"],
            1705306418 + u64::from(route_type == RouteType::COMPLETIONS) * 43
        );
        assert_eq!(response.meta.usage.prompt_tokens, Some(prompt).into());
    }
}

#[test]
fn an_ollama_stream_through_the_provider() {
    let stream = concat!(
        "{\"model\":\"llama3.2:1b\",\"created_at\":\"2025-07-07T20:22:19.184789Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"add\",\"arguments\":{\"a\":2,\"b\":12}}}]},\"done\":false}\n",
        "{\"model\":\"llama3.2:1b\",\"created_at\":\"2025-07-07T20:22:19.19314Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"prompt_eval_count\":169,\"eval_count\":15}\n",
    );
    let plan = streamed(RouteType::CHAT, "llama3.2:1b", OLLAMA, true);
    let mut translator = Llama2::new_stream_translator(&plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for piece in stream.as_bytes().chunks(7) {
        out.extend(translator.push(piece).unwrap());
    }
    out.extend(translator.finish().unwrap());
    let events = events(&out);
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .filter_map(|c| c["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        calls,
        vec![
            &json!([{"index": 0, "id": "call_0", "type": "function", "function": {"name": "add", "arguments": ""}}]),
            &json!([{"index": 0, "function": {"arguments": "{\"a\":2,\"b\":12}"}}]),
        ]
    );
    assert_eq!(events[3]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(events[4]["usage"]["total_tokens"], 184);
    assert_eq!(translator.meta().response_model.as_str(), "llama3.2:1b");
}

#[test]
fn ollama_errors_keep_their_status() {
    let response = Llama2::parse_response(
        &plan(RouteType::CHAT, "llama9", OLLAMA),
        404,
        &[],
        br#"{"error":"model 'llama9' not found"}"#,
    )
    .unwrap();
    assert_eq!(response.status, 404);
    assert_eq!(
        json(response.body.as_ref().unwrap().as_slice())["error"]["message"],
        "model 'llama9' not found"
    );
}
