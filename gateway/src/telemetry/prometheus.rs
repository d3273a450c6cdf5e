//! `GET /metrics`: the route actors' merged statistics in the Prometheus text format (0.0.4),
//! named by the OpenTelemetry-to-Prometheus rules: dots become underscores, the unit is a suffix
//! (`_seconds`; annotations such as `{token}` are dropped), counters end in `_total`. Series
//! that have seen no value are left out.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::metrics::{route_targets, target_attributes};
use super::DropCounters;
use crate::runtime::RouteRuntime;
use crate::stats::{Buckets, ErrorClass, RouteStats, TargetKey};

/// The text format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A Prometheus label name for an attribute name.
fn label_name(attribute: &str) -> String {
    attribute.replace('.', "_")
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

/// `name="value",…` for a target of a route: the attributes its OTLP series carry.
fn target_labels(route: &RouteRuntime, target: &TargetKey) -> String {
    target_attributes(route, target)
        .iter()
        .map(|kv| {
            format!(
                "{}=\"{}\"",
                label_name(kv.key.as_str()),
                escape(&kv.value.as_str())
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One metric family being written: its header once, then its series.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn start<'a>(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
        }
    }

    fn histogram(&mut self, name: &str, labels: &str, buckets: &Buckets) {
        let count = buckets.count();
        if count == 0 {
            return;
        }
        let mut cumulative = 0;
        for (bound, n) in buckets.bounds().iter().zip(buckets.counts()) {
            cumulative += n;
            self.sample(
                &format!("{name}_bucket"),
                &format!("{labels},le=\"{bound}\""),
                cumulative,
            );
        }
        self.sample(
            &format!("{name}_bucket"),
            &format!("{labels},le=\"+Inf\""),
            count,
        );
        self.sample(&format!("{name}_sum"), labels, buckets.sum());
        self.sample(&format!("{name}_count"), labels, count);
    }
}

/// Renders every route's targets, and the telemetry pipeline's own drop counters.
pub fn render(
    routes: &[Arc<RouteRuntime>],
    stats: &[RouteStats],
    dropped: &DropCounters,
) -> String {
    let series = route_targets(routes, stats, target_labels);
    let mut out = String::new();

    let mut f = Family::start(
        &mut out,
        "gen_ai_client_token_usage",
        "histogram",
        "Number of input and output tokens used",
    );
    for (labels, target) in &series {
        for (token_type, buckets) in [
            ("input", &target.genai.input_tokens),
            ("output", &target.genai.output_tokens),
        ] {
            let labels = format!("{labels},gen_ai_token_type=\"{token_type}\"");
            f.histogram("gen_ai_client_token_usage", &labels, buckets);
        }
    }
    for (name, help, pick) in [
        (
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration",
            (|t| &t.genai.duration) as fn(&crate::stats::TargetStats) -> &Buckets,
        ),
        (
            "gen_ai_server_time_to_first_token_seconds",
            "Time to generate first token for successful responses",
            |t| &t.genai.ttft,
        ),
        (
            "gen_ai_server_time_per_output_token_seconds",
            "Time per output token generated after the first token for successful responses",
            |t| &t.genai.tpot,
        ),
    ] {
        let mut f = Family::start(&mut out, name, "histogram", help);
        for (labels, target) in &series {
            f.histogram(name, labels, pick(target));
        }
    }

    let mut f = Family::start(
        &mut out,
        "ai_gateway_cost_total",
        "counter",
        "Cost of the requests in USD, from the route's input_cost and output_cost",
    );
    for (labels, target) in &series {
        f.sample("ai_gateway_cost_total", labels, target.counters.cost);
    }
    let mut f = Family::start(
        &mut out,
        "ai_gateway_requests_total",
        "counter",
        "Requests served, by error.type when they failed",
    );
    for (labels, target) in &series {
        let counters = &target.counters;
        let succeeded = counters.requests.saturating_sub(counters.errors.total());
        if succeeded > 0 {
            f.sample("ai_gateway_requests_total", labels, succeeded);
        }
        for class in ErrorClass::ALL {
            let n = counters.errors.get(class);
            if n > 0 {
                let labels = format!("{labels},error_type=\"{}\"", class.as_str());
                f.sample("ai_gateway_requests_total", &labels, n);
            }
        }
    }
    let mut f = Family::start(
        &mut out,
        "ai_gateway_upstream_retries_total",
        "counter",
        "Upstream attempts beyond the first",
    );
    for (labels, target) in &series {
        f.sample(
            "ai_gateway_upstream_retries_total",
            labels,
            target.counters.retries,
        );
    }

    for (name, help, counter) in [
        (
            "ai_gateway_telemetry_dropped_spans_total",
            "Spans never exported: the export queue was full or the export failed",
            &dropped.spans,
        ),
        (
            "ai_gateway_telemetry_failed_metric_exports_total",
            "OTLP metric exports that failed",
            &dropped.metric_exports,
        ),
        (
            "ai_gateway_analytics_dropped_records_total",
            "Analytics records not written: the writer's queue was full or the write failed",
            &dropped.analytics_records,
        ),
    ] {
        let mut f = Family::start(&mut out, name, "counter", help);
        f.sample(name, "", counter.load(Ordering::Relaxed));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::Tokens;
    use crate::stats::Outcome;

    fn route() -> RouteRuntime {
        RouteRuntime {
            index: 0,
            name: "chat".to_string(),
            service: 0,
            service_name: "svc".to_string(),
            ai: None,
            span_attributes: Vec::new(),
        }
    }

    #[test]
    fn renders_histograms_counters_and_drop_counts() {
        let mut stats = RouteStats::default();
        let target = TargetKey {
            model: "gpt-4o".to_string(),
            response_model: "gpt-4o-2024-08-06".to_string(),
            host: "api.openai.com:443".to_string(),
        };
        stats.record(&Outcome {
            status: 200,
            target: target.clone(),
            tokens: Tokens {
                prompt: 25,
                completion: 12,
                total: 37,
                ..Tokens::default()
            },
            cost: 0.00037,
            latency_us: 150_000,
            ttft_us: Some(20_000),
            tpot_us: Some(10_000),
            retries: 1,
            ..Outcome::default()
        });
        stats.record(&Outcome {
            status: 502,
            error: Some(ErrorClass::Unreachable),
            target,
            latency_us: 5_000,
            ..Outcome::default()
        });
        let dropped = DropCounters::default();
        dropped.spans.store(7, Ordering::Relaxed);
        let text = render(&[Arc::new(route())], &[stats], &dropped);
        let labels = "ai_gateway_route=\"chat\",ai_gateway_service=\"svc\",gen_ai_request_model=\"gpt-4o\",gen_ai_response_model=\"gpt-4o-2024-08-06\",server_address=\"api.openai.com\",server_port=\"443\"";
        for line in [
            "# TYPE gen_ai_client_token_usage histogram".to_string(),
            format!("gen_ai_client_token_usage_bucket{{{labels},gen_ai_token_type=\"input\",le=\"16\"}} 0"),
            format!("gen_ai_client_token_usage_bucket{{{labels},gen_ai_token_type=\"input\",le=\"64\"}} 1"),
            format!("gen_ai_client_token_usage_sum{{{labels},gen_ai_token_type=\"output\"}} 12"),
            format!("gen_ai_client_token_usage_count{{{labels},gen_ai_token_type=\"output\"}} 1"),
            format!("gen_ai_client_operation_duration_seconds_bucket{{{labels},le=\"0.01\"}} 1"),
            format!("gen_ai_client_operation_duration_seconds_bucket{{{labels},le=\"0.16\"}} 2"),
            format!("gen_ai_client_operation_duration_seconds_count{{{labels}}} 2"),
            format!("gen_ai_server_time_to_first_token_seconds_sum{{{labels}}} 0.02"),
            format!("gen_ai_server_time_per_output_token_seconds_bucket{{{labels},le=\"0.01\"}} 1"),
            format!("ai_gateway_cost_total{{{labels}}} 0.00037"),
            format!("ai_gateway_requests_total{{{labels}}} 1"),
            format!("ai_gateway_requests_total{{{labels},error_type=\"unreachable\"}} 1"),
            format!("ai_gateway_upstream_retries_total{{{labels}}} 1"),
            "ai_gateway_telemetry_dropped_spans_total 7".to_string(),
            "ai_gateway_analytics_dropped_records_total 0".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in:\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
