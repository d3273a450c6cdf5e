//! TGI's streams, as TGI writes them (checked against Hugging Face's stream schemas), fed whole,
//! split at every byte and byte by byte: every split gives the same client stream and meta.

use abi_stable::std_types::{ROption, RString};
use ai_provider_huggingface::HuggingFace;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{
    assert_hf_schema, assert_openai, json, plan, streamed, CHAT_STREAM_SCHEMA,
    GENERATION_STREAM_SCHEMA, MODEL,
};

const TGI_MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct";

/// Feeds `chunks` to a fresh translator; returns everything it wrote and its final meta, with the
/// id and time the translator makes up for text completion chunks fixed, so that runs compare.
fn translate(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = HuggingFace::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    let mut meta = translator.meta();
    if plan.route_type != RouteType::COMPLETIONS {
        return (out, meta);
    }
    let made_up_id = std::mem::replace(&mut meta.response_id, "cmpl-test".into());
    assert!(made_up_id.starts_with("cmpl-"), "{made_up_id}");
    let mut fixed = Vec::new();
    for mut event in events_of(&out) {
        if event.get("id").is_some() {
            assert_eq!(event["id"].as_str(), Some(made_up_id.as_str()));
            event["id"] = json!("cmpl-test");
            event["created"] = json!(0);
        }
        let data = match event {
            Value::String(done) => done,
            other => other.to_string(),
        };
        fixed.extend_from_slice(format!("data: {data}\n\n").as_bytes());
    }
    (fixed, meta)
}

fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<u8>, ResponseMeta) {
    let whole = translate(plan, &[stream]);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(translate(plan, &[a, b]), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(translate(plan, &bytes), whole, "byte by byte");
    whole
}

/// The `data:` payloads the client received, `[DONE]` as a string.
fn events_of(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    text.split_terminator("\n\n")
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("{event:?}"));
            serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()))
        })
        .collect()
}

/// One chunk of a TGI 3 chat stream.
fn tgi_chunk(delta: Value, finish_reason: Value) -> Value {
    json!({
        "object": "chat.completion.chunk", "id": "", "created": 1732000000, "model": TGI_MODEL,
        "system_fingerprint": "3.0.1-sha-bb9095a",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        "usage": null,
    })
}

fn tgi_usage_chunk() -> Value {
    json!({
        "object": "chat.completion.chunk", "id": "", "created": 1732000000, "model": TGI_MODEL,
        "system_fingerprint": "3.0.1-sha-bb9095a", "choices": [],
        "usage": {"prompt_tokens": 26, "completion_tokens": 9, "total_tokens": 35},
    })
}

fn text_chunk(text: &str, finish_reason: Value) -> Value {
    tgi_chunk(json!({"role": "assistant", "content": text}), finish_reason)
}

/// `events` framed as TGI frames them (`data:` with no space).
fn sse(events: &[Value], line_end: &str) -> Vec<u8> {
    let mut stream = String::new();
    for event in events {
        stream.push_str(&format!("data:{event}{line_end}{line_end}"));
    }
    stream.push_str(&format!("data:[DONE]{line_end}{line_end}"));
    stream.into_bytes()
}

fn text_stream() -> Vec<Value> {
    vec![
        text_chunk("1 + 1", Value::Null),
        text_chunk(" is 2.", Value::Null),
        text_chunk("", json!("eos_token")),
        tgi_usage_chunk(),
    ]
}

fn chat_meta(finish: &str) -> ResponseMeta {
    ResponseMeta {
        usage: Usage {
            prompt_tokens: ROption::RSome(26),
            completion_tokens: ROption::RSome(9),
            total_tokens: ROption::RSome(35),
            cached_tokens: ROption::RNone,
        },
        response_model: TGI_MODEL.into(),
        response_id: "".into(),
        finish_reasons: vec![RString::from(finish)].into(),
    }
}

fn with_finish(mut chunk: Value, finish_reason: &str) -> Value {
    chunk["choices"][0]["finish_reason"] = json!(finish_reason);
    chunk
}

#[test]
fn tgi_chunks_match_hugging_faces_stream_schema() {
    for chunk in text_stream() {
        assert_hf_schema(CHAT_STREAM_SCHEMA, &chunk);
    }
    for chunk in tool_stream() {
        assert_hf_schema(CHAT_STREAM_SCHEMA, &chunk);
    }
    for event in generation_stream() {
        assert_hf_schema(GENERATION_STREAM_SCHEMA, &event);
    }
}

#[test]
fn a_chat_stream_keeps_its_chunks_with_openais_finish_reason_and_the_usage_chunk() {
    let chat = streamed(plan(RouteType::CHAT, MODEL, "{}"), true);
    for line_end in ["\n", "\r\n"] {
        let (out, meta) = same_at_every_split(&chat, &sse(&text_stream(), line_end));
        let mut expected = text_stream();
        expected[2] = with_finish(expected[2].clone(), "stop");
        expected.push(json!("[DONE]"));
        assert_eq!(events_of(&out), expected);
        assert_eq!(meta, chat_meta("stop"));
    }
}

#[test]
fn the_usage_chunk_is_metered_but_dropped_when_the_client_did_not_ask() {
    let chat = streamed(plan(RouteType::CHAT, MODEL, "{}"), false);
    let (out, meta) = same_at_every_split(&chat, &sse(&text_stream(), "\n"));
    let events = events_of(&out);
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(events
        .iter()
        .all(|e| e.get("usage").is_none_or(Value::is_null)));
    assert_eq!(events[3], json!("[DONE]"));
    assert_eq!(meta, chat_meta("stop"));
}

/// A TGI 3 stream of one tool call: the call's JSON arrives as `arguments` fragments at index 0,
/// and the last chunk has the reason the generation ended.
fn tool_stream() -> Vec<Value> {
    let call = |name: Value, arguments: &str| {
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "", "type": "function",
               "function": {"name": name, "arguments": arguments}}]})
    };
    vec![
        tgi_chunk(call(json!("add"), "{"), Value::Null),
        tgi_chunk(call(Value::Null, "\"a\": 2"), Value::Null),
        tgi_chunk(call(Value::Null, ", \"b\": 12"), Value::Null),
        tgi_chunk(call(Value::Null, "}"), json!("eos_token")),
        tgi_usage_chunk(),
    ]
}

#[test]
fn a_streamed_tool_call_keeps_its_index_and_finishes_with_tool_calls() {
    let chat = streamed(plan(RouteType::CHAT, MODEL, "{}"), true);
    let (out, meta) = same_at_every_split(&chat, &sse(&tool_stream(), "\n"));
    let events = events_of(&out);
    let mut expected = tool_stream();
    expected[3] = with_finish(expected[3].clone(), "tool_calls");
    expected.push(json!("[DONE]"));
    assert_eq!(events, expected);
    let arguments: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"a": 2, "b": 12}"#);
    assert!(events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"][0]["index"].as_u64())
        .all(|index| index == 0));
    assert_eq!(meta, chat_meta("tool_calls"));
}

#[test]
fn an_error_event_becomes_openais_and_ends_the_stream() {
    let error = json!({"error": "Request failed during generation: Server error: CUDA out of memory", "error_type": "generation"});
    let stream = sse(
        &[
            text_chunk("1 +", Value::Null),
            error,
            text_chunk("late", Value::Null),
        ],
        "\n",
    );
    let chat = streamed(plan(RouteType::CHAT, MODEL, "{}"), true);
    let (out, meta) = same_at_every_split(&chat, &stream);
    let events = events_of(&out);
    assert_eq!(
        events.len(),
        2,
        "nothing after the error, [DONE] included: {events:#?}"
    );
    assert_eq!(
        events[1],
        json!({"error": {"message": "Request failed during generation: Server error: CUDA out of memory",
                         "type": "server_error", "param": null, "code": "generation"}})
    );
    assert!(meta.finish_reasons.is_empty());
}

#[test]
fn how_a_chat_stream_ends_without_done() {
    let chat = streamed(plan(RouteType::CHAT, MODEL, "{}"), false);
    let finished = format!(
        "data:{}\n\ndata:{}\n\n",
        text_chunk("Hi", Value::Null),
        text_chunk("", json!("length"))
    );
    let (out, meta) = same_at_every_split(&chat, finished.as_bytes());
    let events = events_of(&out);
    assert_eq!(
        events.last(),
        Some(&json!("[DONE]")),
        "a finished answer gets its [DONE]"
    );
    assert_eq!(events[1]["choices"][0]["finish_reason"], "length");
    assert_eq!(meta.usage, Usage::default());

    let cut = format!("data:{}\n\n", text_chunk("Hi", Value::Null));
    let (out, _) = same_at_every_split(&chat, cut.as_bytes());
    let events = events_of(&out);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1]["error"]["message"],
        "the huggingface stream ended before the answer finished"
    );
}

/// A TGI text generation stream: tokens, the last one special (`</s>`) with `details`.
fn generation_stream() -> Vec<Value> {
    let token = |index: u64, id: u64, text: &str, special: bool| {
        json!({"index": index, "token": {"id": id, "text": text, "logprob": -0.25, "special": special},
               "generated_text": null, "details": null})
    };
    let mut last = token(4, 2, "</s>", true);
    last["generated_text"] = json!(" Dividing by zero");
    last["details"] = json!({"finish_reason": "eos_token", "generated_tokens": 4, "seed": null, "input_length": 9});
    vec![
        token(1, 4906, " Div", false),
        token(2, 2821, "iding", false),
        token(3, 486, " by zero", false),
        last,
    ]
}

fn generation_sse(events: &[Value]) -> Vec<u8> {
    events
        .iter()
        .map(|e| format!("data:{e}\n\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn a_generation_stream_becomes_text_completion_chunks_with_usage() {
    let completions = streamed(plan(RouteType::COMPLETIONS, MODEL, "{}"), true);
    let (out, meta) = same_at_every_split(&completions, &generation_sse(&generation_stream()));
    let events = events_of(&out);
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| e["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [" Div", "iding", " by zero", ""],
        "the special token's text is left out"
    );
    for event in &events[..5] {
        assert_eq!(event["object"], "text_completion");
        assert_eq!(event["model"], MODEL);
    }
    assert_eq!(events[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        events[4]["usage"],
        json!({"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13})
    );
    assert_eq!(events[4]["choices"], json!([]));
    assert_eq!(events[5], json!("[DONE]"));
    assert_openai("CreateCompletionResponse", &events[3]);
    assert_eq!(
        meta.usage,
        Usage {
            prompt_tokens: ROption::RSome(9),
            completion_tokens: ROption::RSome(4),
            ..Usage::default()
        }
    );
    assert_eq!(meta.finish_reasons.as_slice(), &[RString::from("stop")]);

    let quiet = streamed(plan(RouteType::COMPLETIONS, MODEL, "{}"), false);
    let (out, meta) = translate(&quiet, &[&generation_sse(&generation_stream())]);
    assert!(events_without_usage(&out));
    assert_eq!(
        meta.usage.prompt_tokens,
        ROption::RSome(9),
        "metered all the same"
    );
}

fn events_without_usage(out: &[u8]) -> bool {
    events_of(out).iter().all(|e| e.get("usage").is_none())
}

#[test]
fn a_generation_stream_error_or_cut_ends_with_an_error_event() {
    let completions = streamed(plan(RouteType::COMPLETIONS, MODEL, "{}"), true);
    let mut stream = generation_stream();
    stream.truncate(2);
    let (out, _) = same_at_every_split(&completions, &generation_sse(&stream));
    let events = events_of(&out);
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2]["error"]["message"],
        "the huggingface stream ended before the generation finished"
    );

    stream.push(json!({"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096", "error_type": "validation"}));
    let (out, _) = same_at_every_split(&completions, &generation_sse(&stream));
    let events = events_of(&out);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["error"]["type"], "invalid_request_error");
    assert_eq!(events[2]["error"]["code"], "validation");
}

#[test]
fn preserve_streams_pass_through_byte_for_byte() {
    let mut preserve = plan(RouteType::PRESERVE, "", "{}");
    preserve.stream = true;
    let stream = sse(&text_stream(), "\n");
    let (out, meta) = same_at_every_split(&preserve, &stream);
    assert_eq!(out, stream);
    assert_eq!(meta.usage.total_tokens, ROption::RSome(35));
}

#[test]
fn chat_chunks_are_checked_as_json_only_where_metered() {
    let chat = streamed(plan(RouteType::CHAT, MODEL, "{}"), false);
    let first = text_chunk("Hi", Value::Null).to_string();
    let stream = format!(
        "data:{first}\n\ndata:not json\n\ndata:{}\n\ndata:[DONE]\n\n",
        text_chunk("", json!("stop"))
    );
    let (out, meta) = translate(&chat, &[stream.as_bytes()]);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("data: not json\n\n"),
        "forwarded for the client to judge"
    );
    assert_eq!(meta.response_model.as_str(), TGI_MODEL);
    assert_eq!(json(first.as_bytes())["model"], TGI_MODEL);
}
