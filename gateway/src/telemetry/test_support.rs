//! Span sinks that keep what they are given, for the unit tests of the span code (the SDK's
//! own in-memory exporter needs its `testing` feature, which would build the SDK twice).

use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

#[derive(Debug, Clone, Default)]
pub struct KeptSpans {
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl KeptSpans {
    pub fn spans(&self) -> Vec<SpanData> {
        self.spans.lock().unwrap().clone()
    }
}

impl SpanExporter for KeptSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }
}

/// A span sink for the export queue that keeps the spans it is sent, decoded.
#[derive(Debug, Clone, Default)]
pub struct KeptEncoded {
    spans: Arc<Mutex<Vec<opentelemetry_proto::tonic::trace::v1::Span>>>,
}

impl KeptEncoded {
    pub fn spans(&self) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
        self.spans.lock().unwrap().clone()
    }
}

impl super::span_queue::SpanSink for KeptEncoded {
    fn export(&mut self, batch: &super::span_queue::SpanBatch<'_>) -> Result<(), String> {
        use prost::Message as _;
        let mut spans = self.spans.lock().unwrap();
        for span in batch.spans() {
            spans.push(
                opentelemetry_proto::tonic::trace::v1::Span::decode(span)
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }
}
