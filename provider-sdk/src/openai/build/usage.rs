//! `usage` as OpenAI writes it.
//!
//! Convention (the same for every provider): `prompt_tokens` includes prompt tokens served from
//! the provider's cache, and `prompt_tokens_details.cached_tokens` says how many those were. A
//! count the provider did not report is written as 0, since OpenAI's schema requires integers;
//! the gateway's meta keeps it as "not reported".

use serde::Serialize;

use crate::abi::Usage;

#[derive(Debug, Serialize)]
pub(crate) struct UsageWire {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Serialize)]
struct PromptTokensDetails {
    cached_tokens: u64,
}

/// An embeddings list's usage, which has no completion.
#[derive(Debug, Serialize)]
pub(crate) struct EmbeddingUsageWire {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// The reported total, else prompt plus completion.
fn total(usage: &Usage) -> u64 {
    let prompt = usage.prompt_tokens.unwrap_or(0);
    let completion = usage.completion_tokens.unwrap_or(0);
    usage
        .total_tokens
        .into_option()
        .unwrap_or(prompt.saturating_add(completion))
}

impl UsageWire {
    pub(crate) fn of(usage: &Usage) -> UsageWire {
        UsageWire {
            prompt_tokens: usage.prompt_tokens.unwrap_or(0),
            completion_tokens: usage.completion_tokens.unwrap_or(0),
            total_tokens: total(usage),
            prompt_tokens_details: usage
                .cached_tokens
                .into_option()
                .map(|cached_tokens| PromptTokensDetails { cached_tokens }),
        }
    }
}

impl EmbeddingUsageWire {
    pub(crate) fn of(usage: &Usage) -> EmbeddingUsageWire {
        EmbeddingUsageWire {
            prompt_tokens: usage.prompt_tokens.unwrap_or(0),
            total_tokens: total(usage),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};

    fn json(usage: Usage) -> String {
        serde_json::to_string(&UsageWire::of(&usage)).unwrap()
    }

    #[test]
    fn reported_counts_are_written_as_reported() {
        let usage = Usage {
            prompt_tokens: RSome(2006),
            completion_tokens: RSome(300),
            total_tokens: RSome(2306),
            cached_tokens: RSome(1920),
        };
        assert_eq!(
            json(usage),
            r#"{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920}}"#
        );
    }

    #[test]
    fn missing_counts_are_zero_and_the_total_is_summed() {
        let usage = Usage {
            prompt_tokens: RSome(7),
            completion_tokens: RNone,
            total_tokens: RNone,
            cached_tokens: RNone,
        };
        assert_eq!(
            json(usage),
            r#"{"prompt_tokens":7,"completion_tokens":0,"total_tokens":7}"#
        );
        let reported_zero_cache = Usage {
            cached_tokens: RSome(0),
            ..Usage::default()
        };
        assert_eq!(
            json(reported_zero_cache),
            r#"{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}"#
        );
    }

    #[test]
    fn embeddings_usage_has_no_completion() {
        let usage = Usage {
            prompt_tokens: RSome(8),
            ..Usage::default()
        };
        assert_eq!(
            serde_json::to_string(&EmbeddingUsageWire::of(&usage)).unwrap(),
            r#"{"prompt_tokens":8,"total_tokens":8}"#
        );
    }
}
