//! `text_completion`.

use std::borrow::Cow;

use abi_stable::std_types::{RString, RVec};
use serde::Serialize;

use super::usage::UsageWire;
use super::{to_json, BuiltResponse};
use crate::abi::{ModuleError, ResponseMeta, Usage};
use crate::finish_reason::FinishReason;

/// A text completion to write for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct TextCompletion<'a> {
    pub id: &'a str,
    pub created: u64,
    pub model: &'a str,
    pub choices: Vec<TextChoice<'a>>,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChoice<'a> {
    pub text: Cow<'a, str>,
    /// Written with [`FinishReason::for_text_completion`]: text completions have no tool calls.
    pub finish_reason: FinishReason,
}

impl TextCompletion<'_> {
    pub fn build(&self) -> Result<BuiltResponse, ModuleError> {
        let finish_reasons: Vec<&'static str> = self
            .choices
            .iter()
            .map(|c| c.finish_reason.for_text_completion().as_str())
            .collect();
        let wire = TextCompletionWire {
            id: self.id,
            object: "text_completion",
            created: self.created,
            model: self.model,
            choices: self
                .choices
                .iter()
                .zip(&finish_reasons)
                .enumerate()
                .map(|(index, (choice, finish_reason))| TextChoiceWire {
                    text: &choice.text,
                    index,
                    logprobs: None,
                    finish_reason,
                })
                .collect(),
            usage: UsageWire::of(&self.usage),
        };
        Ok(BuiltResponse {
            body: to_json(&wire)?,
            meta: ResponseMeta {
                usage: self.usage,
                response_model: self.model.into(),
                response_id: self.id.into(),
                finish_reasons: finish_reasons
                    .iter()
                    .map(|r| RString::from(*r))
                    .collect::<RVec<_>>(),
            },
        })
    }
}

#[derive(Serialize)]
struct TextCompletionWire<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<TextChoiceWire<'a>>,
    usage: UsageWire,
}

#[derive(Serialize)]
struct TextChoiceWire<'a> {
    text: &'a str,
    index: usize,
    logprobs: Option<()>,
    finish_reason: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::RSome;
    use serde_json::json;

    #[test]
    fn a_completion_has_every_required_field() {
        let usage = Usage {
            prompt_tokens: RSome(4),
            completion_tokens: RSome(16),
            ..Usage::default()
        };
        let built = TextCompletion {
            id: "cmpl-1",
            created: 5,
            model: "command",
            choices: vec![
                TextChoice {
                    text: "1 + 1 is 2.".into(),
                    finish_reason: FinishReason::Stop,
                },
                TextChoice {
                    text: "Two".into(),
                    finish_reason: FinishReason::ToolCalls,
                },
            ],
            usage,
        }
        .build()
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&built.body).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "cmpl-1", "object": "text_completion", "created": 5, "model": "command",
                "choices": [
                    {"text": "1 + 1 is 2.", "index": 0, "logprobs": null, "finish_reason": "stop"},
                    {"text": "Two", "index": 1, "logprobs": null, "finish_reason": "stop"},
                ],
                "usage": {"prompt_tokens": 4, "completion_tokens": 16, "total_tokens": 20},
            })
        );
        assert_eq!(
            built.meta.finish_reasons.as_slice(),
            &[RString::from("stop"), RString::from("stop")]
        );
        assert_eq!(built.meta.response_id.as_str(), "cmpl-1");
        assert_eq!(built.meta.usage, usage);
    }
}
