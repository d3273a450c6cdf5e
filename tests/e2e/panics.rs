//! A provider module that panics in any entry point costs one request, never the gateway: the
//! client gets an error and the next request on a good route succeeds.

use ai_gateway_tests::{
    config::{deck, service},
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Reply},
    paths::Module,
};
use serde_json::json;

use crate::{assert_error, chat_request, chat_response, openai, wait_for_stats};

const SSE_ANSWER: &str = concat!(
    "data: {\"id\":\"chatcmpl-e2e\",\"object\":\"chat.completion.chunk\",\"created\":1,",
    "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"2\"},",
    "\"finish_reason\":null}]}\n\n",
    "data: [DONE]\n\n",
);

/// A gateway with a route on the panicking module at `/panicking` and a good OpenAI route at
/// `/chat`, both answered by `upstream`.
fn gateway(upstream: &MockUpstream, panic_at: &str) -> Gateway {
    Serve::new(deck(vec![service(
        "svc",
        vec![
            (
                "panicking",
                "/panicking",
                json!({
                    "route_type": "llm/v1/chat",
                    "model": {
                        "provider": "panicking",
                        "name": "gpt-4o",
                        "options": {
                            "upstream_url": upstream.url("/v1/chat/completions"),
                            "panic_at": panic_at,
                        },
                    },
                }),
            ),
            (
                "chat",
                "/chat",
                openai(
                    "llm/v1/chat",
                    "gpt-4o",
                    &upstream.url("/v1/chat/completions"),
                ),
            ),
        ],
    )]))
    .modules(&[Module::OpenAi, Module::Panicking])
    .start()
}

/// After the panic, a good request still gets its answer from the same process.
fn assert_still_serving(gateway: &mut Gateway, upstream: &MockUpstream) {
    upstream.reply(Reply::json(200, chat_response()));
    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["usage"]["total_tokens"], 37);
    assert!(gateway.is_running());
}

fn assert_module_error_before_any_byte(panic_at: &str, streamed: bool) {
    let upstream = MockUpstream::start();
    let mut gateway = gateway(&upstream, panic_at);
    if streamed {
        upstream.reply(Reply::sse(vec![chunk(SSE_ANSWER)]));
    } else {
        upstream.reply(Reply::json(200, chat_response()));
    }
    let request = json!({ "messages": chat_request()["messages"], "stream": streamed });

    let response = http::post(&gateway.url("/panicking")).json(&request).send();

    let error = assert_error(&response, 502);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("panicked"),
        "the message should say the module panicked: {message}"
    );
    wait_for_stats(&gateway, "panicking", &[("/errors/module", json!(1))]);
    assert_still_serving(&mut gateway, &upstream);
}

#[test]
fn a_panic_in_build_request_is_a_502() {
    assert_module_error_before_any_byte("build_request", false);
}

#[test]
fn a_panic_in_parse_response_is_a_502() {
    assert_module_error_before_any_byte("parse_response", false);
}

#[test]
fn a_panic_in_new_stream_translator_is_a_502() {
    assert_module_error_before_any_byte("new_stream_translator", true);
}

/// A panic while translating a stream: a 502 if no byte has gone to the client yet, otherwise the
/// stream ends with an error event. Either way the client is told, and nothing else breaks.
fn assert_stream_ends_with_module_error(panic_at: &str) {
    let upstream = MockUpstream::start();
    let mut gateway = gateway(&upstream, panic_at);
    upstream.reply(Reply::sse(vec![chunk(SSE_ANSWER)]));
    let request = json!({ "messages": chat_request()["messages"], "stream": true });

    let mut stream = http::post(&gateway.url("/panicking")).json(&request).open();

    if stream.status == 200 {
        let events = stream.events();
        let last = events
            .last()
            .expect("the stream should carry an error event");
        let error: serde_json::Value = serde_json::from_str(&last.data)
            .unwrap_or_else(|e| panic!("last event is not JSON ({e}): {events:?}"));
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("panicked"),
            "the last event should report the module's panic: {events:?}"
        );
    } else {
        let body = stream.read_to_end().unwrap();
        let response = http::Response {
            status: stream.status,
            headers: stream.headers.clone(),
            body,
        };
        let error = assert_error(&response, 502);
        assert!(error["message"].as_str().unwrap().contains("panicked"));
    }
    wait_for_stats(&gateway, "panicking", &[("/errors/module", json!(1))]);
    assert_still_serving(&mut gateway, &upstream);
}

#[test]
fn a_panic_in_stream_push_reaches_the_client_as_an_error() {
    assert_stream_ends_with_module_error("stream_push");
}

#[test]
fn a_panic_in_stream_finish_reaches_the_client_as_an_error() {
    assert_stream_ends_with_module_error("stream_finish");
}
