//! OpenAI requests in Mistral's dialect of them (`mistral_format: openai`).
//!
//! Mistral's API takes OpenAI's shape but refuses any field it does not define (every object in
//! its schema has `additionalProperties: false`). So the body goes through provider-sdk's
//! OpenAI-compatible edits (model, streaming, tuning), then these:
//!
//! | OpenAI | Mistral |
//! |---|---|
//! | `seed` | `random_seed` (not negative) |
//! | `max_completion_tokens` | `max_tokens` |
//! | `tool_choice: "required"` | `tool_choice: "any"` |
//! | `stream_options` | removed: Mistral puts `usage` on its last chunk unasked |
//! | `messages` | rewritten: `developer` → `system`; only the fields Mistral defines (an echoed assistant message's `refusal`, `annotations`, `audio` go); content parts `text` and `image_url` |
//! | `tools` | rewritten: `parameters` is required by Mistral, `{}`-like when the client left it out |
//! | `top_k`, `user`, and fields Mistral does not define | 400 naming them (a configured `top_k` is ignored, as Kong documents it: "if supported") |
//!
//! Embeddings: `dimensions` → `output_dimension`; `encoding_format` as is; `user` and other
//! fields are a 400.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, RouteType};
use provider_sdk::json_edit::EditError;
use provider_sdk::openai::{
    apply_upstream_edits, body_object, reject_other_fields, unsupported, BodyEdits, ChatMessage,
    ChatRequest, Content, ContentPart, EmbeddingsRequest, Role, Tool, ToolChoice,
};
use provider_sdk::options::ModelOptions;
use provider_sdk::tool_calls::tool_use;
use provider_sdk::tool_parameters::RequiredParameters;
use provider_sdk::ClientBody;
use serde::Serialize;

use crate::PROVIDER;

/// Fields of a chat request that Mistral defines as OpenAI does, or that only a client speaking
/// Mistral's dialect sends; they go upstream as sent.
const CHAT_FIELDS_AS_SENT: &[&str] = &[
    "frequency_penalty",
    "presence_penalty",
    "parallel_tool_calls",
    "prediction",
    "metadata",
    "prompt_cache_key",
    "reasoning_effort",
    "random_seed",
    "safe_prompt",
    "prompt_mode",
    "guardrails",
];

/// Fields of an embeddings request that Mistral defines and OpenAI does not.
const EMBEDDINGS_FIELDS_AS_SENT: &[&str] = &["metadata", "output_dimension", "output_dtype"];

/// `POST /v1/chat/completions`.
pub fn chat(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &ClientBody<'_>,
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    reject_other_fields(&request.other, CHAT_FIELDS_AS_SENT, PROVIDER)?;
    let mut refused = Vec::new();
    if request.top_k.is_some() {
        refused.push("top_k");
    }
    if request.user.is_some() {
        refused.push("user");
    }
    if !refused.is_empty() {
        return Err(unsupported(&refused, PROVIDER));
    }
    if plan.stream && request.n.is_some_and(|n| n > 1) {
        return Err(ModuleError::invalid_request(format!(
            "`n` above 1 in a streamed request is not supported by provider {PROVIDER}"
        )));
    }
    let random_seed = request
        .seed
        .map(|seed| {
            u64::try_from(seed).map_err(|_| {
                ModuleError::invalid_request(format!(
                    "seed: must not be negative for provider {PROVIDER}"
                ))
            })
        })
        .transpose()?;
    tool_use(request.tool_choice.as_ref(), &request.tools)?;
    let messages = to_json(&messages(&request.messages)?)?;
    let tools: Vec<ToolDefinition<'_>> = request.tools.iter().map(ToolDefinition::of).collect();

    let mut object = body_object(body)?;
    apply_upstream_edits(&mut object, RouteType::CHAT, &body_edits(plan, options))?;
    object.set("messages", messages);
    if !tools.is_empty() {
        object.set("tools", to_json(&tools)?);
    }
    object.remove("stream_options");
    if let Some(seed) = random_seed {
        object.remove("seed");
        object
            .set_json("random_seed", &seed)
            .map_err(invalid_value)?;
    }
    if let Some(cap) = object.get("max_completion_tokens").map(str::to_owned) {
        object.remove("max_completion_tokens");
        if cap != "null" {
            object.set("max_tokens", cap);
        }
    }
    if request.tool_choice == Some(ToolChoice::Required) {
        object.set("tool_choice", r#""any""#);
    }
    Ok(object.into_bytes())
}

/// `POST /v1/embeddings`.
pub fn embeddings(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &ClientBody<'_>,
) -> Result<Vec<u8>, ModuleError> {
    let request = EmbeddingsRequest::parse(body)?;
    reject_other_fields(&request.other, EMBEDDINGS_FIELDS_AS_SENT, PROVIDER)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    request.texts(PROVIDER)?;
    let mut object = body_object(body)?;
    apply_upstream_edits(
        &mut object,
        RouteType::EMBEDDINGS,
        &body_edits(plan, options),
    )?;
    if let Some(dimensions) = request.dimensions {
        object.remove("dimensions");
        object
            .set_json("output_dimension", &dimensions)
            .map_err(invalid_value)?;
    }
    Ok(object.into_bytes())
}

fn body_edits<'p>(plan: &'p RequestPlan<'_>, options: &ModelOptions<'_>) -> BodyEdits<'p> {
    BodyEdits {
        model: plan.model.as_str(),
        stream: plan.stream,
        stream_usage: false,
        max_tokens: options.max_tokens,
        temperature: options.temperature,
        top_p: options.top_p,
    }
}

fn invalid_value(error: EditError) -> ModuleError {
    ModuleError::invalid_request(error.to_string())
}

fn to_json(value: &impl Serialize) -> Result<String, ModuleError> {
    serde_json::to_string(value).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the Mistral request: {e}"))
    })
}

fn messages<'r>(sent: &'r [ChatMessage<'r>]) -> Result<Vec<Message<'r>>, ModuleError> {
    sent.iter()
        .enumerate()
        .map(|(index, message)| {
            if message.name.is_some() && message.role != Role::Tool {
                return Err(ModuleError::invalid_request(format!(
                    "messages[{index}].name is not supported by provider {PROVIDER}"
                )));
            }
            let content = match &message.content {
                None => MessageContent::Null,
                Some(Content::Text(text)) => MessageContent::Text(Cow::Borrowed(text)),
                Some(content @ Content::Parts(_)) if message.role != Role::User => {
                    MessageContent::Text(content.text_only(PROVIDER)?)
                }
                Some(Content::Parts(parts)) => MessageContent::Parts(
                    parts
                        .iter()
                        .map(|part| match part {
                            ContentPart::Text(text) => Ok(Part::Text { text }),
                            ContentPart::Image(image) => {
                                image.source()?;
                                Ok(Part::ImageUrl {
                                    image_url: ImageUrl {
                                        url: &image.url,
                                        detail: image.detail.as_deref(),
                                    },
                                })
                            }
                            ContentPart::Other(_) => Err(part.unsupported(PROVIDER)),
                        })
                        .collect::<Result<_, ModuleError>>()?,
                ),
            };
            Ok(Message {
                role: match message.role {
                    Role::System | Role::Developer => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    Role::Tool => "tool",
                },
                content: match content {
                    // Mistral requires content on every message but the assistant's.
                    MessageContent::Null if message.role != Role::Assistant => {
                        MessageContent::Text(Cow::Borrowed(""))
                    }
                    other => other,
                },
                tool_calls: message
                    .tool_calls
                    .iter()
                    .map(|call| ToolCall {
                        id: &call.id,
                        kind: "function",
                        function: FunctionCall {
                            name: &call.function.name,
                            arguments: &call.function.arguments,
                        },
                    })
                    .collect(),
                tool_call_id: message.tool_call_id.as_deref(),
                name: message.name.as_deref(),
            })
        })
        .collect()
}

#[derive(Serialize)]
struct Message<'r> {
    role: &'static str,
    content: MessageContent<'r>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'r str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum MessageContent<'r> {
    Text(Cow<'r, str>),
    Parts(Vec<Part<'r>>),
    Null,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'r> {
    Text { text: &'r str },
    ImageUrl { image_url: ImageUrl<'r> },
}

#[derive(Serialize)]
struct ImageUrl<'r> {
    url: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'r str>,
}

#[derive(Serialize)]
struct ToolCall<'r> {
    id: &'r str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionCall<'r>,
}

#[derive(Serialize)]
struct FunctionCall<'r> {
    name: &'r str,
    /// Mistral takes OpenAI's JSON text as it is.
    arguments: &'r str,
}

#[derive(Serialize)]
struct ToolDefinition<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionDefinition<'r>,
}

impl<'r> ToolDefinition<'r> {
    fn of(tool: &'r Tool<'r>) -> ToolDefinition<'r> {
        ToolDefinition {
            kind: "function",
            function: FunctionDefinition {
                name: &tool.function.name,
                description: tool.function.description.as_deref(),
                parameters: RequiredParameters(tool.function.parameters),
                strict: tool.function.strict,
            },
        }
    }
}

#[derive(Serialize)]
struct FunctionDefinition<'r> {
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'r str>,
    parameters: RequiredParameters<'r>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}
