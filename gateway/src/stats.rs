//! Per-route usage statistics: counters and latency histograms that each worker's route actor
//! keeps for itself and that the admin API merges when it reads them.

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

/// Why a request failed, for the per-route error counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The gateway refused the client's request (validation, model rules, size, streaming policy).
    BadRequest,
    /// The upstream answered with a 4xx status.
    Upstream4xx,
    /// The upstream answered with a 5xx status.
    Upstream5xx,
    /// The upstream could not be reached (connect or protocol error).
    Unreachable,
    /// The upstream did not answer within the service's timeouts.
    Timeout,
    /// The provider module failed (an error it could not translate, or a caught panic).
    Module,
}

/// The outcome of one request, sent by the handler to the route actor.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status: u16,
    pub error: Option<ErrorClass>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cost: f64,
    pub latency_us: u64,
    /// Time to the first byte of the body sent to the client, for streamed responses.
    pub ttft_us: Option<u64>,
}

#[derive(Clone, Default)]
pub struct RouteStats {
    pub requests: u64,
    pub responses_2xx: u64,
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    pub errors: ErrorCounts,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cost: f64,
    pub latency: Histogram,
    pub ttft: Histogram,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    pub bad_request: u64,
    pub upstream_4xx: u64,
    pub upstream_5xx: u64,
    pub unreachable: u64,
    pub timeout: u64,
    pub module: u64,
}

impl RouteStats {
    pub fn record(&mut self, outcome: &Outcome) {
        self.requests += 1;
        match outcome.status {
            400..=499 => self.responses_4xx += 1,
            500..=599 => self.responses_5xx += 1,
            _ => self.responses_2xx += 1,
        }
        if let Some(class) = outcome.error {
            let e = &mut self.errors;
            match class {
                ErrorClass::BadRequest => e.bad_request += 1,
                ErrorClass::Upstream4xx => e.upstream_4xx += 1,
                ErrorClass::Upstream5xx => e.upstream_5xx += 1,
                ErrorClass::Unreachable => e.unreachable += 1,
                ErrorClass::Timeout => e.timeout += 1,
                ErrorClass::Module => e.module += 1,
            }
        }
        self.prompt_tokens += outcome.prompt_tokens;
        self.completion_tokens += outcome.completion_tokens;
        self.total_tokens += outcome.total_tokens;
        self.cost += outcome.cost;
        self.latency.record(outcome.latency_us);
        if let Some(ttft) = outcome.ttft_us {
            self.ttft.record(ttft);
        }
    }

    pub fn merge(&mut self, other: &RouteStats) {
        self.requests += other.requests;
        self.responses_2xx += other.responses_2xx;
        self.responses_4xx += other.responses_4xx;
        self.responses_5xx += other.responses_5xx;
        let (a, b) = (&mut self.errors, &other.errors);
        a.bad_request += b.bad_request;
        a.upstream_4xx += b.upstream_4xx;
        a.upstream_5xx += b.upstream_5xx;
        a.unreachable += b.unreachable;
        a.timeout += b.timeout;
        a.module += b.module;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.cost += other.cost;
        self.latency.merge(&other.latency);
        self.ttft.merge(&other.ttft);
    }
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

    #[test]
    fn route_stats_count_by_class_and_sum_tokens() {
        let mut s = RouteStats::default();
        s.record(&Outcome {
            status: 200,
            prompt_tokens: 25,
            completion_tokens: 12,
            total_tokens: 37,
            cost: 0.00037,
            latency_us: 1500,
            ..Outcome::default()
        });
        s.record(&Outcome {
            status: 504,
            error: Some(ErrorClass::Timeout),
            latency_us: 60_000_000,
            ..Outcome::default()
        });
        assert_eq!(s.requests, 2);
        assert_eq!((s.responses_2xx, s.responses_5xx), (1, 1));
        assert_eq!(s.errors.timeout, 1);
        assert_eq!(s.total_tokens, 37);
        assert_eq!(s.latency.count(), 2);
        assert_eq!(s.ttft.count(), 0);
    }
}
