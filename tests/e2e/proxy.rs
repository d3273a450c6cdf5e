//! Requests on each route type reach the OpenAI upstream as they should, and the answers reach
//! the client: model rules, option precedence, the model header and the body size limit.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ai_gateway_tests::{
    config::{merged, single_route},
    gateway::{Gateway, Serve},
    http,
    mock::{Gate, MockUpstream, Recorded, Reply},
    paths::{fixture, fixture_json},
};
use serde_json::json;

use crate::{assert_error, chat_request, chat_response, openai, CONFIGURED_AUTH};

/// A configuration with one OpenAI chat route, `/chat`, to `upstream`.
fn chat_config(upstream: &MockUpstream) -> serde_json::Value {
    single_route(
        "/chat",
        openai(
            "llm/v1/chat",
            "gpt-3.5-turbo",
            &upstream.url("/v1/chat/completions"),
        ),
    )
}

/// A gateway with one OpenAI chat route, `/chat`, to `upstream`.
fn chat_gateway(upstream: &MockUpstream) -> Gateway {
    Gateway::start(chat_config(upstream))
}

/// Sends `count` chat requests at once, each held by `upstream` until all of them have reached it,
/// so that the gateway opens a connection for each; `while_held` runs then, before they are
/// answered and the requests return.
fn held_burst(upstream: &MockUpstream, gateway: &Gateway, count: usize, while_held: impl FnOnce()) {
    let gate = Gate::new();
    for _ in 0..count {
        upstream.reply(Reply::Held(
            gate.clone(),
            Box::new(Reply::json(200, chat_response())),
        ));
    }
    std::thread::scope(|scope| {
        for _ in 0..count {
            scope.spawn(|| send_chat(gateway));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while upstream.requests().len() < count {
            assert!(
                Instant::now() < deadline,
                "the burst never reached the upstream"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        while_held();
        gate.open();
    });
}

/// Sends the standard chat request to `/chat` and requires a 200.
fn send_chat(gateway: &Gateway) {
    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn chat_reaches_openai_with_the_configured_model_and_key() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream);

    let response = http::post(&gateway.url("/chat"))
        .header("authorization", "Bearer sk-client")
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json")));
    assert_eq!(
        response.json(),
        serde_json::from_slice::<serde_json::Value>(&chat_response()).unwrap()
    );
    // The header names the resolved model, not the one the upstream says answered.
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("openai/gpt-3.5-turbo")
    );

    let sent = upstream.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path(), "/v1/chat/completions");
    assert_eq!(sent.header_values("authorization"), vec![CONFIGURED_AUTH]);
    assert!(sent
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json")));
    let body = sent.json();
    assert_eq!(body["model"], "gpt-3.5-turbo");
    assert_eq!(body["messages"], chat_request()["messages"]);
    assert_eq!(body["stream"], false);
}

/// The HTTP/1 codec settings, and with them the clock that writes the Date header, are shared by
/// every request of a worker's upstream pool (the patched awc under gateway/vendor): a clock that
/// stopped ticking would date every later request with the first one's time.
#[test]
fn requests_upstream_carry_the_current_date() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream);
    let send = || {
        send_chat(&gateway);
        std::time::SystemTime::now()
    };

    let first_sent = send();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let second_sent = send();

    let dates: Vec<std::time::SystemTime> = upstream
        .requests()
        .iter()
        .map(|r| {
            let date = r.header("date").expect("a Date header upstream");
            httpdate::parse_http_date(date).unwrap_or_else(|e| panic!("{date:?}: {e}"))
        })
        .collect();
    assert_eq!(dates.len(), 2);
    // Whole seconds, written by a clock that ticks every 500 ms: within 2 s of the send.
    for (date, sent) in dates.iter().zip([first_sent, second_sent]) {
        let apart = sent.duration_since(*date).unwrap_or_else(|e| e.duration());
        assert!(apart.as_secs_f64() < 2.0, "{date:?} against {sent:?}");
    }
    assert!(dates[1] > dates[0], "{dates:?}");
}

/// After a burst has filled the upstream pools, the gateway keeps sending on the connection it
/// used last (the patched awc under gateway/vendor takes the most recently released one) rather
/// than going round every connection the burst opened, which kept them all in use for good.
#[test]
fn after_a_burst_requests_reuse_the_most_recently_used_upstream_connection() {
    const BURST: usize = 8;
    let upstream = MockUpstream::start();
    let gateway = chat_gateway(&upstream);
    held_burst(&upstream, &gateway, BURST, || {});
    upstream.always(Reply::json(200, chat_response()));
    let send = || send_chat(&gateway);
    let connections = |requests: &[Recorded]| -> HashSet<SocketAddr> {
        requests.iter().map(|r| r.connection).collect()
    };
    assert_eq!(connections(&upstream.requests()).len(), BURST);

    for _ in 0..20 {
        send();
    }

    // One connection per worker (the gateway under test runs two), not the burst's eight in turn.
    let after_burst = connections(&upstream.requests()[BURST..]);
    assert!(after_burst.len() <= 2, "{after_burst:?}");
}

/// Upstream connections a burst opened are closed once idle for the keep-alive even when no
/// request follows (the patched awc under gateway/vendor sweeps its pool), not held until the
/// next request to that host, as stock awc did: after a spike, the gateway kept thousands of
/// sockets, most of them already closed by the upstream, for as long as the route stayed quiet.
#[test]
fn upstream_connections_idle_for_the_keep_alive_are_closed_without_another_request() {
    const BURST: usize = 6;
    let upstream = MockUpstream::start();
    let gateway = Serve::new(chat_config(&upstream))
        .env("AI_GATEWAY_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT", "1")
        .start();

    held_burst(&upstream, &gateway, BURST, || {
        assert_eq!(upstream.open_connections(), BURST)
    });

    let deadline = Instant::now() + Duration::from_secs(10);
    while upstream.open_connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} upstream connections still open 10 s after a 1 s keep-alive",
            upstream.open_connections()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(upstream.requests().len(), BURST);
}

#[test]
fn a_chat_response_reaches_the_client_byte_for_byte() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream);

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), String::from_utf8(chat_response()).unwrap());
}

#[test]
fn completions_pass_through() {
    let upstream = MockUpstream::start();
    let answer = fixture("openai/llm-v1-completions/responses/good.json");
    upstream.always(Reply::json(200, answer.clone()));
    let gateway = Gateway::start(single_route(
        "/completions",
        openai(
            "llm/v1/completions",
            "gpt-3.5-turbo-instruct",
            &upstream.url("/v1/completions"),
        ),
    ));
    let request = fixture_json("openai/llm-v1-completions/requests/good.json");

    let response = http::post(&gateway.url("/completions"))
        .json(&request)
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        serde_json::from_slice::<serde_json::Value>(&answer).unwrap()
    );
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("openai/gpt-3.5-turbo-instruct")
    );
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/v1/completions");
    assert_eq!(sent.json()["prompt"], "What are you?");
    assert_eq!(sent.json()["model"], "gpt-3.5-turbo-instruct");
    assert_eq!(sent.header_values("authorization"), vec![CONFIGURED_AUTH]);
}

#[test]
fn embeddings_pass_through() {
    let upstream = MockUpstream::start();
    let answer = fixture("openai/llm-v1-embeddings/responses/good.json");
    upstream.always(Reply::json(200, answer.clone()));
    let gateway = Gateway::start(single_route(
        "/embeddings",
        openai(
            "llm/v1/embeddings",
            "text-embedding-3-large",
            &upstream.url("/v1/embeddings"),
        ),
    ));
    let request = json!({ "input": "The food was delicious", "encoding_format": "float" });

    let response = http::post(&gateway.url("/embeddings"))
        .json(&request)
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        serde_json::from_slice::<serde_json::Value>(&answer).unwrap()
    );
    let sent = upstream.only_request();
    assert_eq!(sent.path(), "/v1/embeddings");
    assert_eq!(
        sent.json(),
        json!({
            "input": "The food was delicious",
            "encoding_format": "float",
            "model": "text-embedding-3-large",
        })
    );
}

/// A `preserve` route whose prefix `/v1` is stripped for routing but not for the upstream.
fn preserve_route(upstream: &MockUpstream) -> serde_json::Value {
    single_route(
        "/v1",
        json!({
            "route_type": "preserve",
            "auth": { "header_name": "Authorization", "header_value": CONFIGURED_AUTH },
            "model": { "provider": "openai", "options": { "upstream_url": upstream.url("") } },
        }),
    )
}

#[test]
fn preserve_sends_the_client_path_and_query_as_received_with_auth_applied() {
    let upstream = MockUpstream::start();
    let models = json!({ "object": "list", "data": [{ "id": "gpt-4o", "object": "model", "created": 1, "owned_by": "openai" }] });
    upstream.always(Reply::json(200, models.to_string()));
    let gateway = Gateway::start(preserve_route(&upstream));

    let response = http::get(&gateway.url("/v1/models?limit=2&order=desc"))
        .header("authorization", "Bearer sk-client")
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), models);
    let sent = upstream.only_request();
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.target, "/v1/models?limit=2&order=desc");
    assert_eq!(sent.header_values("authorization"), vec![CONFIGURED_AUTH]);
    assert!(sent.body.is_empty());
}

#[test]
fn preserve_forwards_the_body_bytes_unchanged() {
    let upstream = MockUpstream::start();
    let answer = fixture("openai/llm-v1-embeddings/responses/good.json");
    upstream.always(Reply::json(200, answer.clone()));
    let gateway = Gateway::start(preserve_route(&upstream));
    // Odd spacing and key order that a re-serialization would change.
    let body =
        "{ \"input\" : \"The food was delicious\",\n  \"model\":\"text-embedding-ada-002\" }";

    let response = http::post(&gateway.url("/v1/embeddings"))
        .header("content-type", "application/json")
        .body(body)
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.body, answer);
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("openai/text-embedding-ada-002")
    );
    let sent = upstream.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.target, "/v1/embeddings");
    assert_eq!(String::from_utf8_lossy(&sent.body), body);
    assert_eq!(sent.header_values("authorization"), vec![CONFIGURED_AUTH]);
}

/// A chat route with no configured model.
fn unnamed_model_route(upstream: &MockUpstream) -> serde_json::Value {
    let config = openai(
        "llm/v1/chat",
        "unused",
        &upstream.url("/v1/chat/completions"),
    );
    single_route(
        "/chat",
        merged(config, json!({ "model": { "name": null } })),
    )
}

#[test]
fn the_body_model_is_used_when_none_is_configured() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = Gateway::start(unnamed_model_route(&upstream));
    let request = merged(chat_request(), json!({ "model": "gpt-4o-mini" }));

    let response = http::post(&gateway.url("/chat")).json(&request).send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("openai/gpt-4o-mini")
    );
    assert_eq!(upstream.only_request().json()["model"], "gpt-4o-mini");
}

#[test]
fn a_body_model_that_differs_from_the_configured_one_is_refused() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = chat_gateway(&upstream);
    let request = fixture_json("openai/llm-v1-chat/requests/good_own_model.json");

    let response = http::post(&gateway.url("/chat")).json(&request).send();

    let error = assert_error(&response, 400);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("gpt-3.5-turbo"),
        "the message should name the model the route allows: {message}"
    );
    assert!(upstream.requests().is_empty());
}

#[test]
fn a_request_with_no_model_anywhere_is_refused() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = Gateway::start(unnamed_model_route(&upstream));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    let error = assert_error(&response, 400);
    assert_eq!(
        error["message"],
        "model parameter not found in request, nor in gateway configuration"
    );
    assert!(upstream.requests().is_empty());
}

/// A chat route with every tuning option configured.
fn tuned_route(upstream: &MockUpstream) -> serde_json::Value {
    let config = openai(
        "llm/v1/chat",
        "gpt-4o",
        &upstream.url("/v1/chat/completions"),
    );
    single_route(
        "/chat",
        merged(
            config,
            json!({ "model": { "options": {
                "temperature": 0.5, "top_p": 0.9, "top_k": 40, "max_tokens": 256,
            } } }),
        ),
    )
}

#[test]
fn client_temperature_and_top_p_win_and_configured_max_tokens_overrides() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = Gateway::start(tuned_route(&upstream));
    let request = merged(
        chat_request(),
        json!({ "temperature": 1.25, "top_p": 0.25, "max_tokens": 4000 }),
    );

    let response = http::post(&gateway.url("/chat")).json(&request).send();

    assert_eq!(response.status, 200, "{}", response.text());
    let sent = upstream.only_request().json();
    assert_eq!(sent["temperature"], 1.25);
    assert_eq!(sent["top_p"], 0.25);
    assert_eq!(sent["max_tokens"], 256);
    assert!(sent.get("top_k").is_none(), "OpenAI has no top_k: {sent}");
}

#[test]
fn configured_options_fill_in_what_the_client_left_out_without_top_k() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = Gateway::start(tuned_route(&upstream));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    let sent = upstream.only_request().json();
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["top_p"], 0.9);
    assert_eq!(sent["max_tokens"], 256);
    assert!(sent.get("top_k").is_none(), "OpenAI has no top_k: {sent}");
    assert_eq!(sent["messages"], chat_request()["messages"]);
}

#[test]
fn model_name_header_false_leaves_the_header_out() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let config = openai(
        "llm/v1/chat",
        "gpt-3.5-turbo",
        &upstream.url("/v1/chat/completions"),
    );
    let gateway = Gateway::start(single_route(
        "/chat",
        merged(config, json!({ "model_name_header": false })),
    ));

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-kong-llm-model"), None);
}

#[test]
fn a_body_over_max_request_body_size_is_refused_with_413() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let config = openai(
        "llm/v1/chat",
        "gpt-4o",
        &upstream.url("/v1/chat/completions"),
    );
    let gateway = Gateway::start(single_route(
        "/chat",
        merged(config, json!({ "max_request_body_size": 64 })),
    ));
    let small = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
    let large = format!(
        r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(100)
    );

    let refused = http::post(&gateway.url("/chat"))
        .header("content-type", "application/json")
        .body(large)
        .send();
    let accepted = http::post(&gateway.url("/chat"))
        .header("content-type", "application/json")
        .body(small)
        .send();

    assert_error(&refused, 413);
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(
        upstream.requests().len(),
        1,
        "only the small body goes upstream"
    );
}
