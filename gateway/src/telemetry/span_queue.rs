//! The span processor: a bounded queue that a thread of its own drains in batches into the OTLP
//! exporter. Ending a span writes it as protobuf ([`EncodedSpan`], which says why there) and
//! only tries to put it in the queue, so the request path never waits for the collector; when
//! the queue is full the span is dropped and counted, so a collector that is down costs neither
//! requests nor memory. Spans of a batch whose export fails are counted as dropped too.
//!
//! Why not the SDK's `BatchSpanProcessor`: it behaves the same but keeps its drop count private,
//! and the gateway reports drops on `GET /metrics`. The standard `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_SCHEDULE_DELAY` (ms) and `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` are honoured.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{
    sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError,
};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::otlp_encode::EncodedSpan;

/// How long the export thread sleeps once the queue is empty before it waits on the queue again.
/// A thread blocked on the queue is woken by every span: a futex wake and two context switches
/// per span, which cost about 15% of the gateway's throughput under load on two cores. Asleep, it
/// lets spans pile up without a wake-up and takes them in one go.
pub(crate) const DRAIN_TICK: Duration = Duration::from_millis(10);

/// The batching of spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    pub max_queue_size: usize,
    pub max_batch_size: usize,
    pub schedule_delay: Duration,
}

impl QueueConfig {
    /// The specification's defaults, overridden by the `OTEL_BSP_*` variables `env` has.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> QueueConfig {
        let number = |name: &str| env(name).and_then(|v| v.trim().parse::<u64>().ok());
        let max_queue_size = number("OTEL_BSP_MAX_QUEUE_SIZE").map_or(2048, |n| n.max(1) as usize);
        QueueConfig {
            max_queue_size,
            max_batch_size: number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
                .map_or(512, |n| n.max(1) as usize)
                .min(max_queue_size),
            schedule_delay: Duration::from_millis(
                number("OTEL_BSP_SCHEDULE_DELAY").unwrap_or(5000),
            ),
        }
    }
}

/// Where the export thread sends each batch.
pub trait SpanSink: Send + 'static {
    fn export(&mut self, batch: &[EncodedSpan]) -> Result<(), String>;
}

enum Message {
    Span(EncodedSpan),
    /// Export what is queued, then answer.
    Flush(SyncSender<()>),
    /// Export what is queued, answer and stop.
    Shutdown(SyncSender<()>),
}

#[derive(Debug)]
pub struct QueuedSpanProcessor {
    spans: SpanQueue,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Span(_) => "Span",
            Message::Flush(_) => "Flush",
            Message::Shutdown(_) => "Shutdown",
        })
    }
}

/// A sender of spans written without the SDK (the gateway's SERVER spans) into the same queue.
#[derive(Debug, Clone)]
pub struct SpanQueue {
    queue: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl SpanQueue {
    /// Queues `span` for export, or counts it as dropped when the queue is full or closed.
    pub fn push(&self, span: EncodedSpan) {
        match self.queue.try_send(Message::Span(span)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl QueuedSpanProcessor {
    /// A sender into this processor's queue.
    pub fn queue(&self) -> SpanQueue {
        self.spans.clone()
    }

    /// Starts the export thread. `dropped` counts every span that was never exported.
    pub fn start<S: SpanSink>(
        sink: S,
        config: QueueConfig,
        dropped: Arc<AtomicU64>,
    ) -> std::io::Result<QueuedSpanProcessor> {
        let (queue, receiver) = sync_channel(config.max_queue_size);
        let counted = dropped.clone();
        let worker = std::thread::Builder::new()
            .name("otlp-spans".to_string())
            .spawn(move || drain(sink, receiver, config, &counted))?;
        Ok(QueuedSpanProcessor {
            spans: SpanQueue { queue, dropped },
            worker: Mutex::new(Some(worker)),
        })
    }

    fn ask(
        &self,
        message: impl FnOnce(SyncSender<()>) -> Message,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (done, answered) = sync_channel(1);
        self.spans
            .queue
            .send(message(done))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        answered
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

fn drain<S: SpanSink>(
    mut sink: S,
    receiver: Receiver<Message>,
    config: QueueConfig,
    dropped: &AtomicU64,
) {
    let warned = AtomicBool::new(false);
    let mut batch = Vec::with_capacity(config.max_batch_size);
    let mut deadline = Instant::now() + config.schedule_delay;
    let mut export = |batch: &mut Vec<EncodedSpan>| {
        if batch.is_empty() {
            return;
        }
        let result = sink.export(batch);
        let count = batch.len() as u64;
        batch.clear();
        if let Err(e) = result {
            dropped.fetch_add(count, Ordering::Relaxed);
            // Once at warn, then quietly: a collector that is down would otherwise fill the log.
            if warned.swap(true, Ordering::Relaxed) {
                tracing::debug!("span export failed, {count} spans dropped: {e}");
            } else {
                tracing::warn!("span export failed, {count} spans dropped (further failures are logged at debug): {e}");
            }
        }
    };
    loop {
        let next = match receiver.try_recv() {
            Ok(message) => Ok(message),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(DRAIN_TICK.min(wait));
                receiver.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
        };
        match next {
            Ok(Message::Span(span)) => {
                batch.push(span);
                if batch.len() >= config.max_batch_size {
                    export(&mut batch);
                    deadline = Instant::now() + config.schedule_delay;
                }
            }
            Ok(Message::Flush(done)) => {
                export(&mut batch);
                let _ = done.send(());
            }
            Ok(Message::Shutdown(done)) => {
                export(&mut batch);
                let _ = done.send(());
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                export(&mut batch);
                deadline = Instant::now() + config.schedule_delay;
            }
            Err(RecvTimeoutError::Disconnected) => {
                export(&mut batch);
                return;
            }
        }
    }
}

impl SpanProcessor for QueuedSpanProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.spans.push(EncodedSpan::new(span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Message::Flush, Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.ask(Message::Shutdown, timeout);
        if let Ok(mut worker) = self.worker.lock() {
            if let Some(handle) = worker.take() {
                if result.is_ok() {
                    let _ = handle.join();
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use prost::Message as _;

    /// Keeps the names of the spans it is sent, decoded from what the processor wrote.
    #[derive(Clone, Default)]
    struct KeptNames {
        names: Arc<Mutex<Vec<String>>>,
        /// When set, every export fails, as against a collector that is down.
        failing: bool,
        /// Held by a test to make exports wait, as against a collector that does not answer.
        hold: Arc<Mutex<()>>,
    }

    impl KeptNames {
        fn names(&self) -> Vec<String> {
            self.names.lock().unwrap().clone()
        }
    }

    impl SpanSink for KeptNames {
        fn export(&mut self, batch: &[EncodedSpan]) -> Result<(), String> {
            drop(self.hold.lock().unwrap());
            if self.failing {
                return Err("collector is down".to_string());
            }
            let mut names = self.names.lock().unwrap();
            for span in batch {
                let decoded =
                    opentelemetry_proto::tonic::trace::v1::Span::decode(span.body.as_slice())
                        .unwrap();
                names.push(decoded.name);
            }
            Ok(())
        }
    }

    fn config(queue: usize, delay_ms: u64) -> QueueConfig {
        QueueConfig {
            max_queue_size: queue,
            max_batch_size: queue,
            schedule_delay: Duration::from_millis(delay_ms),
        }
    }

    fn end_spans(provider: &SdkTracerProvider, n: usize) {
        let tracer = provider.tracer("test");
        for i in 0..n {
            tracer.start(format!("span {i}")).end();
        }
    }

    #[test]
    fn spans_are_exported_in_order_on_flush() {
        let sink = KeptNames::default();
        let dropped = Arc::new(AtomicU64::new(0));
        let processor =
            QueuedSpanProcessor::start(sink.clone(), config(16, 60_000), dropped.clone()).unwrap();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        end_spans(&provider, 3);
        provider.force_flush().unwrap();
        assert_eq!(sink.names(), ["span 0", "span 1", "span 2"]);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        provider.shutdown().unwrap();
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        // The collector does not answer: the export thread waits in its first export, the queue
        // of 2 fills, and the other spans are dropped at once rather than waited for.
        let sink = KeptNames::default();
        let held = sink.hold.clone();
        let hold = held.lock().unwrap();
        let dropped = Arc::new(AtomicU64::new(0));
        let one_per_batch = QueueConfig {
            max_batch_size: 1,
            ..config(2, 60_000)
        };
        let processor =
            QueuedSpanProcessor::start(sink.clone(), one_per_batch, dropped.clone()).unwrap();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        end_spans(&provider, 10);
        // 2 in the queue, and 1 more if the thread took one into its export already.
        let dropped_while_held = dropped.load(Ordering::Relaxed);
        assert!(
            (7..=8).contains(&dropped_while_held),
            "dropped {dropped_while_held}"
        );
        drop(hold);
        provider.force_flush().unwrap();
        assert_eq!(sink.names().len() as u64 + dropped_while_held, 10);
        provider.shutdown().unwrap();
    }

    #[test]
    fn a_failed_export_counts_its_spans_as_dropped() {
        let dropped = Arc::new(AtomicU64::new(0));
        let failing = KeptNames {
            failing: true,
            ..KeptNames::default()
        };
        let processor =
            QueuedSpanProcessor::start(failing, config(16, 60_000), dropped.clone()).unwrap();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        end_spans(&provider, 5);
        provider.force_flush().unwrap();
        assert_eq!(dropped.load(Ordering::Relaxed), 5);
        provider.shutdown().unwrap();
    }

    #[test]
    fn the_queue_is_configured_by_the_standard_variables() {
        let env = |name: &str| match name {
            "OTEL_BSP_MAX_QUEUE_SIZE" => Some("100".to_string()),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => Some("500".to_string()),
            "OTEL_BSP_SCHEDULE_DELAY" => Some("250".to_string()),
            _ => None,
        };
        assert_eq!(
            QueueConfig::from_env(&env),
            QueueConfig {
                max_queue_size: 100,
                max_batch_size: 100,
                schedule_delay: Duration::from_millis(250),
            }
        );
        assert_eq!(
            QueueConfig::from_env(&|_: &str| None),
            QueueConfig {
                max_queue_size: 2048,
                max_batch_size: 512,
                schedule_delay: Duration::from_millis(5000),
            }
        );
    }
}
