//! `/status/routes` on the admin listener counts what each route served.

use ai_gateway_tests::{
    config::{deck, merged, service},
    gateway::Gateway,
    http,
    mock::{MockUpstream, Reply},
    paths::fixture,
};
use serde_json::json;

use crate::{chat_request, chat_response, openai, wait_for_stats};

#[test]
fn route_status_counts_requests_outcomes_tokens_and_cost() {
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(200, chat_response()));
    upstream.reply(Reply::json(
        401,
        fixture("openai/llm-v1-chat/responses/unauthorized.json"),
    ));
    upstream.reply(Reply::body(
        500,
        "text/html",
        fixture("openai/llm-v1-chat/responses/internal_server_error.html"),
    ));
    let url = upstream.url("/v1/chat/completions");
    let metered = merged(
        openai("llm/v1/chat", "gpt-3.5-turbo", &url),
        json!({ "model": { "options": { "input_cost": 2.5, "output_cost": 10.0 } } }),
    );
    let gateway = Gateway::start(deck(vec![service(
        "svc",
        vec![
            ("metered", "/metered", metered),
            ("idle", "/idle", openai("llm/v1/chat", "gpt-4o", &url)),
        ],
    )]));

    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            http::post(&gateway.url("/metered"))
                .json(&chat_request())
                .send()
                .status
        })
        .collect();
    let invalid = http::post(&gateway.url("/metered"))
        .header("content-type", "application/json")
        .body("{not json")
        .send();
    assert_eq!(statuses, [200, 401, 500]);
    assert_eq!(invalid.status, 400);

    let stats = wait_for_stats(
        &gateway,
        "metered",
        &[
            ("/requests", json!(4)),
            ("/responses/2xx", json!(1)),
            ("/responses/4xx", json!(2)),
            ("/responses/5xx", json!(1)),
            ("/errors/bad_request", json!(1)),
            ("/errors/upstream_4xx", json!(1)),
            ("/errors/upstream_5xx", json!(1)),
            ("/errors/unreachable", json!(0)),
            ("/errors/timeout", json!(0)),
            ("/errors/module", json!(0)),
            ("/tokens/prompt", json!(25)),
            ("/tokens/completion", json!(12)),
            ("/tokens/total", json!(37)),
        ],
    );
    assert_eq!(stats["service"], "svc");
    assert_eq!(stats["provider"], "openai");
    assert_eq!(stats["route_type"], "llm/v1/chat");
    // (25 prompt tokens x 2.5 + 12 completion tokens x 10) per million tokens.
    let cost = stats["cost"]
        .as_f64()
        .unwrap_or_else(|| panic!("cost: {stats}"));
    assert!((cost - 0.0001825).abs() < 1e-12, "cost {cost}: {stats}");
    let latency = &stats["latency_ms"];
    assert!(latency["count"].as_u64().is_some_and(|n| n >= 1), "{stats}");
    let percentiles: Vec<f64> = ["p50", "p90", "p99", "max"]
        .iter()
        .map(|p| {
            latency[*p]
                .as_f64()
                .unwrap_or_else(|| panic!("latency_ms.{p}: {stats}"))
        })
        .collect();
    assert!(
        percentiles.windows(2).all(|w| w[0] <= w[1]),
        "latency percentiles must not decrease: {stats}"
    );

    let idle = gateway.route_stats("idle");
    assert_eq!(idle["requests"], 0, "{idle}");
    assert_eq!(idle["tokens"]["total"], 0, "{idle}");
}
