//! Turns what a response reported (usage, timings, errors) into the route's outcome and hands it
//! to the route actor without waiting: accounting never delays the client.

use std::time::{Duration, Instant};

use actix::Addr;
use provider_sdk::abi::ResponseMeta;

use crate::route_actor::{RecordOutcome, RouteActor};
use crate::stats::{ErrorClass, Outcome};

pub struct Accounting {
    actor: Addr<RouteActor>,
    started: Instant,
    /// Cost per 1M (input, output) tokens.
    costs: Option<(f64, f64)>,
}

/// Tokens as the route counts them: the provider's figures, with the total derived only when the
/// provider did not report one.
pub fn tokens_of(meta: &ResponseMeta) -> (u64, u64, u64) {
    let usage = &meta.usage;
    let prompt = usage.prompt_tokens.into_option().unwrap_or(0);
    let completion = usage.completion_tokens.into_option().unwrap_or(0);
    let total = usage
        .total_tokens
        .into_option()
        .unwrap_or(prompt + completion);
    (prompt, completion, total)
}

/// Kong's cost formula: costs are per million tokens.
pub fn cost_of(prompt: u64, completion: u64, costs: Option<(f64, f64)>) -> f64 {
    match costs {
        Some((input, output)) => (prompt as f64 * input + completion as f64 * output) / 1e6,
        None => 0.0,
    }
}

impl Accounting {
    pub fn new(actor: Addr<RouteActor>, started: Instant, costs: Option<(f64, f64)>) -> Accounting {
        Accounting {
            actor,
            started,
            costs,
        }
    }

    pub fn finish(
        self,
        status: u16,
        error: Option<ErrorClass>,
        meta: &ResponseMeta,
        ttft: Option<Duration>,
    ) {
        let (prompt, completion, total) = tokens_of(meta);
        let outcome = Outcome {
            status,
            error,
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: total,
            cost: cost_of(prompt, completion, self.costs),
            latency_us: self.started.elapsed().as_micros() as u64,
            ttft_us: ttft.map(|d| d.as_micros() as u64),
        };
        self.actor.do_send(RecordOutcome(outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};

    #[test]
    fn kong_worked_example_cost() {
        let cost = cost_of(25, 12, Some((10.0, 10.0)));
        assert!((cost - 0.00037).abs() < 1e-12, "{cost}");
        assert_eq!(cost_of(25, 12, None), 0.0);
    }

    #[test]
    fn total_is_the_providers_when_reported() {
        let mut meta = ResponseMeta::default();
        meta.usage.prompt_tokens = RSome(10);
        meta.usage.completion_tokens = RSome(5);
        meta.usage.total_tokens = RSome(16);
        assert_eq!(tokens_of(&meta), (10, 5, 16));
        meta.usage.total_tokens = RNone;
        assert_eq!(tokens_of(&meta), (10, 5, 15));
    }
}
