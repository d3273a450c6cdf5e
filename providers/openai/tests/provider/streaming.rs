use abi_stable::std_types::{ROption, RSlice, RString};
use ai_provider_openai::OpenAi;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::{provider_module, Provider};

use crate::common::{fixture, json, plan};

fn streamed_plan(route_type: RouteType, client_wants_usage: bool) -> RequestPlan<'static> {
    let mut plan = plan(route_type, "gpt-4o", "{}");
    plan.stream = true;
    plan.client_wants_usage = client_wants_usage;
    plan
}

/// Feeds `chunks` to a fresh translator and returns everything it wrote and its final meta.
fn relay(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = OpenAi::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

/// Splits `stream` at every offset and checks that each split gives the same output and meta as
/// the whole stream in one chunk, and as the stream fed byte by byte.
fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<u8>, ResponseMeta) {
    let whole = relay(plan, &[stream]);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(relay(plan, &[a, b]), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(relay(plan, &bytes), whole, "byte by byte");
    whole
}

const ROLE_CHUNK: &str = r#"{"id":"chatcmpl-AbC","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#;
const TEXT_CHUNK: &str = r#"{"id":"chatcmpl-AbC","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"H\u00e9llo \"finish_reason\": \"x\" 😀"},"logprobs":null,"finish_reason":null}],"usage":null}"#;
const STOP_CHUNK: &str = r#"{"id":"chatcmpl-AbC","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#;
const USAGE_CHUNK: &str = r#"{"id":"chatcmpl-AbC","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37,"prompt_tokens_details":{"cached_tokens":5,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}"#;

/// An OpenAI chat stream as the API sends it with `include_usage`, with a keep-alive comment.
fn openai_stream() -> Vec<u8> {
    format!(
        "data: {ROLE_CHUNK}\n\ndata: {TEXT_CHUNK}\n\n: keep-alive\n\ndata: {STOP_CHUNK}\n\ndata: {USAGE_CHUNK}\n\ndata: [DONE]\n\n"
    )
    .into_bytes()
}

fn framed(events: &[&str]) -> Vec<u8> {
    events
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect::<String>()
        .into_bytes()
}

fn expected_meta() -> ResponseMeta {
    ResponseMeta {
        usage: Usage {
            prompt_tokens: ROption::RSome(25),
            completion_tokens: ROption::RSome(12),
            total_tokens: ROption::RSome(37),
            cached_tokens: ROption::RSome(5),
        },
        response_model: "gpt-4o-2024-08-06".into(),
        response_id: "chatcmpl-AbC".into(),
        finish_reasons: vec![RString::from("stop")].into(),
    }
}

#[test]
fn usage_chunk_is_kept_when_the_client_asked_for_it() {
    let (out, meta) = same_at_every_split(&streamed_plan(RouteType::CHAT, true), &openai_stream());
    assert_eq!(
        out,
        framed(&[ROLE_CHUNK, TEXT_CHUNK, STOP_CHUNK, USAGE_CHUNK, "[DONE]"])
    );
    assert_eq!(meta, expected_meta());
}

#[test]
fn usage_chunk_is_dropped_but_metered_when_the_client_did_not_ask() {
    let (out, meta) = same_at_every_split(&streamed_plan(RouteType::CHAT, false), &openai_stream());
    assert_eq!(out, framed(&[ROLE_CHUNK, TEXT_CHUNK, STOP_CHUNK, "[DONE]"]));
    assert_eq!(meta, expected_meta());
}

#[test]
fn kong_real_stream_frames() {
    let cases = [
        (
            RouteType::CHAT,
            "llm-v1-chat.txt",
            "gpt-4-0613",
            "chatcmpl-991aYb1iD8OSD54gcxZxv8uazlTZy",
        ),
        (
            RouteType::COMPLETIONS,
            "llm-v1-completions.txt",
            "gpt-3.5-turbo-instruct",
            "cmpl-991m7YSJWEnzrBqk41In8Xer9RIEB",
        ),
    ];
    for (route_type, file, model, id) in cases {
        let frame = fixture(&format!("unit/real-stream-frames/openai/{file}"));
        let (out, meta) = same_at_every_split(&streamed_plan(route_type, false), &frame);
        let data = frame
            .strip_prefix(b"data: ")
            .unwrap()
            .strip_suffix(b"\n")
            .unwrap();
        let mut expected = b"data: ".to_vec();
        expected.extend_from_slice(data);
        expected.extend_from_slice(b"\n\n");
        assert_eq!(out, expected, "{file}");
        let chunk = json(data);
        let text = chunk["choices"][0]["delta"]["content"]
            .as_str()
            .or(chunk["choices"][0]["text"].as_str());
        assert_eq!(text, Some("the answer"));
        assert_eq!(meta.response_model.as_str(), model);
        assert_eq!(meta.response_id.as_str(), id);
        assert!(meta.finish_reasons.is_empty());
        assert_eq!(meta.usage, Usage::default());
    }
}

#[test]
fn kong_text_event_stream_chunk_and_its_held_back_done() {
    let dir = "unit/streaming-chunk-formats/text-event-stream";
    let input = fixture(&format!("{dir}/input.bin"));
    let expected_events = json(&fixture(&format!("{dir}/expected-output.json")));
    let events: Vec<&str> = expected_events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"].as_str().unwrap())
        .collect();

    let mut translator =
        OpenAi::new_stream_translator(&streamed_plan(RouteType::CHAT, false), 200, &[]).unwrap();
    assert_eq!(translator.push(&input).unwrap(), framed(&events));
    assert_eq!(translator.finish().unwrap(), b"data: [DONE]\n\n");
    let meta = translator.meta();
    assert_eq!(meta.response_model.as_str(), "gpt-4-0613");
    assert_eq!(meta.finish_reasons.as_slice(), &[RString::from("stop")]);

    same_at_every_split(&streamed_plan(RouteType::CHAT, false), &input);
}

#[test]
fn crlf_framing_is_normalised_and_errors_pass_through() {
    let error = r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"#;
    let stream = format!("data: {ROLE_CHUNK}\r\n\r\ndata: {error}\r\n\r\n");
    let (out, meta) =
        same_at_every_split(&streamed_plan(RouteType::CHAT, false), stream.as_bytes());
    assert_eq!(out, framed(&[ROLE_CHUNK, error]), "no [DONE] is invented");
    assert_eq!(meta.response_model.as_str(), "gpt-4o-2024-08-06");
    assert_eq!(meta.usage, Usage::default());
}

#[test]
fn every_choice_finish_reason_is_recorded() {
    let first =
        r#"{"id":"c","model":"m","choices":[{"index":1,"delta":{},"finish_reason":"length"}]}"#;
    let second =
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason": "stop"}]}"#;
    let stream = framed(&[first, second, "[DONE]"]);
    let (_, meta) = relay(&streamed_plan(RouteType::CHAT, false), &[&stream]);
    assert_eq!(
        meta.finish_reasons.as_slice(),
        &[RString::from("length"), RString::from("stop")]
    );
}

#[test]
fn usage_on_a_chunk_with_choices_is_kept_and_metered() {
    let last = r#"{"id":"c","model":"mistral-small","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#;
    let stream = framed(&[last, "[DONE]"]);
    let (out, meta) = relay(&streamed_plan(RouteType::CHAT, false), &[&stream]);
    assert_eq!(out, stream);
    assert_eq!(meta.usage.total_tokens, ROption::RSome(10));
}

#[test]
fn preserve_streams_pass_through_byte_for_byte() {
    let mut preserve = plan(RouteType::PRESERVE, "", "{}");
    preserve.stream = true;
    let stream = openai_stream();
    let (out, meta) = same_at_every_split(&preserve, &stream);
    assert_eq!(out, stream);
    assert_eq!(meta, expected_meta());
}

#[test]
fn the_exported_translator_is_guarded_and_relays() {
    let module = provider_module::<OpenAi>();
    let plan = streamed_plan(RouteType::CHAT, false);
    let mut translator =
        module.new_stream_translator()(&plan, 200, RSlice::from_slice(&[])).unwrap();
    let stream = openai_stream();
    let (a, b) = stream.split_at(stream.len() / 2);
    let mut out = translator.push(RSlice::from_slice(a)).unwrap().into_vec();
    out.extend(translator.push(RSlice::from_slice(b)).unwrap().into_vec());
    out.extend(translator.finish().unwrap().into_vec());
    assert_eq!(out, framed(&[ROLE_CHUNK, TEXT_CHUNK, STOP_CHUNK, "[DONE]"]));
    assert_eq!(translator.meta(), expected_meta());
}
