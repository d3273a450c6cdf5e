//! An Anthropic Message as an OpenAI `chat.completion`, and the metering of Anthropic bodies that
//! reach the client untouched (`preserve`).
//!
//! Text blocks are joined with nothing between them: Anthropic splits one text into several
//! blocks around citations, and streams them as one run of deltas (Kong joins with newlines).
//! `tool_use` blocks become `tool_calls` with compact JSON arguments. The message's `id` is kept
//! (Kong drops it) and its `model` is the one that answered. `usage` is always an object (Kong
//! writes a string when Anthropic sends none).

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RString, RVec};
use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, TranslatedResponse};
use provider_sdk::json_bytes::from_bytes;
use provider_sdk::openai::{
    new_response_id, unix_time_now, AssistantMessage, ChatChoice, ChatCompletion, OutputToolCall,
};
use provider_sdk::tool_calls::input_to_arguments;

use crate::content_block::ContentBlock;
use crate::stop_reason::finish_reason;
use crate::usage::AnthropicUsage;
use crate::PROVIDER;

/// A Messages API response body, or a legacy Text Completions one (`completion`), as far as the
/// gateway reads it.
#[derive(Debug, serde::Deserialize)]
pub struct AnthropicResponse<'a> {
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub model: Cow<'a, str>,
    #[serde(default, borrow)]
    pub content: Option<Vec<ContentBlock<'a>>>,
    #[serde(default, borrow)]
    pub completion: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    pub usage: Option<AnthropicUsage>,
}

impl<'a> AnthropicResponse<'a> {
    /// Reads a 2xx body of `plan`'s route.
    pub fn parse(
        plan: &RequestPlan<'_>,
        body: &'a [u8],
    ) -> Result<AnthropicResponse<'a>, ModuleError> {
        from_bytes(body).map_err(|e| {
            transformation_failed(plan, &format!("response is not an Anthropic one: {e}"))
        })
    }

    /// The response's id, or a new one with `prefix` when Anthropic sent none.
    pub fn id_or_new(&self, prefix: &str) -> Cow<'_, str> {
        if self.id.is_empty() {
            Cow::Owned(new_response_id(prefix))
        } else {
            Cow::Borrowed(&self.id)
        }
    }

    /// The model that answered, or `requested` when Anthropic did not say.
    pub fn model_or<'s>(&'s self, requested: &'s str) -> &'s str {
        if self.model.is_empty() {
            requested
        } else {
            &self.model
        }
    }

    /// What the gateway meters: usage, model, id and the mapped finish reason.
    pub fn meta(&self) -> ResponseMeta {
        ResponseMeta {
            usage: self.usage.unwrap_or_default().to_usage(),
            response_model: self.model.as_ref().into(),
            response_id: self.id.as_ref().into(),
            finish_reasons: match &self.stop_reason {
                Some(reason) => {
                    RVec::from(vec![RString::from(finish_reason(Some(reason)).as_str())])
                }
                None => RVec::new(),
            },
        }
    }
}

/// The 502 for a 2xx body the route cannot translate, in Kong's words.
pub fn transformation_failed(plan: &RequestPlan<'_>, reason: &str) -> ModuleError {
    ModuleError::bad_upstream(format!(
        "transformation failed from type {PROVIDER}://{}: {reason}",
        plan.route_type.as_str()
    ))
}

pub fn translate_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let response = AnthropicResponse::parse(plan, body)?;
    let Some(blocks) = &response.content else {
        return Err(transformation_failed(plan, "'content' not in response"));
    };
    let text: String = blocks
        .iter()
        .filter(|b| b.is_text())
        .map(|b| b.text.as_ref())
        .collect();
    let has_text = blocks.iter().any(ContentBlock::is_text);
    let tool_calls: Vec<OutputToolCall<'_>> = blocks
        .iter()
        .filter(|b| b.is_tool_use())
        .map(|b| OutputToolCall {
            id: Cow::Borrowed(&b.id),
            name: Cow::Borrowed(&b.name),
            arguments: input_to_arguments(b.input),
        })
        .collect();
    let content = (has_text || tool_calls.is_empty()).then_some(Cow::Owned(text));
    let id = response.id_or_new("chatcmpl-");
    let completion = ChatCompletion {
        id: &id,
        created: unix_time_now(),
        model: response.model_or(plan.model.as_str()),
        choices: vec![ChatChoice {
            message: AssistantMessage {
                content,
                refusal: None,
                tool_calls,
            },
            finish_reason: finish_reason(response.stop_reason.as_deref()),
        }],
        usage: response.usage.unwrap_or_default().to_usage(),
    };
    Ok(completion.build()?.into_translated())
}

/// A `preserve` response, forwarded as Anthropic sent it.
pub fn forwarded(status: u16, body: &[u8]) -> TranslatedResponse {
    TranslatedResponse {
        status,
        headers: RVec::new(),
        body: ROption::RNone,
        meta: native_metadata(status, body),
    }
}

/// Usage and model of an Anthropic body the client gets untouched; anything else reads as empty.
pub fn native_metadata(status: u16, body: &[u8]) -> ResponseMeta {
    if !(200..300).contains(&status) {
        return ResponseMeta::default();
    }
    from_bytes::<AnthropicResponse<'_>>(body)
        .map(|response| response.meta())
        .unwrap_or_default()
}
