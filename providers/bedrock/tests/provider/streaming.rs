//! ConverseStream event streams as OpenAI's SSE: Kong's captured tool-call stream, text streams,
//! exceptions, and the same output at every split of the input.

use abi_stable::std_types::ROption;
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{event, exception, frame, kong_chunks, streamed, CLAUDE, NOVA};

fn translate(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Bedrock::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

/// The SSE events of `out` as JSON (`[DONE]` as a string), with the generated `id` and
/// `created` blanked so that outputs of separate runs compare.
fn events(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.ends_with("\n\n"), "{text:?}");
    text.split_terminator("\n\n")
        .map(|event| {
            let data = event.strip_prefix("data: ").unwrap();
            let mut value = serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()));
            if let Some(object) = value.as_object_mut() {
                if object.contains_key("created") {
                    object.insert("id".into(), json!("ID"));
                    object.insert("created".into(), json!(0));
                }
            }
            value
        })
        .collect()
}

/// The events for `stream` in one chunk, checked to be the same at every split and byte by byte,
/// with the same meta.
fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<Value>, ResponseMeta) {
    let normalized = |(out, mut meta): (Vec<u8>, ResponseMeta)| {
        meta.response_id = "ID".into();
        (events(&out), meta)
    };
    let whole = normalized(translate(plan, &[stream]));
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(normalized(translate(plan, &[a, b])), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(normalized(translate(plan, &bytes)), whole, "byte by byte");
    whole
}

fn chunk(model: &str, choices: Value) -> Value {
    json!({"id": "ID", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices})
}

fn delta(model: &str, delta: Value) -> Value {
    chunk(
        model,
        json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]),
    )
}

fn finish(model: &str, reason: &str) -> Value {
    chunk(
        model,
        json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": reason}]),
    )
}

fn usage_chunk(model: &str, usage: Value) -> Value {
    let mut chunk = chunk(model, json!([]));
    chunk["usage"] = usage;
    chunk
}

fn kong_stream() -> Vec<u8> {
    kong_chunks().concat()
}

/// Kong's integration test streams these three writes and expects the argument fragments joined;
/// here they arrive as OpenAI tool-call deltas with index 0 (Bedrock's block 0), a finish reason
/// (Kong's chunk says `tool_calls` too), and the usage of Bedrock's `metadata` event.
#[test]
fn kong_tool_call_stream() {
    let plan = streamed(RouteType::CHAT, CLAUDE, true);
    let chunks = kong_chunks();
    let in_writes: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
    let (out, meta) = translate(&plan, &in_writes);
    let (events, _) = same_at_every_split(&plan, &kong_stream());
    assert_eq!(crate::streaming::events(&out), events);
    let call = |tool_call: Value| delta(CLAUDE, json!({"tool_calls": [tool_call]}));
    let fragment =
        |arguments: &str| call(json!({"index": 0, "function": {"arguments": arguments}}));
    assert_eq!(
        events,
        vec![
            delta(CLAUDE, json!({"role": "assistant", "content": ""})),
            call(
                json!({"index": 0, "id": "tooluse_UxbKWVKgTqe8cKjPPzopiQ", "type": "function",
                        "function": {"name": "add", "arguments": ""}})
            ),
            fragment("{\""),
            fragment("a\": 2"),
            fragment(", \"b"),
            fragment("\": 12}"),
            finish(CLAUDE, "tool_calls"),
            usage_chunk(
                CLAUDE,
                json!({"prompt_tokens": 478, "completion_tokens": 44, "total_tokens": 522})
            ),
            json!("[DONE]"),
        ]
    );
    let arguments: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"a": 2, "b": 12}"#);
    assert_eq!(
        meta.usage,
        Usage {
            prompt_tokens: ROption::RSome(478),
            completion_tokens: ROption::RSome(44),
            total_tokens: ROption::RSome(522),
            cached_tokens: ROption::RNone,
        }
    );
    assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");
    assert_eq!(meta.response_model.as_str(), CLAUDE);
}

/// A text answer whose text block has no `contentBlockStart`, with padding, and a tool call in
/// the next block: Bedrock's block 1 is OpenAI's tool call 0.
fn text_then_tool_stream() -> Vec<u8> {
    [
        event("messageStart", &json!({"role": "assistant", "p": "abcdef"})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": "Let me "}, "p": "ab"})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": "add \"that\"."}})),
        event("contentBlockStop", &json!({"contentBlockIndex": 0})),
        event("contentBlockStart", &json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "add"}}})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\":2,"}}})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"b\":12}"}}})),
        event("contentBlockStop", &json!({"contentBlockIndex": 1})),
        event("contentBlockStart", &json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_b", "name": "now"}}})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{}"}}})),
        event("messageStop", &json!({"stopReason": "tool_use", "p": "abc"})),
        event("metadata", &json!({"usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 1042, "cacheReadInputTokens": 1000}, "metrics": {"latencyMs": 10}, "p": "x"})),
    ]
    .concat()
}

#[test]
fn text_and_tool_calls_are_indexed_as_openai_does() {
    let plan = streamed(RouteType::CHAT, NOVA, false);
    let (events, meta) = same_at_every_split(&plan, &text_then_tool_stream());
    assert_eq!(
        events,
        vec![
            delta(NOVA, json!({"role": "assistant", "content": ""})),
            delta(NOVA, json!({"content": "Let me "})),
            delta(NOVA, json!({"content": "add \"that\"."})),
            delta(
                NOVA,
                json!({"tool_calls": [{"index": 0, "id": "tooluse_a", "type": "function", "function": {"name": "add", "arguments": ""}}]})
            ),
            delta(
                NOVA,
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":2,"}}]})
            ),
            delta(
                NOVA,
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"b\":12}"}}]})
            ),
            delta(
                NOVA,
                json!({"tool_calls": [{"index": 1, "id": "tooluse_b", "type": "function", "function": {"name": "now", "arguments": ""}}]})
            ),
            delta(
                NOVA,
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]})
            ),
            finish(NOVA, "tool_calls"),
            json!("[DONE]"),
        ],
        "no usage chunk when the client did not ask"
    );
    assert_eq!(
        meta.usage,
        Usage {
            prompt_tokens: ROption::RSome(1030),
            completion_tokens: ROption::RSome(12),
            total_tokens: ROption::RSome(1042),
            cached_tokens: ROption::RSome(1000),
        },
        "metered all the same"
    );
}

#[test]
fn the_usage_chunk_carries_cached_tokens() {
    let plan = streamed(RouteType::CHAT, NOVA, true);
    let (events, _) = same_at_every_split(&plan, &text_then_tool_stream());
    assert_eq!(
        events[events.len() - 2],
        usage_chunk(
            NOVA,
            json!({"prompt_tokens": 1030, "completion_tokens": 12, "total_tokens": 1042,
                                  "prompt_tokens_details": {"cached_tokens": 1000}})
        )
    );
}

#[test]
fn an_exception_ends_the_stream_with_an_error_event() {
    let stream = [
        event("messageStart", &json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "Par"}}),
        ),
        exception(
            "throttlingException",
            "Too many tokens, please wait before trying again.",
        ),
        event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "tial"}}),
        ),
    ]
    .concat();
    let (events, meta) = same_at_every_split(&streamed(RouteType::CHAT, NOVA, true), &stream);
    assert_eq!(
        events,
        vec![
            delta(NOVA, json!({"role": "assistant", "content": ""})),
            delta(NOVA, json!({"content": "Par"})),
            json!({"error": {"message": "Too many tokens, please wait before trying again.",
                             "type": "rate_limit_error", "param": null, "code": "ThrottlingException"}}),
        ],
        "nothing after the error, [DONE] included"
    );
    assert!(meta.finish_reasons.is_empty());
    let (events, _) = same_at_every_split(
        &streamed(RouteType::CHAT, NOVA, false),
        &exception("modelStreamErrorException", "The model failed."),
    );
    assert_eq!(events[0]["error"]["code"], "ModelStreamErrorException");
    let error_message = frame(
        &[
            (":message-type", "error"),
            (":error-code", "InternalFailure"),
            (":error-message", "boom"),
        ],
        b"",
    );
    let (events, _) = same_at_every_split(&streamed(RouteType::CHAT, NOVA, false), &error_message);
    assert_eq!(events[0]["error"]["message"], "boom");
    assert_eq!(events[0]["error"]["code"], "InternalFailure");
}

#[test]
fn broken_streams_end_with_an_error_event() {
    let plan = streamed(RouteType::CHAT, NOVA, false);
    let good = event("messageStart", &json!({"role": "assistant"}));
    let mut corrupt = event(
        "contentBlockDelta",
        &json!({"contentBlockIndex": 0, "delta": {"text": "x"}}),
    );
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xFF;
    let cut = event("messageStop", &json!({"stopReason": "end_turn"}));
    let unknown_block = event(
        "contentBlockDelta",
        &json!({"contentBlockIndex": 4, "delta": {"toolUse": {"input": "{}"}}}),
    );
    let not_json = frame(
        &[(":message-type", "event"), (":event-type", "messageStop")],
        b"{",
    );
    let cases: [(Vec<u8>, &str); 5] = [
        ([good.clone(), corrupt].concat(), "message checksum"),
        (
            [good.clone(), cut[..cut.len() - 3].to_vec()].concat(),
            "ended inside a message",
        ),
        (good.clone(), "ended before its messageStop event"),
        (
            [good.clone(), unknown_block].concat(),
            "block 4, which started no tool call",
        ),
        (
            [good, not_json].concat(),
            "messageStop event that cannot be read",
        ),
    ];
    for (stream, reason) in cases {
        let (out, _) = translate(&plan, &[&stream]);
        let events = events(&out);
        let error = events.last().unwrap();
        assert_eq!(error["error"]["type"], "bad_gateway", "{error}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(reason),
            "{error}"
        );
        assert_ne!(events.last(), Some(&json!("[DONE]")));
    }
}

#[test]
fn a_streamed_completion_is_text_completion_chunks() {
    let stream = [
        event("messageStart", &json!({"role": "assistant"})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": "1 + 1"}})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": " is 2."}})),
        event("messageStop", &json!({"stopReason": "max_tokens"})),
        event("metadata", &json!({"usage": {"inputTokens": 4, "outputTokens": 6, "totalTokens": 10}, "metrics": {"latencyMs": 1}})),
    ]
    .concat();
    let (events, meta) =
        same_at_every_split(&streamed(RouteType::COMPLETIONS, NOVA, true), &stream);
    let text = |text: &str, finish: Value| {
        json!({"id": "ID", "object": "text_completion", "created": 0, "model": NOVA,
               "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}]})
    };
    let mut usage = json!({"id": "ID", "object": "text_completion", "created": 0, "model": NOVA, "choices": []});
    usage["usage"] = json!({"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10});
    assert_eq!(
        events,
        vec![
            text("1 + 1", Value::Null),
            text(" is 2.", Value::Null),
            text("", json!("length")),
            usage,
            json!("[DONE]")
        ]
    );
    assert_eq!(meta.finish_reasons[0].as_str(), "length");
}
