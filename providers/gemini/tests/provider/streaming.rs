//! Streams: Gemini's SSE and streamed JSON array as OpenAI chunks, the same at every split.

use abi_stable::std_types::ROption::{RNone, RSome};
use abi_stable::std_types::RStr;
use ai_provider_gemini::Gemini;
use provider_sdk::abi::{HeaderRef, RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{fixture, streamed};

const SSE: &str = "text/event-stream";
const JSON_ARRAY: &str = "application/json; charset=UTF-8";

fn headers(content_type: &str) -> [HeaderRef<'_>; 1] {
    [HeaderRef {
        name: RStr::from_str("Content-Type"),
        value: RStr::from_str(content_type),
    }]
}

/// What the client gets for `chunks`, and the meta.
fn translate(
    plan: &RequestPlan<'_>,
    content_type: &str,
    chunks: &[&[u8]],
) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Gemini::new_stream_translator(plan, 200, &headers(content_type)).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap_or_else(|e| panic!("{e}")));
    }
    out.extend(translator.finish().unwrap_or_else(|e| panic!("{e}")));
    (out, translator.meta())
}

/// `meta` with a generated response id made comparable.
fn comparable(mut meta: ResponseMeta) -> ResponseMeta {
    if meta.response_id.starts_with("chatcmpl-") || meta.response_id.starts_with("cmpl-") {
        meta.response_id = "generated".into();
    }
    meta
}

/// The events of an OpenAI stream: JSON values, or `[DONE]` as a string, with `created` and
/// generated ids made comparable. (OpenAI's published schema has no `null` finish reason, which
/// every chunk but the last carries; the SDK suite checks chunks with the SDK's own types.)
fn events(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.ends_with("\n\n"), "{text:?}");
    text.split_terminator("\n\n")
        .map(|event| {
            let data = event.strip_prefix("data: ").unwrap();
            let Ok(mut chunk) = serde_json::from_str::<Value>(data) else {
                return Value::String(data.to_owned());
            };
            if chunk.get("error").is_none() {
                assert!(chunk["created"].as_u64().unwrap() > 1_700_000_000);
                chunk["created"] = json!(0);
                if chunk["id"].as_str().unwrap().starts_with("chatcmpl-") {
                    chunk["id"] = json!("chatcmpl-generated");
                }
                let calls = chunk
                    .pointer_mut("/choices/0/delta/tool_calls")
                    .and_then(Value::as_array_mut);
                for call in calls.into_iter().flatten() {
                    if call["id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("call_"))
                    {
                        call["id"] = json!("call_generated");
                    }
                }
            }
            chunk
        })
        .collect()
}

/// The events for `stream`, checked to be the same when it is split at any byte.
fn same_at_every_split(
    plan: &RequestPlan<'_>,
    content_type: &str,
    stream: &[u8],
) -> (Vec<Value>, ResponseMeta) {
    let (out, meta) = translate(plan, content_type, &[stream]);
    let whole = (events(&out), comparable(meta));
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        let (out, meta) = translate(plan, content_type, &[a, b]);
        assert_eq!((events(&out), comparable(meta)), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let (out, meta) = translate(plan, content_type, &bytes);
    assert_eq!((events(&out), comparable(meta)), whole, "byte by byte");
    whole
}

fn chunk(id: &str, model: &str, choices: Value) -> Value {
    json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices})
}

fn delta(delta: Value, finish: Value) -> Value {
    json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}])
}

fn usage(prompt: u64, completion: u64, total: u64) -> Usage {
    Usage {
        prompt_tokens: RSome(prompt),
        completion_tokens: RSome(completion),
        total_tokens: RSome(total),
        cached_tokens: RNone,
    }
}

/// A Gemini `alt=sse` stream: CRLF framing, usage on every event, the finish on the last.
fn gemini_sse() -> Vec<u8> {
    let first = json!({
        "candidates": [{"content": {"parts": [{"text": "The answer"}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.0-flash-001", "responseId": "resp-1",
    });
    let last = json!({
        "candidates": [{"content": {"parts": [{"text": " is \"2\".\n"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14},
        "modelVersion": "gemini-2.0-flash-001", "responseId": "resp-1",
    });
    format!("data: {first}\r\n\r\ndata: {last}\r\n\r\n").into_bytes()
}

#[test]
fn an_sse_stream_becomes_chunks_with_the_usage_chunk_when_asked() {
    let mut plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    plan.client_wants_usage = true;
    let (events, meta) = same_at_every_split(&plan, SSE, &gemini_sse());
    let chunk = |choices| chunk("resp-1", "gemini-2.0-flash-001", choices);
    let mut usage_chunk = chunk(json!([]));
    usage_chunk["usage"] = json!({"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14});
    assert_eq!(
        events,
        vec![
            chunk(delta(
                json!({"role": "assistant", "content": ""}),
                Value::Null
            )),
            chunk(delta(json!({"content": "The answer"}), Value::Null)),
            chunk(delta(json!({"content": " is \"2\".\n"}), Value::Null)),
            chunk(delta(json!({}), json!("stop"))),
            usage_chunk,
            json!("[DONE]"),
        ],
        "Kong's Gemini chunks have no id, object or created"
    );
    assert_eq!(meta.usage, usage(9, 5, 14));
    assert_eq!(meta.response_model.as_str(), "gemini-2.0-flash-001");
    assert_eq!(meta.response_id.as_str(), "resp-1");
    assert_eq!(meta.finish_reasons[0].as_str(), "stop");
}

#[test]
fn the_usage_chunk_is_left_out_but_metered_when_not_asked() {
    let plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    let (events, meta) = same_at_every_split(&plan, SSE, &gemini_sse());
    assert_eq!(events.len(), 5, "{events:#?}");
    assert!(events.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(meta.usage, usage(9, 5, 14));
}

#[test]
fn kongs_json_array_stream_is_read_without_sse() {
    let stream = [
        fixture("unit/streaming-chunk-formats/partial-json-beginning/input.bin"),
        fixture("unit/streaming-chunk-formats/partial-json-end/input.bin"),
    ]
    .concat();
    let plan = streamed(RouteType::CHAT, "gemini-1.5-flash", "{}");
    let (events, meta) = same_at_every_split(&plan, JSON_ARRAY, &stream);
    let elements: Vec<Value> = [
        "partial-json-beginning/expected-output.json",
        "partial-json-end/expected-output.json",
    ]
    .iter()
    .flat_map(|path| {
        let expected: Vec<Value> =
            serde_json::from_slice(&fixture(&format!("unit/streaming-chunk-formats/{path}")))
                .unwrap();
        expected
    })
    .filter_map(|event| serde_json::from_str(event["data"].as_str()?).ok())
    .collect();
    let expected_text: String = elements
        .iter()
        .map(|e| {
            e["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, expected_text);
    let finishes: Vec<&Value> = events
        .iter()
        .map(|e| &e["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(
        finishes,
        [&json!("stop")],
        "every element says STOP; one finish chunk comes after the last delta"
    );
    assert_eq!(
        events[events.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert!(events
        .iter()
        .filter_map(|e| e.get("id"))
        .all(|id| *id == events[0]["id"]));
    assert_eq!(events[0]["model"], "gemini-1.5-flash");
    assert_eq!(
        meta.usage,
        usage(6, 547, 553),
        "the last usageMetadata, not a sum: Gemini's counts are cumulative"
    );
}

/// Kong's streaming integration test asks for `add` then `multiply`; Gemini sends each call
/// whole, the finish with the last.
fn tool_call_stream() -> Vec<u8> {
    let elements = [
        json!({"candidates": [{"content": {"parts": [{"text": "Let me add."}], "role": "model"}, "index": 0}],
               "usageMetadata": {"promptTokenCount": 60, "totalTokenCount": 60}, "modelVersion": "gemini-2.0-flash"}),
        json!({"candidates": [{"content": {"parts": [{"functionCall": {"name": "add", "args": {"a": 2, "b": 12}}}], "role": "model"}, "index": 0}],
               "modelVersion": "gemini-2.0-flash"}),
        json!({"candidates": [{"content": {"parts": [{"functionCall": {"name": "multiply", "args": {"a": 14, "b": 10}}, "thoughtSignature": "c2ln"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 60, "candidatesTokenCount": 20, "thoughtsTokenCount": 7, "totalTokenCount": 87}, "modelVersion": "gemini-2.0-flash"}),
    ];
    let joined: Vec<String> = elements.iter().map(Value::to_string).collect();
    format!("[{}]", joined.join("\r\n,")).into_bytes()
}

#[test]
fn streamed_function_calls_are_indexed_tool_calls() {
    let mut plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    plan.client_wants_usage = true;
    let (events, meta) = same_at_every_split(&plan, JSON_ARRAY, &tool_call_stream());
    let deltas: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        deltas,
        [
            &json!([{"index": 0, "id": "call_generated", "type": "function", "function": {"name": "add", "arguments": ""}}]),
            &json!([{"index": 0, "function": {"arguments": "{\"a\":2,\"b\":12}"}}]),
            &json!([{"index": 1, "id": "call_generated", "type": "function", "function": {"name": "multiply", "arguments": ""}}]),
            &json!([{"index": 1, "function": {"arguments": "{\"a\":14,\"b\":10}"}}]),
        ],
        "Kong's tool call deltas have no index and no id"
    );
    let (raw, _) = translate(&plan, JSON_ARRAY, &[&tool_call_stream()]);
    assert!(
        String::from_utf8(raw).unwrap().contains("__thought__c2ln"),
        "the thought signature rides in the id"
    );
    assert_eq!(
        events[events.len() - 3]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    assert_eq!(
        events[events.len() - 2]["usage"],
        json!({"prompt_tokens": 60, "completion_tokens": 27, "total_tokens": 87})
    );
    assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");
}

#[test]
fn a_blocked_prompt_finishes_with_content_filter() {
    let stream = format!(
        "data: {}\n\n",
        json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}})
    );
    let plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    let (events, meta) = same_at_every_split(&plan, SSE, stream.as_bytes());
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(meta.usage, usage(4, 0, 4));
}

#[test]
fn completions_stream_text_completion_chunks() {
    let mut plan = streamed(RouteType::COMPLETIONS, "gemini-2.0-flash", "{}");
    plan.client_wants_usage = true;
    let (events, _) = same_at_every_split(&plan, SSE, &gemini_sse());
    let texts: Vec<&Value> = events.iter().map(|e| &e["choices"][0]["text"]).collect();
    assert_eq!(texts[0], "The answer");
    assert_eq!(texts[1], " is \"2\".\n");
    assert_eq!(events[2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[0]["object"], "text_completion");
    assert_eq!(events[3]["usage"]["total_tokens"], 14);
    assert_eq!(events[4], "[DONE]");
}

#[test]
fn an_error_from_google_mid_stream_is_an_error_event_and_the_end() {
    let stream = format!(
        "data: {}\r\n\r\ndata: {}\r\n\r\ndata: {}\r\n\r\n",
        json!({"candidates": [{"content": {"parts": [{"text": "Partial"}]}, "index": 0}], "responseId": "r"}),
        json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}),
        json!({"candidates": [{"content": {"parts": [{"text": "ignored"}]}, "finishReason": "STOP"}]}),
    );
    let plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    let (events, _) = same_at_every_split(&plan, SSE, stream.as_bytes());
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[1]["choices"][0]["delta"]["content"], "Partial");
    assert_eq!(
        events[2],
        json!({"error": {
            "message": "The model is overloaded. Please try again later.",
            "type": "service_unavailable", "param": null, "code": "UNAVAILABLE",
        }}),
        "no [DONE] after an error"
    );
    let in_array = format!(
        "[{},{}]",
        json!({"candidates": [{"content": {"parts": [{"text": "Partial"}]}}]}),
        json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}),
    );
    let (events, _) = same_at_every_split(&plan, JSON_ARRAY, in_array.as_bytes());
    assert_eq!(events[2]["error"]["type"], "rate_limit_error");
}

#[test]
fn a_cut_off_or_broken_stream_is_an_error_the_gateway_reports() {
    let plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    let cut = br#"[{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}"#;
    let mut translator = Gemini::new_stream_translator(&plan, 200, &headers(JSON_ARRAY)).unwrap();
    let out = translator.push(cut).unwrap();
    assert_eq!(events(&out).len(), 2);
    let error = translator.finish().unwrap_err();
    assert_eq!(error.status, 502);
    assert_eq!(
        error.message.as_str(),
        "upstream JSON array stream ended before the array closed"
    );
    assert_eq!(
        translator.finish().unwrap(),
        b"",
        "the gateway ends the stream"
    );

    let mut translator = Gemini::new_stream_translator(&plan, 200, &headers(SSE)).unwrap();
    let error = translator
        .push(b"data: {\"candidates\": 5}\n\n")
        .unwrap_err();
    assert_eq!(error.status, 502);
    assert!(translator.push(b"data: {}\n\n").unwrap().is_empty());
    assert!(translator.finish().unwrap().is_empty());
}

#[test]
fn preserve_streams_are_forwarded_byte_for_byte_and_metered() {
    let mut preserve = streamed(RouteType::PRESERVE, "", "{}");
    preserve.client_path = RStr::from_str("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    let stream = gemini_sse();
    let (out, meta) = translate(&preserve, SSE, &[&stream]);
    assert_eq!(out, stream);
    assert_eq!(meta.usage, usage(9, 5, 14));
    assert_eq!(meta.response_model.as_str(), "gemini-2.0-flash-001");
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(
            translate(&preserve, SSE, &[a, b]),
            (out.clone(), meta.clone())
        );
    }
    let (out, _) = translate(&preserve, JSON_ARRAY, &[b"not an array"]);
    assert_eq!(
        out, b"not an array",
        "a native stream is the client's business"
    );
}
