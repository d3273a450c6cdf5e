//! Cohere's token counts, read into the gateway's [`Usage`].
//!
//! | where | prompt | completion | cached |
//! |---|---|---|---|
//! | v2 chat `usage`, v1 `meta` | `tokens.input_tokens`, else `billed_units.input_tokens` | `tokens.output_tokens`, else `billed_units.output_tokens` | `cached_tokens` |
//! | v1 chat, older responses | `token_count.prompt_tokens` | `token_count.response_tokens` | — |
//! | embed `meta` | `tokens.input_tokens`, else `billed_units.input_tokens` | — | — |
//!
//! `tokens` are what the model read and wrote; `billed_units` leave out the tokens Cohere adds to
//! the prompt itself, so they are the fallback. `cached_tokens` counts prompt tokens that hit
//! Cohere's cache, which are part of the input. Cohere documents every count as a double; whole
//! numbers are read, anything else is "not reported".

use abi_stable::std_types::ROption;
use provider_sdk::abi::Usage;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A token count as Cohere writes it (`81`, or `81.0`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count(pub Option<u64>);

impl<'de> serde::Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a token count")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
        Ok(Count(Some(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
        Ok(Count(u64::try_from(v).ok()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Count, E> {
        let whole = v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64;
        // Exact: `v` is a whole number within u64's range.
        Ok(Count(whole.then_some(v as u64)))
    }

    fn visit_unit<E>(self) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Count(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Count(None))
    }
}

/// `tokens` or `billed_units`.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct TokenPair {
    #[serde(default)]
    pub input_tokens: Count,
    #[serde(default)]
    pub output_tokens: Count,
}

/// v2 chat's `usage`; v1's `meta` has the same members.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct CohereUsage {
    #[serde(default)]
    pub billed_units: Option<TokenPair>,
    #[serde(default)]
    pub tokens: Option<TokenPair>,
    #[serde(default)]
    pub cached_tokens: Count,
}

/// v1 chat's older `token_count`.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct LegacyTokenCount {
    #[serde(default)]
    pub prompt_tokens: Count,
    #[serde(default)]
    pub response_tokens: Count,
    #[serde(default)]
    pub total_tokens: Count,
}

impl CohereUsage {
    fn input(self) -> Option<u64> {
        let tokens = self.tokens.and_then(|t| t.input_tokens.0);
        tokens.or_else(|| self.billed_units.and_then(|b| b.input_tokens.0))
    }

    fn output(self) -> Option<u64> {
        let tokens = self.tokens.and_then(|t| t.output_tokens.0);
        tokens.or_else(|| self.billed_units.and_then(|b| b.output_tokens.0))
    }

    /// A chat or generation's usage.
    pub fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.input().into(),
            completion_tokens: self.output().into(),
            total_tokens: ROption::RNone,
            cached_tokens: self.cached_tokens.0.into(),
        }
    }

    /// An embedding's usage: prompt tokens only.
    pub fn to_embedding_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.input().into(),
            ..Usage::default()
        }
    }
}

/// v1 chat's usage: `meta.tokens`, else the older `token_count`, else `meta.billed_units`.
pub fn v1_chat_usage(meta: Option<&CohereUsage>, token_count: Option<&LegacyTokenCount>) -> Usage {
    let measured = meta.and_then(|m| m.tokens);
    match (measured, token_count) {
        (None, Some(legacy)) => Usage {
            prompt_tokens: legacy.prompt_tokens.0.into(),
            completion_tokens: legacy.response_tokens.0.into(),
            total_tokens: legacy.total_tokens.0.into(),
            cached_tokens: meta.and_then(|m| m.cached_tokens.0).into(),
        },
        _ => meta.map(|m| m.to_usage()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};

    fn usage(json: &str) -> CohereUsage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tokens_come_before_billed_units() {
        let both = usage(
            r#"{"billed_units":{"input_tokens":17,"output_tokens":12},"tokens":{"input_tokens":215,"output_tokens":12},"cached_tokens":128}"#,
        );
        assert_eq!(
            both.to_usage(),
            Usage {
                prompt_tokens: RSome(215),
                completion_tokens: RSome(12),
                total_tokens: RNone,
                cached_tokens: RSome(128),
            }
        );
        let billed = usage(r#"{"billed_units":{"input_tokens":81.0,"output_tokens":258}}"#);
        assert_eq!(billed.to_usage().prompt_tokens, RSome(81));
        assert_eq!(billed.to_usage().completion_tokens, RSome(258));
        assert_eq!(billed.to_usage().cached_tokens, RNone, "not reported");
    }

    #[test]
    fn odd_counts_read_as_not_reported() {
        let odd = usage(
            r#"{"tokens":{"input_tokens":-1,"output_tokens":1.5},"cached_tokens":"3","billed_units":null}"#,
        );
        assert_eq!(odd.to_usage(), Usage::default());
        assert_eq!(usage("{}").to_usage(), Usage::default());
    }

    #[test]
    fn v1_prefers_measured_tokens_then_the_legacy_count() {
        let meta = usage(r#"{"billed_units":{"input_tokens":81,"output_tokens":258}}"#);
        let legacy: LegacyTokenCount = serde_json::from_str(
            r#"{"billed_tokens":339,"prompt_tokens":102,"response_tokens":258,"total_tokens":360}"#,
        )
        .unwrap();
        let from_legacy = v1_chat_usage(Some(&meta), Some(&legacy));
        assert_eq!(
            (
                from_legacy.prompt_tokens,
                from_legacy.completion_tokens,
                from_legacy.total_tokens
            ),
            (RSome(102), RSome(258), RSome(360))
        );
        assert_eq!(v1_chat_usage(Some(&meta), None).prompt_tokens, RSome(81));
        let measured = usage(r#"{"tokens":{"input_tokens":90,"output_tokens":258}}"#);
        assert_eq!(
            v1_chat_usage(Some(&measured), Some(&legacy)).prompt_tokens,
            RSome(90)
        );
        assert_eq!(v1_chat_usage(None, None), Usage::default());
    }
}
