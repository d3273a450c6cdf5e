//! `chat.completion`.

use std::borrow::Cow;

use abi_stable::std_types::{RString, RVec};
use serde::Serialize;

use super::usage::UsageWire;
use super::{to_json, BuiltResponse};
use crate::abi::{ModuleError, ResponseMeta, Usage};
use crate::finish_reason::FinishReason;

/// A chat completion to write for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatCompletion<'a> {
    pub id: &'a str,
    /// Unix seconds; see [`crate::openai::unix_time_now`] for providers that do not say.
    pub created: u64,
    /// The model that answered, as the provider names it.
    pub model: &'a str,
    pub choices: Vec<ChatChoice<'a>>,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatChoice<'a> {
    pub message: AssistantMessage<'a>,
    pub finish_reason: FinishReason,
}

/// The assistant's reply. `content` is written as `null` when `None` (a reply that only calls
/// tools).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssistantMessage<'a> {
    pub content: Option<Cow<'a, str>>,
    pub refusal: Option<Cow<'a, str>>,
    pub tool_calls: Vec<OutputToolCall<'a>>,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputToolCall<'a> {
    pub id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    /// The arguments as JSON text (see [`crate::tool_calls::input_to_arguments`]).
    pub arguments: String,
}

impl ChatCompletion<'_> {
    pub fn build(&self) -> Result<BuiltResponse, ModuleError> {
        let wire = ChatCompletionWire {
            id: self.id,
            object: "chat.completion",
            created: self.created,
            model: self.model,
            choices: self
                .choices
                .iter()
                .enumerate()
                .map(|(index, choice)| ChoiceWire {
                    index,
                    message: MessageWire {
                        role: "assistant",
                        content: choice.message.content.as_deref(),
                        refusal: choice.message.refusal.as_deref(),
                        tool_calls: choice
                            .message
                            .tool_calls
                            .iter()
                            .map(|call| ToolCallWire {
                                id: &call.id,
                                kind: "function",
                                function: FunctionWire {
                                    name: &call.name,
                                    arguments: &call.arguments,
                                },
                            })
                            .collect(),
                    },
                    logprobs: None,
                    finish_reason: choice.finish_reason.as_str(),
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
                finish_reasons: self
                    .choices
                    .iter()
                    .map(|c| RString::from(c.finish_reason.as_str()))
                    .collect::<RVec<_>>(),
            },
        })
    }
}

#[derive(Serialize)]
struct ChatCompletionWire<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChoiceWire<'a>>,
    usage: UsageWire,
}

#[derive(Serialize)]
struct ChoiceWire<'a> {
    index: usize,
    message: MessageWire<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct MessageWire<'a> {
    role: &'static str,
    content: Option<&'a str>,
    refusal: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallWire<'a>>,
}

#[derive(Serialize)]
struct ToolCallWire<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionWire<'a>,
}

#[derive(Serialize)]
struct FunctionWire<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};
    use serde_json::json;

    fn usage(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: RSome(prompt),
            completion_tokens: RSome(completion),
            total_tokens: RNone,
            cached_tokens: RNone,
        }
    }

    #[test]
    fn a_text_reply_has_every_required_field() {
        let completion = ChatCompletion {
            id: "msg_01",
            created: 1_731_000_000,
            model: "claude-sonnet-4-5",
            choices: vec![ChatChoice {
                message: AssistantMessage {
                    content: Some("Hi \"there\"".into()),
                    ..AssistantMessage::default()
                },
                finish_reason: FinishReason::Stop,
            }],
            usage: usage(10, 3),
        };
        let built = completion.build().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&built.body).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "msg_01", "object": "chat.completion", "created": 1_731_000_000u64,
                "model": "claude-sonnet-4-5",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi \"there\"", "refusal": null},
                    "logprobs": null, "finish_reason": "stop",
                }],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
            })
        );
        assert_eq!(
            built.meta,
            ResponseMeta {
                usage: usage(10, 3),
                response_model: "claude-sonnet-4-5".into(),
                response_id: "msg_01".into(),
                finish_reasons: vec![RString::from("stop")].into(),
            }
        );
    }

    #[test]
    fn tool_calls_have_type_and_string_arguments_and_null_content() {
        let completion = ChatCompletion {
            id: "c",
            created: 1,
            model: "m",
            choices: vec![ChatChoice {
                message: AssistantMessage {
                    content: None,
                    refusal: None,
                    tool_calls: vec![
                        OutputToolCall {
                            id: "toolu_1".into(),
                            name: "add".into(),
                            arguments: r#"{"a":2,"b":12}"#.into(),
                        },
                        OutputToolCall {
                            id: "toolu_2".into(),
                            name: "now".into(),
                            arguments: "{}".into(),
                        },
                    ],
                },
                finish_reason: FinishReason::ToolCalls,
            }],
            usage: Usage::default(),
        };
        let built = completion.build().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&built.body).unwrap();
        let message = &body["choices"][0]["message"];
        assert!(message["content"].is_null());
        assert_eq!(
            message["tool_calls"],
            json!([
                {"id": "toolu_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":12}"}},
                {"id": "toolu_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            ])
        );
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        );
        assert_eq!(
            built.meta.usage,
            Usage::default(),
            "meta keeps not-reported"
        );
    }

    #[test]
    fn into_translated_sets_status_and_content_type() {
        let translated = ChatCompletion {
            id: "c",
            created: 1,
            model: "m",
            choices: vec![],
            usage: Usage::default(),
        }
        .build()
        .unwrap()
        .into_translated();
        assert_eq!(translated.status, 200);
        assert_eq!(translated.headers[0].name.as_str(), "content-type");
        assert_eq!(translated.headers[0].value.as_str(), "application/json");
        assert!(translated.body.is_some());
    }
}
