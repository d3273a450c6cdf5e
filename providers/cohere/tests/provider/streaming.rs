//! Every stream is checked to translate the same whether it arrives in one piece, split at any
//! byte offset, or byte by byte.

use ai_provider_cohere::Cohere;
use provider_sdk::abi::{ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{
    deltas, events, fixture, plan, same_at_every_split, streamed, translate_stream, V1,
};

/// A v2 SSE event as Cohere frames it: an id, the event's name, its JSON.
fn sse(id: usize, data: Value) -> String {
    format!(
        "id: {id}\nevent: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

fn v2_stream(events: &[Value]) -> Vec<u8> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| sse(i, e.clone()))
        .collect::<String>()
        .into_bytes()
}

fn message_start() -> Value {
    json!({"id": "29f14a5a-11de-4cae-9800-25e4747408ea", "type": "message-start",
           "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}})
}

fn content_delta(text: &str) -> Value {
    json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": text}}}, "logprobs": null})
}

fn message_end(reason: &str) -> Value {
    json!({"type": "message-end", "delta": {"finish_reason": reason, "usage": {
        "billed_units": {"input_tokens": 9, "output_tokens": 6},
        "tokens": {"input_tokens": 75, "output_tokens": 6},
        "cached_tokens": 64,
    }}})
}

fn v2_text_stream() -> Vec<u8> {
    let mut events = vec![
        message_start(),
        json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        content_delta("The answer"),
        content_delta(" is \"2\".\n"),
        json!({"type": "content-end", "index": 0}),
        message_end("COMPLETE"),
    ];
    let mut stream = v2_stream(&events[..3]);
    // A keep-alive comment, with CRLF endings, as a proxy in between may send.
    stream.extend_from_slice(b": keep-alive\r\n\r\n");
    stream.extend(v2_stream(&events.split_off(3)));
    stream
}

fn chunk(choices: Value) -> Value {
    json!({"id": "29f14a5a-11de-4cae-9800-25e4747408ea", "object": "chat.completion.chunk",
           "created": 0, "model": "command-a-03-2025", "choices": choices})
}

fn delta(delta: Value) -> Value {
    chunk(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]))
}

fn finish(reason: &str) -> Value {
    chunk(json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": reason}]))
}

fn v2_meta(reason: &str) -> ResponseMeta {
    ResponseMeta {
        usage: Usage {
            prompt_tokens: Some(75).into(),
            completion_tokens: Some(6).into(),
            total_tokens: None.into(),
            cached_tokens: Some(64).into(),
        },
        response_model: "command-a-03-2025".into(),
        response_id: "29f14a5a-11de-4cae-9800-25e4747408ea".into(),
        finish_reasons: vec![reason.into()].into(),
    }
}

#[test]
fn a_v2_text_stream_with_the_usage_chunk() {
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), true);
    let (events, meta) = same_at_every_split(&chat, &v2_text_stream());
    let mut usage = chunk(json!([]));
    usage["usage"] = json!({"prompt_tokens": 75, "completion_tokens": 6, "total_tokens": 81,
                            "prompt_tokens_details": {"cached_tokens": 64}});
    assert_eq!(
        events,
        vec![
            delta(json!({"role": "assistant", "content": ""})),
            delta(json!({"content": "The answer"})),
            delta(json!({"content": " is \"2\".\n"})),
            finish("stop"),
            usage,
            json!("[DONE]"),
        ]
    );
    assert_eq!(meta, v2_meta("stop"));
}

#[test]
fn usage_is_metered_but_not_sent_unless_asked() {
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), false);
    let (events, meta) = same_at_every_split(&chat, &v2_text_stream());
    assert_eq!(
        events.len(),
        5,
        "role, 2 texts, finish, [DONE]: {events:#?}"
    );
    assert!(events.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(meta, v2_meta("stop"));
}

#[test]
fn a_v2_tool_call_stream_keeps_the_plan_and_the_calls_in_order() {
    let call_start = |index: u64, id: &str, name: &str| {
        json!({"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls": {
            "id": id, "type": "function", "function": {"name": name, "arguments": ""}}}}})
    };
    let call_delta = |index: u64, fragment: &str| {
        json!({"type": "tool-call-delta", "index": index, "delta": {"message": {"tool_calls": {
            "function": {"arguments": fragment}}}}})
    };
    let stream = v2_stream(&[
        message_start(),
        json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will look up"}}}),
        json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " both cities."}}}),
        call_start(1, "get_weather_a1", "get_weather"),
        call_delta(1, "{\n    \""),
        call_delta(1, "city\": \"Paris\"}"),
        json!({"type": "tool-call-end", "index": 1}),
        call_start(2, "get_weather_b2", "get_weather"),
        call_delta(2, "{\"city\": \"Oslo\"}"),
        json!({"type": "tool-call-end", "index": 2}),
        message_end("TOOL_CALL"),
    ]);
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), false);
    let (events, meta) = same_at_every_split(&chat, &stream);
    assert_eq!(
        deltas(&events),
        vec![
            json!({"role": "assistant", "content": ""}),
            json!({"content": "I will look up"}),
            json!({"content": " both cities."}),
            json!({"tool_calls": [{"index": 0, "id": "get_weather_a1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\n    \""}}]}),
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "city\": \"Paris\"}"}}]}),
            json!({"tool_calls": [{"index": 1, "id": "get_weather_b2", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"city\": \"Oslo\"}"}}]}),
            json!({}),
        ]
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert_eq!(meta, v2_meta("tool_calls"));
}

#[test]
fn a_v2_error_ends_the_stream_with_an_error_event() {
    let mut end = message_end("ERROR");
    end["delta"]["error"] = json!("internal server error, please retry");
    let stream = v2_stream(&[message_start(), content_delta("Par"), end]);
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), true);
    let (events, meta) = same_at_every_split(&chat, &stream);
    assert_eq!(
        events,
        vec![
            delta(json!({"role": "assistant", "content": ""})),
            delta(json!({"content": "Par"})),
            json!({"error": {"message": "cohere stopped generating (ERROR): internal server error, please retry",
                             "type": "bad_gateway", "param": null, "code": null}}),
        ]
    );
    assert!(meta.finish_reasons.is_empty());
    assert_eq!(
        meta.usage.prompt_tokens,
        Some(75).into(),
        "usage is still metered"
    );
}

#[test]
fn thinking_citations_and_unknown_events_write_nothing() {
    let stream = v2_stream(&[
        message_start(),
        json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}}),
        json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": "Hmm."}}}}),
        json!({"type": "content-end", "index": 0}),
        content_delta("Yes."),
        json!({"type": "citation-start", "index": 0, "delta": {"message": {"citations": {"start": 0, "end": 3, "text": "Yes", "sources": []}}}}),
        json!({"type": "citation-end", "index": 0}),
        json!({"type": "debug", "event_type": "stream-start", "prompt": "..."}),
        json!({"type": "something-new", "delta": {"message": {"content": {"text": "not shown"}}}}),
        message_end("STOP_SEQUENCE"),
    ]);
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), false);
    let (events, _) = same_at_every_split(&chat, &stream);
    assert_eq!(
        deltas(&events),
        vec![
            json!({"role": "assistant", "content": ""}),
            json!({"content": "Yes."}),
            json!({}),
        ]
    );
}

#[test]
fn a_v2_stream_cut_short_is_an_error_after_what_arrived() {
    let stream = v2_stream(&[message_start(), content_delta("Par")]);
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), false);
    let mut translator = Cohere::new_stream_translator(&chat, 200, &[]).unwrap();
    let out = translator.push(&stream).unwrap();
    assert_eq!(events(&out).len(), 2);
    let error = translator.finish().unwrap_err();
    assert_eq!(error.status, 502);
    assert_eq!(
        error.message.as_str(),
        "cohere's stream ended before its message-end event"
    );
    assert_eq!(
        translator.finish().unwrap(),
        b"",
        "nothing more to hand over"
    );
}

#[test]
fn an_unreadable_event_fails_and_keeps_the_events_before_it() {
    let mut stream = v2_stream(&[message_start(), content_delta("Par")]);
    stream.extend_from_slice(
        b"event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":\n\n",
    );
    let chat = streamed(plan(RouteType::CHAT, "command-a-03-2025", "{}"), false);
    let mut translator = Cohere::new_stream_translator(&chat, 200, &[]).unwrap();
    let error = translator.push(&stream).unwrap_err();
    assert_eq!(error.status, 502);
    assert!(error
        .message
        .starts_with("cohere sent an unreadable stream event"));
    let held = translator.finish().unwrap();
    assert_eq!(deltas(&events(&held))[1], json!({"content": "Par"}));
    assert_eq!(translator.push(b"data: {}\n\n").unwrap(), b"");
}

/// A v1 chat stream: Kong's NDJSON frames (`unit/streaming-chunk-formats/complete-json`) and
/// `real-stream-frames`, then a stream-end as Cohere sends it.
fn v1_stream() -> Vec<u8> {
    let mut stream = fixture("unit/streaming-chunk-formats/complete-json/input.bin");
    if !stream.ends_with(b"\n") {
        stream.push(b'\n');
    }
    stream.extend(fixture("unit/real-stream-frames/cohere/llm-v1-chat.txt"));
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(
        br#"{"is_finished":true,"event_type":"stream-end","response":{"response_id":"r","text":"2the answer","generation_id":"10f31c2f-1a4c-48cf-b500-dc8141a25ae5","chat_history":[],"finish_reason":"COMPLETE","meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":8,"output_tokens":3},"tokens":{"input_tokens":70,"output_tokens":3}}},"finish_reason":"COMPLETE"}"#,
    );
    stream
}

#[test]
fn a_v1_stream() {
    let chat = streamed(plan(RouteType::CHAT, "command-r", V1), true);
    let (events, meta) = same_at_every_split(&chat, &v1_stream());
    let id = "10f31c2f-1a4c-48cf-b500-dc8141a25ae5";
    let head = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": "command-r", "choices": choices});
    let text = |delta: Value| {
        head(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]))
    };
    let mut usage = head(json!([]));
    usage["usage"] = json!({"prompt_tokens": 70, "completion_tokens": 3, "total_tokens": 73});
    assert_eq!(
        events,
        vec![
            text(json!({"role": "assistant", "content": ""})),
            text(json!({"content": "2"})),
            text(json!({"content": "the answer"})),
            head(json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}])),
            usage,
            json!("[DONE]"),
        ]
    );
    assert_eq!(meta.response_id.as_str(), id);
    assert_eq!(meta.finish_reasons[0].as_str(), "stop");
}

#[test]
fn a_v1_tool_call_stream() {
    let lines = [
        r#"{"is_finished":false,"event_type":"stream-start","generation_id":"g-7"}"#,
        r#"{"is_finished":false,"event_type":"tool-calls-chunk","text":"I will"}"#,
        r#"{"is_finished":false,"event_type":"tool-calls-chunk","tool_call_delta":{"index":0,"name":"get_weather"}}"#,
        r#"{"is_finished":false,"event_type":"tool-calls-chunk","tool_call_delta":{"index":0,"parameters":"{\"city\""}}"#,
        r#"{"is_finished":false,"event_type":"tool-calls-generation","text":"I will check.","tool_calls":[{"name":"get_weather","parameters":{"city":"Paris"}},{"name":"now","parameters":{}}]}"#,
        r#"{"is_finished":true,"event_type":"stream-end","response":{"generation_id":"g-7","token_count":{"prompt_tokens":50,"response_tokens":12,"total_tokens":62}},"finish_reason":"COMPLETE"}"#,
    ];
    let stream = lines.join("\n").into_bytes();
    let chat = streamed(plan(RouteType::CHAT, "command-r", V1), false);
    let (events, meta) = same_at_every_split(&chat, &stream);
    assert_eq!(
        deltas(&events),
        vec![
            json!({"role": "assistant", "content": ""}),
            json!({"content": "I will check."}),
            json!({"tool_calls": [{"index": 0, "id": "g-7-0", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}}]}),
            json!({"tool_calls": [{"index": 1, "id": "g-7-1", "type": "function", "function": {"name": "now", "arguments": ""}}]}),
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
            json!({}),
        ]
    );
    assert_eq!(
        events[events.len() - 2]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    assert_eq!(meta.usage.prompt_tokens, Some(50).into());
    assert_eq!(meta.usage.total_tokens, Some(62).into());
}

#[test]
fn a_v1_error_ends_the_stream_with_an_error_event() {
    let stream = b"{\"event_type\":\"stream-start\",\"generation_id\":\"g\"}\n{\"event_type\":\"text-generation\",\"text\":\"x\"}\n{\"event_type\":\"stream-end\",\"finish_reason\":\"ERROR\",\"response\":{}}\n";
    let chat = streamed(plan(RouteType::CHAT, "command-r", V1), false);
    let (events, _) = same_at_every_split(&chat, stream);
    assert_eq!(
        events.last().unwrap()["error"]["message"],
        "cohere stopped generating (ERROR)"
    );
    assert!(!events.contains(&json!("[DONE]")));
}

#[test]
fn a_generate_stream() {
    let mut stream = fixture("unit/real-stream-frames/cohere/llm-v1-completions.txt");
    stream.extend_from_slice(
        br#"{"text":" is 2","is_finished":false,"event_type":"text-generation"}"#,
    );
    stream.push(b'\n');
    stream.extend_from_slice(br#"{"is_finished":true,"event_type":"stream-end","finish_reason":"MAX_TOKENS","response":{"id":"gen-1","generations":[{"id":"a","text":"the answer is 2","finish_reason":"MAX_TOKENS"}],"prompt":"p","meta":{"billed_units":{"input_tokens":4,"output_tokens":5}}}}"#);
    let completions = streamed(plan(RouteType::COMPLETIONS, "command", "{}"), true);
    let (events, meta) = same_at_every_split(&completions, &stream);
    let head = |choices: Value| json!({"id": "generated", "object": "text_completion", "created": 0, "model": "command", "choices": choices});
    let mut usage = head(json!([]));
    usage["usage"] = json!({"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9});
    assert_eq!(
        events,
        vec![
            head(
                json!([{"text": "the answer", "index": 0, "logprobs": null, "finish_reason": null}])
            ),
            head(json!([{"text": " is 2", "index": 0, "logprobs": null, "finish_reason": null}])),
            head(json!([{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}])),
            usage,
            json!("[DONE]"),
        ]
    );
    assert_eq!(meta.finish_reasons[0].as_str(), "length");
}

#[test]
fn a_generate_stream_error() {
    let stream = b"{\"text\":\"a\",\"is_finished\":false,\"event_type\":\"text-generation\"}\n{\"index\":0,\"is_finished\":true,\"finish_reason\":\"ERROR\",\"err\":\"model overloaded\",\"event_type\":\"stream-error\"}\n";
    let completions = streamed(plan(RouteType::COMPLETIONS, "command", "{}"), false);
    let (events, _) = same_at_every_split(&completions, stream);
    assert_eq!(
        events.last().unwrap()["error"]["message"],
        "cohere stopped generating (ERROR): model overloaded"
    );
}

#[test]
fn embeddings_do_not_stream() {
    let embeddings = streamed(plan(RouteType::EMBEDDINGS, "e", "{}"), false);
    assert!(Cohere::new_stream_translator(&embeddings, 200, &[]).is_err());
    let (out, _) = translate_stream(
        &streamed(plan(RouteType::CHAT, "m", "{}"), false),
        &[&v2_text_stream()],
    );
    assert!(!out.is_empty());
}
