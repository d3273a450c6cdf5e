//! An OpenAI chat request as an Anthropic Messages request (`POST /v1/messages`).
//!
//! - System and developer messages, wherever they are, become `system`, in order (Kong keeps only
//!   the last one): one message is written as a string, several as one text block each.
//! - User and assistant content: text parts become text blocks, `image_url` parts image blocks
//!   (a data URL inline as base64, an http(s) URL by reference). Kong copies OpenAI's parts
//!   verbatim, which Anthropic refuses.
//! - An assistant's `tool_calls` become `tool_use` blocks, every one of them, after the assistant's
//!   text (Kong drops the text). A `tool` message becomes a `tool_result` block in a user turn.
//! - Anthropic wants user and assistant turns to alternate, so consecutive messages of the same
//!   role (tool results among them, which are user turns) are merged into one turn.
//! - `tools`, `tool_choice` and `parallel_tool_calls: false` map to Anthropic's; `stop`,
//!   `temperature`, `top_p`, `top_k`, `user` (as `metadata.user_id`) are passed on; `max_tokens`
//!   is always set (see [`crate::endpoint::DEFAULT_MAX_TOKENS`]).
//! - What Anthropic cannot honour is a 400 naming it: `seed`, `n` above 1, `response_format`
//!   other than `text`, `logprobs`, non-zero penalties, message `name`s, and every other field the
//!   Messages API has no equivalent for.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::images::ImageSource as OpenAiImageSource;
use provider_sdk::json_bytes::from_bytes;
use provider_sdk::openai::{
    unsupported, ChatMessage, ChatRequest, Content, ContentPart, ImageUrl, ResponseFormat, Role,
    Tool,
};
use provider_sdk::options::ModelOptions;
use provider_sdk::tool_calls::{arguments_to_input, tool_use, ToolUse};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::endpoint;
use crate::PROVIDER;

/// The image types the Messages API takes inline.
const IMAGE_MEDIA_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// The body for `plan`'s chat request.
pub fn translate(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    let extras = ValuedExtras::read(&request, body)?;
    refuse_what_anthropic_cannot_honour(&request, &extras)?;
    let conversation = Conversation::read(&request.messages)?;
    let messages_request = MessagesRequest {
        model: plan.model.as_str(),
        messages: &conversation.turns,
        system: SystemPrompt::of(&conversation.system),
        max_tokens: endpoint::max_tokens(options, request.max_output_tokens()),
        temperature: options.temperature.or(request.temperature),
        top_p: options.top_p.or(request.top_p),
        top_k: options.top_k.or(request.top_k),
        stop_sequences: &request.stop,
        stream: plan.stream,
        tools: request.tools.iter().map(ToolDefinition::of).collect(),
        tool_choice: tool_choice(&request, extras.disables_parallel_tool_use())?,
        metadata: request.user.as_deref().map(|user_id| Metadata { user_id }),
    };
    serde_json::to_vec(&messages_request).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the anthropic request: {e}"))
    })
}

/// Top-level fields [`ChatRequest`] keeps only by name whose value decides whether Anthropic can
/// honour them, as the client wrote them. Read in a second pass over the body, only when the
/// client sent one of them.
#[derive(Debug, Default, serde::Deserialize)]
struct ValuedExtras<'a> {
    #[serde(default, borrow)]
    parallel_tool_calls: Option<&'a RawValue>,
    #[serde(default, borrow)]
    logprobs: Option<&'a RawValue>,
    #[serde(default, borrow)]
    presence_penalty: Option<&'a RawValue>,
    #[serde(default, borrow)]
    frequency_penalty: Option<&'a RawValue>,
}

impl<'a> ValuedExtras<'a> {
    const NAMES: [&'static str; 4] = [
        "parallel_tool_calls",
        "logprobs",
        "presence_penalty",
        "frequency_penalty",
    ];

    fn read(request: &ChatRequest<'_>, body: &'a [u8]) -> Result<ValuedExtras<'a>, ModuleError> {
        if !request
            .other
            .iter()
            .any(|name| Self::NAMES.contains(&name.as_ref()))
        {
            return Ok(ValuedExtras::default());
        }
        let extras: ValuedExtras<'a> = from_bytes(body)
            .map_err(|e| ModuleError::invalid_request(format!("request body: {e}")))?;
        if extras
            .parallel_tool_calls
            .is_some_and(|raw| !matches!(raw.get(), "true" | "false"))
        {
            return Err(ModuleError::invalid_request(
                "parallel_tool_calls: must be a boolean",
            ));
        }
        Ok(extras)
    }

    fn disables_parallel_tool_use(&self) -> bool {
        self.parallel_tool_calls.map(RawValue::get) == Some("false")
    }

    /// Whether `name` was sent with a value Anthropic's behaviour already matches: no log
    /// probabilities, no penalty. Clients often send these defaults explicitly.
    fn is_neutral(&self, name: &str) -> bool {
        let is_zero =
            |raw: Option<&RawValue>| raw.and_then(|raw| raw.get().parse::<f64>().ok()) == Some(0.0);
        match name {
            "parallel_tool_calls" => true,
            "logprobs" => self.logprobs.map(RawValue::get) == Some("false"),
            "presence_penalty" => is_zero(self.presence_penalty),
            "frequency_penalty" => is_zero(self.frequency_penalty),
            _ => false,
        }
    }
}

fn refuse_what_anthropic_cannot_honour(
    request: &ChatRequest<'_>,
    extras: &ValuedExtras<'_>,
) -> Result<(), ModuleError> {
    let mut refused: Vec<&str> = Vec::new();
    if request.seed.is_some() {
        refused.push("seed");
    }
    if request.n.is_some_and(|n| n != 1) {
        refused.push("n");
    }
    if matches!(
        request.response_format,
        Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema(_))
    ) {
        refused.push("response_format");
    }
    refused.extend(
        request
            .other
            .iter()
            .map(Cow::as_ref)
            .filter(|name| !extras.is_neutral(name)),
    );
    if refused.is_empty() {
        return Ok(());
    }
    let mut error = unsupported(&refused, PROVIDER);
    if refused.contains(&"response_format") {
        error.message = format!(
            "{}; the Messages API has no `response_format` parameter",
            error.message
        )
        .into();
    }
    Err(error)
}

/// `tool_choice`, sent whenever tools are. Without tools there is nothing to choose from:
/// Anthropic refuses a `tool_choice` alone, and `none` or `auto` without tools is what the
/// request means anyway.
fn tool_choice<'r>(
    request: &'r ChatRequest<'r>,
    disable_parallel_tool_use: bool,
) -> Result<Option<ToolChoice<'r>>, ModuleError> {
    let choice = tool_use(request.tool_choice.as_ref(), &request.tools)?;
    if request.tools.is_empty() {
        return Ok(None);
    }
    Ok(Some(match choice {
        ToolUse::None => ToolChoice::None,
        ToolUse::Auto => ToolChoice::Auto {
            disable_parallel_tool_use,
        },
        ToolUse::Required => ToolChoice::Any {
            disable_parallel_tool_use,
        },
        ToolUse::Function(name) => ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        },
    }))
}

/// The messages read into Anthropic's shape.
#[derive(Debug, Default)]
struct Conversation<'r> {
    system: Vec<&'r str>,
    turns: Vec<Turn<'r>>,
}

impl<'r> Conversation<'r> {
    fn read(messages: &'r [ChatMessage<'r>]) -> Result<Conversation<'r>, ModuleError> {
        let mut conversation = Conversation::default();
        for (index, message) in messages.iter().enumerate() {
            if message.name.is_some() {
                return Err(ModuleError::invalid_request(format!(
                    "messages[{index}].name: participant names are not supported by provider \
                     {PROVIDER}"
                )));
            }
            match message.role {
                Role::System | Role::Developer => {
                    conversation.read_system(index, message.content.as_ref())?
                }
                Role::User => {
                    let blocks = content_blocks(index, message.content.as_ref())?;
                    conversation.push(TurnRole::User, blocks);
                }
                Role::Assistant => {
                    let mut blocks = content_blocks(index, message.content.as_ref())?;
                    for call in &message.tool_calls {
                        blocks.push(Block::ToolUse {
                            id: &call.id,
                            name: &call.function.name,
                            input: arguments_to_input(&call.id, &call.function.arguments)?,
                        });
                    }
                    conversation.push(TurnRole::Assistant, blocks);
                }
                Role::Tool => {
                    let tool_use_id = message.tool_call_id.as_deref().ok_or_else(|| {
                        ModuleError::invalid_request(format!(
                            "messages[{index}].tool_call_id: required in a tool message"
                        ))
                    })?;
                    let content = match &message.content {
                        None => None,
                        Some(Content::Text(text)) => Some(ToolResultContent::Text(text)),
                        Some(content) => Some(ToolResultContent::Blocks(content_blocks(
                            index,
                            Some(content),
                        )?)),
                    };
                    conversation.push(
                        TurnRole::User,
                        vec![Block::ToolResult {
                            tool_use_id,
                            content,
                        }],
                    );
                }
            }
        }
        Ok(conversation)
    }

    fn read_system(
        &mut self,
        index: usize,
        content: Option<&'r Content<'r>>,
    ) -> Result<(), ModuleError> {
        match content {
            None => {}
            Some(Content::Text(text)) => self.system.push(text),
            Some(Content::Parts(parts)) => {
                for part in parts {
                    match part {
                        ContentPart::Text(text) => self.system.push(text),
                        other => {
                            return Err(ModuleError::invalid_request(format!(
                                "messages[{index}]: {}; a system prompt takes only text",
                                other.unsupported(PROVIDER).message
                            )))
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends a message's blocks, to the last turn when it has the same role.
    fn push(&mut self, role: TurnRole, blocks: Vec<Block<'r>>) {
        match self.turns.last_mut() {
            Some(last) if last.role == role => last.blocks.extend(blocks),
            _ => self.turns.push(Turn { role, blocks }),
        }
    }
}

fn content_blocks<'r>(
    index: usize,
    content: Option<&'r Content<'r>>,
) -> Result<Vec<Block<'r>>, ModuleError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![Block::Text { text }]),
        Some(Content::Parts(parts)) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text(text) => Ok(Block::Text { text }),
                ContentPart::Image(image) => image_block(index, image),
                other => Err(other.unsupported(PROVIDER)),
            })
            .collect(),
    }
}

fn image_block<'r>(index: usize, image: &'r ImageUrl<'r>) -> Result<Block<'r>, ModuleError> {
    // `auto` is what Anthropic does anyway; it has no low- or high-resolution mode to ask for.
    if let Some(detail) = image.detail.as_deref().filter(|d| *d != "auto") {
        return Err(ModuleError::invalid_request(format!(
            "messages[{index}]: image_url.detail `{detail}` is not supported by provider \
             {PROVIDER}; leave it out or use `auto`"
        )));
    }
    let source = match image.source()? {
        OpenAiImageSource::Data(data) => {
            let media_type = IMAGE_MEDIA_TYPES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(data.mime))
                .ok_or_else(|| {
                    ModuleError::invalid_request(format!(
                        "messages[{index}]: image type `{}` is not supported by provider \
                         {PROVIDER}; use {}",
                        data.mime,
                        IMAGE_MEDIA_TYPES.join(", ")
                    ))
                })?;
            ImageSource::Base64 {
                media_type,
                data: data.data,
            }
        }
        OpenAiImageSource::Http(url) => ImageSource::Url { url },
    };
    Ok(Block::Image { source })
}

#[derive(Serialize)]
struct MessagesRequest<'r> {
    model: &'r str,
    messages: &'r [Turn<'r>],
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<SystemPrompt<'r>>,
    max_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'r [Cow<'r, str>],
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolDefinition<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoice<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata<'r>>,
}

/// `system`: a string for one system message, text blocks for several.
enum SystemPrompt<'r> {
    Text(&'r str),
    Blocks(&'r [&'r str]),
}

impl<'r> SystemPrompt<'r> {
    fn of(texts: &'r [&'r str]) -> Option<SystemPrompt<'r>> {
        match texts {
            [] => None,
            [one] => Some(SystemPrompt::Text(one)),
            several => Some(SystemPrompt::Blocks(several)),
        }
    }
}

impl Serialize for SystemPrompt<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SystemPrompt::Text(text) => serializer.serialize_str(text),
            SystemPrompt::Blocks(texts) => {
                serializer.collect_seq(texts.iter().map(|text| Block::Text { text }))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum TurnRole {
    User,
    Assistant,
}

/// One user or assistant turn: one or more OpenAI messages.
#[derive(Debug)]
struct Turn<'r> {
    role: TurnRole,
    blocks: Vec<Block<'r>>,
}

impl Block<'_> {
    fn is_empty_text(&self) -> bool {
        matches!(self, Block::Text { text } if text.is_empty())
    }
}

impl Serialize for Turn<'_> {
    /// `content` is a string when the turn is one piece of text, as most clients write it, and
    /// blocks otherwise. Anthropic refuses empty text blocks, which a merged turn or an assistant
    /// message with `content: ""` and tool calls would otherwise carry.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut turn = serializer.serialize_struct("Turn", 2)?;
        turn.serialize_field("role", &self.role)?;
        let mut kept = self.blocks.iter().filter(|b| !b.is_empty_text());
        match (kept.next(), kept.next()) {
            (None, _) => turn.serialize_field("content", "")?,
            (Some(Block::Text { text }), None) => turn.serialize_field("content", text)?,
            _ => turn.serialize_field("content", &NonEmptyBlocks(&self.blocks))?,
        }
        turn.end()
    }
}

struct NonEmptyBlocks<'b, 'r>(&'b [Block<'r>]);

impl Serialize for NonEmptyBlocks<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().filter(|b| !b.is_empty_text()))
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'r> {
    Text {
        text: &'r str,
    },
    Image {
        source: ImageSource<'r>,
    },
    ToolUse {
        id: &'r str,
        name: &'r str,
        input: Box<RawValue>,
    },
    ToolResult {
        tool_use_id: &'r str,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<ToolResultContent<'r>>,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ImageSource<'r> {
    Base64 {
        media_type: &'static str,
        data: &'r str,
    },
    Url {
        url: &'r str,
    },
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ToolResultContent<'r> {
    Text(&'r str),
    Blocks(Vec<Block<'r>>),
}

#[derive(Serialize)]
struct ToolDefinition<'r> {
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'r str>,
    input_schema: InputSchema<'r>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}

impl<'r> ToolDefinition<'r> {
    fn of(tool: &'r Tool<'r>) -> ToolDefinition<'r> {
        let function = &tool.function;
        ToolDefinition {
            name: &function.name,
            description: function.description.as_deref(),
            input_schema: function.parameters.map_or(
                InputSchema::NoParameters(NoParameters::default()),
                InputSchema::Given,
            ),
            strict: function.strict,
        }
    }
}

/// A function's JSON Schema as the client wrote it. OpenAI lets a function without parameters
/// leave `parameters` out; Anthropic requires `input_schema`, so such a function gets the schema
/// of an empty object.
#[derive(Serialize)]
#[serde(untagged)]
enum InputSchema<'r> {
    Given(&'r RawValue),
    NoParameters(NoParameters),
}

#[derive(Serialize)]
struct NoParameters {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: EmptyObject,
}

impl Default for NoParameters {
    fn default() -> NoParameters {
        NoParameters {
            kind: "object",
            properties: EmptyObject {},
        }
    }
}

#[derive(Serialize)]
struct EmptyObject {}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToolChoice<'r> {
    Auto {
        #[serde(skip_serializing_if = "is_false")]
        disable_parallel_tool_use: bool,
    },
    Any {
        #[serde(skip_serializing_if = "is_false")]
        disable_parallel_tool_use: bool,
    },
    Tool {
        name: &'r str,
        #[serde(skip_serializing_if = "is_false")]
        disable_parallel_tool_use: bool,
    },
    None,
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Serialize)]
struct Metadata<'r> {
    user_id: &'r str,
}
