//! The OTLP/HTTP span exporter: a batch of encoded spans is wrapped into one export request by
//! [`super::otlp_encode`] and sent by [`OtlpHttp`] to the collector's traces endpoint, from the
//! span export thread.

use opentelemetry_sdk::Resource;

use super::otlp_encode;
use super::otlp_http::OtlpHttp;
use super::span_queue::{SpanBatch, SpanSink};

#[derive(Debug)]
pub struct OtlpTraceExporter {
    http: OtlpHttp,
    /// The encoded `Resource` message.
    resource: Vec<u8>,
}

impl OtlpTraceExporter {
    /// An exporter to `endpoint` (the full traces URL) of spans of `resource`, configured from
    /// the variables `env` has.
    pub fn new(
        endpoint: String,
        resource: &Resource,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OtlpTraceExporter, String> {
        Ok(OtlpTraceExporter {
            http: OtlpHttp::new(endpoint, "TRACES", env)?,
            resource: otlp_encode::resource(resource),
        })
    }
}

impl SpanSink for OtlpTraceExporter {
    fn export(&mut self, batch: &SpanBatch<'_>) -> Result<(), String> {
        let mut body = Vec::new();
        otlp_encode::export_request(&mut body, &self.resource, &batch.runs);
        self.http.post(body)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_sdk::trace::SpanData;
    use prost::Message;

    use super::*;
    use crate::telemetry::otlp_http::tests::{collector, env};

    #[test]
    fn a_batch_goes_to_the_traces_endpoint_as_one_export_request() {
        let (url, received) = collector("/v1/traces", vec![]);
        let resource = Resource::builder_empty()
            .with_service_name("ai-gateway")
            .build();
        let mut exporter = OtlpTraceExporter::new(url, &resource, &env(&[])).unwrap();
        let span = SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(2),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "chat gpt-4o".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        };
        let mut run = Vec::new();
        otlp_encode::span_entry(&mut run, |out| otlp_encode::sdk_span(out, &span));
        otlp_encode::span_entry(&mut run, |out| otlp_encode::sdk_span(out, &span));
        let batch = SpanBatch {
            runs: vec![(&span.instrumentation_scope, &run)],
            spans: 2,
        };
        exporter.export(&batch).unwrap();
        let request = received.recv().unwrap();
        let decoded = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
        let resource = decoded.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "service.name");
        let spans = &decoded.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].name, "chat gpt-4o");
        assert_eq!(spans[0].span_id, 2_u64.to_be_bytes());
    }
}
