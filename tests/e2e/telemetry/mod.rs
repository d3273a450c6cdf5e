//! Telemetry end to end: traces and metrics received by a real collector (rotel, started by the
//! harness), the Prometheus text of `GET /metrics`, the Kong-compatible analytics record,
//! retries, a collector that is down, and credentials that must appear nowhere.

mod analytics;
mod collector_down;
mod retries;
mod secrets;
mod shutdown;
mod traces;

use ai_gateway_tests::{
    collector::{Collector, DataPoint, Span},
    config::{merged, single_route},
    eventually,
    gateway::{Gateway, Serve},
    http,
    mock::{chunk, MockUpstream, Step},
};
use serde_json::{json, Value};

use crate::openai;

/// The variables through which the test runner's own OpenTelemetry setup could reach the gateway.
const OTEL_VARIABLES: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
];

/// `serve` with the runner's OpenTelemetry variables removed and, with an endpoint, short export
/// intervals so that a test sees its spans and metrics quickly.
fn exporting_to(serve: Serve, endpoint: Option<&str>) -> Serve {
    let mut serve = OTEL_VARIABLES
        .iter()
        .fold(serve, |serve, name| serve.env_remove(name));
    if let Some(endpoint) = endpoint {
        serve = serve
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "50")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "500");
    }
    serve
}

/// An OpenAI chat route to `upstream` that logs statistics and payloads, with costs of 10 and
/// 20 per million tokens.
fn logged_chat(upstream: &MockUpstream, model: &str) -> Value {
    merged(
        openai("llm/v1/chat", model, &upstream.url("/v1/chat/completions")),
        json!({
            "logging": { "log_statistics": true, "log_payloads": true },
            "model": { "options": { "input_cost": 10.0, "output_cost": 20.0 } },
        }),
    )
}

/// A gateway whose one route, `/chat`, is [`logged_chat`] to `upstream` for `gpt-3.5-turbo`,
/// exporting to `endpoint`.
fn logged_chat_gateway(upstream: &MockUpstream, endpoint: Option<&str>) -> Serve {
    exporting_to(
        Serve::new(single_route(
            "/chat",
            logged_chat(upstream, "gpt-3.5-turbo"),
        )),
        endpoint,
    )
}

fn chunk_data(delta: Value, finish_reason: Value) -> String {
    json!({
        "id": "chatcmpl-stream",
        "object": "chat.completion.chunk",
        "created": 1711938086,
        "model": "gpt-4o-2024-08-06",
        "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason }],
    })
    .to_string()
}

/// An OpenAI chat stream answering "The answer is 2." (16 characters), with its usage chunk
/// (prompt 25, completion 12) when `usage` is set, one write per event.
fn openai_stream(usage: bool) -> Vec<Step> {
    let mut events = vec![
        chunk_data(json!({ "role": "assistant", "content": "" }), Value::Null),
        chunk_data(json!({ "content": "The answer" }), Value::Null),
        chunk_data(json!({ "content": " is 2." }), Value::Null),
        chunk_data(json!({}), json!("stop")),
    ];
    if usage {
        events.push(
            json!({
                "id": "chatcmpl-stream",
                "object": "chat.completion.chunk",
                "created": 1711938086,
                "model": "gpt-4o-2024-08-06",
                "choices": [],
                "usage": {
                    "prompt_tokens": 25,
                    "completion_tokens": 12,
                    "total_tokens": 37,
                    "prompt_tokens_details": { "cached_tokens": 5 },
                },
            })
            .to_string(),
        );
    }
    events.push("[DONE]".to_string());
    events
        .iter()
        .map(|e| chunk(&format!("data: {e}\n\n")))
        .collect()
}

/// Waits until the collector has received `n` spans that `matches`, and returns them.
fn wait_for_spans(collector: &Collector, n: usize, matches: impl Fn(&Span) -> bool) -> Vec<Span> {
    eventually(&format!("{n} matching spans at the collector"), || {
        let spans: Vec<Span> = collector
            .spans()
            .into_iter()
            .filter(|s| matches(s))
            .collect();
        if spans.len() >= n {
            Ok(spans)
        } else {
            Err(format!("{} so far", spans.len()))
        }
    })
}

/// Waits until the collector's latest data points of `metric` include one that `matches`.
fn wait_for_point(
    collector: &Collector,
    metric: &str,
    matches: impl Fn(&DataPoint) -> bool,
) -> DataPoint {
    eventually(&format!("a data point of {metric}"), || {
        collector
            .data_points()
            .into_iter()
            .rev()
            .find(|p| p.metric == metric && matches(p))
            .ok_or_else(|| "none yet".to_string())
    })
}

/// `GET /metrics` on the admin listener.
fn prometheus(gateway: &Gateway) -> String {
    let response = http::get(&gateway.admin_url("/metrics")).send();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    response.text()
}

/// The analytics lines written so far to `path`, parsed.
fn analytics_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("an analytics line is not JSON ({e}): {line}"))
        })
        .collect()
}

fn wait_for_analytics(path: &std::path::Path, n: usize) -> Vec<Value> {
    eventually(
        &format!("{n} analytics lines in {}", path.display()),
        || {
            let lines = analytics_lines(path);
            if lines.len() >= n {
                Ok(lines)
            } else {
                Err(format!("{} so far", lines.len()))
            }
        },
    )
}
