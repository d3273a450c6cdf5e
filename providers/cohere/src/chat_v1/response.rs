//! Cohere's v1 chat response as an OpenAI chat completion.
//!
//! | v1 | OpenAI |
//! |---|---|
//! | `generation_id`, else `response_id` | `id` (Kong's choice of id) |
//! | `text` | `message.content`; `null` when empty beside tool calls |
//! | `tool_calls[]` `{name, parameters}` | `message.tool_calls[]`, ids from [`super::tools::call_id`] |
//! | `finish_reason` | mapped; `COMPLETE` with tool calls is `tool_calls` (Kong: always `stop`) |
//! | `meta.tokens`, `token_count`, `meta.billed_units` | `usage` ([`crate::usage::v1_chat_usage`]) |

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, TranslatedResponse};
use provider_sdk::openai::{
    new_response_id, unix_time_now, AssistantMessage, ChatChoice, ChatCompletion, OutputToolCall,
};
use provider_sdk::tool_calls::input_to_arguments;
use serde_json::value::RawValue;

use super::tools::call_id;
use crate::error::unreadable;
use crate::finish_reason::{ending_of, generation_failed, Ending};
use crate::usage::{v1_chat_usage, CohereUsage, LegacyTokenCount};

/// Kong's reason for a body without a reply.
pub const NO_REPLY: &str = "'text' or 'generations' missing from cohere response body";

/// Translates a `/v1/chat` success body.
pub fn translate_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let response: V1ChatResponse<'_> = provider_sdk::json_bytes::from_bytes(body)
        .map_err(|e| unreadable(plan.route_type, &format!("not a v1 chat response: {e}")))?;
    let calls = response.tool_calls.unwrap_or_default();
    let Some(text) = response
        .text
        .or_else(|| (!calls.is_empty()).then_some(Cow::Borrowed("")))
    else {
        return Err(unreadable(plan.route_type, NO_REPLY));
    };
    let id = match response.generation_id.or(response.response_id) {
        Some(id) => id,
        None => Cow::Owned(new_response_id("chatcmpl-")),
    };
    let tool_calls: Vec<OutputToolCall<'_>> = calls
        .iter()
        .enumerate()
        .map(|(index, call)| OutputToolCall {
            id: Cow::Owned(call_id(&id, index)),
            name: call.name.clone(),
            arguments: input_to_arguments(call.parameters),
        })
        .collect();
    let finish_reason = match ending_of(response.finish_reason.as_deref(), !tool_calls.is_empty()) {
        Ending::Finished(reason) => reason,
        Ending::Failed => {
            return Err(generation_failed(
                response.finish_reason.as_deref().unwrap_or_default(),
                None,
            ))
        }
    };
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    let completion = ChatCompletion {
        id: &id,
        created: unix_time_now(),
        model: plan.model.as_str(),
        choices: vec![ChatChoice {
            message: AssistantMessage {
                content,
                refusal: None,
                tool_calls,
            },
            finish_reason,
        }],
        usage: v1_chat_usage(response.meta.as_ref(), response.token_count.as_ref()),
    };
    Ok(completion.build()?.into_translated())
}

#[derive(serde::Deserialize)]
struct V1ChatResponse<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    generation_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    response_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<V1ResponseToolCall<'a>>>,
    #[serde(default)]
    meta: Option<CohereUsage>,
    #[serde(default)]
    token_count: Option<LegacyTokenCount>,
}

/// A call v1 asks for, in a response or in a stream's `tool-calls-generation` event.
#[derive(serde::Deserialize)]
pub struct V1ResponseToolCall<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub parameters: Option<&'a RawValue>,
}
