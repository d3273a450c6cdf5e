//! Spans and metrics as a real collector receives them, for one whole and one streamed chat, and
//! the same figures on `GET /metrics`.

use std::time::Duration;

use ai_gateway_tests::{
    collector::{Collector, Span},
    config::{merged, single_route},
    gateway::Serve,
    http,
    mock::{Gate, MockUpstream, Reply, Step},
    tempdir::TempDir,
};
use serde_json::{json, Value};

use super::{
    exporting_to, logged_chat_gateway, openai_stream, prometheus, wait_for_analytics,
    wait_for_point, wait_for_spans,
};
use crate::{chat_request, chat_response, openai};

const CLIENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

fn server_spans(spans: &[Span]) -> Vec<&Span> {
    spans
        .iter()
        .filter(|s| s.kind == "SPAN_KIND_SERVER")
        .collect()
}

#[test]
fn with_an_analytics_log_the_record_goes_there_and_not_into_the_span() {
    let collector = Collector::start();
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(200, chat_response()));
    let dir = TempDir::new("analytics-and-spans");
    let log = dir.path().join("analytics.jsonl");
    let gateway = logged_chat_gateway(&upstream, Some(&collector.endpoint()))
        .env("AI_GATEWAY_ANALYTICS_LOG", log.to_str().unwrap())
        .start();

    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    assert_eq!(response.status, 200, "{}", response.text());

    let spans = wait_for_spans(&collector, 1, |s| s.kind == "SPAN_KIND_SERVER");
    let span = &spans[0];
    assert_eq!(span.get("gen_ai.usage.input_tokens"), "25", "{span:#?}");
    assert_eq!(span.get("gen_ai.usage.output_tokens"), "12", "{span:#?}");
    assert!(span.events.is_empty(), "{span:#?}");
    let lines = wait_for_analytics(&log, 1);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["ai"]["proxy"]["usage"]["total_tokens"], 37);
    assert!(lines[0]["ai"]["proxy"]["payload"]["response"].is_string());
}

#[test]
fn an_estimated_count_is_marked_and_a_route_without_prices_has_no_cost() {
    let collector = Collector::start();
    let upstream = MockUpstream::start();
    upstream.reply(Reply::sse(openai_stream(false)));
    let route = openai(
        "llm/v1/chat",
        "gpt-3.5-turbo",
        &upstream.url("/v1/chat/completions"),
    );
    let gateway = exporting_to(
        Serve::new(single_route("/chat", route)),
        Some(&collector.endpoint()),
    )
    .start();

    let streamed = merged(chat_request(), json!({ "stream": true }));
    let response = http::post(&gateway.url("/chat")).json(&streamed).send();
    assert_eq!(response.status, 200, "{}", response.text());

    let spans = wait_for_spans(&collector, 1, |s| s.kind == "SPAN_KIND_SERVER");
    let span = &spans[0];
    assert_eq!(span.get("ai_gateway.usage.estimated"), "true", "{span:#?}");
    let completion: u64 = span.get("gen_ai.usage.output_tokens").parse().unwrap();
    assert!(completion > 0, "{span:#?}");
    assert!(span.attr("ai_gateway.cost").is_none(), "{span:#?}");
    assert!(span.attr("ai_gateway.retries").is_none(), "{span:#?}");
}

#[test]
fn a_whole_and_a_streamed_chat_are_traced_and_measured() {
    let collector = Collector::start();
    let upstream = MockUpstream::start();
    upstream.reply(Reply::json(200, chat_response()));
    let hold = Gate::new();
    let mut steps = openai_stream(true);
    steps.insert(2, Step::Wait(hold.clone()));
    upstream.reply(Reply::sse(steps));
    let gateway = logged_chat_gateway(&upstream, Some(&collector.endpoint())).start();

    // A whole response, in the client's trace.
    let asked = merged(
        chat_request(),
        json!({ "max_tokens": 256, "temperature": 0.2, "top_p": 0.9 }),
    );
    let response = http::post(&gateway.url("/chat"))
        .header(
            "traceparent",
            &format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"),
        )
        .json(&asked)
        .send();
    assert_eq!(response.status, 200, "{}", response.text());

    // A stream that the upstream holds after its first event: its span must not end before
    // the stream does.
    let streamed = merged(chat_request(), json!({ "stream": true }));
    let mut stream = http::post(&gateway.url("/chat")).json(&streamed).open();
    assert_eq!(stream.status, 200);
    // The upstream holds the rest for at least this long after the response head arrived.
    let held = Duration::from_millis(300);
    std::thread::sleep(held);
    hold.open();
    let body = String::from_utf8(stream.read_to_end().unwrap()).unwrap();
    assert!(body.contains(" is 2."), "{body}");

    let spans = wait_for_spans(&collector, 2, |s| s.kind == "SPAN_KIND_SERVER");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    let all = collector.spans();
    let servers = server_spans(&all);
    let whole = servers
        .iter()
        .find(|s| s.trace_id == CLIENT_TRACE)
        .unwrap_or_else(|| panic!("no span in the client's trace: {spans:#?}"));
    let stream_span = servers.iter().find(|s| s.trace_id != CLIENT_TRACE).unwrap();

    // The whole response's SERVER span continues the client's trace.
    assert_eq!(whole.name, "chat gpt-3.5-turbo");
    assert_eq!(whole.parent_id, CLIENT_SPAN);
    let port = upstream.url("").rsplit(':').next().unwrap().to_string();
    for (key, value) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.system", "openai"),
        ("gen_ai.request.model", "gpt-3.5-turbo"),
        ("gen_ai.request.max_tokens", "256"),
        ("gen_ai.request.temperature", "0.2"),
        ("gen_ai.request.top_p", "0.9"),
        ("gen_ai.response.model", "gpt-3.5-turbo-0613"),
        (
            "gen_ai.response.id",
            "chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2",
        ),
        ("gen_ai.usage.input_tokens", "25"),
        ("gen_ai.usage.output_tokens", "12"),
        ("server.address", "127.0.0.1"),
        ("server.port", port.as_str()),
        ("http.response.status_code", "200"),
        ("ai_gateway.route", "route"),
        ("ai_gateway.service", "svc"),
    ] {
        assert_eq!(whole.get(key), value, "{key} of {whole:#?}");
    }
    // No retry and nothing estimated: attributes that would say so are left out.
    for key in ["ai_gateway.retries", "ai_gateway.usage.estimated"] {
        assert!(whole.attr(key).is_none(), "{key} of {whole:#?}");
    }
    assert!(
        whole.get("gen_ai.response.finish_reasons").contains("stop"),
        "{whole:#?}"
    );
    // (25 x 10 + 12 x 20) per million tokens.
    let cost: f64 = whole.get("ai_gateway.cost").parse().unwrap();
    assert!((cost - 0.00049).abs() < 1e-12, "{cost}");
    assert!(
        whole
            .get("ai_gateway.provider_module")
            .ends_with("libai_provider_openai.so"),
        "{whole:#?}"
    );
    assert!(whole.attr("error.type").is_none());
    // The analytics record rides along as an event.
    let event = whole
        .events
        .iter()
        .find(|e| e.name == "ai.proxy")
        .unwrap_or_else(|| panic!("no ai.proxy event: {whole:#?}"));
    let record: Value = serde_json::from_str(&event.attributes[0].value).unwrap();
    assert_eq!(record["ai"]["proxy"]["usage"]["total_tokens"], 37);
    assert_eq!(
        record["ai"]["proxy"]["meta"]["response_model"],
        "gpt-3.5-turbo-0613"
    );

    // It went upstream once: no CLIENT span, and the SERVER span's context went upstream.
    assert!(
        !all.iter().any(|s| s.kind == "SPAN_KIND_CLIENT"),
        "a CLIENT span for a request that was not retried: {all:#?}"
    );
    assert_eq!(
        requests[0].header_values("traceparent"),
        vec![format!("00-{CLIENT_TRACE}-{}-01", whole.span_id)]
    );

    // The stream's span: a new trace, usage from the provider's usage event, and closed when
    // the stream ended, not when its headers were sent.
    assert_eq!(stream_span.parent_id, "", "{stream_span:#?}");
    for (key, value) in [
        ("gen_ai.response.model", "gpt-4o-2024-08-06"),
        ("gen_ai.response.id", "chatcmpl-stream"),
        ("gen_ai.usage.input_tokens", "25"),
        ("gen_ai.usage.output_tokens", "12"),
        ("gen_ai.usage.cache_read.input_tokens", "5"),
    ] {
        assert_eq!(stream_span.get(key), value, "{key} of {stream_span:#?}");
    }
    assert!(stream_span
        .get("gen_ai.response.finish_reasons")
        .contains("stop"));
    let ttft: f64 = stream_span.get("ai_gateway.ttft_ms").parse().unwrap();
    let tpot: f64 = stream_span
        .get("ai_gateway.time_per_output_token_ms")
        .parse()
        .unwrap();
    assert!(ttft > 0.0 && tpot > 0.0, "{stream_span:#?}");
    let lasted = Duration::from_nanos((stream_span.end - stream_span.start) as u64);
    assert!(
        lasted >= held,
        "the stream's span lasted {lasted:?}, the stream at least {held:?}"
    );
    assert_eq!(
        requests[1].header_values("traceparent"),
        vec![format!(
            "00-{}-{}-01",
            stream_span.trace_id, stream_span.span_id
        )]
    );

    // Metrics at the collector, one series per answering model, with the semantic
    // conventions' names and attributes.
    let series = |response_model: &'static str| {
        move |p: &ai_gateway_tests::collector::DataPoint| {
            p.attr("gen_ai.response.model") == Some(response_model)
                && p.attr("gen_ai.request.model") == Some("gpt-3.5-turbo")
                && p.attr("ai_gateway.route") == Some("route")
        }
    };
    let whole_input = wait_for_point(&collector, "gen_ai.client.token.usage", |p| {
        series("gpt-3.5-turbo-0613")(p) && p.attr("gen_ai.token.type") == Some("input")
    });
    assert_eq!(whole_input.unit, "{token}");
    assert_eq!(whole_input.field("Count"), Some("1"));
    assert_eq!(whole_input.field("Sum"), Some("25"));
    assert_eq!(whole_input.attr("gen_ai.operation.name"), Some("chat"));
    assert_eq!(whole_input.attr("gen_ai.provider.name"), Some("openai"));
    assert_eq!(whole_input.attr("server.port"), Some(port.as_str()));
    let stream_output = wait_for_point(&collector, "gen_ai.client.token.usage", |p| {
        series("gpt-4o-2024-08-06")(p) && p.attr("gen_ai.token.type") == Some("output")
    });
    assert_eq!(stream_output.field("Sum"), Some("12"));
    let ttft_point = wait_for_point(
        &collector,
        "gen_ai.server.time_to_first_token",
        series("gpt-4o-2024-08-06"),
    );
    assert_eq!(ttft_point.unit, "s");
    assert_eq!(ttft_point.field("Count"), Some("1"));
    let tpot_point = wait_for_point(
        &collector,
        "gen_ai.server.time_per_output_token",
        series("gpt-4o-2024-08-06"),
    );
    assert_eq!(tpot_point.field("Count"), Some("1"));
    let duration = wait_for_point(
        &collector,
        "gen_ai.client.operation.duration",
        series("gpt-4o-2024-08-06"),
    );
    let seconds: f64 = duration.field("Sum").unwrap().parse().unwrap();
    assert!(seconds >= held.as_secs_f64(), "{seconds} s");
    let cost = wait_for_point(&collector, "ai_gateway.cost", series("gpt-3.5-turbo-0613"));
    assert_eq!(cost.field("Value"), Some("0.00049"));

    // The same figures on /metrics, under the Prometheus names.
    let text = prometheus(&gateway);
    let labels = |response_model: &str| {
        format!(
            "ai_gateway_route=\"route\",ai_gateway_service=\"svc\",gen_ai_operation_name=\"chat\",\
             gen_ai_provider_name=\"openai\",gen_ai_system=\"openai\",\
             gen_ai_request_model=\"gpt-3.5-turbo\",gen_ai_response_model=\"{response_model}\",\
             server_address=\"127.0.0.1\",server_port=\"{port}\""
        )
    };
    for line in [
        format!(
            "gen_ai_client_token_usage_sum{{{},gen_ai_token_type=\"input\"}} 25",
            labels("gpt-3.5-turbo-0613")
        ),
        format!(
            "gen_ai_client_token_usage_bucket{{{},gen_ai_token_type=\"output\",le=\"16\"}} 1",
            labels("gpt-4o-2024-08-06")
        ),
        format!(
            "gen_ai_server_time_to_first_token_seconds_count{{{}}} 1",
            labels("gpt-4o-2024-08-06")
        ),
        format!(
            "ai_gateway_cost_total{{{}}} 0.00049",
            labels("gpt-3.5-turbo-0613")
        ),
        format!(
            "ai_gateway_requests_total{{{}}} 1",
            labels("gpt-4o-2024-08-06")
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line} in:\n{text}"
        );
    }
}
