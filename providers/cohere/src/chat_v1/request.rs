//! An OpenAI chat request as the body of Cohere's `POST /v1/chat`.
//!
//! | OpenAI | v1 |
//! |---|---|
//! | `system` / `developer` messages before the first other message | `preamble`, joined by newlines (Kong sends them as `USER` turns) |
//! | later `system` / `developer` messages | `chat_history` `SYSTEM` turns |
//! | `user` / `assistant` messages before the last turn | `chat_history` `USER` / `CHATBOT` turns, tool calls included |
//! | `tool` messages before the last turn | a `chat_history` `TOOL` turn |
//! | the last message, from the user | `message` |
//! | the last messages, tool results | `tool_results`, with `message: ""` |
//! | `tools` | `tools` ([`super::tools`]) |
//! | `tool_choice` other than `auto` | 400: v1 has no `tool_choice` |
//! | `response_format` `json_object` / `json_schema` | `json_object`, the schema as `schema` |

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::openai::{ChatMessage, ChatRequest, ResponseFormat, Role};
use provider_sdk::options::ModelOptions;
use provider_sdk::tool_calls::{arguments_to_input, tool_use, ToolUse};
use serde::Serialize;
use serde_json::value::RawValue;

use super::tools::{tool_outputs, translate_tools, V1Tool, V1ToolCall, V1ToolResult};
use crate::request_fields::chat_sampling;
use crate::PROVIDER;

/// Builds the `/v1/chat` body for `body`, a client's chat request.
pub fn translate_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    let sampling = chat_sampling(&request, body, options)?;
    match tool_use(request.tool_choice.as_ref(), &request.tools)? {
        ToolUse::Auto => {}
        ToolUse::None if request.tools.is_empty() => {}
        _ => {
            return Err(ModuleError::invalid_request(format!(
                "`tool_choice` other than `auto` is not supported by provider {PROVIDER} with api_version v1"
            )))
        }
    }
    let conversation = Conversation::split(&request.messages)?;
    let cohere_body = V1ChatBody {
        model: plan.model.as_str(),
        message: conversation.message,
        chat_history: conversation.history,
        preamble: conversation.preamble,
        tools: translate_tools(&request.tools)?,
        tool_results: conversation.tool_results,
        response_format: request.response_format.as_ref().and_then(response_format),
        max_tokens: sampling.max_tokens,
        stop_sequences: sampling.stop_sequences,
        temperature: sampling.temperature,
        seed: sampling.seed,
        frequency_penalty: sampling.frequency_penalty,
        presence_penalty: sampling.presence_penalty,
        k: sampling.k,
        p: sampling.p,
        stream: plan.stream,
    };
    serde_json::to_vec(&cohere_body).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the {PROVIDER} request: {e}"))
    })
}

fn response_format<'a>(format: &'a ResponseFormat<'a>) -> Option<V1ResponseFormat<'a>> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(V1ResponseFormat {
            kind: "json_object",
            schema: None,
        }),
        ResponseFormat::JsonSchema(schema) => Some(V1ResponseFormat {
            kind: "json_object",
            schema: schema.schema,
        }),
    }
}

/// The messages, split the way v1 takes them.
struct Conversation<'m> {
    preamble: Option<Cow<'m, str>>,
    history: Vec<V1Message<'m>>,
    message: Cow<'m, str>,
    tool_results: Vec<V1ToolResult<'m>>,
}

impl<'m> Conversation<'m> {
    fn split(messages: &'m [ChatMessage<'_>]) -> Result<Conversation<'m>, ModuleError> {
        let is_system = |m: &ChatMessage<'_>| matches!(m.role, Role::System | Role::Developer);
        let leading = messages.iter().take_while(|m| is_system(m)).count();
        let (system, rest) = messages.split_at(leading);
        let preamble = match system {
            [] => None,
            [one] => Some(text(one)?),
            several => Some(Cow::Owned(
                several
                    .iter()
                    .map(text)
                    .collect::<Result<Vec<_>, _>>()?
                    .join("\n"),
            )),
        };
        let trailing_tools = rest
            .iter()
            .rev()
            .take_while(|m| m.role == Role::Tool)
            .count();
        let (turns, user) = if trailing_tools > 0 {
            (rest.split_at(rest.len() - trailing_tools).0, None)
        } else {
            match rest.split_last() {
                Some((last, turns)) if last.role == Role::User => (turns, Some(last)),
                _ => return Err(last_turn_error()),
            }
        };
        let mut history = Vec::with_capacity(turns.len());
        let mut pending_results = Vec::new();
        for (offset, message) in turns.iter().enumerate() {
            let turn = match message.role {
                Role::Tool => {
                    pending_results.push(tool_result(messages, leading + offset)?);
                    continue;
                }
                Role::System | Role::Developer => V1Message::System {
                    message: text(message)?,
                },
                Role::User => V1Message::User {
                    message: text(message)?,
                },
                Role::Assistant => V1Message::Chatbot {
                    message: text(message)?,
                    tool_calls: message
                        .tool_calls
                        .iter()
                        .map(|call| {
                            Ok(V1ToolCall {
                                name: &call.function.name,
                                parameters: arguments_to_input(&call.id, &call.function.arguments)?,
                            })
                        })
                        .collect::<Result<_, ModuleError>>()?,
                },
            };
            if !pending_results.is_empty() {
                history.push(V1Message::Tool {
                    tool_results: std::mem::take(&mut pending_results),
                });
            }
            history.push(turn);
        }
        if !pending_results.is_empty() {
            history.push(V1Message::Tool {
                tool_results: pending_results,
            });
        }
        let (message, tool_results) = match user {
            Some(user) => (text(user)?, Vec::new()),
            None => {
                let first = leading + turns.len();
                let results = (first..messages.len())
                    .map(|index| tool_result(messages, index))
                    .collect::<Result<_, _>>()?;
                (Cow::Borrowed(""), results)
            }
        };
        Ok(Conversation {
            preamble,
            history,
            message,
            tool_results,
        })
    }
}

fn last_turn_error() -> ModuleError {
    ModuleError::invalid_request(format!(
        "provider {PROVIDER} with api_version v1 needs the last message to be from the user or tool results"
    ))
}

fn text<'m>(message: &'m ChatMessage<'_>) -> Result<Cow<'m, str>, ModuleError> {
    match &message.content {
        Some(content) => content.text_only(PROVIDER),
        None => Ok(Cow::Borrowed("")),
    }
}

/// The result in `messages[index]`, a tool message, with the call it answers: v1 identifies a
/// call by its name and parameters, which the latest assistant message that made it holds.
fn tool_result<'m>(
    messages: &'m [ChatMessage<'_>],
    index: usize,
) -> Result<V1ToolResult<'m>, ModuleError> {
    let Some((message, earlier)) = messages.get(..=index).and_then(<[_]>::split_last) else {
        return Err(last_turn_error());
    };
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        ModuleError::invalid_request(format!(
            "messages[{index}]: a `tool` message needs `tool_call_id`"
        ))
    })?;
    let call = earlier
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .find_map(|m| m.tool_calls.iter().find(|call| call.id == id))
        .ok_or_else(|| {
            ModuleError::invalid_request(format!(
                "messages[{index}].tool_call_id `{id}` answers no tool call of an earlier assistant message"
            ))
        })?;
    Ok(V1ToolResult {
        call: V1ToolCall {
            name: &call.function.name,
            parameters: arguments_to_input(&call.id, &call.function.arguments)?,
        },
        outputs: tool_outputs(&text(message)?)?,
    })
}

#[derive(Serialize)]
struct V1ChatBody<'a> {
    model: &'a str,
    message: Cow<'a, str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    chat_history: Vec<V1Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preamble: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<V1Tool<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_results: Vec<V1ToolResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<V1ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [Cow<'a, str>],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<f64>,
    stream: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "UPPERCASE")]
enum V1Message<'a> {
    System {
        message: Cow<'a, str>,
    },
    User {
        message: Cow<'a, str>,
    },
    Chatbot {
        message: Cow<'a, str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<V1ToolCall<'a>>,
    },
    Tool {
        tool_results: Vec<V1ToolResult<'a>>,
    },
}

#[derive(Serialize)]
struct V1ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a RawValue>,
}
