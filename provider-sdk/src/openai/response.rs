//! A skim of an OpenAI response or stream chunk: the few fields the gateway meters, read without
//! deserializing the content (messages, embeddings, logprobs are skipped in place).

use std::borrow::Cow;

use abi_stable::std_types::{RString, RVec};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lenient::{other_kinds_give, LenientCount, LenientStr};
use crate::abi::{ResponseMeta, Usage};
use crate::json_edit::ObjectKey;

/// What the gateway reads from a chat completion, text completion, embeddings list or one chunk of
/// a stream. Fields of an unexpected type read as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseSkim<'a> {
    pub id: Option<Cow<'a, str>>,
    pub model: Option<Cow<'a, str>>,
    /// `None` when `usage` is absent, `null` or not an object.
    pub usage: Option<Usage>,
    /// The non-null `choices[].finish_reason` values, in order.
    pub finish_reasons: Vec<Cow<'a, str>>,
    /// The number of choices, when `choices` is an array.
    pub choices: Option<usize>,
    /// Whether `data` is an array (an embeddings list).
    pub has_data: bool,
    /// Whether the body carries a non-null `error` (an in-stream or mislabelled error).
    pub has_error: bool,
}

impl<'a> ResponseSkim<'a> {
    /// Skims `body`; fails only when it is not JSON or not an object.
    pub fn parse(body: &'a [u8]) -> Result<ResponseSkim<'a>, serde_json::Error> {
        crate::json_bytes::from_bytes(body)
    }

    pub fn usage(&self) -> Usage {
        self.usage.unwrap_or_default()
    }

    pub fn to_meta(&self) -> ResponseMeta {
        ResponseMeta {
            usage: self.usage(),
            response_model: self.model.as_deref().unwrap_or_default().into(),
            response_id: self.id.as_deref().unwrap_or_default().into(),
            finish_reasons: self
                .finish_reasons
                .iter()
                .map(|r| RString::from(r.as_ref()))
                .collect::<RVec<RString>>(),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ResponseSkim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SkimVisitor(std::marker::PhantomData))
    }
}

struct SkimVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for SkimVisitor<'a> {
    type Value = ResponseSkim<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut skim = ResponseSkim::default();
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "id" => skim.id = map.next_value::<LenientStr<'a>>()?.0,
                "model" => skim.model = map.next_value::<LenientStr<'a>>()?.0,
                "usage" => skim.usage = map.next_value::<UsageSkim>()?.0,
                "choices" => {
                    let choices = map.next_value::<ChoicesSkim<'a>>()?;
                    skim.choices = choices.count;
                    skim.finish_reasons = choices.finish_reasons;
                }
                "data" => skim.has_data = map.next_value::<IsArray>()?.0,
                "error" => skim.has_error = !map.next_value::<IsNull>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(skim)
    }
}

struct UsageSkim(Option<Usage>);

impl<'de> Deserialize<'de> for UsageSkim {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UsageVisitor)
    }
}

struct UsageVisitor;

impl<'de> Visitor<'de> for UsageVisitor {
    type Value = UsageSkim;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a usage object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut usage = Usage::default();
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "prompt_tokens" => usage.prompt_tokens = map.next_value::<LenientCount>()?.0.into(),
                "completion_tokens" => {
                    usage.completion_tokens = map.next_value::<LenientCount>()?.0.into()
                }
                "total_tokens" => usage.total_tokens = map.next_value::<LenientCount>()?.0.into(),
                "prompt_tokens_details" => {
                    usage.cached_tokens = map.next_value::<CachedTokens>()?.0.into()
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(UsageSkim(Some(usage)))
    }

    other_kinds_give!(UsageSkim(None); bool, i64, u64, f64, str, unit, seq);
}

/// `prompt_tokens_details.cached_tokens`.
struct CachedTokens(Option<u64>);

impl<'de> Deserialize<'de> for CachedTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CachedTokensVisitor)
    }
}

struct CachedTokensVisitor;

impl<'de> Visitor<'de> for CachedTokensVisitor {
    type Value = CachedTokens;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a token details object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cached = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            if key == "cached_tokens" {
                cached = map.next_value::<LenientCount>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(CachedTokens(cached))
    }

    other_kinds_give!(CachedTokens(None); bool, i64, u64, f64, str, unit, seq);
}

struct ChoicesSkim<'a> {
    count: Option<usize>,
    finish_reasons: Vec<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ChoicesSkim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ChoicesVisitor(std::marker::PhantomData))
    }
}

struct ChoicesVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'a> ChoicesVisitor<'a> {
    fn not_a_list() -> ChoicesSkim<'a> {
        ChoicesSkim {
            count: None,
            finish_reasons: Vec::new(),
        }
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ChoicesVisitor<'a> {
    type Value = ChoicesSkim<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of choices")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut count = 0;
        let mut finish_reasons = Vec::new();
        while let Some(FinishReason(reason)) = seq.next_element()? {
            count += 1;
            finish_reasons.extend(reason);
        }
        Ok(ChoicesSkim {
            count: Some(count),
            finish_reasons,
        })
    }

    other_kinds_give!(Self::not_a_list(); bool, i64, u64, f64, str, unit, map);
}

/// One choice, of which only `finish_reason` is read.
struct FinishReason<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for FinishReason<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FinishReasonVisitor(std::marker::PhantomData))
    }
}

struct FinishReasonVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FinishReasonVisitor<'a> {
    type Value = FinishReason<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a choice")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut reason = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            if key == "finish_reason" {
                reason = map.next_value::<LenientStr<'a>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(FinishReason(reason))
    }

    other_kinds_give!(FinishReason(None); bool, i64, u64, f64, str, unit, seq);
}

struct IsArray(bool);

impl<'de> Deserialize<'de> for IsArray {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IsArrayVisitor)
    }
}

struct IsArrayVisitor;

impl<'de> Visitor<'de> for IsArrayVisitor {
    type Value = IsArray;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IsArray(true))
    }

    other_kinds_give!(IsArray(false); bool, i64, u64, f64, str, unit, map);
}

struct IsNull(bool);

impl<'de> Deserialize<'de> for IsNull {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IsNullVisitor)
    }
}

struct IsNullVisitor;

impl<'de> Visitor<'de> for IsNullVisitor {
    type Value = IsNull;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(IsNull(true))
    }

    other_kinds_give!(IsNull(false); bool, i64, u64, f64, str, seq, map);
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/kong-ai-proxy"
    );

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{path}")).unwrap()
    }

    fn usage(prompt: u64, completion: Option<u64>, total: u64, cached: Option<u64>) -> Usage {
        Usage {
            prompt_tokens: ROption::RSome(prompt),
            completion_tokens: completion.into(),
            total_tokens: ROption::RSome(total),
            cached_tokens: cached.into(),
        }
    }

    #[test]
    fn kong_chat_response_meta() {
        let body = fixture("openai/llm-v1-chat/responses/good.json");
        let skim = ResponseSkim::parse(&body).unwrap();
        assert_eq!(skim.choices, Some(1));
        let meta = skim.to_meta();
        assert_eq!(meta.usage, usage(25, Some(12), 37, None));
        assert_eq!(meta.response_model.as_str(), "gpt-3.5-turbo-0613");
        assert_eq!(
            meta.response_id.as_str(),
            "chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2"
        );
        assert_eq!(meta.finish_reasons.len(), 1);
        assert_eq!(meta.finish_reasons[0].as_str(), "stop");
    }

    #[test]
    fn kong_completions_and_embeddings_meta() {
        let body = fixture("openai/llm-v1-completions/responses/good.json");
        let meta = ResponseSkim::parse(&body).unwrap().to_meta();
        assert_eq!(meta.usage, usage(4, Some(16), 20, None));
        assert_eq!(meta.finish_reasons[0].as_str(), "length");

        let body = fixture("openai/llm-v1-embeddings/responses/good.json");
        let skim = ResponseSkim::parse(&body).unwrap();
        assert!(skim.has_data);
        assert_eq!(skim.choices, None);
        assert_eq!(skim.model.as_deref(), Some("text-embedding-3-large"));
        let usage_value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            skim.usage().prompt_tokens,
            usage_value["usage"]["prompt_tokens"].as_u64().into()
        );
        assert_eq!(skim.usage().completion_tokens, ROption::RNone);
    }

    #[test]
    fn kong_bad_upstream_response_has_no_choices() {
        let body = fixture("openai/llm-v1-chat/responses/bad_upstream_response.json");
        let skim = ResponseSkim::parse(&body).unwrap();
        assert_eq!(skim.choices, None);
        assert_eq!(skim.to_meta(), ResponseMeta::default());
    }

    #[test]
    fn cached_tokens_and_multiple_choices() {
        let body = br#"{"id":"x","choices":[{"finish_reason":"stop","message":{"content":"{\"finish_reason\":1}"}},{"finish_reason":null},{"finish_reason":"length"}],
            "usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,
                     "prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},
                     "completion_tokens_details":{"reasoning_tokens":0}}}"#;
        let skim = ResponseSkim::parse(body).unwrap();
        assert_eq!(skim.choices, Some(3));
        assert_eq!(skim.finish_reasons, vec!["stop", "length"]);
        assert_eq!(skim.usage(), usage(2006, Some(300), 2306, Some(1920)));
    }

    #[test]
    fn odd_types_read_as_absent() {
        let body =
            br#"{"id":7,"model":null,"usage":"n/a","choices":{"0":{}},"data":{},"error":null}"#;
        let skim = ResponseSkim::parse(body).unwrap();
        assert_eq!(skim, ResponseSkim::default());

        let body = br#"{"usage":{"prompt_tokens":-1,"completion_tokens":1.0,"total_tokens":"3","prompt_tokens_details":null},"choices":[1,"x",null]}"#;
        let skim = ResponseSkim::parse(body).unwrap();
        assert_eq!(
            skim.usage(),
            Usage {
                completion_tokens: ROption::RSome(1),
                ..Usage::default()
            }
        );
        assert_eq!(skim.choices, Some(3));
        assert!(skim.finish_reasons.is_empty());
    }

    #[test]
    fn stream_chunks_and_errors() {
        let usage_chunk = br#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#;
        let skim = ResponseSkim::parse(usage_chunk).unwrap();
        assert_eq!(skim.choices, Some(0));
        assert_eq!(skim.usage(), usage(9, Some(3), 12, None));

        let error = br#"{"error":{"message":"overloaded","type":"server_error"}}"#;
        assert!(ResponseSkim::parse(error).unwrap().has_error);
    }

    #[test]
    fn non_objects_fail() {
        assert!(ResponseSkim::parse(b"[]").is_err());
        assert!(ResponseSkim::parse(b"<html>").is_err());
        assert!(ResponseSkim::parse(b"").is_err());
    }
}
