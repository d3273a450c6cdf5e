//! Bedrock's `TokenUsage` (Converse responses and the stream's `metadata` event) as OpenAI usage.
//!
//! Bedrock reports prompt-cache reads and writes apart from `inputTokens`, as Anthropic does: with
//! caching on, `inputTokens` counts only the prompt tokens that were neither read from nor written
//! to the cache, while `totalTokens` counts all of them. Following provider-sdk's convention,
//! `prompt_tokens` is `inputTokens + cacheReadInputTokens + cacheWriteInputTokens`, `cached_tokens`
//! is `cacheReadInputTokens`, and `total_tokens` is Bedrock's `totalTokens`, which then equals
//! prompt plus completion. A count Bedrock leaves out stays "not reported".

use abi_stable::std_types::ROption;
use provider_sdk::abi::Usage;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub total_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_write_input_tokens: Option<u64>,
}

impl TokenUsage {
    pub fn to_usage(self) -> Usage {
        let cache = self
            .cache_read_input_tokens
            .unwrap_or(0)
            .saturating_add(self.cache_write_input_tokens.unwrap_or(0));
        Usage {
            prompt_tokens: self
                .input_tokens
                .map(|input| input.saturating_add(cache))
                .into(),
            completion_tokens: self.output_tokens.into(),
            total_tokens: self.total_tokens.into(),
            cached_tokens: ROption::from(self.cache_read_input_tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};

    fn usage(json: &str) -> Usage {
        serde_json::from_str::<TokenUsage>(json).unwrap().to_usage()
    }

    #[test]
    fn plain_counts_are_kept() {
        assert_eq!(
            usage(r#"{"inputTokens":5,"outputTokens":12,"totalTokens":17}"#),
            Usage {
                prompt_tokens: RSome(5),
                completion_tokens: RSome(12),
                total_tokens: RSome(17),
                cached_tokens: RNone,
            }
        );
    }

    #[test]
    fn cache_reads_and_writes_are_prompt_tokens() {
        assert_eq!(
            usage(
                r#"{"inputTokens":4,"outputTokens":200,"totalTokens":1234,"cacheReadInputTokens":1000,"cacheWriteInputTokens":30}"#
            ),
            Usage {
                prompt_tokens: RSome(1034),
                completion_tokens: RSome(200),
                total_tokens: RSome(1234),
                cached_tokens: RSome(1000),
            }
        );
        assert_eq!(
            usage(
                r#"{"inputTokens":9,"outputTokens":1,"totalTokens":10,"cacheReadInputTokens":0}"#
            )
            .cached_tokens,
            RSome(0),
            "a reported zero stays a zero"
        );
    }

    #[test]
    fn counts_not_reported_stay_unreported() {
        assert_eq!(usage("{}"), Usage::default());
        assert_eq!(
            usage(r#"{"prompt_tokens":19,"completion_tokens":119,"total_tokens":138}"#),
            Usage::default(),
            "OpenAI's names are not Bedrock's"
        );
    }
}
