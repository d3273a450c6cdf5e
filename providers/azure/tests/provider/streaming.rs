use abi_stable::std_types::{ROption, RString};
use ai_provider_azure::Azure;
use provider_sdk::abi::{RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::Provider;

use crate::common::{plan, OPTIONS};

fn streamed_plan(route_type: RouteType, client_wants_usage: bool) -> RequestPlan<'static> {
    let mut plan = plan(route_type, "gpt-4o", OPTIONS);
    plan.stream = true;
    plan.client_wants_usage = client_wants_usage;
    plan
}

fn relay(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
    let mut translator = Azure::new_stream_translator(plan, 200, &[]).unwrap();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(translator.push(chunk).unwrap());
    }
    out.extend(translator.finish().unwrap());
    (out, translator.meta())
}

/// The output for `stream` in one chunk, checked to be the same at every split and byte by byte.
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

/// Azure's first chunk: only the prompt's filter results, with empty id, model and object.
const PROMPT_FILTER: &str = r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#;
const PROMPT_FILTER_NAMED: &str = r#"{"choices":[],"created":0,"id":"","model":"","object":"chat.completion.chunk","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#;
const ROLE: &str = r#"{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1731000000,"id":"chatcmpl-AzUre","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_1"}"#;
const TEXT: &str = r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"2"},"finish_reason":null,"index":0,"logprobs":null}],"created":1731000000,"id":"chatcmpl-AzUre","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_1"}"#;
const STOP: &str = r#"{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1731000000,"id":"chatcmpl-AzUre","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_1"}"#;
const USAGE: &str = r#"{"choices":[],"created":1731000000,"id":"chatcmpl-AzUre","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_1","usage":{"completion_tokens":1,"prompt_tokens":14,"prompt_tokens_details":{"cached_tokens":0},"total_tokens":15}}"#;

fn framed(events: &[&str]) -> Vec<u8> {
    events
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect::<String>()
        .into_bytes()
}

fn azure_stream() -> Vec<u8> {
    format!(
        "data: {PROMPT_FILTER}\r\n\r\ndata: {ROLE}\r\n\r\ndata: {TEXT}\r\n\r\ndata: {STOP}\r\n\r\ndata: {USAGE}\r\n\r\ndata: [DONE]\r\n\r\n"
    )
    .into_bytes()
}

fn expected_meta() -> ResponseMeta {
    ResponseMeta {
        usage: Usage {
            prompt_tokens: ROption::RSome(14),
            completion_tokens: ROption::RSome(1),
            total_tokens: ROption::RSome(15),
            cached_tokens: ROption::RSome(0),
        },
        response_model: "gpt-4o-2024-08-06".into(),
        response_id: "chatcmpl-AzUre".into(),
        finish_reasons: vec![RString::from("stop")].into(),
    }
}

#[test]
fn filter_results_stream_through_and_the_empty_object_is_named() {
    let (out, meta) = same_at_every_split(&streamed_plan(RouteType::CHAT, true), &azure_stream());
    assert_eq!(
        out,
        framed(&[PROMPT_FILTER_NAMED, ROLE, TEXT, STOP, USAGE, "[DONE]"])
    );
    assert_eq!(meta, expected_meta());
}

#[test]
fn the_usage_chunk_is_dropped_but_metered_when_the_client_did_not_ask() {
    let (out, meta) = same_at_every_split(&streamed_plan(RouteType::CHAT, false), &azure_stream());
    assert_eq!(
        out,
        framed(&[PROMPT_FILTER_NAMED, ROLE, TEXT, STOP, "[DONE]"])
    );
    assert_eq!(meta, expected_meta());
}

#[test]
fn completions_chunks_are_named_text_completion() {
    let first =
        r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[]}"#;
    let text = r#"{"choices":[{"text":"2","index":0,"finish_reason":null,"logprobs":null}],"created":1,"id":"cmpl-1","model":"gpt-35-turbo-instruct","object":"text_completion"}"#;
    let (out, meta) = relay(
        &streamed_plan(RouteType::COMPLETIONS, false),
        &[&framed(&[first, text, "[DONE]"])],
    );
    let named = first.replace(r#""object":"""#, r#""object":"text_completion""#);
    assert_eq!(out, framed(&[&named, text, "[DONE]"]));
    assert_eq!(meta.response_model.as_str(), "gpt-35-turbo-instruct");
}

#[test]
fn preserve_streams_are_byte_for_byte() {
    let mut preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    preserve.stream = true;
    let stream = azure_stream();
    let (out, meta) = same_at_every_split(&preserve, &stream);
    assert_eq!(out, stream);
    assert_eq!(meta, expected_meta());
}
