//! Histograms with the explicit bucket boundaries that the OpenTelemetry GenAI semantic conventions
//! recommend for each metric, so that `GET /metrics` shows the same buckets a collector receives
//! over OTLP. Values are kept in the metric's own unit (tokens, seconds).

/// `gen_ai.client.token.usage`, in tokens.
pub const TOKEN_BOUNDS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// `gen_ai.client.operation.duration`, in seconds.
pub const DURATION_BOUNDS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// `gen_ai.server.time_to_first_token`, in seconds.
pub const TTFT_BOUNDS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// `gen_ai.server.time_per_output_token`, in seconds.
pub const TPOT_BOUNDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];

/// Counts per bucket (`le` semantics: a value equal to a bound falls in that bound's bucket), plus
/// the overflow bucket, the sum and the count. Fixed size: recording never allocates.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    bounds: &'static [f64],
    counts: Box<[u64]>,
    sum: f64,
    /// The extremes of what was recorded (OTLP carries them with a histogram).
    min: f64,
    max: f64,
}

impl Buckets {
    pub fn new(bounds: &'static [f64]) -> Buckets {
        Buckets {
            bounds,
            counts: vec![0; bounds.len() + 1].into_boxed_slice(),
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub fn record(&mut self, value: f64) {
        let index = self.bounds.partition_point(|bound| *bound < value);
        if let Some(count) = self.counts.get_mut(index) {
            *count += 1;
        }
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds `other`'s counts; both must have the same bounds, as every instance of one metric does.
    pub fn merge(&mut self, other: &Buckets) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Counts per bucket, the last one being everything above the highest bound.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest and largest values recorded, once there is one.
    pub fn extremes(&self) -> Option<(f64, f64)> {
        (self.min <= self.max).then_some((self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_a_bound_falls_in_that_bounds_bucket() {
        let mut b = Buckets::new(TOKEN_BOUNDS);
        for v in [1.0, 4.0, 5.0, 1e9] {
            b.record(v);
        }
        assert_eq!(&b.counts()[..3], &[1, 1, 1]);
        assert_eq!(b.counts()[TOKEN_BOUNDS.len()], 1);
        assert_eq!(b.count(), 4);
        assert_eq!(b.sum(), 1e9 + 10.0);
    }

    #[test]
    fn merging_adds_counts_and_sums() {
        let mut a = Buckets::new(DURATION_BOUNDS);
        let mut b = Buckets::new(DURATION_BOUNDS);
        a.record(0.015);
        b.record(0.015);
        b.record(100.0);
        a.merge(&b);
        assert_eq!(a.counts()[1], 2);
        assert_eq!(a.counts()[DURATION_BOUNDS.len()], 1);
        assert!((a.sum() - 100.03).abs() < 1e-9);
        assert_eq!(a.extremes(), Some((0.015, 100.0)));
        assert_eq!(Buckets::new(DURATION_BOUNDS).extremes(), None);
    }
}
