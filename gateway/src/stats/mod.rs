//! Per-route usage statistics: counters and histograms that each worker's route actor keeps for
//! itself and that the admin API merges when it reads them. They are the one aggregation behind
//! both `GET /status/routes` and `GET /metrics`.
//!
//! A route's figures are kept in total and per target: the provider's model, the model that
//! answered and the upstream host. A client may name any model on a route without a configured
//! one, so the number of targets per route and worker is capped; the rest is counted under one
//! overflow target rather than growing memory.

mod buckets;
mod latency;

use std::collections::HashMap;

use serde::Serialize;

use crate::accounting::Tokens;

pub use buckets::{Buckets, DURATION_BOUNDS, TOKEN_BOUNDS, TPOT_BOUNDS, TTFT_BOUNDS};
pub use latency::{Histogram, LatencySummary};

/// Targets a route keeps apart on one worker before the rest share [`TargetKey::overflow`].
pub const MAX_TARGETS_PER_ROUTE: usize = 32;

/// The label the overflow target carries in each of its fields.
pub const OVERFLOW_LABEL: &str = "_other";

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
    /// The client went away before the gateway had an answer for it.
    ClientClosed,
}

impl ErrorClass {
    /// The value of the `error.type` attribute (OpenTelemetry semantic conventions: a low
    /// cardinality class of the error).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::Upstream4xx => "upstream_4xx",
            ErrorClass::Upstream5xx => "upstream_5xx",
            ErrorClass::Unreachable => "unreachable",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Module => "module",
            ErrorClass::ClientClosed => "client_closed",
        }
    }

    pub const ALL: [ErrorClass; 7] = [
        ErrorClass::BadRequest,
        ErrorClass::Upstream4xx,
        ErrorClass::Upstream5xx,
        ErrorClass::Unreachable,
        ErrorClass::Timeout,
        ErrorClass::Module,
        ErrorClass::ClientClosed,
    ];
}

/// Where a request went: the model asked for, the model that answered and the upstream host.
/// Empty strings where there was none (a request refused before it had a model or a host).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TargetKey {
    pub model: String,
    pub response_model: String,
    /// `host[:port]` as in the upstream URL.
    pub host: String,
}

impl TargetKey {
    pub fn overflow() -> TargetKey {
        TargetKey {
            model: OVERFLOW_LABEL.to_string(),
            response_model: OVERFLOW_LABEL.to_string(),
            host: OVERFLOW_LABEL.to_string(),
        }
    }
}

/// The outcome of one request, sent by the handler to the route actor.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status: u16,
    pub error: Option<ErrorClass>,
    pub target: TargetKey,
    pub tokens: Tokens,
    pub cost: f64,
    pub latency_us: u64,
    /// Time to the first byte of the body sent to the client, for streamed responses.
    pub ttft_us: Option<u64>,
    /// Time per output token after the first, for streamed successful responses.
    pub tpot_us: Option<u64>,
    /// Attempts beyond the first that the upstream call took.
    pub retries: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    pub bad_request: u64,
    pub upstream_4xx: u64,
    pub upstream_5xx: u64,
    pub unreachable: u64,
    pub timeout: u64,
    pub module: u64,
    pub client_closed: u64,
}

impl ErrorCounts {
    fn slot(&mut self, class: ErrorClass) -> &mut u64 {
        match class {
            ErrorClass::BadRequest => &mut self.bad_request,
            ErrorClass::Upstream4xx => &mut self.upstream_4xx,
            ErrorClass::Upstream5xx => &mut self.upstream_5xx,
            ErrorClass::Unreachable => &mut self.unreachable,
            ErrorClass::Timeout => &mut self.timeout,
            ErrorClass::Module => &mut self.module,
            ErrorClass::ClientClosed => &mut self.client_closed,
        }
    }

    pub fn get(&self, class: ErrorClass) -> u64 {
        match class {
            ErrorClass::BadRequest => self.bad_request,
            ErrorClass::Upstream4xx => self.upstream_4xx,
            ErrorClass::Upstream5xx => self.upstream_5xx,
            ErrorClass::Unreachable => self.unreachable,
            ErrorClass::Timeout => self.timeout,
            ErrorClass::Module => self.module,
            ErrorClass::ClientClosed => self.client_closed,
        }
    }

    pub fn total(&self) -> u64 {
        ErrorClass::ALL.iter().map(|c| self.get(*c)).sum()
    }

    fn merge(&mut self, other: &ErrorCounts) {
        for class in ErrorClass::ALL {
            *self.slot(class) += other.get(class);
        }
    }
}

/// What `/status/routes` shows for a route and for each of its targets.
#[derive(Clone, Default)]
pub struct Counters {
    pub requests: u64,
    pub responses_2xx: u64,
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    pub errors: ErrorCounts,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cost: f64,
    pub retries: u64,
    pub latency: Histogram,
    pub ttft: Histogram,
}

impl Counters {
    fn record(&mut self, outcome: &Outcome) {
        self.requests += 1;
        match outcome.status {
            400..=499 => self.responses_4xx += 1,
            500..=599 => self.responses_5xx += 1,
            _ => self.responses_2xx += 1,
        }
        if let Some(class) = outcome.error {
            *self.errors.slot(class) += 1;
        }
        self.prompt_tokens += outcome.tokens.prompt;
        self.completion_tokens += outcome.tokens.completion;
        self.total_tokens += outcome.tokens.total;
        self.cost += outcome.cost;
        self.retries += u64::from(outcome.retries);
        self.latency.record(outcome.latency_us);
        if let Some(ttft) = outcome.ttft_us {
            self.ttft.record(ttft);
        }
    }

    fn merge(&mut self, other: &Counters) {
        self.requests += other.requests;
        self.responses_2xx += other.responses_2xx;
        self.responses_4xx += other.responses_4xx;
        self.responses_5xx += other.responses_5xx;
        self.errors.merge(&other.errors);
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.cost += other.cost;
        self.retries += other.retries;
        self.latency.merge(&other.latency);
        self.ttft.merge(&other.ttft);
    }
}

/// The GenAI metrics of one target, in the semantic conventions' buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct GenAiHistograms {
    pub input_tokens: Buckets,
    pub output_tokens: Buckets,
    pub duration: Buckets,
    pub ttft: Buckets,
    pub tpot: Buckets,
}

impl Default for GenAiHistograms {
    fn default() -> GenAiHistograms {
        GenAiHistograms {
            input_tokens: Buckets::new(TOKEN_BOUNDS),
            output_tokens: Buckets::new(TOKEN_BOUNDS),
            duration: Buckets::new(DURATION_BOUNDS),
            ttft: Buckets::new(TTFT_BOUNDS),
            tpot: Buckets::new(TPOT_BOUNDS),
        }
    }
}

impl GenAiHistograms {
    /// Token usage is recorded for successful responses only: an error has no usage to report.
    fn record(&mut self, outcome: &Outcome) {
        let success = outcome.error.is_none() && (200..300).contains(&outcome.status);
        if success {
            self.input_tokens.record(outcome.tokens.prompt as f64);
            self.output_tokens.record(outcome.tokens.completion as f64);
        }
        self.duration.record(outcome.latency_us as f64 / 1e6);
        if let Some(ttft) = outcome.ttft_us {
            self.ttft.record(ttft as f64 / 1e6);
        }
        if let Some(tpot) = outcome.tpot_us {
            self.tpot.record(tpot as f64 / 1e6);
        }
    }

    fn merge(&mut self, other: &GenAiHistograms) {
        self.input_tokens.merge(&other.input_tokens);
        self.output_tokens.merge(&other.output_tokens);
        self.duration.merge(&other.duration);
        self.ttft.merge(&other.ttft);
        self.tpot.merge(&other.tpot);
    }
}

#[derive(Clone, Default)]
pub struct TargetStats {
    pub counters: Counters,
    pub genai: GenAiHistograms,
}

impl TargetStats {
    fn record(&mut self, outcome: &Outcome) {
        self.counters.record(outcome);
        self.genai.record(outcome);
    }
}

#[derive(Clone, Default)]
pub struct RouteStats {
    pub totals: Counters,
    pub targets: HashMap<TargetKey, TargetStats, foldhash::fast::RandomState>,
}

impl RouteStats {
    pub fn record(&mut self, outcome: &Outcome) {
        self.totals.record(outcome);
        // A target seen before, the usual case, is found without copying its key.
        if let Some(target) = self.targets.get_mut(&outcome.target) {
            return target.record(outcome);
        }
        let key = if self.targets.len() < MAX_TARGETS_PER_ROUTE {
            outcome.target.clone()
        } else {
            TargetKey::overflow()
        };
        self.targets.entry(key).or_default().record(outcome);
    }

    pub fn merge(&mut self, other: &RouteStats) {
        self.totals.merge(&other.totals);
        for (key, stats) in &other.targets {
            let mine = self.targets.entry(key.clone()).or_default();
            mine.counters.merge(&stats.counters);
            mine.genai.merge(&stats.genai);
        }
    }

    /// The targets in a stable order (by model, answering model, host), for output.
    pub fn sorted_targets(&self) -> Vec<(&TargetKey, &TargetStats)> {
        let mut targets: Vec<_> = self.targets.iter().collect();
        targets.sort_by(|a, b| {
            (&a.0.model, &a.0.response_model, &a.0.host).cmp(&(
                &b.0.model,
                &b.0.response_model,
                &b.0.host,
            ))
        });
        targets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(model: &str) -> TargetKey {
        TargetKey {
            model: model.to_string(),
            response_model: format!("{model}-0613"),
            host: "api.openai.com".to_string(),
        }
    }

    fn ok(model: &str, prompt: u64, completion: u64) -> Outcome {
        Outcome {
            status: 200,
            target: target(model),
            tokens: Tokens {
                prompt,
                completion,
                total: prompt + completion,
                ..Tokens::default()
            },
            latency_us: 1_500,
            ..Outcome::default()
        }
    }

    #[test]
    fn route_stats_count_by_class_and_sum_tokens_in_total_and_per_target() {
        let mut s = RouteStats::default();
        s.record(&Outcome {
            cost: 0.00037,
            ttft_us: Some(300),
            retries: 2,
            ..ok("gpt-4o", 25, 12)
        });
        s.record(&Outcome {
            status: 504,
            error: Some(ErrorClass::Timeout),
            latency_us: 60_000_000,
            ..ok("gpt-4o-mini", 0, 0)
        });
        assert_eq!(s.totals.requests, 2);
        assert_eq!((s.totals.responses_2xx, s.totals.responses_5xx), (1, 1));
        assert_eq!(s.totals.errors.timeout, 1);
        assert_eq!(s.totals.total_tokens, 37);
        assert_eq!(s.totals.retries, 2);
        assert_eq!(s.totals.latency.count(), 2);
        assert_eq!(s.totals.ttft.count(), 1);

        let gpt4o = &s.targets[&target("gpt-4o")];
        assert_eq!(gpt4o.counters.requests, 1);
        assert_eq!(gpt4o.counters.prompt_tokens, 25);
        assert_eq!(gpt4o.genai.input_tokens.count(), 1);
        assert_eq!(gpt4o.genai.input_tokens.sum(), 25.0);
        assert_eq!(gpt4o.genai.ttft.count(), 1);
        let mini = &s.targets[&target("gpt-4o-mini")];
        assert_eq!(mini.counters.errors.timeout, 1);
        // A failed request has a duration but no token usage.
        assert_eq!(mini.genai.duration.count(), 1);
        assert_eq!(mini.genai.input_tokens.count(), 0);
    }

    #[test]
    fn targets_beyond_the_cap_share_the_overflow_target() {
        let mut s = RouteStats::default();
        for i in 0..MAX_TARGETS_PER_ROUTE + 5 {
            s.record(&ok(&format!("m{i}"), 1, 1));
        }
        s.record(&ok("m0", 1, 1));
        assert_eq!(s.targets.len(), MAX_TARGETS_PER_ROUTE + 1);
        assert_eq!(s.targets[&TargetKey::overflow()].counters.requests, 5);
        assert_eq!(s.targets[&target("m0")].counters.requests, 2);
    }

    #[test]
    fn merging_workers_adds_totals_and_targets() {
        let (mut a, mut b) = (RouteStats::default(), RouteStats::default());
        a.record(&ok("x", 10, 5));
        b.record(&ok("x", 1, 1));
        b.record(&ok("y", 2, 2));
        a.merge(&b);
        assert_eq!(a.totals.requests, 3);
        assert_eq!(a.targets[&target("x")].counters.prompt_tokens, 11);
        assert_eq!(a.targets[&target("x")].genai.input_tokens.count(), 2);
        assert_eq!(a.targets[&target("y")].counters.requests, 1);
        let order: Vec<&str> = a
            .sorted_targets()
            .iter()
            .map(|(k, _)| k.model.as_str())
            .collect();
        assert_eq!(order, ["x", "y"]);
    }
}
