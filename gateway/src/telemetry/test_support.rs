//! A span exporter that keeps what it is given, for the unit tests of the span code (the SDK's
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
