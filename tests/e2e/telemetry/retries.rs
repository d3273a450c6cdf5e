//! The service's `retries`: an upstream that could not be reached, or that closed the connection
//! before answering, is tried again; each attempt of a retried request is a CLIENT span under
//! the request's SERVER span, and the retries are counted.

use ai_gateway_tests::{
    collector::{free_port, Collector},
    config::{deck, single_route},
    gateway::Serve,
    http,
    mock::{MockUpstream, Reply},
};
use serde_json::json;

use super::{exporting_to, logged_chat_gateway, prometheus, wait_for_spans};
use crate::{assert_error, chat_request, chat_response, openai, wait_for_stats};

#[test]
fn a_connection_closed_before_an_answer_is_retried_in_a_child_span_of_its_own() {
    let collector = Collector::start();
    let upstream = MockUpstream::start();
    upstream.reply(Reply::Close);
    upstream.reply(Reply::json(200, chat_response()));
    let gateway = logged_chat_gateway(&upstream, Some(&collector.endpoint())).start();

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(response.status, 200, "{}", response.text());

    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "the first attempt and the retry");
    let server = wait_for_spans(&collector, 1, |s| s.kind == "SPAN_KIND_SERVER").remove(0);
    let attempts = wait_for_spans(&collector, 2, |s| {
        s.kind == "SPAN_KIND_CLIENT" && s.trace_id == server.trace_id
    });
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    let (first, second) = (&attempts[0], &attempts[1]);
    for attempt in [first, second] {
        assert_eq!(attempt.parent_id, server.span_id, "{attempt:#?}");
        assert_eq!(attempt.name, "chat gpt-3.5-turbo");
    }
    assert_ne!(first.span_id, second.span_id);
    assert_eq!(first.get("error.type"), "unreachable");
    assert_eq!(first.attr("http.response.status_code"), None);
    assert_eq!(first.attr("http.request.resend_count"), None);
    assert_eq!(second.get("http.response.status_code"), "200");
    assert_eq!(second.get("http.request.resend_count"), "1");
    assert_eq!(server.get("ai_gateway.retries"), "1");
    assert_eq!(server.get("http.response.status_code"), "200");
    // The first attempt went before anyone knew it would fail: it carried the SERVER span's
    // context. The retry carried its own span's.
    assert_eq!(
        requests[0].header_values("traceparent"),
        vec![format!("00-{}-{}-01", server.trace_id, server.span_id)]
    );
    assert_eq!(
        requests[1].header_values("traceparent"),
        vec![format!("00-{}-{}-01", server.trace_id, second.span_id)]
    );
    assert!(
        first.start <= second.start && first.end <= second.start,
        "{attempts:#?}"
    );

    let stats = wait_for_stats(&gateway, "route", &[("/retries", json!(1))]);
    assert_eq!(stats["targets"][0]["retries"], 1, "{stats}");
    let text = prometheus(&gateway);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ai_gateway_upstream_retries_total{")
                && l.contains("ai_gateway_route=\"route\"")
                && l.ends_with(" 1")),
        "{text}"
    );
}

#[test]
fn a_refused_upstream_is_tried_retries_plus_one_times_then_is_a_502() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let config = deck(vec![json!({
        "name": "svc",
        "url": "http://localhost:32000",
        "retries": 2,
        "routes": [{
            "name": "refused",
            "paths": ["/chat"],
            "plugins": [{ "name": "ai-proxy", "config": openai("llm/v1/chat", "gpt-4o", &url) }],
        }],
    })]);
    let gateway = exporting_to(Serve::new(config), None).start();

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_error(&response, 502);

    let stats = wait_for_stats(
        &gateway,
        "refused",
        &[("/requests", json!(1)), ("/errors/unreachable", json!(1))],
    );
    assert_eq!(stats["retries"], 2, "{stats}");
    assert_eq!(stats["targets"][0]["host"], format!("127.0.0.1:{port}"));
    assert_eq!(stats["targets"][0]["model"], "gpt-4o");
}

#[test]
fn an_upstream_error_status_is_not_retried() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(503, r#"{"error":{"message":"overloaded"}}"#));
    let gateway = exporting_to(
        Serve::new(single_route(
            "/chat",
            openai(
                "llm/v1/chat",
                "gpt-4o",
                &upstream.url("/v1/chat/completions"),
            ),
        )),
        None,
    )
    .start();
    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(response.status, 503);
    assert_eq!(upstream.requests().len(), 1);
    let stats = wait_for_stats(&gateway, "route", &[("/errors/upstream_5xx", json!(1))]);
    assert_eq!(stats["retries"], 0);
}
