//! Shared pieces of the gateway's benchmarks.

use std::time::{Duration, Instant};

/// Runs `f` repeatedly for about `budget` after a warm-up and returns the mean time per call.
/// Wall-clock figures for comparing runs on one machine, never for asserting in tests.
pub fn time_per_call(budget: Duration, mut f: impl FnMut()) -> Duration {
    let warm_up = Instant::now();
    while warm_up.elapsed() < budget / 10 {
        f();
    }
    let start = Instant::now();
    let mut calls: u32 = 0;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    start.elapsed() / calls.max(1)
}
