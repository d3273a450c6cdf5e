//! OpenAI requests as Ollama's `/api/chat`, `/api/generate` and `/api/embed` bodies, borrowed from
//! the client's body.
//!
//! Tuning: the configured `max_tokens` replaces the client's (a cost cap); the configured
//! `temperature`, `top_p` and `top_k` fill in what the client did not send, as for every
//! OpenAI-compatible upstream.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::abi::{ModuleError, RequestPlan};
use crate::images::ImageSource;
use crate::openai::{
    reject_other_fields, unsupported, ChatMessage, ChatRequest, CompletionRequest, Content,
    ContentPart, EmbeddingsRequest, ResponseFormat, Role, TextInput, Tool,
};
use crate::options::ModelOptions;
use crate::tool_calls::{arguments_to_input, tool_use, ToolUse};
use crate::tool_parameters::RequiredParameters;

/// `POST /api/chat`.
pub(super) fn chat(
    provider: &str,
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    reject_other_fields(&request.other, &[], provider)?;
    refuse_choices_and_user(provider, request.n, request.user.is_some())?;
    let tools = match tool_use(request.tool_choice.as_ref(), &request.tools)? {
        // Leaving the tools out is how Ollama is told not to call one.
        ToolUse::None => Vec::new(),
        ToolUse::Auto => request.tools.iter().map(ToolDefinition::of).collect(),
        ToolUse::Required | ToolUse::Function(_) => {
            return Err(ModuleError::invalid_request(format!(
                "tool_choice that forces a tool call is not supported by provider {provider}: \
                 Ollama lets the model decide; send tool_choice `auto` or `none`"
            )))
        }
    };
    let format = match &request.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(Format::Json),
        Some(ResponseFormat::JsonSchema(schema)) => {
            Some(schema.schema.map_or(Format::Json, Format::Schema))
        }
    };
    let sampling = Sampling {
        max_tokens: request.max_output_tokens(),
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        seed: request.seed,
        stop: &request.stop,
    };
    to_json(&ChatBody {
        model: plan.model.as_str(),
        messages: messages(provider, &request.messages)?,
        tools,
        format,
        options: GenerationOptions::merged(options, &sampling),
        stream: plan.stream,
    })
}

/// `POST /api/generate`.
pub(super) fn generate(
    provider: &str,
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    reject_other_fields(&request.other, &[], provider)?;
    refuse_choices_and_user(provider, request.n, request.user.is_some())?;
    let sampling = Sampling {
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        seed: request.seed,
        stop: &request.stop,
    };
    to_json(&GenerateBody {
        model: plan.model.as_str(),
        prompt: request.single_prompt(provider)?,
        options: GenerationOptions::merged(options, &sampling),
        stream: plan.stream,
    })
}

/// `POST /api/embed`.
pub(super) fn embed(
    provider: &str,
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = EmbeddingsRequest::parse(body)?;
    reject_other_fields(&request.other, &[], provider)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], provider));
    }
    let texts = request.texts(provider)?;
    let input = match (&request.input, texts.as_slice()) {
        (TextInput::Text(_), [one]) => EmbedInput::One(one),
        _ => EmbedInput::Many(texts),
    };
    to_json(&EmbedBody {
        model: plan.model.as_str(),
        input,
        dimensions: request.dimensions,
    })
}

/// `n` above 1 and `user` have no Ollama equivalent.
fn refuse_choices_and_user(
    provider: &str,
    n: Option<u64>,
    has_user: bool,
) -> Result<(), ModuleError> {
    if n.is_some_and(|n| n != 1) {
        return Err(ModuleError::invalid_request(format!(
            "`n` other than 1 is not supported by provider {provider}"
        )));
    }
    if has_user {
        return Err(unsupported(&["user"], provider));
    }
    Ok(())
}

fn messages<'r>(
    provider: &str,
    sent: &'r [ChatMessage<'r>],
) -> Result<Vec<Message<'r>>, ModuleError> {
    let mut out = Vec::with_capacity(sent.len());
    for (index, message) in sent.iter().enumerate() {
        if message.name.is_some() && message.role != Role::Tool {
            return Err(ModuleError::invalid_request(format!(
                "messages[{index}].name is not supported by provider {provider}"
            )));
        }
        let converted = match message.role {
            Role::System | Role::Developer => Message::text("system", text_of(provider, message)?),
            Role::User => user_message(provider, index, message)?,
            Role::Assistant => assistant_message(provider, message)?,
            Role::Tool => Message {
                tool_name: message.name.as_deref().or_else(|| {
                    let answered = message.tool_call_id.as_deref()?;
                    called_function(sent.get(..index).unwrap_or_default(), answered)
                }),
                ..Message::text("tool", text_of(provider, message)?)
            },
        };
        out.push(converted);
    }
    Ok(out)
}

fn text_of<'r>(provider: &str, message: &'r ChatMessage<'r>) -> Result<Cow<'r, str>, ModuleError> {
    match &message.content {
        Some(content) => content.text_only(provider),
        None => Ok(Cow::Borrowed("")),
    }
}

/// A user message: its text parts joined, its images inline.
fn user_message<'r>(
    provider: &str,
    index: usize,
    message: &'r ChatMessage<'r>,
) -> Result<Message<'r>, ModuleError> {
    let Some(Content::Parts(parts)) = &message.content else {
        return Ok(Message::text("user", text_of(provider, message)?));
    };
    let mut images = Vec::new();
    for part in parts {
        match part {
            ContentPart::Text(_) => {}
            ContentPart::Image(image) => match image.source()? {
                ImageSource::Data(data) => images.push(data.data),
                ImageSource::Http(_) => {
                    return Err(ModuleError::invalid_request(format!(
                        "messages[{index}]: image URLs are not supported by provider {provider}: \
                         Ollama takes images inline, so send the image as a base64 data URL"
                    )))
                }
            },
            ContentPart::Other(_) => return Err(part.unsupported(provider)),
        }
    }
    Ok(Message {
        images,
        ..Message::text(
            "user",
            message
                .content
                .as_ref()
                .map(Content::text)
                .unwrap_or_default(),
        )
    })
}

fn assistant_message<'r>(
    provider: &str,
    message: &'r ChatMessage<'r>,
) -> Result<Message<'r>, ModuleError> {
    let tool_calls = message
        .tool_calls
        .iter()
        .map(|call| {
            Ok(ToolCall {
                function: FunctionCall {
                    name: &call.function.name,
                    arguments: arguments_to_input(&call.id, &call.function.arguments)?,
                },
            })
        })
        .collect::<Result<Vec<_>, ModuleError>>()?;
    Ok(Message {
        tool_calls,
        ..Message::text("assistant", text_of(provider, message)?)
    })
}

/// The function an earlier assistant message called with the id a tool message answers.
fn called_function<'r>(earlier: &'r [ChatMessage<'r>], call_id: &str) -> Option<&'r str> {
    earlier
        .iter()
        .rev()
        .flat_map(|message| message.tool_calls.iter())
        .find(|call| call.id == call_id)
        .map(|call| call.function.name.as_ref())
}

fn to_json(body: &impl Serialize) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(body).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the Ollama request: {e}"))
    })
}

/// What the client asked of the generation.
struct Sampling<'r> {
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u64>,
    seed: Option<i64>,
    stop: &'r [Cow<'r, str>],
}

#[derive(Serialize)]
struct ChatBody<'r> {
    model: &'r str,
    messages: Vec<Message<'r>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolDefinition<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Format<'r>>,
    #[serde(skip_serializing_if = "GenerationOptions::is_empty")]
    options: GenerationOptions<'r>,
    stream: bool,
}

#[derive(Serialize)]
struct GenerateBody<'r> {
    model: &'r str,
    prompt: &'r str,
    #[serde(skip_serializing_if = "GenerationOptions::is_empty")]
    options: GenerationOptions<'r>,
    stream: bool,
}

#[derive(Serialize)]
struct EmbedBody<'r> {
    model: &'r str,
    input: EmbedInput<'r>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u64>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EmbedInput<'r> {
    One(&'r str),
    Many(Vec<&'r str>),
}

#[derive(Serialize)]
struct Message<'r> {
    role: &'static str,
    content: Cow<'r, str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<&'r str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_name: Option<&'r str>,
}

impl<'r> Message<'r> {
    fn text(role: &'static str, content: Cow<'r, str>) -> Message<'r> {
        Message {
            role,
            content,
            images: Vec::new(),
            tool_calls: Vec::new(),
            tool_name: None,
        }
    }
}

#[derive(Serialize)]
struct ToolCall<'r> {
    function: FunctionCall<'r>,
}

#[derive(Serialize)]
struct FunctionCall<'r> {
    name: &'r str,
    /// An object, where OpenAI has a JSON string.
    arguments: Box<RawValue>,
}

#[derive(Serialize)]
struct ToolDefinition<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionDefinition<'r>,
}

impl<'r> ToolDefinition<'r> {
    /// OpenAI's `strict` has no Ollama counterpart and is left out: refusing it would refuse
    /// every request from SDKs that set it on all tools.
    fn of(tool: &'r Tool<'r>) -> ToolDefinition<'r> {
        ToolDefinition {
            kind: "function",
            function: FunctionDefinition {
                name: &tool.function.name,
                description: tool.function.description.as_deref(),
                parameters: RequiredParameters(tool.function.parameters),
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
}

/// `format`: JSON mode, or a JSON schema the output must follow.
enum Format<'r> {
    Json,
    Schema(&'r RawValue),
}

impl Serialize for Format<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Format::Json => serializer.serialize_str("json"),
            Format::Schema(schema) => schema.serialize(serializer),
        }
    }
}

/// `options`: Ollama's runtime parameters.
#[derive(Serialize, Default)]
struct GenerationOptions<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    num_predict: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'r [Cow<'r, str>],
}

impl<'r> GenerationOptions<'r> {
    fn merged(configured: &ModelOptions<'_>, sent: &Sampling<'r>) -> GenerationOptions<'r> {
        GenerationOptions {
            num_predict: configured.max_tokens.or(sent.max_tokens),
            temperature: sent.temperature.or(configured.temperature),
            top_p: sent.top_p.or(configured.top_p),
            top_k: sent.top_k.or(configured.top_k),
            seed: sent.seed,
            stop: sent.stop,
        }
    }

    fn is_empty(&self) -> bool {
        self.num_predict.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.seed.is_none()
            && self.stop.is_empty()
    }
}
