//! The GenAI metrics as OTLP exports them, read from the route actors' statistics.
//!
//! Every worker's route actor keeps its route's figures per target, in the semantic conventions'
//! buckets ([`crate::stats`]), for `GET /status/routes` and `GET /metrics`. A thread of its own
//! merges them every `OTEL_METRIC_EXPORT_INTERVAL` ms (60 s by default) and once more at shutdown,
//! writes them as one OTLP `ExportMetricsServiceRequest` (cumulative, so the collector gets what
//! `GET /metrics` shows) and POSTs it.
//!
//! Why not the OpenTelemetry SDK's instruments: they aggregate the same outcomes a second time,
//! and hash every attribute set on every record. On the gateway that was 11% of the instructions
//! of a chat request; reading the actors' statistics costs the request path nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;

use super::otlp_encode::{
    attributes, bytes_field, fixed64_field, key_values, message, tag, unix_nanos, varint,
    varint_field, LEN,
};
use super::otlp_http::OtlpHttp;
use super::semconv;
use super::target_health::TargetHealth;
use crate::runtime::RouteRuntime;
use crate::server::ActorDirectory;
use crate::stats::{Buckets, ErrorClass, RouteStats, TargetKey, TargetStats};

/// `AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE` in metrics.proto.
const CUMULATIVE: u64 = 2;

/// `host:port` split for `server.address` and `server.port`; the port is absent when the
/// authority has none.
pub fn split_authority(authority: &str) -> (&str, Option<u16>) {
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => (
            host.trim_start_matches('[').trim_end_matches(']'),
            port.parse().ok(),
        ),
        _ => (authority, None),
    }
}

/// The attributes of a target's series: the route's, then the target's.
/// Every target of every route (`stats` indexed like `routes`), routes in order and each
/// route's targets in the stable order of [`RouteStats::sorted_targets`], each named by `name`.
pub fn route_targets<'a, N>(
    routes: &'a [Arc<RouteRuntime>],
    stats: &'a [RouteStats],
    name: impl Fn(&RouteRuntime, &TargetKey) -> N,
) -> Vec<(N, &'a TargetStats)> {
    let name = &name;
    routes
        .iter()
        .zip(stats)
        .flat_map(|(route, stats)| {
            stats
                .sorted_targets()
                .into_iter()
                .map(move |(key, target)| (name(route, key), target))
        })
        .collect()
}

pub fn target_attributes(route: &RouteRuntime, target: &TargetKey) -> Vec<KeyValue> {
    let mut all = semconv::route_attributes(&route.name, &route.service_name, route.ai.as_ref());
    all.push(KeyValue::new(semconv::REQUEST_MODEL, target.model.clone()));
    all.push(KeyValue::new(
        semconv::RESPONSE_MODEL,
        target.response_model.clone(),
    ));
    let (address, port) = split_authority(&target.host);
    all.push(KeyValue::new(semconv::SERVER_ADDRESS, address.to_string()));
    if let Some(port) = port {
        all.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
    }
    all
}

/// A data point: the attribute it adds to its target's (the token type, the error type), and
/// its value.
type TargetPoint<'a> = (Option<KeyValue>, Point<'a>);

/// One data point's value.
enum Point<'a> {
    Histogram(&'a Buckets),
    Double(f64),
    Int(u64),
}

/// One metric: what it is, and how to read its points from a target's statistics. A target
/// yields no point for a series that has seen no value, as the SDK exported none either.
struct Metric {
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    monotonic_sum: bool,
    points: fn(&TargetStats) -> Vec<TargetPoint<'_>>,
}

fn histogram(buckets: &Buckets, extra: Option<KeyValue>) -> Option<TargetPoint<'_>> {
    (buckets.count() > 0).then_some((extra, Point::Histogram(buckets)))
}

const METRICS: &[Metric] = &[
    Metric {
        name: semconv::METRIC_TOKEN_USAGE,
        unit: "{token}",
        description: "Number of input and output tokens used",
        monotonic_sum: false,
        points: |t| {
            let typed =
                |token_type: &'static str| Some(KeyValue::new(semconv::TOKEN_TYPE, token_type));
            [
                histogram(&t.genai.input_tokens, typed("input")),
                histogram(&t.genai.output_tokens, typed("output")),
            ]
            .into_iter()
            .flatten()
            .collect()
        },
    },
    Metric {
        name: semconv::METRIC_OPERATION_DURATION,
        unit: "s",
        description: "GenAI operation duration",
        monotonic_sum: false,
        points: |t| histogram(&t.genai.duration, None).into_iter().collect(),
    },
    Metric {
        name: semconv::METRIC_TIME_TO_FIRST_TOKEN,
        unit: "s",
        description: "Time to generate first token for successful responses",
        monotonic_sum: false,
        points: |t| histogram(&t.genai.ttft, None).into_iter().collect(),
    },
    Metric {
        name: semconv::METRIC_TIME_PER_OUTPUT_TOKEN,
        unit: "s",
        description:
            "Time per output token generated after the first token for successful responses",
        monotonic_sum: false,
        points: |t| histogram(&t.genai.tpot, None).into_iter().collect(),
    },
    Metric {
        name: semconv::METRIC_COST,
        unit: "{USD}",
        description: "Cost of the requests, from the route's input_cost and output_cost",
        monotonic_sum: true,
        points: |t| {
            let cost = t.counters.cost;
            if cost > 0.0 {
                vec![(None, Point::Double(cost))]
            } else {
                Vec::new()
            }
        },
    },
    Metric {
        name: semconv::METRIC_REQUESTS,
        unit: "{request}",
        description: "Requests served, by error.type when they failed",
        monotonic_sum: true,
        points: |t| {
            let errors = &t.counters.errors;
            let succeeded = t.counters.requests.saturating_sub(errors.total());
            let mut points = Vec::new();
            if succeeded > 0 {
                points.push((None, Point::Int(succeeded)));
            }
            for class in ErrorClass::ALL {
                let failed = errors.get(class);
                if failed > 0 {
                    points.push((
                        Some(KeyValue::new(semconv::ERROR_TYPE, class.as_str())),
                        Point::Int(failed),
                    ));
                }
            }
            points
        },
    },
];

fn packed_fixed64(out: &mut Vec<u8>, field: u32, values: impl ExactSizeIterator<Item = u64>) {
    tag(out, field, LEN);
    varint(out, 8 * values.len() as u64);
    for value in values {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A data point of either kind: `HistogramDataPoint` or `NumberDataPoint` (metrics.proto).
fn data_point(
    out: &mut Vec<u8>,
    labels: &[KeyValue],
    extra: Option<&KeyValue>,
    point: &Point<'_>,
    (start, now): (u64, u64),
) {
    let pairs = key_values(labels).chain(extra.map(|kv| (kv.key.as_str(), &kv.value)));
    match point {
        Point::Histogram(buckets) => {
            attributes(out, 9, pairs);
            fixed64_field(out, 2, start);
            fixed64_field(out, 3, now);
            fixed64_field(out, 4, buckets.count());
            fixed64_field(out, 5, buckets.sum().to_bits());
            packed_fixed64(out, 6, buckets.counts().iter().copied());
            packed_fixed64(out, 7, buckets.bounds().iter().map(|b| b.to_bits()));
            if let Some((min, max)) = buckets.extremes() {
                fixed64_field(out, 11, min.to_bits());
                fixed64_field(out, 12, max.to_bits());
            }
        }
        Point::Double(value) => {
            attributes(out, 7, pairs);
            fixed64_field(out, 2, start);
            fixed64_field(out, 3, now);
            fixed64_field(out, 4, value.to_bits());
        }
        Point::Int(value) => {
            attributes(out, 7, pairs);
            fixed64_field(out, 2, start);
            fixed64_field(out, 3, now);
            fixed64_field(out, 6, *value);
        }
    }
}

/// The `ExportMetricsServiceRequest` of the routes' statistics (`stats` indexed like `routes`)
/// into `out`, with `resource` (an encoded `Resource`). Returns whether it holds any point.
pub fn export_request(
    out: &mut Vec<u8>,
    resource: &[u8],
    routes: &[Arc<RouteRuntime>],
    stats: &[RouteStats],
    times: (SystemTime, SystemTime),
) -> bool {
    let times = (unix_nanos(times.0), unix_nanos(times.1));
    let targets = route_targets(routes, stats, target_attributes);
    let mut any = false;
    message(out, 1, |out| {
        bytes_field(out, 1, resource);
        message(out, 2, |out| {
            message(out, 1, |out| bytes_field(out, 1, b"ai-gateway"));
            for metric in METRICS {
                let points: Vec<_> = targets
                    .iter()
                    .flat_map(|(labels, target)| {
                        (metric.points)(target)
                            .into_iter()
                            .map(move |(extra, point)| (labels, extra, point))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                any = true;
                message(out, 2, |out| {
                    bytes_field(out, 1, metric.name.as_bytes());
                    bytes_field(out, 2, metric.description.as_bytes());
                    bytes_field(out, 3, metric.unit.as_bytes());
                    let (field, point_field) = if metric.monotonic_sum { (7, 1) } else { (9, 1) };
                    message(out, field, |out| {
                        for (labels, extra, point) in &points {
                            message(out, point_field, |out| {
                                data_point(out, labels, extra.as_ref(), point, times);
                            });
                        }
                        varint_field(out, 2, CUMULATIVE);
                        if metric.monotonic_sum {
                            varint_field(out, 3, 1);
                        }
                    });
                });
            }
        });
    });
    any
}

/// The export thread; stopped (after a last export) by [`MetricExport::shutdown`].
pub struct MetricExport {
    stop: Mutex<Option<SyncSender<()>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl MetricExport {
    /// Starts exporting the statistics `directory` merges for `routes` every `interval`.
    pub fn start(
        http: OtlpHttp,
        resource: Vec<u8>,
        interval: Duration,
        directory: Arc<ActorDirectory>,
        routes: Vec<Arc<RouteRuntime>>,
        failures: Arc<AtomicU64>,
    ) -> std::io::Result<MetricExport> {
        let (stop, stopped) = sync_channel::<()>(1);
        let started = SystemTime::now();
        let worker = std::thread::Builder::new()
            .name("otlp-metrics".to_string())
            .spawn(move || {
                let mut health = TargetHealth::new(
                    "metric export",
                    "failed exports are counted in \
                     ai_gateway_telemetry_failed_metric_exports_total",
                );
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    let stats = directory.merged_stats(routes.len());
                    let mut body = Vec::new();
                    let times = (started, SystemTime::now());
                    if export_request(&mut body, &resource, &routes, &stats, times) {
                        let posted = http.post(body);
                        if posted.is_err() {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        health.report(posted);
                    }
                    if last {
                        return;
                    }
                }
            })?;
        Ok(MetricExport {
            stop: Mutex::new(Some(stop)),
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Exports once more and stops the thread.
    pub fn shutdown(&self) {
        if let Some(stop) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(());
        }
        if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            if worker.join().is_err() {
                tracing::warn!("the metric export thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
    use prost::Message;

    use super::*;
    use crate::accounting::Tokens;
    use crate::stats::{Outcome, DURATION_BOUNDS, TOKEN_BOUNDS};

    #[test]
    fn authorities_split_into_address_and_port() {
        assert_eq!(
            split_authority("api.openai.com:443"),
            ("api.openai.com", Some(443))
        );
        assert_eq!(split_authority("[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(split_authority("backend"), ("backend", None));
        assert_eq!(split_authority(""), ("", None));
    }

    fn route() -> Arc<RouteRuntime> {
        Arc::new(RouteRuntime {
            index: 0,
            name: "chat".to_string(),
            service: 0,
            service_name: "svc".to_string(),
            ai: None,
            span_attributes: Vec::new(),
        })
    }

    fn outcome(
        status: u16,
        error: Option<ErrorClass>,
        prompt: u64,
        ttft_us: Option<u64>,
    ) -> Outcome {
        Outcome {
            status,
            error,
            target: TargetKey {
                model: "gpt-4o".to_string(),
                response_model: "gpt-4o-2024-08-06".to_string(),
                host: "api.openai.com:443".to_string(),
            },
            tokens: Tokens {
                prompt,
                completion: 12,
                total: prompt + 12,
                ..Tokens::default()
            },
            cost: if error.is_none() { 0.00049 } else { 0.0 },
            latency_us: 250_000,
            ttft_us,
            tpot_us: None,
            retries: 0,
        }
    }

    fn attribute(
        attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
        key: &str,
    ) -> Option<Any> {
        attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value)
    }

    #[test]
    fn the_route_statistics_decode_as_cumulative_otlp_metrics() {
        let mut stats = RouteStats::default();
        stats.record(&outcome(200, None, 25, Some(80_000)));
        stats.record(&outcome(200, None, 3, None));
        stats.record(&outcome(504, Some(ErrorClass::Timeout), 0, None));
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let now = started + Duration::from_secs(60);
        let mut out = Vec::new();
        let any = export_request(&mut out, b"", &[route()], &[stats], (started, now));
        assert!(any);
        let decoded = ExportMetricsServiceRequest::decode(out.as_slice()).unwrap();
        let scope = &decoded.resource_metrics[0].scope_metrics[0];
        assert_eq!(scope.scope.as_ref().unwrap().name, "ai-gateway");
        let metric = |name: &str| {
            scope
                .metrics
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("no {name} in {scope:#?}"))
        };

        let usage = metric("gen_ai.client.token.usage");
        assert_eq!(usage.unit, "{token}");
        let Some(Data::Histogram(usage)) = &usage.data else {
            panic!("{usage:?}")
        };
        assert_eq!(usage.aggregation_temporality, 2);
        let input = usage
            .data_points
            .iter()
            .find(|p| {
                attribute(&p.attributes, "gen_ai.token.type")
                    == Some(Any::StringValue("input".into()))
            })
            .unwrap();
        // Two successful requests; the failed one has no usage.
        assert_eq!(input.count, 2);
        assert_eq!(input.sum, Some(28.0));
        assert_eq!((input.min, input.max), (Some(3.0), Some(25.0)));
        assert_eq!(input.explicit_bounds, TOKEN_BOUNDS);
        assert_eq!(input.bucket_counts.len(), TOKEN_BOUNDS.len() + 1);
        assert_eq!(input.bucket_counts[1], 1);
        assert_eq!(input.bucket_counts[3], 1);
        assert_eq!(input.start_time_unix_nano, 1_790_000_000 * 1_000_000_000);
        assert_eq!(input.time_unix_nano, 1_790_000_060 * 1_000_000_000);
        for (key, value) in [
            ("ai_gateway.route", Any::StringValue("chat".into())),
            ("ai_gateway.service", Any::StringValue("svc".into())),
            ("gen_ai.request.model", Any::StringValue("gpt-4o".into())),
            (
                "gen_ai.response.model",
                Any::StringValue("gpt-4o-2024-08-06".into()),
            ),
            ("server.address", Any::StringValue("api.openai.com".into())),
            ("server.port", Any::IntValue(443)),
        ] {
            assert_eq!(attribute(&input.attributes, key), Some(value), "{key}");
        }

        let Some(Data::Histogram(duration)) = &metric("gen_ai.client.operation.duration").data
        else {
            panic!()
        };
        assert_eq!(duration.data_points[0].count, 3);
        assert_eq!(duration.data_points[0].explicit_bounds, DURATION_BOUNDS);
        let Some(Data::Histogram(ttft)) = &metric("gen_ai.server.time_to_first_token").data else {
            panic!()
        };
        assert_eq!(ttft.data_points[0].count, 1);
        assert!(
            !scope
                .metrics
                .iter()
                .any(|m| m.name == "gen_ai.server.time_per_output_token"),
            "a series that saw no value is not exported"
        );

        let Some(Data::Sum(cost)) = &metric("ai_gateway.cost").data else {
            panic!()
        };
        assert!(cost.is_monotonic);
        assert_eq!(cost.aggregation_temporality, 2);
        let Some(Number::AsDouble(total)) = cost.data_points[0].value else {
            panic!()
        };
        assert!((total - 0.00098).abs() < 1e-12, "{total}");

        let Some(Data::Sum(requests)) = &metric("ai_gateway.requests").data else {
            panic!()
        };
        let by_error: Vec<_> = requests
            .data_points
            .iter()
            .map(|p| (attribute(&p.attributes, "error.type"), p.value))
            .collect();
        assert_eq!(
            by_error,
            vec![
                (None, Some(Number::AsInt(2))),
                (
                    Some(Any::StringValue("timeout".into())),
                    Some(Number::AsInt(1))
                ),
            ]
        );
    }

    #[test]
    fn routes_without_requests_export_nothing() {
        let mut out = Vec::new();
        let now = SystemTime::now();
        assert!(!export_request(
            &mut out,
            b"",
            &[route()],
            &[RouteStats::default()],
            (now, now)
        ));
    }
}
