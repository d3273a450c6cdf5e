//! A span exporter that keeps what it is given, for the unit tests of the span code (the SDK's
//! own in-memory exporter needs its `testing` feature, which would build the SDK twice).

use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

#[derive(Debug, Clone, Default)]
pub struct KeptSpans {
    spans: Arc<Mutex<Vec<SpanData>>>,
    /// When set, every export fails, as against a collector that is down.
    pub failing: bool,
    /// Held by a test to make exports wait, as against a collector that does not answer.
    pub hold: Arc<Mutex<()>>,
}

impl KeptSpans {
    pub fn failing() -> KeptSpans {
        KeptSpans {
            failing: true,
            ..KeptSpans::default()
        }
    }

    pub fn spans(&self) -> Vec<SpanData> {
        self.spans.lock().unwrap().clone()
    }
}

impl SpanExporter for KeptSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(self.hold.lock().unwrap());
        if self.failing {
            return Err(OTelSdkError::InternalFailure("collector is down".into()));
        }
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }
}
