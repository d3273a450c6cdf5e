//! The span processor: spans are written as protobuf on the thread that ends them, straight into
//! that thread's buffer ([`Handover`]), and a thread of its own takes the buffers and exports
//! them in batches, so the request path never waits for the collector. When the buffers hold
//! the queue's size already, in spans or in bytes, the span is dropped and counted, so a
//! collector that is down or slow costs neither requests nor memory. Spans of a batch whose
//! export fails are counted as dropped too.
//!
//! Why spans are written where they end rather than by the export thread: a span held some
//! twenty allocations (attribute keys and values, the name, lists), and every one the export
//! thread freed went back to the worker's allocator pages from another core. Measured under
//! load, that cost the worker about 5 µs per request against about 1.5 µs to write the span
//! where it was made.
//!
//! Why not the SDK's `BatchSpanProcessor`: it behaves the same but keeps its drop count private,
//! and the gateway reports drops on `GET /metrics`. The standard `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_SCHEDULE_DELAY` (ms) and `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` are honoured: a batch is
//! exported once that many spans wait, and whatever waits once the delay has passed since the
//! last export.
//!
//! Why bytes are bounded too: a span is a few hundred bytes, except when a route logs payloads
//! and has no analytics log, where its event carries the record with up to three bodies of up to
//! a MiB each. A queue of 2,048 such spans would be gigabytes, and a batch of 512 a request body
//! that collectors refuse (the OpenTelemetry Collector's HTTP receiver takes 20 MiB by default).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::handover::{Buffer, Handover, KEPT_CAPACITY};
use super::otlp_encode::{entries, sdk_span, span_entry};
use super::target_health::TargetHealth;

/// The batching of spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    pub max_queue_size: usize,
    pub max_batch_size: usize,
    pub schedule_delay: Duration,
    /// Bytes of encoded spans that may wait.
    pub max_queue_bytes: usize,
    /// Bytes of encoded spans one export carries at most; a span longer than that goes alone.
    pub max_batch_bytes: usize,
}

/// The bytes of spans that may wait, unless configured otherwise.
const QUEUE_BYTES: usize = 64 << 20;

/// The bytes of spans an export carries at most, unless configured otherwise.
const BATCH_BYTES: usize = 4 << 20;

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
            max_queue_bytes: QUEUE_BYTES,
            max_batch_bytes: BATCH_BYTES,
        }
    }
}

/// The spans one thread ended since the export thread last took them: for each instrumentation
/// scope, its spans as `ScopeSpans.spans` entries and how many.
#[derive(Debug, Default)]
pub struct SpanEntries {
    groups: Vec<(InstrumentationScope, Vec<u8>, usize)>,
}

impl SpanEntries {
    fn push(&mut self, scope: &InstrumentationScope, span: impl FnOnce(&mut Vec<u8>)) {
        let (_, run, count) = self.group(scope);
        span_entry(run, span);
        *count += 1;
    }

    fn append(&mut self, scope: &InstrumentationScope, run: &[u8], spans: usize) {
        let (_, own, count) = self.group(scope);
        own.extend_from_slice(run);
        *count += spans;
    }

    /// The group of `scope`, added when there is none yet.
    fn group(
        &mut self,
        scope: &InstrumentationScope,
    ) -> &mut (InstrumentationScope, Vec<u8>, usize) {
        let index = match self.groups.iter().position(|(s, _, _)| s == scope) {
            Some(index) => index,
            None => {
                self.groups.push((scope.clone(), Vec::new(), 0));
                self.groups.len() - 1
            }
        };
        &mut self.groups[index]
    }
}

impl Buffer for SpanEntries {
    fn clear(&mut self) {
        for (_, run, count) in &mut self.groups {
            run.clear();
            run.shrink_to(KEPT_CAPACITY);
            *count = 0;
        }
    }

    fn bytes(&self) -> usize {
        self.groups.iter().map(|(_, run, _)| run.len()).sum()
    }
}

/// A batch for export: runs of span entries, each of one scope.
#[derive(Debug)]
pub struct SpanBatch<'a> {
    pub runs: Vec<(&'a InstrumentationScope, &'a [u8])>,
    pub spans: usize,
}

#[cfg(test)]
impl SpanBatch<'_> {
    /// Each span's `Span` message.
    pub fn spans(&self) -> impl Iterator<Item = &[u8]> {
        self.runs
            .iter()
            .flat_map(|(_, run)| entries(run).map(|(span, _)| span))
    }
}

/// Where the export thread sends each batch.
pub trait SpanSink: Send + 'static {
    fn export(&mut self, batch: &SpanBatch<'_>) -> Result<(), String>;
}

enum Signal {
    /// A batch's worth of spans waits.
    BatchReady,
    /// Export what waits, then answer.
    Flush(SyncSender<()>),
    /// Export what waits, answer and stop.
    Shutdown(SyncSender<()>),
}

/// The spans ended and not yet taken, and how to tell the export thread about them.
struct Shared {
    spans: Handover<SpanEntries>,
    signals: SyncSender<Signal>,
    batch: usize,
    batch_bytes: usize,
    dropped: Arc<AtomicU64>,
}

#[derive(Debug)]
pub struct QueuedSpanProcessor {
    spans: SpanQueue,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// A sender of spans written without the SDK (the gateway's SERVER spans) into the same queue.
#[derive(Clone)]
pub struct SpanQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SpanQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanQueue")
            .field("waiting", &self.shared.spans.pending())
            .finish_non_exhaustive()
    }
}

impl SpanQueue {
    /// Queues a span of `scope` whose `Span` message fields `write` writes, or counts it as
    /// dropped when the queue is full.
    pub fn push(&self, scope: &InstrumentationScope, write: impl FnOnce(&mut Vec<u8>)) {
        let shared = &*self.shared;
        match shared.spans.append(|entries| entries.push(scope, write)) {
            None => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Some(appended)
                if appended.items == shared.batch
                    || (appended.bytes_before < shared.batch_bytes
                        && appended.bytes_after >= shared.batch_bytes) =>
            {
                let _ = shared.signals.try_send(Signal::BatchReady);
            }
            Some(_) => {}
        }
    }
}

/// Signals that may wait for the export thread: a batch-ready signal and the answers to flushes.
const SIGNALS: usize = 8;

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
        let (signals, received) = sync_channel(SIGNALS);
        let shared = Arc::new(Shared {
            spans: Handover::new(config.max_queue_size, config.max_queue_bytes),
            signals,
            batch: config.max_batch_size,
            batch_bytes: config.max_batch_bytes.max(1),
            dropped,
        });
        let exporter = Exporter {
            sink,
            shared: shared.clone(),
            carried: SpanEntries::default(),
            taken: Vec::new(),
            spares: Vec::new(),
            health: TargetHealth::new(
                "span export",
                "spans are dropped and counted in ai_gateway_telemetry_dropped_spans_total",
            ),
        };
        let worker = std::thread::Builder::new()
            .name("otlp-spans".to_string())
            .spawn(move || exporter.run(received, config.schedule_delay))?;
        Ok(QueuedSpanProcessor {
            spans: SpanQueue { shared },
            worker: Mutex::new(Some(worker)),
        })
    }

    fn ask(
        &self,
        message: impl FnOnce(SyncSender<()>) -> Signal,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (done, answered) = sync_channel(1);
        self.spans
            .shared
            .signals
            .send(message(done))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        answered
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

struct Exporter<S> {
    sink: S,
    shared: Arc<Shared>,
    /// Spans taken but not exported: fewer than a batch, left over when full batches went.
    carried: SpanEntries,
    taken: Vec<SpanEntries>,
    spares: Vec<SpanEntries>,
    health: TargetHealth,
}

impl<S: SpanSink> Exporter<S> {
    fn run(mut self, signals: Receiver<Signal>, delay: Duration) {
        let mut deadline = Instant::now() + delay;
        loop {
            match signals.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Signal::BatchReady) => {
                    if self.export(false) {
                        deadline = Instant::now() + delay;
                    }
                }
                Ok(Signal::Flush(done)) => {
                    self.export(true);
                    let _ = done.send(());
                }
                Ok(Signal::Shutdown(done)) => {
                    self.export(true);
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.export(true);
                    deadline = Instant::now() + delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.export(true);
                    return;
                }
            }
        }
    }

    /// Takes the waiting spans and exports them in full batches (full in spans or in bytes),
    /// and with `everything` the rest too; what is left is carried to the next export. Returns
    /// whether a batch was sent.
    fn export(&mut self, everything: bool) -> bool {
        let shared = self.shared.clone();
        shared.spans.take(&mut self.taken, &mut self.spares);
        let runs: Vec<(&InstrumentationScope, &[u8], usize)> = std::iter::once(&self.carried)
            .chain(self.taken.iter())
            .flat_map(|entries| entries.groups.iter())
            .filter(|(_, _, count)| *count > 0)
            .map(|(scope, run, count)| (scope, run.as_slice(), *count))
            .collect();
        let mut waiting: usize = runs.iter().map(|(_, _, count)| count).sum();
        let mut waiting_bytes: usize = runs.iter().map(|(_, run, _)| run.len()).sum();
        let mut rest = runs.into_iter();
        let mut split: Option<(&InstrumentationScope, &[u8], usize)> = None;
        let mut sent = false;
        while waiting >= shared.batch
            || waiting_bytes >= shared.batch_bytes
            || (everything && waiting > 0)
        {
            let mut batch = SpanBatch {
                runs: Vec::new(),
                spans: 0,
            };
            let mut batch_bytes = 0;
            while batch.spans < shared.batch {
                let Some((scope, run, count)) = split.take().or_else(|| rest.next()) else {
                    break;
                };
                let room = shared.batch - batch.spans;
                let byte_room = shared.batch_bytes.saturating_sub(batch_bytes);
                if count <= room && run.len() <= byte_room {
                    batch.runs.push((scope, run));
                    batch.spans += count;
                    batch_bytes += run.len();
                    continue;
                }
                // The spans of the run that fit; the first of a batch goes even when it alone
                // is longer than a batch may be.
                let (mut fit, mut cut) = (0, 0);
                for (_, whole) in entries(run) {
                    let first = batch.spans == 0 && fit == 0;
                    if fit == room || (cut + whole > byte_room && !first) {
                        break;
                    }
                    fit += 1;
                    cut += whole;
                }
                if fit > 0 {
                    batch.runs.push((scope, &run[..cut]));
                    batch.spans += fit;
                    batch_bytes += cut;
                }
                if fit < count {
                    split = Some((scope, &run[cut..], count - fit));
                }
                break;
            }
            waiting -= batch.spans;
            waiting_bytes -= batch_bytes;
            let result = self.sink.export(&batch);
            sent = true;
            if result.is_err() {
                shared
                    .dropped
                    .fetch_add(batch.spans as u64, Ordering::Relaxed);
            }
            let spans = batch.spans;
            self.health
                .report(result.map_err(|e| format!("{e}; {spans} spans dropped")));
        }
        let mut carried = self.spares.pop().unwrap_or_default();
        for (scope, run, count) in split.into_iter().chain(rest) {
            carried.append(scope, run, count);
        }
        let mut previous = std::mem::replace(&mut self.carried, carried);
        previous.clear();
        self.spares.push(previous);
        for mut entries in self.taken.drain(..) {
            entries.clear();
            self.spares.push(entries);
        }
        sent
    }
}

impl SpanProcessor for QueuedSpanProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.spans
            .push(&span.instrumentation_scope, |out| sdk_span(out, &span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Signal::Flush, Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.ask(Signal::Shutdown, timeout);
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
    use std::sync::atomic::AtomicUsize;

    /// Keeps the names of the spans it is sent, decoded from what the processor wrote.
    #[derive(Clone, Default)]
    struct KeptNames {
        names: Arc<Mutex<Vec<String>>>,
        /// When set, every export fails, as against a collector that is down.
        failing: bool,
        /// Held by a test to make exports wait, as against a collector that does not answer.
        hold: Arc<Mutex<()>>,
        /// The number of spans of each export.
        batches: Arc<Mutex<Vec<usize>>>,
        /// The bytes of span entries of each export.
        batch_bytes: Arc<Mutex<Vec<usize>>>,
        /// Exports begun.
        entered: Arc<AtomicUsize>,
    }

    impl KeptNames {
        fn names(&self) -> Vec<String> {
            self.names.lock().unwrap().clone()
        }

        fn batches(&self) -> Vec<usize> {
            self.batches.lock().unwrap().clone()
        }

        /// The names of spans written by [`named`], as their numbers.
        fn numbers(&self) -> Vec<usize> {
            self.names().iter().map(|n| n.parse().unwrap()).collect()
        }

        fn batch_bytes(&self) -> Vec<usize> {
            self.batch_bytes.lock().unwrap().clone()
        }
    }

    impl SpanSink for KeptNames {
        fn export(&mut self, batch: &SpanBatch<'_>) -> Result<(), String> {
            self.entered.fetch_add(1, Ordering::Relaxed);
            drop(self.hold.lock().unwrap());
            self.batches.lock().unwrap().push(batch.spans);
            let bytes = batch.runs.iter().map(|(_, run)| run.len()).sum();
            self.batch_bytes.lock().unwrap().push(bytes);
            if self.failing {
                return Err("collector is down".to_string());
            }
            let mut names = self.names.lock().unwrap();
            for span in batch.spans() {
                let decoded = opentelemetry_proto::tonic::trace::v1::Span::decode(span).unwrap();
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
            max_queue_bytes: QUEUE_BYTES,
            max_batch_bytes: BATCH_BYTES,
        }
    }

    /// Writes a span whose only field is a name of `length` characters: `number`, padded with
    /// zeros. Its entry in a batch is the name's length plus 3 bytes of the name's field and 3
    /// of the entry's when the name is 125 to 16,380 characters long.
    fn named(number: usize, length: usize) -> impl FnOnce(&mut Vec<u8>) {
        move |out| {
            let digits = number.to_string();
            let name = "0".repeat(length - digits.len()) + &digits;
            out.push(5 << 3 | 2);
            let mut rest = name.len();
            while rest >= 0x80 {
                out.push((rest & 0x7f) as u8 | 0x80);
                rest >>= 7;
            }
            out.push(rest as u8);
            out.extend_from_slice(name.as_bytes());
        }
    }

    fn scope() -> InstrumentationScope {
        InstrumentationScope::builder("test").build()
    }

    /// A tracer provider whose spans go through a queue configured by `config` into `sink`.
    fn provider(
        sink: KeptNames,
        config: QueueConfig,
        dropped: &Arc<AtomicU64>,
    ) -> SdkTracerProvider {
        let processor = QueuedSpanProcessor::start(sink, config, dropped.clone()).unwrap();
        SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build()
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
        let provider = provider(sink.clone(), config(16, 60_000), &dropped);
        end_spans(&provider, 3);
        provider.force_flush().unwrap();
        assert_eq!(sink.names(), ["span 0", "span 1", "span 2"]);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        provider.shutdown().unwrap();
    }

    #[test]
    fn a_full_batch_is_exported_without_waiting_for_the_delay_and_no_batch_is_larger() {
        let sink = KeptNames::default();
        let dropped = Arc::new(AtomicU64::new(0));
        let batches_of_4 = QueueConfig {
            max_batch_size: 4,
            ..config(64, 600_000)
        };
        let provider = provider(sink.clone(), batches_of_4, &dropped);
        end_spans(&provider, 4);
        let deadline = Instant::now() + Duration::from_secs(10);
        while sink.names().len() < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.names(), ["span 0", "span 1", "span 2", "span 3"]);
        assert_eq!(sink.batches(), [4]);
        // Ten more, taken together on flush, go as batches of at most four, in order.
        let tracer = provider.tracer("test");
        for i in 4..14 {
            tracer.start(format!("span {i}")).end();
        }
        provider.force_flush().unwrap();
        let in_order: Vec<String> = (0..14).map(|i| format!("span {i}")).collect();
        assert_eq!(sink.names(), in_order);
        assert!(
            sink.batches().iter().all(|&spans| spans <= 4),
            "{:?}",
            sink.batches()
        );
        assert_eq!(sink.batches().iter().sum::<usize>(), 14);
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
        let provider = provider(sink.clone(), one_per_batch, &dropped);
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
    fn a_batch_carries_at_most_its_bytes_and_a_longer_span_goes_alone() {
        let sink = KeptNames::default();
        let dropped = Arc::new(AtomicU64::new(0));
        let thousand_bytes = QueueConfig {
            max_batch_bytes: 1000,
            ..config(100, 600_000)
        };
        let processor =
            QueuedSpanProcessor::start(sink.clone(), thousand_bytes, dropped.clone()).unwrap();
        let queue = processor.queue();
        // Entries of 306 bytes, and one of 2,006.
        let lengths = [300, 300, 300, 2000, 300, 300, 300, 300];
        for (number, &length) in lengths.iter().enumerate() {
            queue.push(&scope(), named(number, length));
        }
        processor.force_flush().unwrap();
        assert_eq!(sink.numbers(), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(sink.batches(), [3, 1, 3, 1]);
        assert_eq!(sink.batch_bytes(), [918, 2006, 918, 306]);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        processor.shutdown().unwrap();
    }

    #[test]
    fn spans_waiting_are_bounded_in_bytes_and_the_rest_dropped_and_counted() {
        // The collector does not answer: the export thread waits in its first export while the
        // spans ended meanwhile fill the queue's 2,000 bytes, 506 bytes each.
        let sink = KeptNames::default();
        let held = sink.hold.clone();
        let hold = held.lock().unwrap();
        let dropped = Arc::new(AtomicU64::new(0));
        let two_thousand_bytes = QueueConfig {
            max_batch_size: 1,
            max_queue_bytes: 2000,
            ..config(100, 600_000)
        };
        let processor =
            QueuedSpanProcessor::start(sink.clone(), two_thousand_bytes, dropped.clone()).unwrap();
        let queue = processor.queue();
        queue.push(&scope(), named(0, 500));
        let deadline = Instant::now() + Duration::from_secs(10);
        while sink.entered.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        for number in 1..=10 {
            queue.push(&scope(), named(number, 500));
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 6);

        drop(hold);
        processor.force_flush().unwrap();
        queue.push(&scope(), named(11, 500));
        processor.force_flush().unwrap();
        assert_eq!(sink.numbers(), [0, 1, 2, 3, 4, 11]);
        assert_eq!(dropped.load(Ordering::Relaxed), 6);
        processor.shutdown().unwrap();
    }

    #[test]
    fn emptied_span_entries_give_back_what_a_burst_grew_beyond_the_kept_capacity() {
        let mut entries = SpanEntries::default();
        entries.push(&scope(), named(0, 3 * KEPT_CAPACITY));
        entries.clear();
        let (_, run, count) = &entries.groups[0];
        assert_eq!((run.len(), *count), (0, 0));
        assert!(run.capacity() <= KEPT_CAPACITY, "{}", run.capacity());
    }

    #[test]
    fn a_failed_export_counts_its_spans_as_dropped() {
        let dropped = Arc::new(AtomicU64::new(0));
        let failing = KeptNames {
            failing: true,
            ..KeptNames::default()
        };
        let provider = provider(failing, config(16, 60_000), &dropped);
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
                max_queue_bytes: 64 << 20,
                max_batch_bytes: 4 << 20,
            }
        );
        assert_eq!(
            QueueConfig::from_env(&|_: &str| None),
            QueueConfig {
                max_queue_size: 2048,
                max_batch_size: 512,
                schedule_delay: Duration::from_millis(5000),
                max_queue_bytes: 64 << 20,
                max_batch_bytes: 4 << 20,
            }
        );
    }
}
