//! The spans of one request: a SERVER span for the client's request, child of the `traceparent`
//! it came with ([`ServerSpan`], written straight as protobuf), and a CLIENT span per upstream
//! attempt of a retried request (through the OpenTelemetry SDK), whose context goes upstream as
//! `traceparent` (and `tracestate`).
//!
//! Why not `tracing` + `tracing-opentelemetry`: these spans live across awaits and inside a
//! response body stream, and are ended explicitly when the stream ends. A `tracing` span would
//! have to be entered and exited around every poll and bridged by a layer that allocates its own
//! extension data per span; the OTel API holds exactly what is exported, with no second span
//! model to keep in step, and the `tracing` logs stay as they are.

use std::time::SystemTime;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{RandomIdGenerator, Sampler, SdkTracer, SdkTracerProvider};

use super::server_span::ServerSpan;
use super::span_queue::SpanQueue;

/// The name of the gateway's tracer: the instrumentation scope of all its spans.
const TRACER_NAME: &str = "ai-gateway";

/// Starts spans; present only when traces are exported.
pub struct Tracing {
    tracer: SdkTracer,
    propagator: TraceContextPropagator,
    sampler: Sampler,
    ids: RandomIdGenerator,
    /// The tracer's instrumentation scope, which SERVER spans are exported under too.
    scope: InstrumentationScope,
    queue: SpanQueue,
}

impl Tracing {
    /// Spans from `provider`'s tracer, and SERVER spans sampled by `sampler` (the provider's) and
    /// put into `queue` (the provider's export queue).
    pub fn new(provider: &SdkTracerProvider, sampler: Sampler, queue: SpanQueue) -> Tracing {
        Tracing {
            tracer: provider.tracer(TRACER_NAME),
            propagator: TraceContextPropagator::new(),
            sampler,
            ids: RandomIdGenerator::default(),
            scope: InstrumentationScope::builder(TRACER_NAME).build(),
            queue,
        }
    }

    /// The SERVER span of a client request, named `name` until the model is known, with the
    /// W3C trace context of `headers` as its parent when there is a valid one, and the route's
    /// attributes as [`crate::telemetry::server_span::encode_attributes`] wrote them.
    pub fn server_span(
        &self,
        headers: &HeaderMap,
        name: &'static str,
        route_attributes: &[u8],
    ) -> ServerSpan {
        let parent = self.propagator.extract(&HeaderExtractor(headers));
        ServerSpan::start(&parent, &self.sampler, &self.ids, name, route_attributes)
    }

    /// Ends `span` (see [`ServerSpan::end`]) and queues it for export.
    pub fn end_server_span(&self, span: ServerSpan, error: Option<&str>) {
        span.end(error, &self.scope, &self.queue);
    }

    /// A CLIENT span for one upstream attempt that began at `started`, child of the SERVER span
    /// whose context is `parent`, and the headers that carry its context upstream.
    pub fn attempt_span(
        &self,
        parent: &SpanContext,
        name: String,
        started: SystemTime,
        attributes: Vec<KeyValue>,
    ) -> (RequestSpan, HeaderMap) {
        let parent = Context::new().with_remote_span_context(parent.clone());
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_start_time(started)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        let span = RequestSpan {
            cx: parent.with_span(span),
        };
        let headers = self.propagation(span.cx.span().span_context());
        (span, headers)
    }

    /// The headers that carry `span`'s context upstream: `traceparent`, and `tracestate` when
    /// there is one. Written here rather than by the SDK's propagator, which formats through
    /// `format!` and parses the header names again, and sends an empty `tracestate`.
    pub fn propagation(&self, context: &SpanContext) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if !context.is_valid() {
            return headers;
        }
        let mut traceparent = *b"00-00000000000000000000000000000000-0000000000000000-00";
        hex(&mut traceparent[3..35], &context.trace_id().to_bytes());
        hex(&mut traceparent[36..52], &context.span_id().to_bytes());
        hex(
            &mut traceparent[53..],
            &[(context.trace_flags() & TraceFlags::SAMPLED).to_u8()],
        );
        if let Ok(value) = HeaderValue::from_bytes(&traceparent) {
            headers.insert(TRACEPARENT, value);
        }
        let state = context.trace_state().header();
        if !state.is_empty() {
            if let Ok(value) = HeaderValue::try_from(state) {
                headers.insert(TRACESTATE, value);
            }
        }
        headers
    }
}

/// Writes `bytes` in lower-case hex over `out`, which holds two places for each.
fn hex(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

/// A started CLIENT span and the context it is the active span of.
pub struct RequestSpan {
    cx: Context,
}

impl RequestSpan {
    pub fn set_attributes(&self, attributes: Vec<KeyValue>) {
        self.cx.span().set_attributes(attributes);
    }

    /// Ends the span, as an error with `description` when there is one.
    pub fn end(self, error: Option<String>) {
        let span = self.cx.span();
        if let Some(description) = error {
            span.set_status(Status::error(description));
        }
        span.end();
    }
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // The two names the propagator asks for on every request, looked up without parsing
        // the name again.
        let value = match key {
            "traceparent" => self.0.get(&TRACEPARENT),
            "tracestate" => self.0.get(&TRACESTATE),
            other => self.0.get(other),
        };
        value.and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::time::Duration;

    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue};
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind as ProtoKind;
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    use opentelemetry_proto::tonic::trace::v1::Span as ProtoSpan;
    use opentelemetry_sdk::trace::SpanProcessor as _;

    use super::*;
    use crate::telemetry::server_span::{encode_attributes, Scalar};
    use crate::telemetry::span_queue::{QueueConfig, QueuedSpanProcessor};
    use crate::telemetry::test_support::{KeptEncoded, KeptSpans};

    /// A `Tracing` whose CLIENT spans land in `clients` and whose SERVER spans go through a real
    /// export queue into `servers`.
    struct Setup {
        tracing: Tracing,
        clients: KeptSpans,
        servers: KeptEncoded,
        queue: QueuedSpanProcessor,
        _provider: SdkTracerProvider,
    }

    impl Setup {
        fn new(sampler: Sampler) -> Setup {
            let clients = KeptSpans::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(clients.clone())
                .with_sampler(sampler.clone())
                .build();
            let servers = KeptEncoded::default();
            let queue = QueuedSpanProcessor::start(
                servers.clone(),
                QueueConfig {
                    max_queue_size: 16,
                    max_batch_size: 16,
                    schedule_delay: Duration::from_secs(60),
                    ..QueueConfig::from_env(&|_: &str| None)
                },
                Arc::new(AtomicU64::new(0)),
            )
            .unwrap();
            Setup {
                tracing: Tracing::new(&provider, sampler, queue.queue()),
                clients,
                servers,
                queue,
                _provider: provider,
            }
        }

        fn servers(&self) -> Vec<ProtoSpan> {
            self.queue.force_flush().unwrap();
            self.servers.spans()
        }
    }

    fn parent_based() -> Sampler {
        Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn value(span: &ProtoSpan, key: &str) -> Option<any_value::Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value)
    }

    #[test]
    fn the_server_span_continues_the_clients_trace_and_the_attempt_propagates_its_own() {
        let setup = Setup::new(parent_based());
        let tracing = &setup.tracing;
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("traceparent"),
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        headers.insert(
            HeaderName::from_static("tracestate"),
            HeaderValue::from_static("vendor=v1,other=o2"),
        );
        let mut server = tracing.server_span(&headers, "chat", &[]);
        let server_id = server.context().span_id().to_string();
        assert_eq!(
            server.context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let (attempt, upstream) = tracing.attempt_span(
            server.context(),
            "chat gpt-4o".into(),
            SystemTime::now(),
            vec![],
        );
        let attempt_id = attempt.cx.span().span_context().span_id().to_string();
        assert_eq!(
            upstream.get("traceparent").unwrap(),
            &format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{attempt_id}-01")
        );
        assert_eq!(upstream.get("tracestate").unwrap(), "vendor=v1,other=o2");
        assert_eq!(
            tracing
                .propagation(server.context())
                .get("traceparent")
                .unwrap(),
            &format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{server_id}-01")
        );
        attempt.end(Some("refused".into()));
        server.name_model("gpt-4o");
        tracing.end_server_span(server, None);

        let clients = setup.clients.spans();
        assert_eq!(clients.len(), 1);
        assert_eq!(clients[0].span_kind, SpanKind::Client);
        assert_eq!(clients[0].parent_span_id.to_string(), server_id);
        assert!(!clients[0].parent_span_is_remote);
        assert_eq!(clients[0].status, Status::error("refused"));
        let servers = setup.servers();
        assert_eq!(servers.len(), 1);
        let server = &servers[0];
        assert_eq!(server.kind, ProtoKind::Server as i32);
        assert_eq!(server.name, "chat gpt-4o");
        assert_eq!(hex(&server.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&server.span_id), server_id);
        assert_eq!(hex(&server.parent_span_id), "00f067aa0ba902b7");
        assert_eq!(server.trace_state, "vendor=v1,other=o2");
        // Sampled, and the parent is remote (the W3C flags byte, then the two "is remote" bits).
        assert_eq!(server.flags, 0x301);
        assert!(server.start_time_unix_nano > 0);
        assert!(server.end_time_unix_nano >= server.start_time_unix_nano);
        assert_eq!(server.status.as_ref().map(|s| s.code), Some(0));
    }

    #[test]
    fn an_unsampled_parent_goes_upstream_unsampled_and_without_an_empty_tracestate() {
        let setup = Setup::new(parent_based());
        let tracing = &setup.tracing;
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("traceparent"),
            HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
        );
        let server = tracing.server_span(&headers, "chat", &[]);
        assert!(!server.is_recording());
        let server_id = server.context().span_id().to_string();
        assert_ne!(server_id, "b7ad6b7169203331");
        let upstream = tracing.propagation(server.context());
        assert_eq!(
            upstream.get("traceparent").unwrap(),
            &format!("00-0af7651916cd43dd8448eb211c80319c-{server_id}-00")
        );
        assert!(upstream.get("tracestate").is_none());
        tracing.end_server_span(server, None);
        assert!(setup.servers().is_empty());
    }

    #[test]
    fn without_a_traceparent_the_server_span_starts_a_trace() {
        let setup = Setup::new(parent_based());
        let server = setup
            .tracing
            .server_span(&HeaderMap::new(), "embeddings", &[]);
        assert!(server.is_recording());
        assert!(server.context().is_valid());
        setup.tracing.end_server_span(server, None);
        let servers = setup.servers();
        assert!(servers[0].parent_span_id.is_empty());
        assert_eq!(servers[0].flags, 0x101);
    }

    #[test]
    fn always_off_records_nothing_but_still_sends_a_context_upstream() {
        let setup = Setup::new(Sampler::AlwaysOff);
        let mut server = setup.tracing.server_span(&HeaderMap::new(), "chat", &[]);
        assert!(!server.is_recording());
        server.set("gen_ai.request.model", Scalar::Str("gpt-4o"));
        let upstream = setup.tracing.propagation(server.context());
        let traceparent = upstream.get("traceparent").unwrap().to_str().unwrap();
        assert!(traceparent.starts_with("00-") && traceparent.ends_with("-00"));
        setup.tracing.end_server_span(server, Some("failed"));
        assert!(setup.servers().is_empty());
    }

    #[test]
    fn attributes_events_and_an_error_are_written_as_set() {
        let setup = Setup::new(parent_based());
        let route = encode_attributes(&[KeyValue::new("ai_gateway.route", "chat-route")]);
        let mut server = setup.tracing.server_span(&HeaderMap::new(), "chat", &route);
        server.set("gen_ai.request.model", Scalar::Str("gpt-4o"));
        server.set("gen_ai.usage.input_tokens", Scalar::Int(24));
        server.set("gen_ai.request.temperature", Scalar::Float(0.5));
        server.set("ai_gateway.usage.estimated", Scalar::Bool(false));
        server.set_strings("gen_ai.response.finish_reasons", ["stop", "length"]);
        server.add_event(
            "ai_gateway.analytics",
            "ai_gateway.analytics",
            "{\"ai\":{}}",
        );
        setup
            .tracing
            .end_server_span(server, Some("upstream refused"));

        let span = &setup.servers()[0];
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ai_gateway.route",
                "gen_ai.request.model",
                "gen_ai.usage.input_tokens",
                "gen_ai.request.temperature",
                "ai_gateway.usage.estimated",
                "gen_ai.response.finish_reasons"
            ]
        );
        use any_value::Value as V;
        assert_eq!(
            value(span, "ai_gateway.route"),
            Some(V::StringValue("chat-route".into()))
        );
        assert_eq!(
            value(span, "gen_ai.request.model"),
            Some(V::StringValue("gpt-4o".into()))
        );
        assert_eq!(
            value(span, "gen_ai.usage.input_tokens"),
            Some(V::IntValue(24))
        );
        assert_eq!(
            value(span, "gen_ai.request.temperature"),
            Some(V::DoubleValue(0.5))
        );
        assert_eq!(
            value(span, "ai_gateway.usage.estimated"),
            Some(V::BoolValue(false))
        );
        let text = |s: &str| AnyValue {
            value: Some(V::StringValue(s.into())),
        };
        assert_eq!(
            value(span, "gen_ai.response.finish_reasons"),
            Some(V::ArrayValue(ArrayValue {
                values: vec![text("stop"), text("length")]
            }))
        );
        assert_eq!(span.events.len(), 1);
        assert_eq!(span.events[0].name, "ai_gateway.analytics");
        assert_eq!(span.events[0].attributes[0].key, "ai_gateway.analytics");
        assert_eq!(
            span.events[0].attributes[0]
                .value
                .clone()
                .and_then(|v| v.value),
            Some(V::StringValue("{\"ai\":{}}".into()))
        );
        assert!(span.events[0].time_unix_nano >= span.start_time_unix_nano);
        let status = span.status.clone().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.message, "upstream refused");
    }
}
