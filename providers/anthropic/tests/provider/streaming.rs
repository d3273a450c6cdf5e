use abi_stable::std_types::{ROption, RString};
use ai_provider_anthropic::Anthropic;
use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{plan, streamed, transcript, OPTIONS, SSE_FIXTURES};

const OPENAI_SPEC: &str = "openai/openapi.prism.json";

fn chat_plan(client_wants_usage: bool) -> RequestPlan<'static> {
    streamed(
        plan(RouteType::CHAT, "claude-configured", OPTIONS),
        client_wants_usage,
    )
}

/// Output of `chunks` pushed in order, then `finish`.
fn translate(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Anthropic::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

/// The events of an OpenAI stream, with what differs between two runs blanked: `created` (the
/// clock) and ids the writer generated.
fn events(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.is_empty() || text.ends_with("\n\n"), "{text:?}");
    text.split_terminator("\n\n")
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("{event:?}"));
            let Ok(mut value) = serde_json::from_str::<Value>(data) else {
                return Value::String(data.to_owned());
            };
            if value.get("created").is_some() {
                value["created"] = json!(0);
            }
            let generated = value["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("chatcmpl-") || id.starts_with("cmpl-"));
            if generated {
                value["id"] = json!("generated");
            }
            value
        })
        .collect()
}

/// The events for `stream` in one chunk, checked to be the same for every split in two and byte
/// by byte, and each chunk checked against OpenAI's stream schema.
fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<Value>, ResponseMeta) {
    let (out, meta) = translate(plan, &[stream]);
    let whole = events(&out);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        let (out, split_meta) = translate(plan, &[a, b]);
        assert_eq!(events(&out), whole, "split at {at}");
        assert_eq!(split_meta.usage, meta.usage, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(events(&translate(plan, &bytes).0), whole, "byte by byte");
    for event in whole
        .iter()
        .filter(|e| e["object"] == "chat.completion.chunk")
    {
        // The spec's `finish_reason` enum leaves out the `null` its type allows (and every
        // chunk but the last carries).
        let mut checked = event.clone();
        for choice in checked["choices"].as_array_mut().into_iter().flatten() {
            if choice["finish_reason"].is_null() {
                choice["finish_reason"] = json!("stop");
            }
        }
        assert_openapi(OPENAI_SPEC, "CreateChatCompletionStreamResponse", &checked);
    }
    (whole, meta)
}

fn chunk(id: &str, model: &str, choices: Value) -> Value {
    json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices})
}

fn delta(id: &str, model: &str, delta: Value) -> Value {
    chunk(
        id,
        model,
        json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]),
    )
}

fn finish(id: &str, model: &str, reason: &str) -> Value {
    chunk(
        id,
        model,
        json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": reason}]),
    )
}

fn usage_chunk(id: &str, model: &str, usage: Value) -> Value {
    let mut value = chunk(id, model, json!([]));
    value["usage"] = usage;
    value
}

fn usage(prompt: u64, completion: u64, cached: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: ROption::RSome(prompt),
        completion_tokens: ROption::RSome(completion),
        total_tokens: ROption::RNone,
        cached_tokens: cached.into(),
    }
}

#[test]
fn the_basic_transcript() {
    let (id, model) = (
        "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
        "claude-3-opus-latest",
    );
    let (events, meta) = same_at_every_split(&chat_plan(true), &transcript("basic_response.txt"));
    assert_eq!(
        events,
        vec![
            delta(id, model, json!({"role": "assistant", "content": ""})),
            delta(id, model, json!({"content": "Hello"})),
            delta(id, model, json!({"content": " there"})),
            delta(id, model, json!({"content": "!"})),
            finish(id, model, "stop"),
            // message_delta's output_tokens (6) is the running total, not an increment on
            // message_start's 1 (Kong adds them).
            usage_chunk(
                id,
                model,
                json!({"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17})
            ),
            json!("[DONE]"),
        ]
    );
    assert_eq!(
        meta,
        ResponseMeta {
            usage: usage(11, 6, None),
            response_model: model.into(),
            response_id: id.into(),
            finish_reasons: vec![RString::from("stop")].into(),
        }
    );
}

#[test]
fn the_tool_use_transcript_keeps_the_streamed_arguments() {
    let (id, model) = ("msg_019Q1hrJbZG26Fb9BQhrkHEr", "claude-sonnet-4-20250514");
    let (events, meta) =
        same_at_every_split(&chat_plan(true), &transcript("tool_use_response.txt"));
    let call = |value: Value| delta(id, model, json!({"tool_calls": [value]}));
    assert_eq!(
        events,
        vec![
            delta(id, model, json!({"role": "assistant", "content": ""})),
            delta(id, model, json!({"content": "I"})),
            delta(
                id,
                model,
                json!({"content": "'ll check the current weather in Paris for you."})
            ),
            call(
                json!({"index": 0, "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "type": "function", "function": {"name": "get_weather", "arguments": ""}})
            ),
            call(json!({"index": 0, "function": {"arguments": "{\"locati"}})),
            call(json!({"index": 0, "function": {"arguments": "on\": \"P"}})),
            call(json!({"index": 0, "function": {"arguments": "ar"}})),
            call(json!({"index": 0, "function": {"arguments": "is\"}"}})),
            finish(id, model, "tool_calls"),
            usage_chunk(
                id,
                model,
                json!({"prompt_tokens": 377, "completion_tokens": 65, "total_tokens": 442, "prompt_tokens_details": {"cached_tokens": 0}})
            ),
            json!("[DONE]"),
        ]
    );
    assert_eq!(meta.usage, usage(377, 65, Some(0)));
    assert_eq!(
        meta.finish_reasons.as_slice(),
        &[RString::from("tool_calls")]
    );
}

/// The content, the joined arguments of each tool call, and the finish reasons of a translated
/// stream.
fn summary(events: &[Value]) -> (String, Vec<String>, Vec<String>) {
    let mut text = String::new();
    let mut arguments: Vec<String> = Vec::new();
    let mut reasons = Vec::new();
    for event in events {
        let Some(choice) = event["choices"].get(0) else {
            continue;
        };
        text.push_str(choice["delta"]["content"].as_str().unwrap_or_default());
        for call in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = call["index"].as_u64().unwrap() as usize;
            if index == arguments.len() {
                arguments.push(String::new());
            }
            arguments[index].push_str(call["function"]["arguments"].as_str().unwrap());
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            reasons.push(reason.to_owned());
        }
    }
    (text, arguments, reasons)
}

#[test]
fn every_transcript_at_every_split() {
    let expectations: [(&str, &str, usize, &str, Usage); 7] = [
        ("basic_response.txt", "Hello there!", 0, "stop", usage(11, 6, None)),
        // The compaction block (a summary of earlier turns) is not part of the reply.
        ("compaction_response.txt", "Hello there!", 0, "stop", usage(30, 8, None)),
        ("fallback_credit_response.txt", "Hello there!", 0, "stop", usage(25, 8, None)),
        ("fallback_response.txt", "Hello there!", 0, "stop", usage(25, 8, None)),
        (
            "incomplete_partial_json_response.txt",
            "I'll create a comprehensive tax guide for someone with multiple W2s and save it in a file called taxes.txt. Let me do that for you now.",
            1,
            "length",
            usage(450, 124, Some(0)),
        ),
        ("refusal_response.txt", "", 0, "content_filter", usage(20, 0, None)),
        ("tool_use_response.txt", "I'll check the current weather in Paris for you.", 1, "tool_calls", usage(377, 65, Some(0))),
    ];
    let mut every_transcript: Vec<String> = std::fs::read_dir(SSE_FIXTURES)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".txt"))
        .collect();
    every_transcript.sort();
    let covered: Vec<&str> = expectations.iter().map(|e| e.0).collect();
    assert_eq!(every_transcript, covered, "every transcript is checked");
    for (name, text, calls, reason, expected_usage) in expectations {
        let (events, meta) = same_at_every_split(&chat_plan(false), &transcript(name));
        let (content, arguments, reasons) = summary(&events);
        assert_eq!(content, text, "{name}");
        assert_eq!(arguments.len(), calls, "{name}");
        assert_eq!(reasons, vec![reason], "{name}");
        assert_eq!(events.last(), Some(&json!("[DONE]")), "{name}");
        assert!(
            events.iter().all(|e| e.get("usage").is_none()),
            "{name}: not asked for"
        );
        assert_eq!(meta.usage, expected_usage, "{name}: metered all the same");
    }
}

#[test]
fn crlf_line_endings_and_comments_give_the_same_stream() {
    let lf = transcript("tool_use_response.txt");
    let with_comments = String::from_utf8(lf.clone())
        .unwrap()
        .replace("event: ping", ": keep-alive\n\nevent: ping")
        .replace(
            "\n\nevent: message_delta",
            "\n: still here\n\nevent: message_delta",
        );
    let crlf = with_comments.replace('\n', "\r\n");
    let (expected, _) = same_at_every_split(&chat_plan(true), &lf);
    let (events, _) = same_at_every_split(&chat_plan(true), crlf.as_bytes());
    assert_eq!(events, expected);
}

/// An Anthropic stream written from its events, each `(name, data)`.
fn anthropic_stream(events: &[(&str, Value)]) -> Vec<u8> {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect::<String>()
        .into_bytes()
}

fn message_start() -> (&'static str, Value) {
    (
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude-x", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 20, "cache_read_input_tokens": 5, "output_tokens": 1}}}),
    )
}

fn block_start(index: u64, block: Value) -> (&'static str, Value) {
    (
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": block}),
    )
}

fn block_delta(index: u64, delta: Value) -> (&'static str, Value) {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn arguments(index: u64, partial_json: &str) -> (&'static str, Value) {
    block_delta(
        index,
        json!({"type": "input_json_delta", "partial_json": partial_json}),
    )
}

fn block_stop(index: u64) -> (&'static str, Value) {
    (
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    )
}

fn message_end(stop_reason: &str, output_tokens: u64) -> [(&'static str, Value); 2] {
    [
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}

#[test]
fn two_tool_calls_are_numbered_from_zero_and_a_call_without_arguments_gets_an_empty_object() {
    let mut events = vec![
        message_start(),
        block_start(
            0,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
        ),
        block_delta(
            0,
            json!({"type": "thinking_delta", "thinking": "Two calls."}),
        ),
        block_delta(0, json!({"type": "signature_delta", "signature": "EqQB"})),
        block_stop(0),
        block_start(
            1,
            json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
        ),
        arguments(1, "{\"query\": \"weather\"}"),
        block_stop(1),
        block_start(
            2,
            json!({"type": "tool_use", "id": "toolu_A", "name": "add", "input": {}}),
        ),
        arguments(2, ""),
        arguments(2, "{\"a\": 2,"),
        arguments(2, " \"b\": 12}"),
        block_stop(2),
        block_start(
            3,
            json!({"type": "tool_use", "id": "toolu_B", "name": "now", "input": {}}),
        ),
        arguments(3, ""),
        block_stop(3),
        ("ping", json!({"type": "ping"})),
    ];
    events.extend(message_end("tool_use", 40));
    let (out, meta) = same_at_every_split(&chat_plan(true), &anthropic_stream(&events));
    let calls: Vec<Value> = out
        .iter()
        .filter_map(|e| e["choices"][0]["delta"].get("tool_calls").cloned())
        .collect();
    assert_eq!(
        calls,
        vec![
            json!([{"index": 0, "id": "toolu_A", "type": "function", "function": {"name": "add", "arguments": ""}}]),
            json!([{"index": 0, "function": {"arguments": "{\"a\": 2,"}}]),
            json!([{"index": 0, "function": {"arguments": " \"b\": 12}"}}]),
            json!([{"index": 1, "id": "toolu_B", "type": "function", "function": {"name": "now", "arguments": ""}}]),
            json!([{"index": 1, "function": {"arguments": "{}"}}]),
        ]
    );
    assert_eq!(
        out[out.len() - 2]["usage"],
        json!({"prompt_tokens": 25, "completion_tokens": 40, "total_tokens": 65, "prompt_tokens_details": {"cached_tokens": 5}})
    );
    assert_eq!(meta.usage, usage(25, 40, Some(5)));
}

#[test]
fn an_error_event_ends_the_stream_with_an_openai_error_event() {
    let events = [
        message_start(),
        block_start(0, json!({"type": "text", "text": ""})),
        block_delta(0, json!({"type": "text_delta", "text": "Partial"})),
        (
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ];
    let (out, meta) = same_at_every_split(&chat_plan(true), &anthropic_stream(&events));
    assert_eq!(out.len(), 3, "{out:#?}");
    assert_eq!(out[1]["choices"][0]["delta"]["content"], "Partial");
    assert_eq!(
        out[2],
        json!({"error": {"message": "Overloaded", "type": "server_error", "param": null, "code": "overloaded_error"}})
    );
    assert!(meta.finish_reasons.is_empty());
    assert_eq!(
        meta.usage,
        usage(25, 1, Some(5)),
        "what the stream said before the error"
    );
}

/// Pushes `chunks`, expecting the translator to fail at some point: returns the bytes it gave,
/// those the gateway's following `finish` call gets, and the error.
fn failing(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<Value>, ModuleError) {
    let mut translator = Anthropic::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        match translator.push(chunk) {
            Ok(bytes) => out.extend(bytes),
            Err(error) => {
                out.extend(translator.finish().unwrap());
                return (events(&out), error);
            }
        }
    }
    let error = translator.finish().unwrap_err();
    out.extend(translator.finish().unwrap());
    (events(&out), error)
}

#[test]
fn a_cut_off_stream_is_an_error_not_a_complete_answer() {
    let stream = anthropic_stream(&[
        message_start(),
        block_start(0, json!({"type": "text", "text": ""})),
        block_delta(0, json!({"type": "text_delta", "text": "Half an ans"})),
    ]);
    // Without the blank line, the last event is only complete once the stream has ended.
    let (out, error) = failing(&chat_plan(true), &[stream.strip_suffix(b"\n").unwrap()]);
    assert_eq!(error.status, 502);
    assert_eq!(
        error.message.as_str(),
        "the anthropic stream ended before the model's stop reason"
    );
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[1]["choices"][0]["delta"]["content"], "Half an ans");
    assert!(!out.contains(&json!("[DONE]")));
}

#[test]
fn an_event_that_is_not_json_is_a_502_after_what_came_before_it() {
    let mut stream = anthropic_stream(&[message_start()]);
    stream.extend_from_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\n\n",
    );
    let (out, error) = failing(&chat_plan(false), &[&stream]);
    assert_eq!(error.status, 502);
    assert!(error
        .message
        .starts_with("anthropic sent a stream event that is not valid"));
    assert_eq!(
        out.len(),
        1,
        "the role chunk written before the bad event: {out:#?}"
    );

    let huge = format!("data: {}\n\n", "x".repeat((1 << 20) + 1));
    let (_, error) = failing(&chat_plan(false), &[huge.as_bytes()]);
    assert_eq!(
        error.message.as_str(),
        "upstream stream event exceeds 1048576 bytes"
    );
}

#[test]
fn legacy_completion_streams_become_text_completion_chunks() {
    let events = [
        (
            "completion",
            json!({"type": "completion", "completion": " Hello", "stop_reason": null, "model": "claude-2.1"}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "completion",
            json!({"type": "completion", "completion": "!", "stop_reason": null, "model": "claude-2.1"}),
        ),
        (
            "completion",
            json!({"type": "completion", "completion": "", "stop_reason": "stop_sequence", "model": "claude-2.1"}),
        ),
    ];
    let completions = streamed(plan(RouteType::COMPLETIONS, "claude-2.1", OPTIONS), true);
    let (out, meta) = same_at_every_split(&completions, &anthropic_stream(&events));
    let text_chunk = |text: &str, reason: Value| {
        json!({"id": "generated", "object": "text_completion", "created": 0, "model": "claude-2.1",
               "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": reason}]})
    };
    let mut usage_chunk = json!({"id": "generated", "object": "text_completion", "created": 0, "model": "claude-2.1", "choices": []});
    usage_chunk["usage"] = json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0});
    assert_eq!(
        out,
        vec![
            text_chunk(" Hello", Value::Null),
            text_chunk("!", Value::Null),
            text_chunk("", json!("stop")),
            usage_chunk,
            json!("[DONE]"),
        ]
    );
    assert_eq!(
        meta.usage,
        Usage::default(),
        "/v1/complete reports no usage"
    );
    assert_eq!(meta.finish_reasons.as_slice(), &[RString::from("stop")]);
}

#[test]
fn preserve_streams_are_forwarded_byte_for_byte_and_metered() {
    let mut preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    preserve.stream = true;
    let stream = transcript("tool_use_response.txt");
    let (out, meta) = translate(&preserve, &[&stream]);
    assert_eq!(out, stream);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(
            translate(&preserve, &[a, b]),
            (stream.clone(), meta.clone()),
            "split at {at}"
        );
    }
    assert_eq!(
        meta,
        ResponseMeta {
            usage: usage(377, 65, Some(0)),
            response_model: "claude-sonnet-4-20250514".into(),
            response_id: "msg_019Q1hrJbZG26Fb9BQhrkHEr".into(),
            finish_reasons: vec![RString::from("tool_calls")].into(),
        }
    );
    let garbage = b"event: message_start\ndata: {oops\n\nevent: message_stop\ndata: {}\n\n";
    let (out, meta) = translate(&preserve, &[garbage]);
    assert_eq!(out, garbage, "still forwarded when it cannot be metered");
    assert_eq!(meta.usage, Usage::default());
}
