//! Telemetry: OpenTelemetry traces and metrics over OTLP/HTTP, the Prometheus text on the admin
//! listener, and the Kong-compatible analytics record.
//!
//! Everything that talks to a collector or writes a log runs on threads of its own behind
//! bounded queues: the request path only hands finished spans and records over, and counts what
//! a full queue refuses. With no endpoint and no analytics log configured, nothing is started and
//! the request path skips all of it.

pub mod analytics;
mod analytics_sink;
pub mod config;
mod handover;
pub mod metrics;
mod otlp_encode;
mod otlp_http;
mod otlp_traces;
pub mod prometheus;
pub mod semconv;
pub mod server_span;
mod span_queue;
pub mod spans;
mod target_health;
#[cfg(test)]
mod test_support;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

pub use analytics_sink::AnalyticsSink;
use config::ExportConfig;
use metrics::MetricExport;
use otlp_http::OtlpHttp;
use otlp_traces::OtlpTraceExporter;

use crate::runtime::RouteRuntime;
use crate::server::ActorDirectory;
use span_queue::{QueueConfig, QueuedSpanProcessor};
use spans::Tracing;

/// What the telemetry pipelines could not deliver, shown on `GET /metrics`.
#[derive(Debug, Default)]
pub struct DropCounters {
    pub spans: Arc<AtomicU64>,
    pub metric_exports: Arc<AtomicU64>,
    pub analytics_records: Arc<AtomicU64>,
}

/// The running telemetry of the gateway, shared by every worker.
#[derive(Default)]
pub struct Telemetry {
    pub tracing: Option<Tracing>,
    pub analytics: Option<AnalyticsSink>,
    pub dropped: DropCounters,
    tracer_provider: Option<SdkTracerProvider>,
    /// Where metrics go, until [`Telemetry::start_metric_export`] hands it to the export thread.
    metrics: Mutex<Option<MetricsTarget>>,
    metric_export: Mutex<Option<MetricExport>>,
}

struct MetricsTarget {
    http: OtlpHttp,
    resource: Vec<u8>,
    interval: Duration,
}

impl Telemetry {
    /// Starts what `config` asks for. Must run after the process-wide rustls crypto provider is
    /// installed: the OTLP client's TLS uses it.
    pub fn start(config: &ExportConfig) -> Result<Telemetry, String> {
        let mut telemetry = Telemetry::default();
        let resource = resource(config);
        if let Some(endpoint) = &config.traces_endpoint {
            let env = |name: &str| std::env::var(name).ok();
            let exporter = OtlpTraceExporter::new(endpoint.clone(), &resource, &env)
                .map_err(|e| format!("cannot set up the OTLP trace exporter: {e}"))?;
            let processor = QueuedSpanProcessor::start(
                exporter,
                QueueConfig::from_env(&env),
                telemetry.dropped.spans.clone(),
            )
            .map_err(|e| format!("cannot start the span export thread: {e}"))?;
            let queue = processor.queue();
            let provider = SdkTracerProvider::builder()
                .with_span_processor(processor)
                .with_sampler(config.sampler.clone())
                .with_resource(resource.clone())
                .build();
            telemetry.tracing = Some(Tracing::new(&provider, config.sampler.clone(), queue));
            telemetry.tracer_provider = Some(provider);
        }
        if let Some(endpoint) = &config.metrics_endpoint {
            let env = |name: &str| std::env::var(name).ok();
            let http = OtlpHttp::new(endpoint.clone(), "METRICS", &env)
                .map_err(|e| format!("cannot set up the OTLP metric exporter: {e}"))?;
            let interval = env("OTEL_METRIC_EXPORT_INTERVAL")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map_or(Duration::from_secs(60), Duration::from_millis);
            telemetry.metrics = Mutex::new(Some(MetricsTarget {
                http,
                resource: otlp_encode::resource(&resource),
                interval,
            }));
        }
        if let Some(target) = &config.analytics {
            telemetry.analytics = Some(AnalyticsSink::open(
                target,
                telemetry.dropped.analytics_records.clone(),
            )?);
        }
        Ok(telemetry)
    }

    /// Starts exporting the statistics of `routes` that `directory` merges, when metrics are
    /// exported; once.
    pub fn start_metric_export(
        &self,
        directory: Arc<ActorDirectory>,
        routes: Vec<Arc<RouteRuntime>>,
    ) -> Result<(), String> {
        let Some(target) = self.metrics.lock().ok().and_then(|mut m| m.take()) else {
            return Ok(());
        };
        let export = MetricExport::start(
            target.http,
            target.resource,
            target.interval,
            directory,
            routes,
            self.dropped.metric_exports.clone(),
        )
        .map_err(|e| format!("cannot start the metric export thread: {e}"))?;
        if let Ok(mut slot) = self.metric_export.lock() {
            *slot = Some(export);
        }
        Ok(())
    }

    /// Exports what is still queued and the last metrics, and writes the analytics records still
    /// waiting; called once the server has stopped.
    pub fn shutdown(&self) {
        if let Some(analytics) = &self.analytics {
            analytics.flush();
        }
        if let Some(export) = self.metric_export.lock().ok().and_then(|mut e| e.take()) {
            export.shutdown();
        }
        if let Some(provider) = &self.tracer_provider {
            if let Err(e) = provider.shutdown() {
                tracing::warn!("traces not all exported at shutdown: {e}");
            }
        }
    }
}

/// `service.name` (the flag wins over a `service.name` among the resource attributes, as the
/// specification says), the gateway's version, and the configured resource attributes.
fn resource(config: &ExportConfig) -> Resource {
    Resource::builder_empty()
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_service_name(config.service_name.clone())
        .build()
}
