//! Anthropic's token counts, and how they become OpenAI's.
//!
//! Anthropic reports `input_tokens` without the prompt tokens it read from or wrote to its cache
//! (`cache_read_input_tokens`, `cache_creation_input_tokens`); OpenAI's `prompt_tokens` includes
//! them (provider-sdk's usage convention). So `prompt_tokens` is the sum of the three and
//! `cached_tokens` the cache reads. Anthropic reports no total; the gateway and the response
//! writer add prompt and completion.
//!
//! In a stream, `message_start` carries the prompt counts and a first `output_tokens`, and each
//! `message_delta` carries the running totals so far (`output_tokens`, and in newer API versions
//! the prompt counts again), never increments: a reported count replaces the earlier one.

use abi_stable::std_types::ROption;
use provider_sdk::abi::Usage;

/// `usage` as Anthropic writes it; other members (`service_tier`, `server_tool_use`, …) are
/// skipped. Every count is optional: a missing one is "not reported", not zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct AnthropicUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Takes every count `later` reports, keeping the others (stream events report running
    /// totals, some of them only).
    pub fn update(&mut self, later: &AnthropicUsage) {
        let take = |slot: &mut Option<u64>, new: Option<u64>| {
            if new.is_some() {
                *slot = new;
            }
        };
        take(&mut self.input_tokens, later.input_tokens);
        take(&mut self.output_tokens, later.output_tokens);
        take(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        take(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
    }

    /// The counts in OpenAI's terms.
    pub fn to_usage(self) -> Usage {
        let prompt_parts = [
            self.input_tokens,
            self.cache_read_input_tokens,
            self.cache_creation_input_tokens,
        ];
        let prompt = prompt_parts
            .into_iter()
            .flatten()
            .reduce(u64::saturating_add);
        Usage {
            prompt_tokens: prompt.into(),
            completion_tokens: self.output_tokens.into(),
            total_tokens: ROption::RNone,
            cached_tokens: self.cache_read_input_tokens.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};

    fn usage(json: &str) -> AnthropicUsage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cache_reads_and_writes_are_prompt_tokens() {
        let counts = usage(
            r#"{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":300,"service_tier":"standard","cache_creation":{"ephemeral_5m_input_tokens":1000}}"#,
        );
        assert_eq!(
            counts.to_usage(),
            Usage {
                prompt_tokens: RSome(3050),
                completion_tokens: RSome(300),
                total_tokens: RNone,
                cached_tokens: RSome(2000),
            }
        );
    }

    #[test]
    fn unreported_counts_stay_unreported() {
        assert_eq!(usage(r#"{"foo":0,"bar":0}"#).to_usage(), Usage::default());
        let plain = usage(r#"{"input_tokens":11,"output_tokens":0}"#).to_usage();
        assert_eq!(plain.prompt_tokens, RSome(11));
        assert_eq!(plain.completion_tokens, RSome(0), "a reported zero is kept");
        assert_eq!(plain.cached_tokens, RNone);
        let nulls = usage(r#"{"input_tokens":5,"cache_read_input_tokens":null}"#).to_usage();
        assert_eq!(nulls.cached_tokens, RNone);
    }

    #[test]
    fn later_running_totals_replace_earlier_ones() {
        let mut counts =
            usage(r#"{"input_tokens":377,"cache_read_input_tokens":0,"output_tokens":1}"#);
        counts.update(&usage(r#"{"output_tokens":65}"#));
        assert_eq!(counts.to_usage().completion_tokens, RSome(65), "not 66");
        assert_eq!(counts.to_usage().prompt_tokens, RSome(377));
        counts.update(&usage(r#"{"input_tokens":380,"output_tokens":70}"#));
        assert_eq!(counts.to_usage().prompt_tokens, RSome(380));
        assert_eq!(counts.to_usage().cached_tokens, RSome(0));
    }
}
