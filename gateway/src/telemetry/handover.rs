//! Per-thread buffers that request threads append telemetry to (encoded spans, analytics lines)
//! and one background thread takes whole.
//!
//! Why not a channel of one message per span or line, as before: each message was an allocation
//! made on a worker and freed on the background thread, a push onto a shared queue, and a pop
//! and a copy on the other side. Under load that cost the workers and the background threads
//! about 0.5 µs per span and as much again per analytics line (`perf`, `wrk -t2 -c16`). Here a
//! worker writes straight into a buffer only it uses (the lock is uncontended but for the moment
//! the background thread swaps the buffer out), and the background thread takes hundreds of
//! items with one lock per buffer.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What a buffer holds between two takes; emptied for reuse, keeping its allocations up to
/// [`KEPT_CAPACITY`].
pub trait Buffer: Default + Send {
    fn clear(&mut self);

    /// The bytes its items take, counted against the handover's byte limit.
    fn bytes(&self) -> usize;
}

/// The bytes a buffer keeps allocated when it is emptied. A burst of long items (spans or lines
/// that carry logged payloads) grows the buffers; what they grew beyond this is given back, so
/// that one burst does not hold memory for the life of the process, while what a buffer gathers
/// between two takes under steady load fits without growing again.
pub const KEPT_CAPACITY: usize = 1 << 20;

impl Buffer for Vec<u8> {
    fn clear(&mut self) {
        Vec::clear(self);
        self.shrink_to(KEPT_CAPACITY);
    }

    fn bytes(&self) -> usize {
        self.len()
    }
}

/// One thread's buffer and how many items it holds, on a cache line of its own so that two
/// workers appending to neighbouring buffers do not pass the line back and forth.
#[repr(align(128))]
#[derive(Default)]
struct Slot<B> {
    buffer: Mutex<(B, usize)>,
}

pub struct Handover<B> {
    slots: Box<[Slot<B>]>,
    /// Items appended and not yet taken, over all buffers.
    pending: AtomicUsize,
    limit: usize,
    /// Bytes of the items appended and not yet taken, over all buffers.
    pending_bytes: AtomicUsize,
    byte_limit: usize,
}

/// What waits once an item was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Items, this one included.
    pub items: usize,
    /// Bytes before this item, and with it.
    pub bytes_before: usize,
    pub bytes_after: usize,
}

/// Numbers threads in the order they first append to any handover; a thread's buffer is the
/// one at its number modulo the number of buffers.
static THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_NUMBER: Cell<Option<usize>> = const { Cell::new(None) };
}

fn thread_number() -> usize {
    THREAD_NUMBER.with(|number| {
        number.get().unwrap_or_else(|| {
            let assigned = THREADS.fetch_add(1, Ordering::Relaxed);
            number.set(Some(assigned));
            assigned
        })
    })
}

impl<B: Buffer> Handover<B> {
    /// A handover that holds at most `limit` items and `byte_limit` bytes waiting, in a buffer per
    /// thread for up to twice as many threads as the machine has cores (the workers, and the few
    /// other threads that end spans).
    pub fn new(limit: usize, byte_limit: usize) -> Handover<B> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Handover::with_buffers(limit, byte_limit, (cores * 2).clamp(4, 64))
    }

    fn with_buffers(limit: usize, byte_limit: usize, buffers: usize) -> Handover<B> {
        Handover {
            slots: (0..buffers).map(|_| Slot::default()).collect(),
            pending: AtomicUsize::new(0),
            limit,
            pending_bytes: AtomicUsize::new(0),
            byte_limit,
        }
    }

    /// Appends one item, written by `write` into this thread's buffer, and says what waits now;
    /// or returns `None`, without calling `write`, when `limit` items or `byte_limit` bytes wait
    /// already. An item's length is known only once it is written, so the byte limit can be
    /// passed by the items that found it not reached yet: by at most one item per thread.
    pub fn append(&self, write: impl FnOnce(&mut B)) -> Option<Appended> {
        if self.pending_bytes.load(Ordering::Relaxed) >= self.byte_limit {
            return None;
        }
        let waiting = self.pending.fetch_add(1, Ordering::Relaxed);
        if waiting >= self.limit {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let slot = &self.slots[thread_number() % self.slots.len()];
        let mut guard = slot.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let start = guard.0.bytes();
        write(&mut guard.0);
        guard.1 += 1;
        // Added under the buffer's lock, under which `take` takes the buffer, so that `take`
        // never subtracts bytes not added yet.
        let added = guard.0.bytes() - start;
        let bytes_before = self.pending_bytes.fetch_add(added, Ordering::Relaxed);
        Some(Appended {
            items: waiting + 1,
            bytes_before,
            bytes_after: bytes_before + added,
        })
    }

    /// How many items wait.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Takes every buffer that holds items into `taken`, putting an empty buffer from `spares` (or
    /// a new one) in its place. Returns the number of items taken.
    pub fn take(&self, taken: &mut Vec<B>, spares: &mut Vec<B>) -> usize {
        let mut total = 0;
        let mut bytes = 0;
        for slot in self.slots.iter() {
            let mut guard = slot.buffer.lock().unwrap_or_else(|e| e.into_inner());
            if guard.1 == 0 {
                continue;
            }
            let buffer = std::mem::replace(&mut guard.0, spares.pop().unwrap_or_default());
            let count = std::mem::take(&mut guard.1);
            drop(guard);
            total += count;
            bytes += buffer.bytes();
            taken.push(buffer);
        }
        self.pending.fetch_sub(total, Ordering::Relaxed);
        self.pending_bytes.fetch_sub(bytes, Ordering::Relaxed);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn append_line(handover: &Handover<Vec<u8>>, line: &str) -> Option<usize> {
        handover
            .append(|buffer| {
                buffer.extend_from_slice(line.as_bytes());
                buffer.push(b'\n');
            })
            .map(|appended| appended.items)
    }

    #[test]
    fn items_of_one_thread_are_taken_in_the_order_they_were_appended() {
        let handover = Handover::with_buffers(10, usize::MAX, 4);
        assert_eq!(append_line(&handover, "a"), Some(1));
        assert_eq!(append_line(&handover, "b"), Some(2));
        let (mut taken, mut spares) = (Vec::new(), Vec::new());
        assert_eq!(handover.take(&mut taken, &mut spares), 2);
        assert_eq!(taken, [b"a\nb\n".to_vec()]);
        assert_eq!(handover.pending(), 0);
        taken.clear();
        assert_eq!(handover.take(&mut taken, &mut spares), 0);
        assert!(taken.is_empty());
    }

    #[test]
    fn a_full_handover_refuses_without_writing() {
        let handover = Handover::with_buffers(2, usize::MAX, 4);
        assert_eq!(append_line(&handover, "a"), Some(1));
        assert_eq!(append_line(&handover, "b"), Some(2));
        assert_eq!(handover.append(|_| panic!("written when full")), None);
        assert_eq!(handover.pending(), 2);
        let (mut taken, mut spares) = (Vec::new(), Vec::new());
        handover.take(&mut taken, &mut spares);
        assert_eq!(append_line(&handover, "c"), Some(1));
    }

    #[test]
    fn items_from_many_threads_are_all_taken_and_a_spare_takes_a_buffers_place() {
        let handover = Arc::new(Handover::with_buffers(100, usize::MAX, 8));
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let handover = handover.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        append_line(&handover, &format!("{t}.{i}")).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let mut spares = vec![Vec::with_capacity(4096)];
        let mut taken = Vec::new();
        assert_eq!(handover.take(&mut taken, &mut spares), 40);
        assert!(
            spares.is_empty(),
            "the spare was put in a taken buffer's place"
        );
        let mut lines: Vec<String> = Vec::new();
        for buffer in &taken {
            let text = String::from_utf8(buffer.clone()).unwrap();
            // Threads share a buffer only when numbers collide modulo the buffers (other tests
            // number threads too); each thread's lines are in the order it wrote them even then.
            for t in 0..4 {
                let own: Vec<&str> = text
                    .lines()
                    .filter(|line| line.starts_with(&format!("{t}.")))
                    .collect();
                let mut ordered = own.clone();
                ordered.sort_by_key(|line| line[2..].parse::<u32>().unwrap());
                assert_eq!(own, ordered);
            }
            lines.extend(text.lines().map(str::to_string));
        }
        lines.sort();
        let mut expected: Vec<String> = (0..4)
            .flat_map(|t| (0..10).map(move |i| format!("{t}.{i}")))
            .collect();
        expected.sort();
        assert_eq!(lines, expected);
    }
}
