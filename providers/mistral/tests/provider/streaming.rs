//! Mistral's chat streams as OpenAI's, fed split at every byte offset: usage taken from Mistral's
//! last chunk and sent as its own chunk only when the client asked, tool calls with their index.

use ai_provider_mistral::Mistral;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{events, streamed, MANAGED};

fn translate(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Mistral::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<Value>, ResponseMeta) {
    let (whole, meta) = translate(plan, &[stream]);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(
            translate(plan, &[a, b]),
            (whole.clone(), meta.clone()),
            "split at {at}"
        );
    }
    (events(&whole), meta)
}

fn chunk(choices: Value, usage: Option<Value>) -> String {
    let mut chunk = json!({"id": "a1", "object": "chat.completion.chunk", "created": 1735000000, "model": "mistral-small-latest", "choices": choices});
    if let Some(usage) = usage {
        chunk["usage"] = usage;
    }
    chunk.to_string()
}

fn sse(payloads: &[String]) -> Vec<u8> {
    payloads
        .iter()
        .map(|p| format!("data: {p}\r\n\r\n"))
        .collect::<String>()
        .into_bytes()
}

fn text_stream() -> Vec<u8> {
    sse(&[
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            None,
        ),
        chunk(
            json!([{"index": 0, "delta": {"content": "The answer"}, "finish_reason": null}]),
            None,
        ),
        chunk(
            json!([{"index": 0, "delta": {"content": " is 2."}, "finish_reason": "stop"}]),
            Some(json!({"prompt_tokens": 10, "total_tokens": 17, "completion_tokens": 7})),
        ),
        "[DONE]".to_owned(),
    ])
}

fn openai_chunk(choices: Value) -> Value {
    json!({"id": "a1", "object": "chat.completion.chunk", "created": 1735000000, "model": "mistral-small-latest", "choices": choices})
}

#[test]
fn usage_on_the_last_chunk_becomes_the_usage_chunk_when_asked() {
    let (events, meta) = same_at_every_split(
        &streamed(RouteType::CHAT, "mistral-small-latest", MANAGED, true),
        &text_stream(),
    );
    let delta = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut usage = openai_chunk(json!([]));
    usage["usage"] = json!({"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17});
    assert_eq!(
        events,
        vec![
            openai_chunk(delta(
                json!({"role": "assistant", "content": ""}),
                Value::Null
            )),
            openai_chunk(delta(json!({"content": "The answer"}), Value::Null)),
            openai_chunk(delta(json!({"content": " is 2."}), Value::Null)),
            openai_chunk(delta(json!({}), json!("stop"))),
            usage,
            json!("[DONE]"),
        ]
    );
    assert_eq!(meta.usage.total_tokens, Some(17).into());
    assert_eq!(meta.response_id.as_str(), "a1");
}

#[test]
fn without_include_usage_no_chunk_carries_usage_but_the_meta_has_it() {
    let (events, meta) = same_at_every_split(
        &streamed(RouteType::CHAT, "mistral-small-latest", MANAGED, false),
        &text_stream(),
    );
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(meta.usage.prompt_tokens, Some(10).into());
}

#[test]
fn a_whole_tool_call_becomes_indexed_deltas() {
    let stream = sse(&[
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            None,
        ),
        chunk(
            json!([{"index": 0, "delta": {"tool_calls": [
                {"id": "D681PevKs", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}, "index": 0},
                {"id": "Xy7", "function": {"name": "multiply", "arguments": {"a": 3}}, "index": 1},
            ]}, "finish_reason": "tool_calls"}]),
            Some(json!({"prompt_tokens": 90, "total_tokens": 121, "completion_tokens": 31})),
        ),
        "[DONE]".to_owned(),
    ]);
    let (events, meta) = same_at_every_split(
        &streamed(RouteType::CHAT, "mistral-small-latest", MANAGED, true),
        &stream,
    );
    let deltas: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .map(|c| &c["delta"])
        .collect();
    assert_eq!(
        deltas,
        vec![
            &json!({"role": "assistant", "content": ""}),
            &json!({"tool_calls": [{"index": 0, "id": "D681PevKs", "type": "function", "function": {"name": "add", "arguments": ""}}]}),
            &json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\": 2, \"b\": 12}"}}]}),
            &json!({"tool_calls": [{"index": 1, "id": "Xy7", "type": "function", "function": {"name": "multiply", "arguments": ""}}]}),
            &json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"a\":3}"}}]}),
            &json!({}),
        ]
    );
    assert_eq!(events[5]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(events[6]["usage"]["total_tokens"], 121);
    assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");
}

#[test]
fn openai_style_argument_pieces_keep_their_call() {
    let stream = sse(&[
        chunk(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_9", "type": "function", "function": {"name": "add", "arguments": ""}}]}, "finish_reason": null}]),
            None,
        ),
        chunk(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}, "finish_reason": null}]),
            None,
        ),
        chunk(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "finish_reason": "tool_calls"}]),
            None,
        ),
    ]);
    let (events, _) = same_at_every_split(&streamed(RouteType::CHAT, "m", MANAGED, false), &stream);
    let arguments: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, "{\"a\":1}");
    assert_eq!(
        events.last(),
        Some(&json!("[DONE]")),
        "a finished stream without [DONE] still ends"
    );
}

#[test]
fn errors_end_the_stream_with_an_error_event() {
    let error = sse(&[
        chunk(json!([{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]), None),
        json!({"object": "error", "message": "Service unavailable", "type": "internal_server_error", "param": null, "code": "1000"}).to_string(),
    ]);
    let (events, _) = same_at_every_split(&streamed(RouteType::CHAT, "m", MANAGED, true), &error);
    assert_eq!(
        events.last().unwrap(),
        &json!({"error": {"message": "upstream mistral: Service unavailable", "type": "server_error", "param": null, "code": null}})
    );
    let cut = sse(&[chunk(
        json!([{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]),
        None,
    )]);
    let (events, _) = same_at_every_split(&streamed(RouteType::CHAT, "m", MANAGED, true), &cut);
    assert_eq!(
        events.last().unwrap()["error"]["message"],
        "upstream mistral ended the stream before its finish_reason"
    );
    let orphan = sse(&[chunk(
        json!([{"index": 0, "delta": {"tool_calls": [{"index": 4, "function": {"arguments": "{}"}}]}, "finish_reason": null}]),
        None,
    )]);
    let (events, _) = same_at_every_split(&streamed(RouteType::CHAT, "m", MANAGED, true), &orphan);
    assert_eq!(
        events.last().unwrap()["error"]["message"],
        "upstream sent tool call arguments for block 4, which started no tool call"
    );
}
