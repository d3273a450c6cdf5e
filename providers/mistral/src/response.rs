//! Mistral's chat completions as OpenAI's (`mistral_format: openai`).
//!
//! Mistral's reply has OpenAI's shape with differences that OpenAI's clients refuse under strict
//! validation, so it is read and written again rather than forwarded:
//!
//! | Mistral | OpenAI |
//! |---|---|
//! | `finish_reason` `model_length` | `length` |
//! | `finish_reason` `error` (the generation failed part-way) | `stop`, the text so far kept |
//! | tool calls without `type`, `id` `"null"` when absent | `type: "function"`, `id` `call_<n>` |
//! | tool call `arguments` as a JSON object | `arguments` as JSON text |
//! | `content` as a list of chunks (reasoning models: `thinking` and `text`) | the `text` chunks joined |
//! | `usage.num_cached_tokens` or `prompt_tokens_details.cached_tokens` | `prompt_tokens_details.cached_tokens` |
//!
//! A server in front of Mistral models that already answers as OpenAI does (Kong's fixtures) reads
//! the same way.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{
    Header, ModuleError, RequestPlan, ResponseMeta, TranslatedResponse, Usage,
};
use provider_sdk::finish_reason::FinishReason;
use provider_sdk::openai::{
    new_response_id, normalize_error_body, unix_time_now, AssistantMessage, ChatChoice,
    ChatCompletion, OutputToolCall,
};
use provider_sdk::tool_calls::input_to_arguments;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::PROVIDER;

pub fn translate(
    plan: &RequestPlan<'_>,
    status: u16,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    if !(200..300).contains(&status) {
        return Ok(TranslatedResponse {
            status,
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(normalize_error_body(status, body, PROVIDER).into()),
            meta: ResponseMeta::default(),
        });
    }
    let failed = |reason: &str| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {PROVIDER}://{}: {reason}",
            plan.route_type.as_str()
        ))
    };
    let completion: Completion<'_> = serde_json::from_slice(body)
        .map_err(|e| failed(&format!("response is not a chat completion: {e}")))?;
    let choices = completion
        .choices
        .as_ref()
        .ok_or_else(|| failed("'choices' not in response"))?;
    let id = match completion.id.as_ref() {
        "" => Cow::Owned(new_response_id("chatcmpl-")),
        id => Cow::Borrowed(id),
    };
    let model = match completion.model.as_ref() {
        "" => plan.model.as_str(),
        model => model,
    };
    ChatCompletion {
        id: &id,
        created: completion.created.unwrap_or_else(unix_time_now),
        model,
        choices: choices
            .iter()
            .map(|choice| {
                let tool_calls: Vec<OutputToolCall<'_>> = choice
                    .message
                    .tool_calls
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(n, call)| OutputToolCall {
                        id: call.id_or(n),
                        name: Cow::Borrowed(&call.function.name),
                        arguments: call.function.arguments(),
                    })
                    .collect();
                let content = match &choice.message.content.text {
                    Some(text) if text.is_empty() && !tool_calls.is_empty() => None,
                    other => other.clone(),
                };
                ChatChoice {
                    message: AssistantMessage {
                        content,
                        refusal: None,
                        tool_calls,
                    },
                    finish_reason: finish_reason(choice.finish_reason.as_deref()),
                }
            })
            .collect(),
        usage: completion.usage.map(|u| u.to_usage()).unwrap_or_default(),
    }
    .build()
    .map(|built| built.into_translated())
}

/// Mistral's finish reasons as OpenAI's.
pub fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("stop") | None => FinishReason::Stop,
        Some("length") | Some("model_length") => FinishReason::Length,
        Some("tool_calls") => FinishReason::ToolCalls,
        // `error` (the generation failed part-way, the text so far is kept) and anything newer.
        Some(_) => FinishReason::Stop,
    }
}

#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(default, borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    created: Option<u64>,
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<MistralUsage>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    message: ChoiceMessage<'a>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage<'a> {
    #[serde(default, borrow)]
    content: MistralContent<'a>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<MistralToolCall<'a>>>,
}

/// A tool call, whole (replies) or a piece of one (streams).
#[derive(Deserialize)]
pub struct MistralToolCall<'a> {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(borrow)]
    pub function: MistralFunction<'a>,
}

impl MistralToolCall<'_> {
    /// Mistral's id, or `call_<n>` for a call without one (Mistral's schema defaults it to the
    /// string `"null"`).
    pub fn id_or(&self, n: usize) -> Cow<'_, str> {
        match self.id.as_deref() {
            Some(id) if !id.is_empty() && id != "null" => Cow::Borrowed(id),
            _ => Cow::Owned(format!("call_{n}")),
        }
    }
}

#[derive(Deserialize)]
pub struct MistralFunction<'a> {
    #[serde(default, borrow)]
    pub name: Cow<'a, str>,
    /// JSON text in a string, as OpenAI has it, or a JSON object.
    #[serde(default, borrow)]
    pub arguments: Option<&'a RawValue>,
}

impl MistralFunction<'_> {
    /// The arguments as OpenAI's JSON text.
    pub fn arguments(&self) -> String {
        match self.arguments {
            Some(raw) if raw.get().starts_with('"') => {
                serde_json::from_str::<String>(raw.get()).unwrap_or_default()
            }
            other => input_to_arguments(other),
        }
    }
}

/// `usage`.
#[derive(Deserialize)]
pub struct MistralUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    num_cached_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Deserialize)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl MistralUsage {
    /// Mistral's prompt count includes the cached tokens, as OpenAI's does.
    pub fn to_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.into(),
            completion_tokens: self.completion_tokens.into(),
            total_tokens: self.total_tokens.into(),
            cached_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .or(self.num_cached_tokens)
                .into(),
        }
    }
}

/// `content`: a string, `null`, or a list of chunks whose `text` ones are the answer.
#[derive(Default)]
pub struct MistralContent<'a> {
    /// `None` for `null` or no text chunk.
    pub text: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for MistralContent<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor(std::marker::PhantomData))
    }
}

struct ContentVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
    type Value = MistralContent<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, null or a list of content chunks")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(MistralContent {
            text: Some(Cow::Borrowed(v)),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(MistralContent {
            text: Some(Cow::Owned(v.to_owned())),
        })
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(MistralContent::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut text: Option<Cow<'a, str>> = None;
        while let Some(chunk) = seq.next_element::<Chunk<'a>>()? {
            if let Some(piece) = chunk.text {
                match &mut text {
                    None => text = Some(piece),
                    Some(joined) => joined.to_mut().push_str(&piece),
                }
            }
        }
        Ok(MistralContent { text })
    }
}

/// One content chunk; only a `text` chunk's text is kept.
struct Chunk<'a> {
    text: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Chunk<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ChunkVisitor(std::marker::PhantomData))
    }
}

struct ChunkVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ChunkVisitor<'a> {
    type Value = Chunk<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a content chunk")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind: Option<Cow<'a, str>> = None;
        let mut text: Option<Cow<'a, str>> = None;
        while let Some(key) = map.next_key::<Cow<'a, str>>()? {
            match key.as_ref() {
                "type" => {
                    kind = Some(
                        map.next_value::<MistralContent<'a>>()?
                            .text
                            .unwrap_or_default(),
                    )
                }
                "text" => text = map.next_value::<MistralContent<'a>>()?.text,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // A chunk without a type is text, as Mistral's schema defaults it.
        let is_text = kind.as_deref().is_none_or(|kind| kind == "text");
        Ok(Chunk {
            text: text.filter(|_| is_text),
        })
    }
}
