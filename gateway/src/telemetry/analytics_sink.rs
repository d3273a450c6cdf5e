//! Writes analytics records, one JSON line each, to stdout or a file from a thread of its own:
//! a request only hands its line to a bounded queue, so a slow disk or a blocked stdout never
//! holds a response up. A line that finds the queue full is dropped and counted.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use super::config::AnalyticsTarget;

/// Lines that may wait for the writer.
const QUEUE_LINES: usize = 4096;

pub struct AnalyticsSink {
    queue: SyncSender<String>,
    dropped: Arc<AtomicU64>,
}

impl AnalyticsSink {
    /// Opens the target (a file is created, or appended to) and starts the writer. `dropped`
    /// counts the lines never written.
    pub fn open(
        target: &AnalyticsTarget,
        dropped: Arc<AtomicU64>,
    ) -> Result<AnalyticsSink, String> {
        let writer: Box<dyn Write + Send> = match target {
            AnalyticsTarget::Stdout => Box::new(std::io::stdout()),
            AnalyticsTarget::File(path) => Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        format!(
                            "--analytics-log/AI_GATEWAY_ANALYTICS_LOG: cannot open {}: {e}",
                            path.display()
                        )
                    })?,
            ),
        };
        let (queue, lines) = sync_channel(QUEUE_LINES);
        let counted = dropped.clone();
        std::thread::Builder::new()
            .name("analytics-log".to_string())
            .spawn(move || write_lines(writer, lines, &counted))
            .map_err(|e| format!("cannot start the analytics writer: {e}"))?;
        Ok(AnalyticsSink { queue, dropped })
    }

    /// Queues one record; never waits.
    pub fn send(&self, line: String) {
        if self.queue.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes each line as it comes, and flushes whenever the queue is empty, so that a line is
/// visible at once without a write per line when they come fast. After a flush it sleeps a tick
/// before waiting on the queue again, so that under load the requests find it asleep and do not
/// wake it (a futex wake and two context switches) for every line.
fn write_lines(writer: Box<dyn Write + Send>, lines: Receiver<String>, dropped: &AtomicU64) {
    let mut out = BufWriter::new(writer);
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(line) = next {
            if out
                .write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .is_err()
            {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
            next = lines.try_recv().ok();
        }
        if out.flush().is_err() {
            tracing::warn!("cannot flush the analytics log");
        }
        std::thread::sleep(super::span_queue::DRAIN_TICK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn lines_are_appended_to_the_file_in_order() {
        let path = std::env::temp_dir().join(format!(
            "ai-gateway-analytics-{}-{:?}.jsonl",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
        let dropped = Arc::new(AtomicU64::new(0));
        let sink =
            AnalyticsSink::open(&AnalyticsTarget::File(path.clone()), dropped.clone()).unwrap();
        sink.send("{\"n\":1}".to_string());
        sink.send("{\"n\":2}".to_string());
        let expected = "{\"earlier\":true}\n{\"n\":1}\n{\"n\":2}\n";
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut text = String::new();
        while Instant::now() < deadline {
            text = std::fs::read_to_string(&path).unwrap();
            if text == expected {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(text, expected);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_file_that_cannot_be_opened_is_an_error_naming_it() {
        let error = AnalyticsSink::open(
            &AnalyticsTarget::File("/nonexistent-dir/a.jsonl".into()),
            Arc::new(AtomicU64::new(0)),
        )
        .err()
        .unwrap();
        assert!(
            error.starts_with(
                "--analytics-log/AI_GATEWAY_ANALYTICS_LOG: cannot open /nonexistent-dir/a.jsonl: "
            ),
            "{error}"
        );
    }
}
