//! Whole Ollama replies (`/api/chat`, `/api/generate`, `/api/embed`) as OpenAI responses, and the
//! reply shape that stream lines share.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RVec};
use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::endpoint::Endpoint;
use super::timestamp::unix_seconds;
use crate::abi::{Header, ModuleError, RequestPlan, ResponseMeta, TranslatedResponse, Usage};
use crate::finish_reason::FinishReason;
use crate::json_bytes::from_bytes;
use crate::openai::{
    new_response_id, normalize_error_body, unix_time_now, AssistantMessage, ChatChoice,
    ChatCompletion, EmbeddingList, EncodingFormat, OutputToolCall, TextChoice, TextCompletion,
};
use crate::tool_calls::input_to_arguments;

pub(super) fn translate(
    provider: &str,
    plan: &RequestPlan<'_>,
    status: u16,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    if !(200..300).contains(&status) {
        return Ok(TranslatedResponse {
            status,
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(normalize_error_body(status, body, provider).into()),
            meta: ResponseMeta::default(),
        });
    }
    let failed = |reason: &str| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {provider}://{}: {reason}",
            plan.route_type.as_str()
        ))
    };
    let built = match Endpoint::for_route(plan.route_type) {
        Some(Endpoint::Chat) => {
            let reply = parse_reply(provider, body, &failed)?;
            let message = reply
                .message
                .as_ref()
                .ok_or_else(|| failed("'message' not in response"))?;
            let tool_calls: Vec<OutputToolCall<'_>> = message
                .tool_calls
                .iter()
                .flatten()
                .enumerate()
                .map(|(n, call)| call.to_openai(n))
                .collect();
            let finish_reason = finish_reason(reply.done_reason.as_deref(), !tool_calls.is_empty());
            let content = match &message.content {
                text if text.is_empty() && !tool_calls.is_empty() => None,
                text => Some(Cow::Borrowed(text.as_ref())),
            };
            ChatCompletion {
                id: &new_response_id("chatcmpl-"),
                created: created(&reply.created_at),
                model: model(&reply.model, plan),
                choices: vec![ChatChoice {
                    message: AssistantMessage {
                        content,
                        refusal: None,
                        tool_calls,
                    },
                    finish_reason,
                }],
                usage: reply.usage(),
            }
            .build()?
        }
        Some(Endpoint::Generate) => {
            let reply = parse_reply(provider, body, &failed)?;
            let text = reply
                .response
                .as_deref()
                .ok_or_else(|| failed("'response' not in response"))?;
            TextCompletion {
                id: &new_response_id("cmpl-"),
                created: created(&reply.created_at),
                model: model(&reply.model, plan),
                choices: vec![TextChoice {
                    text: Cow::Borrowed(text),
                    finish_reason: finish_reason(reply.done_reason.as_deref(), false),
                }],
                usage: reply.usage(),
            }
            .build()?
        }
        Some(Endpoint::Embed) => {
            let reply: EmbedReply<'_> = from_bytes(body)
                .map_err(|e| failed(&format!("response is not an Ollama reply: {e}")))?;
            if let Some(error) = reply.error {
                return Err(upstream_error(provider, &error));
            }
            EmbeddingList {
                model: model(&reply.model, plan),
                embeddings: reply
                    .embeddings
                    .ok_or_else(|| failed("'embeddings' not in response"))?,
                encoding_format: EncodingFormat::Float,
                usage: Usage {
                    prompt_tokens: reply.prompt_eval_count.into(),
                    ..Usage::default()
                },
            }
            .build()?
        }
        None => {
            return Err(ModuleError::invalid_request(format!(
                "{provider} (Ollama) has no response translation for route type {}",
                plan.route_type.as_str()
            )))
        }
    };
    Ok(built.into_translated())
}

fn parse_reply<'b>(
    provider: &str,
    body: &'b [u8],
    failed: &impl Fn(&str) -> ModuleError,
) -> Result<Reply<'b>, ModuleError> {
    let reply: Reply<'b> =
        from_bytes(body).map_err(|e| failed(&format!("response is not an Ollama reply: {e}")))?;
    match &reply.error {
        Some(error) => Err(upstream_error(provider, error)),
        None => Ok(reply),
    }
}

/// An `{"error": …}` Ollama sent where a reply was due.
pub(super) fn upstream_error(provider: &str, message: &str) -> ModuleError {
    ModuleError::new(
        502,
        "server_error",
        format!("upstream {provider}: {message}"),
    )
}

/// Ollama's `done_reason` as OpenAI's `finish_reason`. Ollama says `stop` after a tool call too.
pub(super) fn finish_reason(done_reason: Option<&str>, called_tools: bool) -> FinishReason {
    if called_tools {
        return FinishReason::ToolCalls;
    }
    match done_reason {
        Some("length") => FinishReason::Length,
        Some("stop") | None => FinishReason::Stop,
        // `load` and `unload` answer requests that only load or unload the model; anything newer
        // is taken as a normal end.
        Some(_) => FinishReason::Stop,
    }
}

/// `created_at` in Unix seconds; now when Ollama did not say.
pub(super) fn created(created_at: &str) -> u64 {
    unix_seconds(created_at).unwrap_or_else(unix_time_now)
}

/// The model Ollama names, else the one asked for.
fn model<'m>(reported: &'m str, plan: &'m RequestPlan<'_>) -> &'m str {
    if reported.is_empty() {
        plan.model.as_str()
    } else {
        reported
    }
}

pub(super) fn native_metadata(body: &[u8]) -> ResponseMeta {
    let last_line = body
        .split(|&b| b == b'\n')
        .rev()
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .unwrap_or_default();
    let Ok(reply) = from_bytes::<Reply<'_>>(body).or_else(|_| from_bytes::<Reply<'_>>(last_line))
    else {
        return ResponseMeta::default();
    };
    ResponseMeta {
        usage: reply.usage(),
        response_model: reply.model.as_ref().into(),
        ..ResponseMeta::default()
    }
}

/// One `/api/chat` or `/api/generate` reply, or one line of their streams.
#[derive(Debug, Deserialize)]
pub(super) struct Reply<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    pub(super) model: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "text")]
    pub(super) created_at: Cow<'a, str>,
    /// `/api/chat`.
    #[serde(default, borrow)]
    pub(super) message: Option<ReplyMessage<'a>>,
    /// `/api/generate`.
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub(super) response: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) done: bool,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub(super) done_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub(super) eval_count: Option<u64>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub(super) error: Option<Cow<'a, str>>,
}

impl Reply<'_> {
    /// Ollama counts prompt and output tokens and gives no total.
    pub(super) fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_eval_count.into(),
            completion_tokens: self.eval_count.into(),
            ..Usage::default()
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ReplyMessage<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    pub(super) content: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(super) tool_calls: Option<Vec<ReplyToolCall<'a>>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ReplyToolCall<'a> {
    /// Sent by recent Ollama versions only.
    #[serde(default, borrow, deserialize_with = "optional_text")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    function: ReplyFunction<'a>,
}

impl ReplyToolCall<'_> {
    /// The call as OpenAI's, `n` being its position among the response's calls.
    pub(super) fn to_openai(&self, n: usize) -> OutputToolCall<'_> {
        OutputToolCall {
            id: match self.id.as_deref() {
                Some(id) if !id.is_empty() => Cow::Borrowed(id),
                _ => Cow::Owned(format!("call_{n}")),
            },
            name: Cow::Borrowed(&self.function.name),
            arguments: input_to_arguments(self.function.arguments),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ReplyFunction<'a> {
    #[serde(borrow, deserialize_with = "text")]
    name: Cow<'a, str>,
    /// An object, where OpenAI has a JSON string.
    #[serde(default, borrow)]
    arguments: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct EmbedReply<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    model: Cow<'a, str>,
    #[serde(default)]
    embeddings: Option<Vec<Vec<f32>>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    error: Option<Cow<'a, str>>,
}

/// A string borrowed from the body unless it has escapes; `null` reads as empty.
fn text<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Cow<'a, str>, D::Error> {
    optional_text(deserializer).map(Option::unwrap_or_default)
}

fn optional_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    deserializer.deserialize_any(TextVisitor(std::marker::PhantomData))
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Option<Cow<'a, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or null")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
