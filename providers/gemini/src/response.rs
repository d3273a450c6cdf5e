//! `GenerateContentResponse`, read borrowed, and what it becomes for the client: a chat
//! completion, a text completion, or (in [`crate::stream`]) chunks.
//!
//! - Each candidate is a choice, in `index` order. Its text parts are joined; thought parts
//!   (`thought: true`, a thinking model's reasoning) are left out; `functionCall` parts become
//!   `tool_calls` with Gemini's `id` when it gives one, else a fresh `call_…` id, and the arguments
//!   as compact JSON text. Other parts (inline images, code execution) only answer tools or
//!   output modalities the gateway never asks for, and are left out.
//! - `finishReason` is mapped by [`crate::finish_reason`]; a `STOP` with function calls is
//!   `tool_calls`.
//! - A prompt blocked before any candidate (`promptFeedback.blockReason`, no candidates) is one
//!   choice with empty content and `content_filter` (Kong answers 500).
//! - `id` is `responseId` when present, else a fresh id; `model` is `modelVersion` when present,
//!   else the model asked for (Kong always writes the configured name).
//! - Usage: see [`crate::usage`].

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, RouteType, TranslatedResponse};
use provider_sdk::finish_reason::FinishReason;
use provider_sdk::openai::{
    new_response_id, unix_time_now, AssistantMessage, ChatChoice, ChatCompletion, OutputToolCall,
    TextChoice, TextCompletion,
};
use provider_sdk::tool_calls::input_to_arguments;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::GoogleError;
use crate::finish_reason::finish_reason;
use crate::tool_call_id;
use crate::usage::{usage, UsageMetadata};
use crate::PROVIDER;

/// `GenerateContentResponse`, and one element or event of a stream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse<'a> {
    #[serde(default, borrow)]
    pub candidates: Vec<Candidate<'a>>,
    #[serde(default, borrow)]
    pub prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default, borrow)]
    pub model_version: Cow<'a, str>,
    #[serde(default, borrow)]
    pub response_id: Cow<'a, str>,
    /// An error Google reports inside a stream.
    #[serde(default, borrow)]
    pub error: Option<GoogleError<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate<'a> {
    #[serde(default, borrow)]
    pub content: Option<CandidateContent<'a>>,
    #[serde(default, borrow)]
    pub finish_reason: Cow<'a, str>,
    #[serde(default)]
    pub index: u32,
}

#[derive(Debug, Default, Deserialize)]
pub struct CandidateContent<'a> {
    #[serde(default, borrow)]
    pub parts: Vec<ResponsePart<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePart<'a> {
    #[serde(default, borrow)]
    pub text: Cow<'a, str>,
    #[serde(default)]
    pub thought: bool,
    #[serde(default, borrow)]
    pub function_call: Option<FunctionCall<'a>>,
    #[serde(default, borrow)]
    pub thought_signature: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FunctionCall<'a> {
    #[serde(default, borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub args: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback<'a> {
    #[serde(default, borrow)]
    pub block_reason: Cow<'a, str>,
}

impl<'a> GenerateContentResponse<'a> {
    pub fn parse(body: &'a [u8]) -> Result<GenerateContentResponse<'a>, serde_json::Error> {
        provider_sdk::json_bytes::from_bytes(body)
    }

    /// Whether Google blocked the prompt before generating anything.
    pub fn prompt_blocked(&self) -> bool {
        self.candidates.is_empty()
            && self
                .prompt_feedback
                .as_ref()
                .is_some_and(|feedback| !feedback.block_reason.is_empty())
    }
}

impl ResponsePart<'_> {
    /// The part's answer text: none for a thought or a function call.
    pub fn answer_text(&self) -> &str {
        if self.thought || self.function_call.is_some() {
            ""
        } else {
            &self.text
        }
    }

    /// The part's function call as an OpenAI tool call.
    pub fn tool_call(&self) -> Option<OutputToolCall<'_>> {
        let call = self.function_call.as_ref()?;
        let id = if call.id.is_empty() {
            new_response_id("call_")
        } else {
            call.id.to_string()
        };
        let signature = Some(self.thought_signature.as_ref()).filter(|s| !s.is_empty());
        Some(OutputToolCall {
            id: Cow::Owned(tool_call_id::encode(&id, signature)),
            name: Cow::Borrowed(&call.name),
            arguments: input_to_arguments(call.args),
        })
    }
}

/// One candidate as a choice's parts: its text, its tool calls and why it ended.
struct Answer<'r> {
    text: String,
    tool_calls: Vec<OutputToolCall<'r>>,
    finish_reason: FinishReason,
}

fn answers<'r>(response: &'r GenerateContentResponse<'_>) -> Vec<Answer<'r>> {
    if response.prompt_blocked() {
        return vec![Answer {
            text: String::new(),
            tool_calls: Vec::new(),
            finish_reason: FinishReason::ContentFilter,
        }];
    }
    let mut candidates: Vec<&Candidate<'_>> = response.candidates.iter().collect();
    candidates.sort_by_key(|candidate| candidate.index);
    candidates
        .into_iter()
        .map(|candidate| {
            let parts = candidate
                .content
                .as_ref()
                .map_or(&[][..], |content| content.parts.as_slice());
            let text: String = parts.iter().map(ResponsePart::answer_text).collect();
            let tool_calls: Vec<_> = parts.iter().filter_map(ResponsePart::tool_call).collect();
            Answer {
                finish_reason: finish_reason(&candidate.finish_reason, !tool_calls.is_empty()),
                text,
                tool_calls,
            }
        })
        .collect()
}

/// The client's answer to a `200` from `generateContent`, for a chat or a completions route.
pub fn translate(plan: &RequestPlan<'_>, body: &[u8]) -> Result<TranslatedResponse, ModuleError> {
    let failed = |reason: &str| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {PROVIDER}://{}: {reason}",
            plan.route_type.as_str()
        ))
    };
    let response = GenerateContentResponse::parse(body)
        .map_err(|e| failed(&format!("response is not a GenerateContentResponse: {e}")))?;
    if let Some(error) = &response.error {
        return Err(failed(&error.message));
    }
    let answers = answers(&response);
    if answers.is_empty() {
        return Err(failed("no generation candidates received from Gemini"));
    }
    let completions = plan.route_type == RouteType::COMPLETIONS;
    let id = match response.response_id.as_ref() {
        "" if completions => new_response_id("cmpl-"),
        "" => new_response_id("chatcmpl-"),
        id => id.to_owned(),
    };
    let model = match response.model_version.as_ref() {
        "" => plan.model.as_str(),
        version => version,
    };
    let usage = usage(response.usage_metadata.as_ref());
    let built = if completions {
        TextCompletion {
            id: &id,
            created: unix_time_now(),
            model,
            choices: answers
                .into_iter()
                .map(|answer| TextChoice {
                    text: Cow::Owned(answer.text),
                    finish_reason: answer.finish_reason,
                })
                .collect(),
            usage,
        }
        .build()?
    } else {
        ChatCompletion {
            id: &id,
            created: unix_time_now(),
            model,
            choices: answers
                .into_iter()
                .map(|answer| ChatChoice {
                    message: AssistantMessage {
                        content: (!answer.text.is_empty() || answer.tool_calls.is_empty())
                            .then_some(Cow::Owned(answer.text)),
                        refusal: None,
                        tool_calls: answer.tool_calls,
                    },
                    finish_reason: answer.finish_reason,
                })
                .collect(),
            usage,
        }
        .build()?
    };
    Ok(built.into_translated())
}
