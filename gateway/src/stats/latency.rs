//! The latency histogram behind the percentiles of `/status/routes`: fine-grained, fixed-size, and
//! mergeable across the workers' route actors.

use serde::Serialize;

/// Histogram of durations in microseconds with log-linear buckets: exact below 16 µs, then 16
/// sub-buckets per power of two (at most 1/32 relative error at the bucket midpoint). Fixed size,
/// so recording never allocates, and two histograms merge by adding their buckets.
#[derive(Clone)]
pub struct Histogram {
    buckets: Box<[u64; BUCKETS]>,
    count: u64,
    max_us: u64,
}

const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
const MAX_EXP: u32 = 42;
const BUCKETS: usize = (SUB + (MAX_EXP as u64 - SUB_BITS as u64 + 1) * SUB) as usize;

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: Box::new([0; BUCKETS]),
            count: 0,
            max_us: 0,
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = (63 - us.leading_zeros()).min(MAX_EXP);
    let mantissa = (us >> (exp - SUB_BITS)) & (SUB - 1);
    (SUB + (exp - SUB_BITS) as u64 * SUB + mantissa) as usize
}

/// The midpoint of a bucket, in microseconds.
fn bucket_value(index: usize) -> f64 {
    let index = index as u64;
    if index < SUB {
        return index as f64;
    }
    let exp = (index - SUB) / SUB + SUB_BITS as u64;
    let mantissa = (index - SUB) % SUB;
    let width = 1u64 << (exp - SUB_BITS as u64);
    let low = (1u64 << exp) + mantissa * width;
    low as f64 + width as f64 / 2.0
}

impl Histogram {
    pub fn record(&mut self, us: u64) {
        self.buckets[bucket_of(us).min(BUCKETS - 1)] += 1;
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value at quantile `q` (0..=1) in microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == self.count {
            return self.max_us as f64;
        }
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return bucket_value(i).min(self.max_us as f64);
            }
        }
        self.max_us as f64
    }

    pub fn summary_ms(&self) -> LatencySummary {
        let ms = |us: f64| (us / 1000.0 * 1000.0).round() / 1000.0;
        LatencySummary {
            count: self.count,
            p50: ms(self.quantile_us(0.50)),
            p90: ms(self.quantile_us(0.90)),
            p99: ms(self.quantile_us(0.99)),
            max: ms(self.max_us as f64),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_large_ones_within_a_thirty_second() {
        for v in [
            0u64,
            1,
            7,
            15,
            16,
            17,
            100,
            1_000,
            12_345,
            987_654,
            3_600_000_000,
        ] {
            let mid = bucket_value(bucket_of(v));
            let err = (mid - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 1.0 / 32.0 + 1e-9, "value {v} -> {mid}");
        }
    }

    #[test]
    fn quantiles_of_a_uniform_run() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.04, "p50 {p50}");
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.04, "p99 {p99}");
        assert_eq!(h.quantile_us(1.0), 1_000_000.0);
    }

    #[test]
    fn merging_equals_recording_into_one() {
        let (mut a, mut b, mut both) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in [3u64, 40, 900, 70_000] {
            a.record(v);
            both.record(v);
        }
        for v in [5u64, 41, 1_000_000] {
            b.record(v);
            both.record(v);
        }
        a.merge(&b);
        assert_eq!(a.count(), 7);
        for q in [0.1, 0.5, 0.9, 1.0] {
            assert_eq!(a.quantile_us(q), both.quantile_us(q));
        }
    }
}
