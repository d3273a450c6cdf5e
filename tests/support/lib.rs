//! Harness for the end-to-end tests: the real `ai-gateway` process with provider modules built by
//! cargo, a scripted mock upstream that records what it receives, a small HTTP client that reads
//! streams incrementally, and a writer for decK configs.
//!
//! Everything binds to 127.0.0.1 port 0 and works in its own temporary directory, so tests run in
//! parallel.

// A failed unwrap in the harness is a failed test with its message, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod aws_eventstream;
pub mod collector;
pub mod config;
pub mod gateway;
pub mod http;
pub mod mock;
pub mod paths;
pub mod tempdir;

use std::time::{Duration, Instant};

/// Calls `check` until it returns `Ok`, for state the gateway updates after it has answered (the
/// route statistics). The deadline only stops a test that would otherwise hang; a passing test
/// returns as soon as the state is there.
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: still not true after 20 s; last check said: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
