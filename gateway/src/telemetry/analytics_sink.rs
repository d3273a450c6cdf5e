//! Writes analytics records, one JSON line each, to stdout or a file from a thread of its own:
//! a request only appends its line to its thread's buffer ([`Handover`]), so a slow disk or a
//! blocked stdout never holds a response up. A line that finds the buffers full, in lines or in
//! bytes, is dropped and counted.
//!
//! Lines are written in the order they were queued: the record carries no time of its own, so
//! its place in the file is what says when a request finished. Each line is numbered as it is
//! queued, and the writer merges the workers' buffers by number. (A line numbered just before
//! the writer takes the buffers, and appended just after, goes out with the next tick's lines.)

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use super::config::AnalyticsTarget;
use super::handover::{Buffer, Handover, KEPT_CAPACITY};
use super::target_health::TargetHealth;

/// Lines that may wait for the writer.
const QUEUE_LINES: usize = 4096;

/// Bytes of lines that may wait for the writer. Why a bound in bytes as well: with payload
/// logging a line carries up to three bodies of up to a MiB each, and 4,096 such lines waiting
/// behind a slow target would be gigabytes.
const QUEUE_BYTES: usize = 64 << 20;

/// How long the writer lets lines gather once woken: under load the requests then find it asleep
/// and their lines wait in the buffers, taken a tick's worth at a time.
const WRITE_TICK: Duration = Duration::from_millis(10);

enum Signal {
    /// The buffers were empty and a line came.
    Lines,
    /// Write what waits, then answer.
    Flush(SyncSender<()>),
}

/// One thread's queued lines: their text, one after another, and each line's number and end.
#[derive(Debug, Default)]
struct Lines {
    text: Vec<u8>,
    ends: Vec<(u64, usize)>,
}

impl Buffer for Lines {
    fn clear(&mut self) {
        self.text.clear();
        self.text.shrink_to(KEPT_CAPACITY);
        self.ends.clear();
    }

    fn bytes(&self) -> usize {
        self.text.len()
    }
}

pub struct AnalyticsSink {
    lines: Arc<Handover<Lines>>,
    numbers: AtomicU64,
    signals: SyncSender<Signal>,
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
        AnalyticsSink::start(writer, dropped, QUEUE_BYTES)
    }

    /// Starts the writer on `writer`, with at most `byte_limit` bytes of lines waiting.
    fn start(
        writer: Box<dyn Write + Send>,
        dropped: Arc<AtomicU64>,
        byte_limit: usize,
    ) -> Result<AnalyticsSink, String> {
        let lines = Arc::new(Handover::new(QUEUE_LINES, byte_limit));
        let (signals, received) = sync_channel(1);
        let (taken, counted) = (lines.clone(), dropped.clone());
        std::thread::Builder::new()
            .name("analytics-log".to_string())
            .spawn(move || write_lines(writer, &taken, received, &counted))
            .map_err(|e| format!("cannot start the analytics writer: {e}"))?;
        Ok(AnalyticsSink {
            lines,
            numbers: AtomicU64::new(0),
            signals,
            dropped,
        })
    }

    /// Queues one record, which `write` appends to the buffer it is given (without a newline);
    /// never waits.
    pub fn send(&self, write: impl FnOnce(&mut Vec<u8>)) {
        let appended = self.lines.append(|buffer| {
            // Numbered inside the buffer's lock, so that a line is numbered after every line
            // the writer has already taken from this buffer.
            let number = self.numbers.fetch_add(1, Ordering::Relaxed);
            write(&mut buffer.text);
            buffer.text.push(b'\n');
            buffer.ends.push((number, buffer.text.len()));
        });
        match appended.map(|appended| appended.items) {
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer may be waiting for lines; when it is awake already, the signal finds
            // the channel full or is taken as a spare wake-up.
            Some(1) => {
                let _ = self.signals.try_send(Signal::Lines);
            }
            Some(_) => {}
        }
    }

    /// Writes every line queued so far and flushes the target; at shutdown.
    pub fn flush(&self) {
        let (done, answered) = sync_channel(1);
        if self.signals.send(Signal::Flush(done)).is_ok() {
            let _ = answered.recv_timeout(Duration::from_secs(5));
        }
    }
}

/// Waits for lines, lets them gather for a tick, writes what the buffers hold in one write and
/// flushes, so that a line is visible within a tick without a write per line; then waits again
/// once the buffers are empty.
fn write_lines(
    mut out: Box<dyn Write + Send>,
    lines: &Handover<Lines>,
    signals: Receiver<Signal>,
    dropped: &AtomicU64,
) {
    let (mut taken, mut spares) = (Vec::new(), Vec::new());
    let mut merged = Lines::default();
    let mut health = TargetHealth::new(
        "writing the analytics log",
        "its lines are dropped and counted in ai_gateway_analytics_dropped_records_total",
    );
    let mut write_taken = |out: &mut Box<dyn Write + Send>| {
        lines.take(&mut taken, &mut spares);
        merge_in_order(&taken, &mut merged);
        for mut buffer in taken.drain(..) {
            buffer.clear();
            spares.push(buffer);
        }
        let written = write_counted(out, &merged, dropped).and_then(|()| out.flush());
        merged.clear();
        health.report(written);
    };
    loop {
        let flushed = match signals.recv() {
            Ok(Signal::Lines) => None,
            Ok(Signal::Flush(done)) => Some(done),
            Err(_) => {
                write_taken(&mut out);
                return;
            }
        };
        if let Some(done) = flushed {
            write_taken(&mut out);
            let _ = done.send(());
            continue;
        }
        loop {
            std::thread::sleep(WRITE_TICK);
            write_taken(&mut out);
            if lines.pending() == 0 {
                break;
            }
        }
    }
}

/// Appends the lines of `buffers` to `merged` in the order of their numbers; the lines of one
/// buffer that come next in that order are copied at once.
fn merge_in_order(buffers: &[Lines], merged: &mut Lines) {
    // For each buffer, the index of its next line.
    let mut next = vec![0usize; buffers.len()];
    loop {
        let mut first: Option<(usize, u64)> = None;
        let mut second = u64::MAX;
        for (index, buffer) in buffers.iter().enumerate() {
            let Some(&(number, _)) = next.get(index).and_then(|&at| buffer.ends.get(at)) else {
                continue;
            };
            match first {
                Some((_, lowest)) if number > lowest => second = second.min(number),
                Some((_, lowest)) => {
                    second = second.min(lowest);
                    first = Some((index, number));
                }
                None => first = Some((index, number)),
            }
        }
        let Some((index, _)) = first else {
            return;
        };
        let (Some(buffer), Some(at)) = (buffers.get(index), next.get_mut(index)) else {
            return;
        };
        let start = match at.checked_sub(1) {
            Some(previous) => buffer.ends.get(previous).map_or(0, |&(_, end)| end),
            None => 0,
        };
        let run = &buffer.ends[*at..];
        let run = &run[..run.iter().take_while(|&&(n, _)| n < second).count()];
        *at += run.len();
        let base = merged.text.len();
        merged.ends.extend(
            run.iter()
                .map(|&(number, end)| (number, base + (end - start))),
        );
        let end = run.last().map_or(start, |&(_, end)| end);
        merged.text.extend_from_slice(&buffer.text[start..end]);
    }
}

/// Writes `lines` to `out`. When a write fails, every line not written whole (one cut short
/// included) is counted in `dropped`, and the error returned.
fn write_counted(out: &mut impl Write, lines: &Lines, dropped: &AtomicU64) -> io::Result<()> {
    let mut written = 0;
    while written < lines.text.len() {
        let failed = match out.write(&lines.text[written..]) {
            Ok(0) => io::Error::from(io::ErrorKind::WriteZero),
            Ok(n) => {
                written += n;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => e,
        };
        let whole = lines.ends.partition_point(|&(_, end)| end <= written);
        dropped.fetch_add((lines.ends.len() - whole) as u64, Ordering::Relaxed);
        return Err(failed);
    }
    Ok(())
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
        sink.send(|out| out.extend_from_slice(b"{\"n\":1}"));
        sink.send(|out| out.extend_from_slice(b"{\"n\":2}"));
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

    fn lines(numbered: &[(u64, &str)]) -> Lines {
        let mut buffer = Lines::default();
        for (number, line) in numbered {
            buffer.text.extend_from_slice(line.as_bytes());
            buffer.text.push(b'\n');
            buffer.ends.push((*number, buffer.text.len()));
        }
        buffer
    }

    #[test]
    fn the_lines_of_several_buffers_are_merged_in_the_order_they_were_numbered() {
        let buffers = [
            lines(&[(0, "a"), (1, "bb"), (4, "e"), (7, "h")]),
            lines(&[]),
            lines(&[(2, "c"), (3, "d"), (5, "ff")]),
            lines(&[(6, "g"), (8, "i")]),
        ];
        let mut merged = lines(&[(9, "earlier")]);
        merge_in_order(&buffers, &mut merged);
        assert_eq!(
            String::from_utf8(merged.text.clone()).unwrap(),
            "earlier\na\nbb\nc\nd\ne\nff\ng\nh\ni\n"
        );
        assert_eq!(
            merged.ends,
            [
                (9, 8),
                (0, 10),
                (1, 13),
                (2, 15),
                (3, 17),
                (4, 19),
                (5, 22),
                (6, 24),
                (7, 26),
                (8, 28)
            ]
        );
    }

    /// A target that takes at most `piece` bytes a write, writes what fits of `room` bytes as a
    /// file does when the disk fills up, and then fails as a full disk does.
    struct FillingUp {
        room: usize,
        piece: usize,
        taken: Vec<u8>,
    }

    impl Write for FillingUp {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let n = bytes
                .len()
                .min(self.piece)
                .min(self.room - self.taken.len());
            if n == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            self.taken.extend_from_slice(&bytes[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_whole_when_the_target_takes_them_a_piece_at_a_time() {
        let text = lines(&[(0, "first"), (1, "second")]);
        let mut out = FillingUp {
            room: 100,
            piece: 3,
            taken: Vec::new(),
        };
        let dropped = AtomicU64::new(0);
        write_counted(&mut out, &text, &dropped).unwrap();
        assert_eq!(out.taken, b"first\nsecond\n");
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_lines_a_full_target_did_not_take_whole_are_counted_and_its_error_returned() {
        let text = lines(&[(0, "a"), (1, "b"), (2, "c"), (3, "d")]);
        for (room, expected, lost) in [(4, &b"a\nb\n"[..], 2), (5, b"a\nb\nc", 2), (0, b"", 4)] {
            let mut out = FillingUp {
                room,
                piece: 100,
                taken: Vec::new(),
            };
            let dropped = AtomicU64::new(0);
            let error = write_counted(&mut out, &text, &dropped).unwrap_err();
            assert_eq!(error.raw_os_error(), Some(28));
            assert_eq!(out.taken, expected, "room {room}");
            assert_eq!(dropped.load(Ordering::Relaxed), lost, "room {room}");
        }
    }

    /// A target whose first write waits until the test lets it go, as a stdout piped to a
    /// stalled reader does.
    struct Stalled {
        entered: Option<SyncSender<()>>,
        release: Receiver<()>,
        taken: Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if let Some(entered) = self.entered.take() {
                entered.send(()).unwrap();
                self.release.recv().unwrap();
            }
            self.taken.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_waiting_behind_a_stalled_target_are_bounded_in_bytes_and_the_rest_counted() {
        let (entered, writing) = sync_channel(1);
        let (release, released) = sync_channel(1);
        let taken = Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = Stalled {
            entered: Some(entered),
            release: released,
            taken: taken.clone(),
        };
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = AnalyticsSink::start(Box::new(target), dropped.clone(), 10 * 1024).unwrap();
        sink.send(|out| out.extend_from_slice(b"first"));
        writing.recv_timeout(Duration::from_secs(10)).unwrap();

        let long = |n: u8| vec![b'a' + n; 1023];
        for n in 0..20 {
            sink.send(|out| out.extend_from_slice(&long(n)));
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 10);

        release.send(()).unwrap();
        sink.flush();
        sink.send(|out| out.extend_from_slice(b"after"));
        sink.flush();
        let mut expected = b"first\n".to_vec();
        for n in 0..10 {
            expected.extend_from_slice(&long(n));
            expected.push(b'\n');
        }
        expected.extend_from_slice(b"after\n");
        let written = taken.lock().unwrap().clone();
        assert!(
            written == expected,
            "{} lines written, {} expected",
            written.split(|&b| b == b'\n').count() - 1,
            expected.split(|&b| b == b'\n').count() - 1
        );
        assert_eq!(dropped.load(Ordering::Relaxed), 10);
    }

    #[test]
    fn an_emptied_buffer_gives_back_what_a_burst_grew_beyond_the_kept_capacity() {
        let mut burst = lines(&[(0, &"x".repeat(3 * KEPT_CAPACITY))]);
        burst.clear();
        assert!(burst.text.is_empty());
        assert!(
            burst.text.capacity() <= KEPT_CAPACITY,
            "{}",
            burst.text.capacity()
        );

        let mut steady = lines(&[(0, &"x".repeat(KEPT_CAPACITY / 2))]);
        let grown = steady.text.capacity();
        steady.clear();
        assert_eq!(steady.text.capacity(), grown);
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
