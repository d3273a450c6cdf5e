//! The OTLP/HTTP span exporter: a batch of spans is written as protobuf by
//! [`super::otlp_encode`] and sent by [`OtlpHttp`] to the collector's traces endpoint, from the
//! span export thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::otlp_encode;
use super::otlp_http::OtlpHttp;

#[derive(Debug)]
pub struct OtlpTraceExporter {
    http: OtlpHttp,
    /// The encoded `Resource` message.
    resource: Vec<u8>,
    /// The size of the last request, to size the next one's buffer.
    last_size: AtomicUsize,
}

impl OtlpTraceExporter {
    /// An exporter to `endpoint` (the full traces URL), configured from the variables `env`
    /// has.
    pub fn new(
        endpoint: String,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OtlpTraceExporter, String> {
        Ok(OtlpTraceExporter {
            http: OtlpHttp::new(endpoint, "TRACES", env)?,
            resource: Vec::new(),
            last_size: AtomicUsize::new(0),
        })
    }
}

impl SpanExporter for OtlpTraceExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut body = Vec::with_capacity(self.last_size.load(Ordering::Relaxed));
        otlp_encode::export_request(&mut body, &self.resource, &batch);
        self.last_size.store(body.len(), Ordering::Relaxed);
        drop(batch);
        self.http.post(body).map_err(OTelSdkError::InternalFailure)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = otlp_encode::resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;

    use super::*;
    use crate::telemetry::otlp_http::tests::{collector, env};

    #[test]
    fn a_batch_goes_to_the_traces_endpoint_as_one_export_request() {
        let (url, received) = collector("/v1/traces", vec![]);
        let mut exporter = OtlpTraceExporter::new(url, &env(&[])).unwrap();
        exporter.set_resource(
            &Resource::builder_empty()
                .with_service_name("ai-gateway")
                .build(),
        );
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
        futures_executor::block_on(exporter.export(vec![span.clone(), span])).unwrap();
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
