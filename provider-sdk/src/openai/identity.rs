//! The `id` and `created` of responses a translator writes for a provider that has none.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as OpenAI's `created`. A clock before 1970 reads as 0.
pub fn unix_time_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A fresh response id such as `chatcmpl-5f1c…`: unique within this process and very unlikely to
/// repeat across processes. Ids only correlate logs; nothing may rely on them being unguessable.
pub fn new_response_id(prefix: &str) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    // The clock's low bits are what differ between processes; mixing the counter through an odd
    // multiplier spreads consecutive ids over all digits.
    let mixed = (nanos as u64) ^ sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{prefix}{mixed:016x}{:08x}", sequence as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_prefix_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| new_response_id("chatcmpl-")).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids
            .iter()
            .all(|id| id.starts_with("chatcmpl-") && id.len() == 33));
    }

    #[test]
    fn the_clock_reads_after_2024() {
        assert!(unix_time_now() > 1_704_067_200);
    }
}
