//! Cohere's v2 chat response as an OpenAI chat completion.
//!
//! | v2 | OpenAI |
//! |---|---|
//! | `id` | `id` |
//! | `message.content[]` text items, joined | `message.content` (thinking items are left out: chat completions have no place for them) |
//! | `message.tool_plan`, when there is no text | `message.content`, so that the next turn sends it back as the plan |
//! | `message.tool_calls[]` | `message.tool_calls[]`, `arguments` as Cohere wrote them |
//! | `finish_reason` | mapped ([`crate::finish_reason`]); `ERROR`, `TIMEOUT` are a 502 |
//! | `usage` | `usage` ([`crate::usage`]) |
//! | — | `model`: the plan's, as Cohere does not echo it |

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, TranslatedResponse};
use provider_sdk::openai::{
    new_response_id, unix_time_now, AssistantMessage, ChatChoice, ChatCompletion, OutputToolCall,
};

use crate::error::unreadable;
use crate::finish_reason::{ending_of, generation_failed, Ending};
use crate::usage::CohereUsage;

/// Translates a `/v2/chat` success body.
pub fn translate_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let response: V2ChatResponse<'_> = provider_sdk::json_bytes::from_bytes(body)
        .map_err(|e| unreadable(plan.route_type, &format!("not a v2 chat response: {e}")))?;
    let message = response.message.ok_or_else(|| {
        unreadable(
            plan.route_type,
            "'message' missing from cohere response body",
        )
    })?;
    let tool_calls: Vec<OutputToolCall<'_>> = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|call| OutputToolCall {
            id: call.id,
            name: call.function.name,
            arguments: arguments_text(call.function.arguments),
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
    let text: String = message
        .content
        .unwrap_or_default()
        .iter()
        .filter(|item| item.kind == "text")
        .filter_map(|item| item.text.as_deref())
        .collect();
    let content = match (text.is_empty(), message.tool_plan) {
        (true, Some(plan)) if !plan.is_empty() => Some(plan),
        (true, _) if !tool_calls.is_empty() => None,
        _ => Some(Cow::Owned(text)),
    };
    let id = match response.id {
        Some(id) => id,
        None => Cow::Owned(new_response_id("chatcmpl-")),
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
        usage: response.usage.unwrap_or_default().to_usage(),
    };
    Ok(completion.build()?.into_translated())
}

/// Cohere's arguments as they are: JSON text already, like OpenAI's. A call without arguments
/// takes none, `{}`.
fn arguments_text(arguments: Option<Cow<'_, str>>) -> String {
    match arguments {
        Some(text) if !text.trim().is_empty() => text.into_owned(),
        _ => "{}".to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct V2ChatResponse<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<ResponseMessage<'a>>,
    #[serde(default)]
    usage: Option<CohereUsage>,
}

#[derive(serde::Deserialize)]
struct ResponseMessage<'a> {
    #[serde(default, borrow)]
    content: Option<Vec<ContentItem<'a>>>,
    #[serde(default, borrow)]
    tool_plan: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ResponseToolCall<'a>>>,
}

#[derive(serde::Deserialize)]
struct ContentItem<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct ResponseToolCall<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    function: ResponseFunction<'a>,
}

#[derive(serde::Deserialize)]
struct ResponseFunction<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}
