//! Every error the gateway produces is OpenAI's JSON error envelope with the right status, and
//! upstream errors keep their status with the provider's message.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use ai_gateway_tests::{
    config::{deck, service, single_route},
    gateway::Gateway,
    http,
    mock::{chunk, Gate, MockUpstream, Reply, Step},
    paths::{fixture, fixture_json},
};
use serde_json::json;

use crate::{assert_error, chat_request, chat_response, openai, wait_for_stats};

fn chat_route(upstream_url: &str) -> serde_json::Value {
    single_route("/chat", openai("llm/v1/chat", "gpt-4o", upstream_url))
}

fn chat_gateway(upstream_url: &str) -> Gateway {
    Gateway::start(chat_route(upstream_url))
}

/// A chat route whose service gives the upstream `read_timeout` to answer.
fn chat_gateway_with_read_timeout(upstream: &MockUpstream, read_timeout: Duration) -> Gateway {
    let mut config = chat_route(&upstream.url("/v1/chat/completions"));
    config["services"][0]["read_timeout"] = json!(read_timeout.as_millis() as u64);
    Gateway::start(config)
}

#[test]
fn invalid_json_is_a_400() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .header("content-type", "application/json")
        .body(r#"{"messages": [{"role": "user", "content": "hi"}"#)
        .send();

    assert_eq!(
        assert_error(&response, 400)["type"],
        "invalid_request_error"
    );
    assert!(upstream.requests().is_empty());
    wait_for_stats(&gateway, "route", &[("/errors/bad_request", json!(1))]);
}

#[test]
fn a_body_declared_as_something_other_than_json_is_a_415() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .header("content-type", "text/plain")
        .body(chat_request().to_string())
        .send();

    assert_error(&response, 415);
    assert!(upstream.requests().is_empty());
}

#[test]
fn a_body_without_content_type_is_read_as_json() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .body(chat_request().to_string())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        upstream.only_request().json()["messages"],
        chat_request()["messages"]
    );
}

#[test]
fn missing_or_empty_messages_and_a_missing_prompt_are_a_400() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = Gateway::start(deck(vec![service(
        "svc",
        vec![
            (
                "chat",
                "/chat",
                openai(
                    "llm/v1/chat",
                    "gpt-4o",
                    &upstream.url("/v1/chat/completions"),
                ),
            ),
            (
                "completions",
                "/completions",
                openai(
                    "llm/v1/completions",
                    "gpt-3.5-turbo-instruct",
                    &upstream.url("/v1/completions"),
                ),
            ),
        ],
    )]));

    let cases = [
        (
            "/chat",
            fixture_json("openai/llm-v1-chat/requests/bad_request.json"),
        ),
        ("/chat", json!({ "messages": [] })),
        (
            "/completions",
            fixture_json("openai/llm-v1-completions/requests/bad_request.json"),
        ),
    ];
    for (path, body) in cases {
        let response = http::post(&gateway.url(path)).json(&body).send();
        assert_eq!(
            response.status,
            400,
            "{path} with {body}: {}",
            response.text()
        );
        assert_error(&response, 400);
    }
    assert!(upstream.requests().is_empty(), "{:#?}", upstream.requests());
}

#[test]
fn fields_of_the_wrong_type_are_a_400() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));
    let messages = chat_request()["messages"].clone();

    let cases = [
        json!({ "messages": "What is 1 + 1?" }),
        json!({ "messages": messages, "model": 42 }),
        json!({ "messages": messages, "stream": "yes" }),
    ];
    for body in cases {
        let response = http::post(&gateway.url("/chat")).json(&body).send();
        assert_eq!(response.status, 400, "{body}: {}", response.text());
        assert_error(&response, 400);
    }
    assert!(upstream.requests().is_empty(), "{:#?}", upstream.requests());
}

#[test]
fn a_path_no_route_matches_is_a_404() {
    let upstream = MockUpstream::start();
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/nowhere"))
        .json(&chat_request())
        .send();

    assert_error(&response, 404);
    assert!(upstream.requests().is_empty());
}

#[test]
fn an_upstream_nobody_listens_on_is_a_502() {
    // A port that was just free: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gateway = chat_gateway(&format!("http://127.0.0.1:{port}/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_error(&response, 502);
    wait_for_stats(&gateway, "route", &[("/errors/unreachable", json!(1))]);
}

#[test]
fn an_upstream_that_closes_the_connection_without_answering_is_a_502() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::Close);
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_error(&response, 502);
    assert!(
        !upstream.requests().is_empty(),
        "the request should have reached the upstream"
    );
}

#[test]
fn an_upstream_slower_than_the_service_read_timeout_is_a_504() {
    let upstream = MockUpstream::start();
    // The upstream never answers while the test is waiting: only the gateway's timer can end it.
    let never_before_the_test_is_done = Gate::new();
    upstream.always(Reply::Held(
        never_before_the_test_is_done.clone(),
        Box::new(Reply::json(200, chat_response())),
    ));
    let gateway = chat_gateway_with_read_timeout(&upstream, Duration::from_millis(200));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    never_before_the_test_is_done.open();

    assert_error(&response, 504);
    wait_for_stats(&gateway, "route", &[("/errors/timeout", json!(1))]);
}

/// The read timeout of a stream counts from its last chunk, not from its start: a stream that
/// keeps sending outlives it, and one that stalls is ended with a timeout event no sooner than
/// the timeout after its last chunk.
#[test]
fn a_stream_times_out_only_after_its_last_chunk_plus_the_read_timeout() {
    let upstream = MockUpstream::start();
    let second_chunk = Gate::new();
    let never_before_the_test_is_done = Gate::new();
    let event = |content: &str| {
        chunk(&format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                   "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        ))
    };
    upstream.reply(Reply::sse(vec![
        event("first"),
        Step::Wait(second_chunk.clone()),
        event("second"),
        Step::Wait(never_before_the_test_is_done.clone()),
    ]));
    let read_timeout = Duration::from_millis(1000);
    let gateway = chat_gateway_with_read_timeout(&upstream, read_timeout);

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&json!({"model": "gpt-4o", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .open();
    assert_eq!(stream.status, 200);
    let first = stream.next_event().expect("the first event");
    assert!(first.data.contains("first"), "{first:?}");
    // Most of the timeout passes before the second chunk; the timer must not fire meanwhile.
    std::thread::sleep(read_timeout * 6 / 10);
    second_chunk.open();
    let second = stream.next_event().expect("the second event");
    let second_at = Instant::now();
    assert!(second.data.contains("second"), "{second:?}");
    let rest = String::from_utf8(stream.read_to_end().unwrap()).unwrap();
    let stalled_for = second_at.elapsed();
    never_before_the_test_is_done.open();

    assert!(
        rest.contains("\"type\":\"timeout\"") && rest.contains("sent nothing for 1000 ms"),
        "{rest}"
    );
    assert!(
        stalled_for >= read_timeout * 9 / 10,
        "ended {stalled_for:?} after the last chunk, before the read timeout"
    );
    wait_for_stats(&gateway, "route", &[("/errors/timeout", json!(1))]);
}

#[test]
fn upstream_openai_errors_keep_their_status_and_envelope() {
    let upstream = MockUpstream::start();
    let unauthorized = fixture("openai/llm-v1-chat/responses/unauthorized.json");
    let bad_request = fixture("openai/llm-v1-chat/responses/bad_request.json");
    upstream.reply(Reply::json(401, unauthorized.clone()));
    upstream.reply(Reply::json(400, bad_request.clone()));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let first = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    let second = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_error(&first, 401);
    assert_eq!(
        first.json(),
        serde_json::from_slice::<serde_json::Value>(&unauthorized).unwrap()
    );
    assert_error(&second, 400);
    assert_eq!(
        second.json(),
        serde_json::from_slice::<serde_json::Value>(&bad_request).unwrap()
    );
    wait_for_stats(&gateway, "route", &[("/errors/upstream_4xx", json!(2))]);
}

#[test]
fn an_upstream_html_500_is_wrapped_in_the_error_envelope() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::body(
        500,
        "text/html",
        fixture("openai/llm-v1-chat/responses/internal_server_error.html"),
    ));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    let error = assert_error(&response, 500);
    assert_eq!(error["type"], "server_error");
    let message = error["message"].as_str().unwrap();
    assert!(
        !message.contains('<'),
        "markup must not reach the message: {message}"
    );
    wait_for_stats(&gateway, "route", &[("/errors/upstream_5xx", json!(1))]);
}

#[test]
fn an_upstream_plain_text_error_becomes_the_envelope_message() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::body(
        503,
        "text/plain",
        "upstream overloaded, retry later\n",
    ));
    let gateway = chat_gateway(&upstream.url("/v1/chat/completions"));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    let error = assert_error(&response, 503);
    assert_eq!(error["message"], "upstream overloaded, retry later");
}
