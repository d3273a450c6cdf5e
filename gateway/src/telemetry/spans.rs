//! The spans of one request, through the OpenTelemetry API directly: a SERVER span for the
//! client's request, child of the `traceparent` it came with, and a CLIENT span per upstream
//! attempt, whose context goes upstream as `traceparent` (and `tracestate`).
//!
//! Why not `tracing` + `tracing-opentelemetry`: these spans live across awaits and inside a
//! response body stream, and are ended explicitly when the stream ends. A `tracing` span would
//! have to be entered and exited around every poll and bridged by a layer that allocates its own
//! extension data per span; the OTel API holds exactly what is exported, with no second span
//! model to keep in step, and the `tracing` logs stay as they are.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanKind, Status, TraceContextExt, TraceFlags, Tracer, TracerProvider as _,
};
use std::time::SystemTime;

use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// Starts spans; present only when traces are exported.
pub struct Tracing {
    tracer: SdkTracer,
    propagator: TraceContextPropagator,
}

impl Tracing {
    pub fn new(provider: &SdkTracerProvider) -> Tracing {
        Tracing {
            tracer: provider.tracer("ai-gateway"),
            propagator: TraceContextPropagator::new(),
        }
    }

    /// The SERVER span of a client request, named `name` until the model is known, with the
    /// W3C trace context of `headers` as its parent when there is a valid one.
    pub fn server_span(
        &self,
        headers: &HeaderMap,
        name: &'static str,
        attributes: Vec<KeyValue>,
    ) -> RequestSpan {
        let parent = self.propagator.extract(&HeaderExtractor(headers));
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        RequestSpan {
            cx: parent.with_span(span),
        }
    }

    /// A CLIENT span for one upstream attempt that began at `started`, child of `parent`, and
    /// the headers that carry its context upstream.
    pub fn attempt_span(
        &self,
        parent: &RequestSpan,
        name: String,
        started: SystemTime,
        attributes: Vec<KeyValue>,
    ) -> (RequestSpan, HeaderMap) {
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_start_time(started)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent.cx);
        let span = RequestSpan {
            cx: parent.cx.with_span(span),
        };
        let headers = self.propagation(&span);
        (span, headers)
    }

    /// The headers that carry `span`'s context upstream: `traceparent`, and `tracestate` when
    /// there is one. Written here rather than by the SDK's propagator, which formats through
    /// `format!` and parses the header names again, and sends an empty `tracestate`.
    pub fn propagation(&self, span: &RequestSpan) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let span_ref = span.cx.span();
        let context = span_ref.span_context();
        if !context.is_valid() {
            return headers;
        }
        let mut traceparent = Vec::with_capacity(55);
        traceparent.extend_from_slice(b"00-");
        hex(&mut traceparent, &context.trace_id().to_bytes());
        traceparent.push(b'-');
        hex(&mut traceparent, &context.span_id().to_bytes());
        traceparent.push(b'-');
        hex(
            &mut traceparent,
            &[(context.trace_flags() & TraceFlags::SAMPLED).to_u8()],
        );
        if let Ok(value) = HeaderValue::from_bytes(&traceparent) {
            headers.insert(HeaderName::from_static("traceparent"), value);
        }
        let state = context.trace_state().header();
        if !state.is_empty() {
            if let Ok(value) = HeaderValue::try_from(state) {
                headers.insert(HeaderName::from_static("tracestate"), value);
            }
        }
        headers
    }
}

fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

/// A started span and the context it is the active span of.
pub struct RequestSpan {
    cx: Context,
}

impl RequestSpan {
    /// Whether the span is sampled: attributes worth computing only for a span that records.
    pub fn is_recording(&self) -> bool {
        self.cx.span().is_recording()
    }

    pub fn rename(&self, name: String) {
        self.cx.span().update_name(name);
    }

    pub fn set_attributes(&self, attributes: Vec<KeyValue>) {
        self.cx.span().set_attributes(attributes);
    }

    pub fn add_event(&self, name: &'static str, attributes: Vec<KeyValue>) {
        self.cx.span().add_event(name, attributes);
    }

    /// Ends the span, as an error with `description` when there is one.
    pub fn end(self, error: Option<String>) {
        let span = self.cx.span();
        if let Some(description) = error {
            span.set_status(Status::error(description));
        }
        span.end();
    }

    /// The trace and span ids as the W3C header writes them.
    #[cfg(test)]
    fn ids(&self) -> (String, String) {
        let span = self.cx.span();
        let context = span.span_context();
        (
            context.trace_id().to_string(),
            context.span_id().to_string(),
        )
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::test_support::KeptSpans;

    fn tracing() -> (Tracing, KeptSpans, SdkTracerProvider) {
        let exporter = KeptSpans::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        (Tracing::new(&provider), exporter, provider)
    }

    #[test]
    fn the_server_span_continues_the_clients_trace_and_the_attempt_propagates_its_own() {
        let (tracing, exporter, _provider) = tracing();
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("traceparent"),
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        headers.insert(
            HeaderName::from_static("tracestate"),
            HeaderValue::from_static("vendor=v1,other=o2"),
        );
        let server = tracing.server_span(&headers, "chat", vec![]);
        let (server_trace, server_id) = server.ids();
        assert_eq!(server_trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        let (attempt, upstream) =
            tracing.attempt_span(&server, "chat gpt-4o".into(), SystemTime::now(), vec![]);
        let (_, attempt_id) = attempt.ids();
        assert_eq!(
            upstream.get("traceparent").unwrap(),
            &format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{attempt_id}-01")
        );
        assert_eq!(upstream.get("tracestate").unwrap(), "vendor=v1,other=o2");
        assert_eq!(
            tracing.propagation(&server).get("traceparent").unwrap(),
            &format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{server_id}-01")
        );
        attempt.end(Some("refused".into()));
        server.rename("chat gpt-4o".into());
        server.end(None);

        let spans = exporter.spans();
        assert_eq!(spans.len(), 2);
        let (client, server) = (&spans[0], &spans[1]);
        assert_eq!(client.span_kind, SpanKind::Client);
        assert_eq!(client.parent_span_id.to_string(), server_id);
        assert_eq!(client.status, Status::error("refused"));
        assert_eq!(server.span_kind, SpanKind::Server);
        assert_eq!(server.name, "chat gpt-4o");
        assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn an_unsampled_parent_goes_upstream_unsampled_and_without_an_empty_tracestate() {
        let (tracing, _exporter, _provider) = tracing();
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("traceparent"),
            HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
        );
        let server = tracing.server_span(&headers, "chat", vec![]);
        let (_, server_id) = server.ids();
        let upstream = tracing.propagation(&server);
        assert_eq!(
            upstream.get("traceparent").unwrap(),
            &format!("00-0af7651916cd43dd8448eb211c80319c-{server_id}-00")
        );
        assert!(upstream.get("tracestate").is_none());
    }

    #[test]
    fn without_a_traceparent_the_server_span_starts_a_trace() {
        let (tracing, exporter, _provider) = tracing();
        let server = tracing.server_span(&HeaderMap::new(), "embeddings", vec![]);
        assert!(server.is_recording());
        server.end(None);
        let spans = exporter.spans();
        assert_eq!(spans[0].parent_span_id.to_string(), "0000000000000000");
    }
}
