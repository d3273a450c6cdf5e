//! Gemini's `usageMetadata` as OpenAI's usage.

use provider_sdk::abi::Usage;
use serde::Deserialize;

/// `usageMetadata`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: Option<u64>,
    #[serde(default)]
    pub cached_content_token_count: Option<u64>,
    #[serde(default)]
    pub candidates_token_count: Option<u64>,
    #[serde(default)]
    pub thoughts_token_count: Option<u64>,
    #[serde(default)]
    pub tool_use_prompt_token_count: Option<u64>,
    #[serde(default)]
    pub total_token_count: Option<u64>,
}

/// `usageMetadata` as OpenAI's usage.
///
/// - `prompt_tokens` = `promptTokenCount` + `toolUsePromptTokenCount`. Google documents that
///   `promptTokenCount` already includes `cachedContentTokenCount` ("when cached_content is set,
///   this is still the total effective prompt size"), which is our convention; the tool-use
///   prompt (built-in tools' input) is input the model read too.
/// - `cached_tokens` = `cachedContentTokenCount`.
/// - `completion_tokens` = `candidatesTokenCount` + `thoughtsTokenCount`: a thinking model's
///   thoughts are output it generated and is billed for, as OpenAI counts reasoning tokens in
///   `completion_tokens`.
/// - `total_tokens` = `totalTokenCount`, which is the sum of the four.
///
/// proto3's JSON leaves out counts that are zero, so once `usageMetadata` is there, an absent
/// prompt, candidates or total count is a reported 0 (a blocked prompt has no candidates count).
/// An absent `cachedContentTokenCount` stays "not reported": it only appears when a cache was
/// involved, so `prompt_tokens_details` is only written then.
pub fn usage(metadata: Option<&UsageMetadata>) -> Usage {
    let Some(metadata) = metadata else {
        return Usage::default();
    };
    let count = |n: Option<u64>| n.unwrap_or(0);
    Usage {
        prompt_tokens: Some(
            count(metadata.prompt_token_count)
                .saturating_add(count(metadata.tool_use_prompt_token_count)),
        )
        .into(),
        completion_tokens: Some(
            count(metadata.candidates_token_count)
                .saturating_add(count(metadata.thoughts_token_count)),
        )
        .into(),
        total_tokens: Some(count(metadata.total_token_count)).into(),
        cached_tokens: metadata.cached_content_token_count.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_thoughts_as_completion_and_keeps_the_cache() {
        let metadata = UsageMetadata {
            prompt_token_count: Some(2006),
            cached_content_token_count: Some(1920),
            candidates_token_count: Some(300),
            thoughts_token_count: Some(50),
            tool_use_prompt_token_count: Some(4),
            total_token_count: Some(2360),
        };
        let usage = usage(Some(&metadata));
        assert_eq!(usage.prompt_tokens.into_option(), Some(2010));
        assert_eq!(usage.completion_tokens.into_option(), Some(350));
        assert_eq!(usage.total_tokens.into_option(), Some(2360));
        assert_eq!(usage.cached_tokens.into_option(), Some(1920));
    }

    #[test]
    fn absent_counts_are_proto3_zeros_except_the_cache() {
        let usage = usage(Some(&UsageMetadata {
            prompt_token_count: Some(319),
            total_token_count: Some(319),
            ..UsageMetadata::default()
        }));
        assert_eq!(usage.completion_tokens.into_option(), Some(0));
        assert_eq!(usage.cached_tokens.into_option(), None);
        assert_eq!(super::usage(None), Usage::default());
    }
}
