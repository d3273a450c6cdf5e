//! TGI's token stream (`llama2_format: raw`, `stream: true`) as OpenAI's SSE, fed split at every
//! byte offset.

use ai_provider_llama2::Llama2;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType};
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{events, streamed, RAW};

fn translate(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Llama2::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

/// The events of `stream` translated whole, after checking that every two-chunk split gives the
/// same bytes (the stream's own id aside) and the same meta.
fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<Value>, ResponseMeta) {
    let (whole, meta) = translate(plan, &[stream]);
    // TGI names no id and no time: each translation makes its own.
    let normalized = |out: &[u8], meta: &ResponseMeta| {
        let text = String::from_utf8(out.to_vec())
            .unwrap()
            .replace(meta.response_id.as_str(), "ID");
        without_created(&text)
    };
    let expected = normalized(&whole, &meta);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        let (out, split_meta) = translate(plan, &[a, b]);
        assert_eq!(normalized(&out, &split_meta), expected, "split at {at}");
        assert_eq!(split_meta.usage, meta.usage, "split at {at}");
        assert_eq!(
            split_meta.finish_reasons, meta.finish_reasons,
            "split at {at}"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let (out, byte_meta) = translate(plan, &bytes);
    assert_eq!(normalized(&out, &byte_meta), expected, "byte by byte");
    (events(&whole), meta)
}

/// `text` with every `"created":<seconds>` written as `"created":0`.
fn without_created(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\"created\":") {
        let (before, after) = rest.split_at(at + "\"created\":".len());
        out.push_str(before);
        out.push('0');
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn token(index: u32, text: &str, special: bool) -> String {
    json!({"index": index, "token": {"id": index, "text": text, "logprob": -0.5, "special": special}, "generated_text": null, "details": null}).to_string()
}

/// A TGI stream: a leading space, text, the end-of-sequence token, and the details.
fn tgi_stream(line_ending: &str) -> Vec<u8> {
    let last = json!({
        "index": 4, "token": {"id": 2, "text": "</s>", "logprob": -0.1, "special": true},
        "generated_text": " Paris is.",
        "details": {"finish_reason": "eos_token", "generated_tokens": 4, "input_length": 21, "seed": null},
    });
    [
        token(1, " ", false),
        token(2, "Paris", false),
        token(3, " is.", false),
        last.to_string(),
    ]
    .iter()
    .map(|payload| format!("data:{payload}{line_ending}{line_ending}"))
    .collect::<String>()
    .into_bytes()
}

#[test]
fn tokens_stream_as_chat_chunks_and_the_details_give_finish_and_usage() {
    for line_ending in ["\n", "\r\n"] {
        let plan = streamed(RouteType::CHAT, "llama2", RAW, true);
        let (events, meta) = same_at_every_split(&plan, &tgi_stream(line_ending));
        let contents: Vec<&Value> = events
            .iter()
            .filter_map(|e| e["choices"].get(0))
            .map(|c| &c["delta"])
            .collect();
        assert_eq!(
            contents,
            vec![
                &json!({"role": "assistant", "content": ""}),
                &json!({"content": "Paris"}),
                &json!({"content": " is."}),
                &json!({}),
            ],
            "the leading space is trimmed as in whole replies, and `</s>` is not text"
        );
        assert_eq!(events[3]["choices"][0]["finish_reason"], "stop");
        assert_eq!(events[4]["choices"], json!([]));
        assert_eq!(
            events[4]["usage"],
            json!({"prompt_tokens": 21, "completion_tokens": 4, "total_tokens": 25})
        );
        assert_eq!(events[5], json!("[DONE]"));
        assert!(events
            .iter()
            .take(5)
            .all(|e| e["model"] == "llama2" && e["object"] == "chat.completion.chunk"));
        assert_eq!(meta.usage.prompt_tokens, Some(21).into());
        assert_eq!(meta.finish_reasons[0].as_str(), "stop");
    }
}

#[test]
fn completions_stream_text_as_generated_and_usage_only_when_asked() {
    let plan = streamed(RouteType::COMPLETIONS, "llama2", RAW, false);
    let (events, meta) = same_at_every_split(&plan, &tgi_stream("\n"));
    let texts: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .map(|c| &c["text"])
        .collect();
    assert_eq!(
        texts,
        vec![&json!(" "), &json!("Paris"), &json!(" is."), &json!("")]
    );
    assert!(
        events.iter().all(|e| e.get("usage").is_none()),
        "the client did not ask"
    );
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert_eq!(
        meta.usage.completion_tokens,
        Some(4).into(),
        "the route's statistics have it"
    );
}

#[test]
fn a_length_stop_is_length() {
    let last = json!({"index": 1, "token": {"id": 5, "text": "Hi", "logprob": 0, "special": false},
                      "generated_text": "Hi", "details": {"finish_reason": "length", "generated_tokens": 1, "input_length": 3}});
    let (events, _) = same_at_every_split(
        &streamed(RouteType::CHAT, "llama2", RAW, false),
        format!("data: {last}\n\n").as_bytes(),
    );
    assert_eq!(events[2]["choices"][0]["finish_reason"], "length");
}

#[test]
fn an_error_event_or_a_cut_stream_ends_with_an_error_event() {
    let error = format!(
        "data: {}\n\ndata: {}\n\ndata: {}\n\n",
        token(1, "Par", false),
        json!({"error": "Request failed during generation: Server error: CUDA out of memory", "error_type": "generation"}),
        token(2, "is", false)
    );
    let (events, _) = same_at_every_split(
        &streamed(RouteType::CHAT, "llama2", RAW, true),
        error.as_bytes(),
    );
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2],
        json!({"error": {"message": "upstream llama2: Request failed during generation: Server error: CUDA out of memory",
                         "type": "server_error", "param": null, "code": null}})
    );
    let cut = format!("data: {}\n\n", token(1, "Par", false));
    let (events, _) = same_at_every_split(
        &streamed(RouteType::CHAT, "llama2", RAW, true),
        cut.as_bytes(),
    );
    assert_eq!(
        events.last().unwrap()["error"]["message"],
        "upstream llama2 ended the stream before its final event (the one with details)"
    );
    assert!(!events.contains(&json!("[DONE]")));
}
