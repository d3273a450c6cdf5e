//! The GenAI metrics as OTLP exports them. Each worker's route actor records its requests' outcomes
//! into the OpenTelemetry SDK's instruments, once per request, after the response; a periodic
//! reader on its own thread exports them (cumulative, so what the collector gets equals what
//! `GET /metrics` shows). The attribute sets of a target are built once and kept by the actor, so
//! recording does not allocate.
//!
//! Why the SDK aggregates for OTLP while `/metrics` renders the route actors' statistics: the
//! SDK's aggregated data can only be read by its own exporters, and the actors' statistics must
//! exist without an exporter (`/status/routes`). Both are fed the same [`Outcome`], computed once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use super::semconv;
use crate::runtime::RouteRuntime;
use crate::stats::{
    Outcome, TargetKey, DURATION_BOUNDS, MAX_TARGETS_PER_ROUTE, TOKEN_BOUNDS, TPOT_BOUNDS,
    TTFT_BOUNDS,
};

/// The instruments, shared by every route actor.
#[derive(Clone)]
pub struct Instruments {
    token_usage: Histogram<u64>,
    duration: Histogram<f64>,
    ttft: Histogram<f64>,
    tpot: Histogram<f64>,
    cost: Counter<f64>,
    requests: Counter<u64>,
}

impl Instruments {
    pub fn new(meter: &Meter) -> Instruments {
        Instruments {
            token_usage: meter
                .u64_histogram(semconv::METRIC_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BOUNDS.to_vec())
                .build(),
            duration: meter
                .f64_histogram(semconv::METRIC_OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(DURATION_BOUNDS.to_vec())
                .build(),
            ttft: meter
                .f64_histogram(semconv::METRIC_TIME_TO_FIRST_TOKEN)
                .with_unit("s")
                .with_description("Time to generate first token for successful responses")
                .with_boundaries(TTFT_BOUNDS.to_vec())
                .build(),
            tpot: meter
                .f64_histogram(semconv::METRIC_TIME_PER_OUTPUT_TOKEN)
                .with_unit("s")
                .with_description(
                    "Time per output token generated after the first token for successful responses",
                )
                .with_boundaries(TPOT_BOUNDS.to_vec())
                .build(),
            cost: meter
                .f64_counter(semconv::METRIC_COST)
                .with_unit("{USD}")
                .with_description("Cost of the requests, from the route's input_cost and output_cost")
                .build(),
            requests: meter
                .u64_counter(semconv::METRIC_REQUESTS)
                .with_unit("{request}")
                .with_description("Requests served, by error.type when they failed")
                .build(),
        }
    }
}

/// The attributes every series of a route carries.
pub fn route_attributes(route: &RouteRuntime) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(semconv::ROUTE, route.name.clone()),
        KeyValue::new(semconv::SERVICE, route.service_name.clone()),
    ];
    if let Some(ai) = &route.ai {
        let (provider, system) = semconv::provider_names(&ai.config.model.provider);
        attributes.push(KeyValue::new(
            semconv::OPERATION_NAME,
            ai.config.route_type.operation_name(),
        ));
        attributes.push(KeyValue::new(semconv::PROVIDER_NAME, provider.to_string()));
        attributes.push(KeyValue::new(semconv::SYSTEM, system.to_string()));
    }
    attributes
}

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

/// The attributes of one target: all of them, and with each token type.
struct TargetAttributes {
    all: Vec<KeyValue>,
    input: Vec<KeyValue>,
    output: Vec<KeyValue>,
}

impl TargetAttributes {
    fn new(route: &[KeyValue], target: &TargetKey) -> TargetAttributes {
        let mut all = route.to_vec();
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
        let with_type = |token_type: &'static str| {
            let mut attributes = all.clone();
            attributes.push(KeyValue::new(semconv::TOKEN_TYPE, token_type));
            attributes
        };
        TargetAttributes {
            input: with_type("input"),
            output: with_type("output"),
            all,
        }
    }
}

/// One route actor's side of the instruments.
pub struct RouteSeries {
    instruments: Instruments,
    route: Vec<KeyValue>,
    targets: HashMap<TargetKey, TargetAttributes>,
}

impl RouteSeries {
    pub fn new(instruments: Instruments, route: &RouteRuntime) -> RouteSeries {
        RouteSeries {
            instruments,
            route: route_attributes(route),
            targets: HashMap::new(),
        }
    }

    /// Records one request, with the same rules as the route statistics: token usage for
    /// successful responses, TTFT and time per output token where they were measured.
    pub fn record(&mut self, outcome: &Outcome) {
        let key = if self.targets.contains_key(&outcome.target)
            || self.targets.len() < MAX_TARGETS_PER_ROUTE
        {
            outcome.target.clone()
        } else {
            TargetKey::overflow()
        };
        let route = &self.route;
        let attributes = self
            .targets
            .entry(key)
            .or_insert_with_key(|key| TargetAttributes::new(route, key));
        let i = &self.instruments;
        let success = outcome.error.is_none() && (200..300).contains(&outcome.status);
        if success {
            i.token_usage
                .record(outcome.tokens.prompt, &attributes.input);
            i.token_usage
                .record(outcome.tokens.completion, &attributes.output);
        }
        i.duration
            .record(outcome.latency_us as f64 / 1e6, &attributes.all);
        if let Some(ttft) = outcome.ttft_us {
            i.ttft.record(ttft as f64 / 1e6, &attributes.all);
        }
        if let Some(tpot) = outcome.tpot_us {
            i.tpot.record(tpot as f64 / 1e6, &attributes.all);
        }
        if outcome.cost > 0.0 {
            i.cost.add(outcome.cost, &attributes.all);
        }
        match outcome.error {
            None => i.requests.add(1, &attributes.all),
            Some(class) => {
                let mut failed = attributes.all.clone();
                failed.push(KeyValue::new(semconv::ERROR_TYPE, class.as_str()));
                i.requests.add(1, &failed);
            }
        }
    }
}

/// The OTLP metric exporter, counting the exports that fail (the collector is down or refuses).
pub struct CountingExporter<E> {
    inner: E,
    failures: Arc<AtomicU64>,
}

impl<E> CountingExporter<E> {
    pub fn new(inner: E, failures: Arc<AtomicU64>) -> CountingExporter<E> {
        CountingExporter { inner, failures }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for CountingExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        if result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
