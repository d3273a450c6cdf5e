//! A collector that is down costs no requests and no growing memory: spans that cannot be sent
//! are dropped from a bounded queue and counted, failed metric exports are counted, and every
//! request still succeeds. The log says when export starts failing and when it works again.

use ai_gateway_tests::{
    collector::{free_port, Collector},
    eventually,
    gateway::Gateway,
    http,
    mock::{MockUpstream, Reply},
};

use super::{logged_chat_gateway, prometheus};
use crate::{chat_request, chat_response};

/// Requests sent: enough to overflow the span queue many times over.
const REQUESTS: usize = 600;

/// A generous ceiling for the gateway's resident memory (it runs at about 20 MB here): a queue
/// that grew with every undelivered span would pass it long before the run ends.
const MAX_RSS_KB: u64 = 200 * 1024;

fn rss_kb(gateway: &Gateway) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", gateway.pid()))
        .expect("the gateway's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[test]
fn requests_succeed_and_memory_stays_bounded_while_the_collector_is_down() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    // Nothing listens there.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let gateway = logged_chat_gateway(&upstream, Some(&endpoint))
        .env("OTEL_BSP_MAX_QUEUE_SIZE", "64")
        .start();

    let mut peak = 0;
    for i in 0..REQUESTS {
        let response = http::post(&gateway.url("/chat"))
            .json(&chat_request())
            .send();
        assert_eq!(response.status, 200, "request {i}: {}", response.text());
        if i % 100 == 0 {
            peak = peak.max(rss_kb(&gateway));
        }
    }
    peak = peak.max(rss_kb(&gateway));
    assert!(peak < MAX_RSS_KB, "resident memory reached {peak} kB");

    // Every span (one per request: none is retried) is either still waiting (at most 64 in the
    // queue and a batch of 64 being tried) or dropped and counted; the metric exports fail and
    // are counted.
    let text = eventually("the drop counters on /metrics", || {
        let text = prometheus(&gateway);
        let dropped = counter(&text, "ai_gateway_telemetry_dropped_spans_total");
        let failed = counter(&text, "ai_gateway_telemetry_failed_metric_exports_total");
        if dropped as usize >= REQUESTS - 128 && failed > 0 {
            Ok(text)
        } else {
            Err(format!(
                "dropped spans {dropped}, failed metric exports {failed}"
            ))
        }
    });
    assert_eq!(
        counter(&text, "ai_gateway_analytics_dropped_records_total"),
        0
    );
    assert!(
        text.contains("gen_ai_client_operation_duration_seconds_count{"),
        "{text}"
    );
    assert!(
        gateway.stderr().contains("span export failed"),
        "{}",
        gateway.stderr()
    );
}

#[test]
fn the_log_says_once_when_export_fails_and_once_when_a_collector_that_comes_back_takes_it_again() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let port = free_port();
    let gateway = logged_chat_gateway(&upstream, Some(&format!("http://127.0.0.1:{port}"))).start();
    let chat = || {
        let response = http::post(&gateway.url("/chat"))
            .json(&chat_request())
            .send();
        assert_eq!(response.status, 200, "{}", response.text());
    };

    // Spans are exported every 50 ms and metrics every 500 ms: several exports fail.
    eventually("both exports failing", || {
        chat();
        let stderr = gateway.stderr();
        if stderr.contains("span export failed (") && stderr.contains("metric export failed (") {
            Ok(())
        } else {
            Err(stderr)
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(1200));

    let collector = Collector::start_on(port);
    eventually(
        "spans in the collector and both exports working again",
        || {
            chat();
            let stderr = gateway.stderr();
            if !collector.spans().is_empty()
                && stderr.contains("span export works again")
                && stderr.contains("metric export works again")
            {
                Ok(())
            } else {
                Err(stderr)
            }
        },
    );

    let stderr = gateway.stderr();
    for warning in ["span export failed (", "metric export failed ("] {
        assert_eq!(
            stderr.matches(warning).count(),
            1,
            "{warning} in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(
            "spans are dropped and counted in ai_gateway_telemetry_dropped_spans_total until it \
             works again"
        ),
        "{stderr}"
    );
}
