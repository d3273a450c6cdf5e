//! Streamed chat: events go to the client as the upstream sends them, whole even when the upstream
//! splits them, the usage chunk only when the client asked for it, and the usage counted either
//! way. And the route's streaming policy.

use ai_gateway_tests::{
    config::{merged, single_route},
    gateway::Gateway,
    http,
    mock::{chunk, Gate, MockUpstream, Reply, Step},
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, chat_response, openai, wait_for_tokens};

fn chunk_data(delta: Value, finish_reason: Value) -> String {
    json!({
        "id": "chatcmpl-e2e",
        "object": "chat.completion.chunk",
        "created": 1711938086,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": null,
        "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason }],
    })
    .to_string()
}

/// The `data:` payloads of an OpenAI chat stream with `include_usage`, in order. The usage chunk
/// (empty `choices`) is the one before `[DONE]`.
fn stream_payloads() -> Vec<String> {
    vec![
        chunk_data(json!({ "role": "assistant", "content": "" }), Value::Null),
        chunk_data(json!({ "content": "The answer" }), Value::Null),
        chunk_data(json!({ "content": " is 2." }), Value::Null),
        chunk_data(json!({}), json!("stop")),
        json!({
            "id": "chatcmpl-e2e",
            "object": "chat.completion.chunk",
            "created": 1711938086,
            "model": "gpt-4o-2024-08-06",
            "system_fingerprint": null,
            "choices": [],
            "usage": { "prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37 },
        })
        .to_string(),
        "[DONE]".to_string(),
    ]
}

const USAGE_EVENT: usize = 4;

fn without_usage(payloads: Vec<String>) -> Vec<String> {
    payloads
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != USAGE_EVENT)
        .map(|(_, p)| p)
        .collect()
}

/// One write per event.
fn event_steps(payloads: &[String]) -> Vec<Step> {
    payloads
        .iter()
        .map(|p| chunk(&format!("data: {p}\n\n")))
        .collect()
}

fn stream_request(include_usage: bool) -> Value {
    let mut request = merged(chat_request(), json!({ "stream": true }));
    if include_usage {
        request["stream_options"] = json!({ "include_usage": true });
    }
    request
}

fn chat_gateway(upstream: &MockUpstream) -> Gateway {
    Gateway::start(single_route(
        "/chat",
        openai(
            "llm/v1/chat",
            "gpt-4o",
            &upstream.url("/v1/chat/completions"),
        ),
    ))
}

/// A gateway in front of an upstream that streams `steps`, and the stream a client opened
/// through it.
fn stream_of(steps: Vec<Step>, include_usage: bool) -> (MockUpstream, Gateway, http::Stream) {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(steps));
    let gateway = chat_gateway(&upstream);
    let stream = http::post(&gateway.url("/chat"))
        .json(&stream_request(include_usage))
        .open();
    (upstream, gateway, stream)
}

fn data_of(events: Vec<http::Event>) -> Vec<String> {
    events.into_iter().map(|e| e.data).collect()
}

#[test]
fn a_client_that_asks_for_usage_gets_every_event_and_the_usage_is_counted() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(event_steps(&stream_payloads())));
    let gateway = chat_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&stream_request(true))
        .open();

    assert_eq!(stream.status, 200);
    assert!(stream
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("text/event-stream")));
    assert_eq!(data_of(stream.events()), stream_payloads());
    let sent = upstream.only_request().json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    wait_for_tokens(&gateway, "route", 25, 12, 37);
}

#[test]
fn a_client_that_does_not_ask_for_usage_gets_no_usage_chunk_but_the_usage_is_counted() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(event_steps(&stream_payloads())));
    let gateway = chat_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&stream_request(false))
        .open();

    assert_eq!(stream.status, 200);
    assert_eq!(data_of(stream.events()), without_usage(stream_payloads()));
    // The gateway asks for usage anyway, to count tokens.
    let sent = upstream.only_request().json();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    wait_for_tokens(&gateway, "route", 25, 12, 37);
}

#[test]
fn events_the_upstream_sends_together_reach_the_client_in_one_chunk() {
    // Events an upstream writes back to back arrive in one read; the gateway translates them in
    // one go and writes them as one HTTP chunk, as a plain proxy would, instead of one each.
    let payloads = without_usage(stream_payloads());
    let held = Gate::new();
    let mut steps = event_steps(&payloads[..1]);
    steps.push(Step::Wait(held.clone()));
    steps.push(Step::Together(
        payloads[1..]
            .iter()
            .map(|p| format!("data: {p}\n\n").into_bytes())
            .collect(),
    ));
    let (_upstream, _gateway, mut stream) = stream_of(steps, true);
    assert_eq!(
        stream.next_event().map(|e| e.data),
        Some(payloads[0].clone())
    );
    held.open();
    let pieces = stream.pieces();
    let expected: String = payloads[1..]
        .iter()
        .map(|p| format!("data: {p}\n\n"))
        .collect();
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    assert_eq!(String::from_utf8_lossy(&pieces[0]), expected);
}

#[test]
fn events_reach_the_client_while_the_upstream_is_still_streaming() {
    let payloads = stream_payloads();
    let held = Gate::new();
    let mut steps = event_steps(&payloads[..2]);
    steps.push(Step::Wait(held.clone()));
    steps.extend(event_steps(&payloads[2..]));
    let (_upstream, _gateway, mut stream) = stream_of(steps, true);

    // The upstream sends nothing more until these two have reached the client.
    let first = stream.next_event().expect("first event");
    let second = stream.next_event().expect("second event");
    assert_eq!(
        [first.data, second.data],
        [payloads[0].clone(), payloads[1].clone()]
    );
    held.open();
    assert_eq!(data_of(stream.events()), payloads[2..].to_vec());
}

#[test]
fn events_split_mid_json_and_mid_crlf_arrive_whole_and_usage_is_counted() {
    let payloads = stream_payloads();
    let wire: String = payloads
        .iter()
        .map(|p| format!("data: {p}\r\n\r\n"))
        .collect();
    // Cut 1: between the `\r` and `\n` that end the second event's data line.
    let second_event_end = wire.find(&payloads[1]).unwrap() + payloads[1].len();
    let cut_in_crlf = second_event_end + 1;
    // Cut 2: inside the usage numbers.
    let cut_in_usage = wire.find("\"prompt_tokens\":2").unwrap() + "\"prompt_tokens\":2".len();
    let (after_first, after_second) = (Gate::new(), Gate::new());
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(vec![
        chunk(&wire[..cut_in_crlf]),
        Step::Wait(after_first.clone()),
        chunk(&wire[cut_in_crlf..cut_in_usage]),
        Step::Wait(after_second.clone()),
        chunk(&wire[cut_in_usage..]),
    ]));
    let gateway = chat_gateway(&upstream);

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&stream_request(true))
        .open();

    // Each gate opens only once the client holds the event the next chunk would complete, so
    // the gateway must have received the earlier bytes in a separate read.
    assert_eq!(stream.next_event().expect("first event").data, payloads[0]);
    after_first.open();
    assert_eq!(stream.next_event().expect("second event").data, payloads[1]);
    assert_eq!(stream.next_event().expect("third event").data, payloads[2]);
    assert_eq!(stream.next_event().expect("fourth event").data, payloads[3]);
    after_second.open();
    assert_eq!(data_of(stream.events()), payloads[4..].to_vec());
    wait_for_tokens(&gateway, "route", 25, 12, 37);
}

fn streaming_policy_gateway(upstream: &MockUpstream, policy: &str) -> Gateway {
    let config = openai(
        "llm/v1/chat",
        "gpt-4o",
        &upstream.url("/v1/chat/completions"),
    );
    Gateway::start(single_route(
        "/chat",
        merged(config, json!({ "response_streaming": policy })),
    ))
}

#[test]
fn response_streaming_allow_serves_both_kinds_of_request() {
    let upstream = MockUpstream::start();
    upstream.reply(Reply::sse(event_steps(&stream_payloads())));
    upstream.reply(Reply::json(200, chat_response()));
    let gateway = streaming_policy_gateway(&upstream, "allow");

    let mut streamed = http::post(&gateway.url("/chat"))
        .json(&stream_request(false))
        .open();
    assert_eq!(streamed.status, 200);
    assert_eq!(data_of(streamed.events()), without_usage(stream_payloads()));
    let whole = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(whole.json()["usage"]["total_tokens"], 37);
}

#[test]
fn response_streaming_deny_refuses_a_client_that_asks_to_stream() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = streaming_policy_gateway(&upstream, "deny");

    let refused = http::post(&gateway.url("/chat"))
        .json(&stream_request(false))
        .send();
    assert_error(&refused, 400);
    assert!(
        upstream.requests().is_empty(),
        "a refused request must not go upstream"
    );

    let whole = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(upstream.only_request().json()["stream"], false);
}

#[test]
fn response_streaming_always_streams_even_when_the_client_did_not_ask() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::sse(event_steps(&stream_payloads())));
    let gateway = streaming_policy_gateway(&upstream, "always");

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .open();

    assert_eq!(stream.status, 200);
    assert!(stream
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("text/event-stream")));
    assert_eq!(data_of(stream.events()), without_usage(stream_payloads()));
    assert_eq!(upstream.only_request().json()["stream"], true);
    wait_for_tokens(&gateway, "route", 25, 12, 37);
}
