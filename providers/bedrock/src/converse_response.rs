//! A Converse response as a `chat.completion` or a `text_completion`.
//!
//! - `output.message.content`: the `text` blocks, joined as the model wrote them, are the message's
//!   content (Kong keeps only the first block); each `toolUse` block is a tool call with its input
//!   as the `arguments` JSON text. Other blocks (reasoning, citations) have no place in OpenAI's
//!   chat completion and are left out.
//! - `stopReason` → `finish_reason` through [`crate::stop_reason`].
//! - `usage` through [`crate::usage`].
//! - Bedrock gives no response id: one is generated. `model` is the model id the request named
//!   (Kong writes the configured name, which is the same unless the client chose the model).

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, TranslatedResponse};
use provider_sdk::openai::{
    new_response_id, unix_time_now, AssistantMessage, ChatChoice, ChatCompletion, OutputToolCall,
    TextChoice, TextCompletion,
};
use provider_sdk::tool_calls::input_to_arguments;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::stop_reason::finish_reason;
use crate::usage::TokenUsage;
use crate::PROVIDER;

pub fn chat(plan: &RequestPlan<'_>, body: &[u8]) -> Result<TranslatedResponse, ModuleError> {
    let response = ConverseResponse::parse(plan, body)?;
    let reply = response.reply(plan)?;
    let id = new_response_id("chatcmpl-");
    let message = AssistantMessage {
        content: match (reply.text, reply.tool_calls.is_empty()) {
            (Some(text), _) => Some(text),
            (None, true) => Some(Cow::Borrowed("")),
            (None, false) => None,
        },
        refusal: None,
        tool_calls: reply.tool_calls,
    };
    let completion = ChatCompletion {
        id: &id,
        created: unix_time_now(),
        model: plan.model.as_str(),
        choices: vec![ChatChoice {
            message,
            finish_reason: finish_reason(response.stop_reason.as_deref().unwrap_or_default()),
        }],
        usage: response.usage.unwrap_or_default().to_usage(),
    };
    Ok(completion.build()?.into_translated())
}

pub fn completion(plan: &RequestPlan<'_>, body: &[u8]) -> Result<TranslatedResponse, ModuleError> {
    let response = ConverseResponse::parse(plan, body)?;
    let reply = response.reply(plan)?;
    let id = new_response_id("cmpl-");
    let completion = TextCompletion {
        id: &id,
        created: unix_time_now(),
        model: plan.model.as_str(),
        choices: vec![TextChoice {
            text: reply.text.unwrap_or_default(),
            finish_reason: finish_reason(response.stop_reason.as_deref().unwrap_or_default()),
        }],
        usage: response.usage.unwrap_or_default().to_usage(),
    };
    Ok(completion.build()?.into_translated())
}

/// Usage from a Converse response the client gets untouched (`preserve`); anything else reads
/// as empty.
pub fn native_metadata(body: &[u8]) -> ResponseMeta {
    #[derive(Deserialize)]
    struct UsageOnly {
        #[serde(default)]
        usage: Option<TokenUsage>,
    }
    let usage = provider_sdk::json_bytes::from_bytes::<UsageOnly>(body)
        .ok()
        .and_then(|r| r.usage)
        .unwrap_or_default();
    ResponseMeta {
        usage: usage.to_usage(),
        ..ResponseMeta::default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse<'a> {
    #[serde(borrow, default)]
    output: Option<ConverseOutput<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct ConverseOutput<'a> {
    #[serde(borrow, default)]
    message: Option<OutputMessage<'a>>,
}

#[derive(Deserialize)]
struct OutputMessage<'a> {
    #[serde(borrow, default)]
    content: Vec<OutputBlock<'a>>,
}

/// One content block; a block of a kind not listed reads as neither.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutputBlock<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<OutputToolUse<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutputToolUse<'a> {
    #[serde(borrow)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
}

/// What the assistant said.
struct Reply<'a> {
    /// `None` when the message has no text block.
    text: Option<Cow<'a, str>>,
    tool_calls: Vec<OutputToolCall<'a>>,
}

impl<'a> ConverseResponse<'a> {
    fn parse(plan: &RequestPlan<'_>, body: &'a [u8]) -> Result<ConverseResponse<'a>, ModuleError> {
        provider_sdk::json_bytes::from_bytes(body)
            .map_err(|e| failed(plan, &format!("not a Converse response: {e}")))
    }

    fn reply(&self, plan: &RequestPlan<'_>) -> Result<Reply<'a>, ModuleError> {
        let message = self
            .output
            .as_ref()
            .and_then(|output| output.message.as_ref())
            .ok_or_else(|| failed(plan, "no output message"))?;
        let mut text: Option<Cow<'a, str>> = None;
        let mut tool_calls = Vec::new();
        for block in &message.content {
            if let Some(piece) = &block.text {
                match &mut text {
                    None => text = Some(piece.clone()),
                    Some(joined) => joined.to_mut().push_str(piece),
                }
            }
            if let Some(call) = &block.tool_use {
                tool_calls.push(OutputToolCall {
                    id: call.tool_use_id.clone(),
                    name: call.name.clone(),
                    arguments: input_to_arguments(call.input),
                });
            }
        }
        Ok(Reply { text, tool_calls })
    }
}

fn failed(plan: &RequestPlan<'_>, reason: &str) -> ModuleError {
    ModuleError::bad_upstream(format!(
        "transformation failed from type {PROVIDER}://{}: {reason}",
        plan.route_type.as_str()
    ))
}
