//! A client's chat or text completion request as a Converse (or ConverseStream) body.
//!
//! | OpenAI | Converse |
//! |---|---|
//! | `system` / `developer` messages | `system: [{text}]`, one block per message, in order |
//! | `user` content: text, `image_url` data URLs | `{text}`, `{image: {format, source: {bytes}}}` |
//! | `image_url` http(s) URL | 400: Bedrock takes image bytes or S3 locations, it fetches no URL |
//! | `assistant` content and `tool_calls` | `{text}` then one `{toolUse}` per call (all of them) |
//! | `tool` messages | `{toolResult: {toolUseId, content: [{json}]}}` for a JSON object, else `[{text}]` |
//! | consecutive messages of one role | merged into one message: Converse requires alternating roles |
//! | `tools` | `toolConfig.tools[].toolSpec` (no `parameters`: an empty object schema) |
//! | `tool_choice` `auto` / `required` / function | `toolChoice` `{auto}` / `{any}` / `{tool: {name}}` |
//! | `tool_choice` `none` | no `toolConfig`: the model sees no tools (Converse has no "none"); a 400 when the conversation holds tool calls, which Converse only accepts beside a `toolConfig` |
//! | `max_completion_tokens` / `max_tokens`, `temperature`, `top_p`, `stop` | `inferenceConfig` |
//! | `top_k` | `additionalModelRequestFields`: `top_k` for Anthropic, `inferenceConfig.topK` for Amazon Nova; 400 for other models |
//! | `response_format` `json_schema` | `outputConfig.textFormat` (`json_object` is a 400: Converse needs a schema) |
//! | `user` | `requestMetadata.user` (it labels the invocation logs, as `user` labels OpenAI's) |
//! | `guardrailConfig` (the openai SDK's `extra_body`) | `guardrailConfig`, as sent |
//! | `seed`, `n` > 1, a message `name`, any other field | 400 naming it |
//!
//! `model.options` `max_tokens`, `temperature`, `top_p` and `top_k` replace the client's values
//! (Kong's rule). Unlike Kong, no `anthropic_version` is added (Converse has no such field, and Kong
//! adds it even for models that are not Anthropic's), every tool call of an assistant turn is kept
//! with its text, and OpenAI content parts are converted rather than sent as they are.

use std::borrow::Cow;

use provider_sdk::abi::ModuleError;
use provider_sdk::images::ImageSource;
use provider_sdk::openai::{
    reject_other_fields, unsupported, ChatMessage, ChatRequest, CompletionRequest, Content,
    ContentPart, ResponseFormat, Role, Tool, ToolChoice,
};
use provider_sdk::options::ModelOptions;
use provider_sdk::tool_calls::{arguments_to_input, tool_use, ToolUse};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::model_family::{ModelFamily, Vendor};
use crate::PROVIDER;

/// Top-level fields of a chat request that Bedrock takes as they are sent.
const PASSED_THROUGH: &[&str] = &["guardrailConfig"];

/// The Converse body for a chat request.
pub fn chat_body(
    body: &[u8],
    model: &str,
    options: &ModelOptions<'_>,
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    reject_other_fields(&request.other, PASSED_THROUGH, PROVIDER)?;
    refuse_unsupported(request.seed.is_some(), request.n)?;
    let guardrail_config = if request.other.iter().any(|f| f == "guardrailConfig") {
        PassedThrough::parse(body)?.guardrail_config
    } else {
        None
    };
    let uses = tool_use(request.tool_choice.as_ref(), &request.tools)?;
    let conversation = Conversation::of(&request.messages)?;
    let explicit_auto = matches!(request.tool_choice, Some(ToolChoice::Auto));
    let tool_config = tool_config(
        &request.tools,
        uses,
        explicit_auto,
        conversation.has_tool_blocks,
    )?;
    let converse = ConverseBody {
        messages: conversation.messages,
        system: conversation.system,
        inference_config: InferenceConfig {
            max_tokens: options.max_tokens.or(request.max_output_tokens()),
            temperature: options.temperature.or(request.temperature),
            top_p: options.top_p.or(request.top_p),
            stop_sequences: &request.stop,
        },
        tool_config,
        guardrail_config,
        additional_model_request_fields: top_k_fields(model, options.top_k.or(request.top_k))?,
        output_config: output_config(request.response_format.as_ref())?,
        request_metadata: request.user.as_deref().map(|user| RequestMetadata { user }),
    };
    to_json(&converse)
}

/// The Converse body for a text completion: the prompt as one user turn.
pub fn completion_body(
    body: &[u8],
    model: &str,
    options: &ModelOptions<'_>,
) -> Result<Vec<u8>, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    reject_other_fields(&request.other, &[], PROVIDER)?;
    refuse_unsupported(request.seed.is_some(), request.n)?;
    let prompt = request.single_prompt(PROVIDER)?;
    let converse = ConverseBody {
        messages: vec![Message {
            role: "user",
            content: vec![ContentBlock::Text(Cow::Borrowed(prompt))],
        }],
        system: Vec::new(),
        inference_config: InferenceConfig {
            max_tokens: options.max_tokens.or(request.max_tokens),
            temperature: options.temperature.or(request.temperature),
            top_p: options.top_p.or(request.top_p),
            stop_sequences: &request.stop,
        },
        tool_config: None,
        guardrail_config: None,
        additional_model_request_fields: top_k_fields(model, options.top_k.or(request.top_k))?,
        output_config: None,
        request_metadata: request.user.as_deref().map(|user| RequestMetadata { user }),
    };
    to_json(&converse)
}

fn refuse_unsupported(seed: bool, n: Option<u64>) -> Result<(), ModuleError> {
    if seed {
        return Err(unsupported(&["seed"], PROVIDER));
    }
    match n {
        Some(n) if n != 1 => Err(ModuleError::invalid_request(format!(
            "`n` must be 1 with provider {PROVIDER}, which returns one choice"
        ))),
        _ => Ok(()),
    }
}

fn to_json(body: &ConverseBody<'_>) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(body).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the Converse request: {e}"))
    })
}

/// The fields read from the client's body beside the OpenAI ones.
#[derive(serde::Deserialize)]
struct PassedThrough<'a> {
    #[serde(rename = "guardrailConfig", borrow, default)]
    guardrail_config: Option<&'a RawValue>,
}

impl<'a> PassedThrough<'a> {
    fn parse(body: &'a [u8]) -> Result<PassedThrough<'a>, ModuleError> {
        let fields: PassedThrough<'a> =
            provider_sdk::json_bytes::from_bytes(body).map_err(|e| {
                ModuleError::invalid_request(format!("request body is not valid JSON: {e}"))
            })?;
        match fields.guardrail_config {
            Some(config) if !config.get().starts_with('{') => Err(ModuleError::invalid_request(
                "guardrailConfig: must be an object such as {\"guardrailIdentifier\": …, \"guardrailVersion\": …}",
            )),
            _ => Ok(fields),
        }
    }
}

/// `messages` as Converse wants them: system prompts apart, roles alternating.
struct Conversation<'a> {
    system: Vec<SystemBlock<'a>>,
    messages: Vec<Message<'a>>,
    /// Whether any message carries a `toolUse` or `toolResult` block.
    has_tool_blocks: bool,
}

impl<'a> Conversation<'a> {
    fn of(messages: &'a [ChatMessage<'a>]) -> Result<Conversation<'a>, ModuleError> {
        let mut conversation = Conversation {
            system: Vec::new(),
            messages: Vec::with_capacity(messages.len()),
            has_tool_blocks: false,
        };
        for (index, message) in messages.iter().enumerate() {
            if message.name.is_some() {
                return Err(unsupported(&[&format!("messages[{index}].name")], PROVIDER));
            }
            match message.role {
                Role::System | Role::Developer => {
                    let text = text_of(message.content.as_ref())?;
                    if !text.is_empty() {
                        conversation.system.push(SystemBlock { text });
                    }
                }
                Role::User => {
                    let blocks = user_blocks(message.content.as_ref())?;
                    conversation.push("user", blocks);
                }
                Role::Assistant => {
                    let mut blocks = Vec::with_capacity(1 + message.tool_calls.len());
                    let text = text_of(message.content.as_ref())?;
                    if !text.is_empty() {
                        blocks.push(ContentBlock::Text(text));
                    }
                    for call in &message.tool_calls {
                        blocks.push(ContentBlock::ToolUse(ToolUseBlock {
                            tool_use_id: &call.id,
                            name: &call.function.name,
                            input: arguments_to_input(&call.id, &call.function.arguments)?,
                        }));
                    }
                    conversation.has_tool_blocks |= !message.tool_calls.is_empty();
                    conversation.push("assistant", blocks);
                }
                Role::Tool => {
                    let tool_use_id = message.tool_call_id.as_deref().ok_or_else(|| {
                        ModuleError::invalid_request(format!(
                            "messages[{index}]: a tool message needs `tool_call_id`"
                        ))
                    })?;
                    let text = text_of(message.content.as_ref())?;
                    let block = ToolResultBlock {
                        tool_use_id,
                        content: [tool_result_content(text)],
                    };
                    conversation.has_tool_blocks = true;
                    conversation.push("user", vec![ContentBlock::ToolResult(block)]);
                }
            }
        }
        Ok(conversation)
    }

    /// Appends `blocks` as a turn of `role`, merged into the previous turn of the same role. A
    /// message with nothing Converse can take (empty text) is left out: Converse refuses both
    /// empty messages and blank text blocks.
    fn push(&mut self, role: &'static str, blocks: Vec<ContentBlock<'a>>) {
        if blocks.is_empty() {
            return;
        }
        match self.messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => self.messages.push(Message {
                role,
                content: blocks,
            }),
        }
    }
}

/// The text of content that may only be text (system, assistant and tool messages).
fn text_of<'c>(content: Option<&'c Content<'_>>) -> Result<Cow<'c, str>, ModuleError> {
    match content {
        None => Ok(Cow::Borrowed("")),
        Some(content) => content.text_only(PROVIDER),
    }
}

fn user_blocks<'a>(content: Option<&'a Content<'a>>) -> Result<Vec<ContentBlock<'a>>, ModuleError> {
    let parts = match content {
        None => return Ok(Vec::new()),
        Some(Content::Text(text)) if text.is_empty() => return Ok(Vec::new()),
        Some(Content::Text(text)) => return Ok(vec![ContentBlock::Text(Cow::Borrowed(text))]),
        Some(Content::Parts(parts)) => parts,
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            // Converse refuses blank text blocks.
            ContentPart::Text(text) if text.is_empty() => {}
            ContentPart::Text(text) => blocks.push(ContentBlock::Text(Cow::Borrowed(text))),
            ContentPart::Image(image) => {
                blocks.push(ContentBlock::Image(image_block(image.source()?)?))
            }
            ContentPart::Other(_) => return Err(part.unsupported(PROVIDER)),
        }
    }
    Ok(blocks)
}

fn image_block(source: ImageSource<'_>) -> Result<ImageBlock<'_>, ModuleError> {
    let data = match source {
        ImageSource::Data(data) => data,
        ImageSource::Http(_) => {
            return Err(ModuleError::invalid_request(format!(
                "image_url: provider {PROVIDER} takes images as bytes, not URLs: send the image \
                 as a data URL (data:image/png;base64,…)"
            )))
        }
    };
    let format = match data.mime.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(ModuleError::invalid_request(format!(
                "image_url: provider {PROVIDER} takes png, jpeg, gif and webp images, not {other}"
            )))
        }
    };
    Ok(ImageBlock {
        format,
        source: ImageBytes { bytes: data.data },
    })
}

/// A tool's result: a JSON object as a `json` block (what Bedrock's models read best), anything
/// else as text.
fn tool_result_content(text: Cow<'_, str>) -> ToolResultContent<'_> {
    if text.trim_start().starts_with('{') {
        if let Ok(json) = serde_json::from_str::<Box<RawValue>>(&text) {
            return ToolResultContent::Json(json);
        }
    }
    ToolResultContent::Text(text)
}

/// `explicit_auto`: the client sent `tool_choice: "auto"`, which is then said to Bedrock too;
/// without `tool_choice`, Bedrock's default is the same.
fn tool_config<'a>(
    tools: &'a [Tool<'a>],
    uses: ToolUse<'a>,
    explicit_auto: bool,
    has_tool_blocks: bool,
) -> Result<Option<ToolConfig<'a>>, ModuleError> {
    let tool_choice = match uses {
        ToolUse::None if has_tool_blocks && !tools.is_empty() => {
            return Err(ModuleError::invalid_request(format!(
                "tool_choice `none` cannot be honoured by provider {PROVIDER} in a conversation \
                 that holds tool calls: Bedrock needs the tools then, and has no way to forbid \
                 calling them; use `auto`"
            )))
        }
        ToolUse::None => return Ok(None),
        ToolUse::Auto if explicit_auto => Some(ToolChoiceWire::Auto(EmptyObject {})),
        ToolUse::Auto => None,
        ToolUse::Required => Some(ToolChoiceWire::Any(EmptyObject {})),
        ToolUse::Function(name) => Some(ToolChoiceWire::Tool(SpecificTool { name })),
    };
    let tools = tools
        .iter()
        .map(|tool| ToolWire {
            tool_spec: ToolSpec {
                name: &tool.function.name,
                description: tool
                    .function
                    .description
                    .as_deref()
                    .filter(|d| !d.is_empty()),
                input_schema: InputSchema {
                    json: match tool.function.parameters {
                        Some(schema) => Schema::Given(schema),
                        None => Schema::NoParameters(NoParameters {
                            kind: "object",
                            properties: EmptyObject {},
                        }),
                    },
                },
                strict: tool.function.strict,
            },
        })
        .collect();
    Ok(Some(ToolConfig { tools, tool_choice }))
}

fn top_k_fields(model: &str, top_k: Option<u64>) -> Result<Option<AdditionalFields>, ModuleError> {
    let Some(top_k) = top_k else {
        return Ok(None);
    };
    let family = ModelFamily::of(model);
    if family.vendor == Vendor::Anthropic {
        return Ok(Some(AdditionalFields::Anthropic { top_k }));
    }
    if family.is_amazon_nova() {
        return Ok(Some(AdditionalFields::Nova {
            inference_config: NovaInferenceConfig { top_k },
        }));
    }
    Err(ModuleError::invalid_request(format!(
        "`top_k` is not supported by provider {PROVIDER} for model {model}: Converse takes it \
         only for Anthropic Claude and Amazon Nova models"
    )))
}

fn output_config<'a>(
    format: Option<&'a ResponseFormat<'a>>,
) -> Result<Option<OutputConfig<'a>>, ModuleError> {
    match format {
        None | Some(ResponseFormat::Text) => Ok(None),
        Some(ResponseFormat::JsonObject) => Err(ModuleError::invalid_request(format!(
            "response_format `json_object` is not supported by provider {PROVIDER}: Converse \
             needs a schema; use `json_schema`"
        ))),
        Some(ResponseFormat::JsonSchema(format)) => {
            let schema = format.schema.ok_or_else(|| {
                ModuleError::invalid_request(format!(
                    "response_format.json_schema.schema: must be set for provider {PROVIDER}"
                ))
            })?;
            Ok(Some(OutputConfig {
                text_format: OutputFormat {
                    kind: "json_schema",
                    structure: OutputStructure {
                        json_schema: JsonSchemaDefinition {
                            schema: schema.get(),
                            name: &format.name,
                            description: format.description.as_deref(),
                        },
                    },
                },
            }))
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConverseBody<'a> {
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<SystemBlock<'a>>,
    #[serde(skip_serializing_if = "InferenceConfig::is_empty")]
    inference_config: InferenceConfig<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    guardrail_config: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_model_request_fields: Option<AdditionalFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutputConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_metadata: Option<RequestMetadata<'a>>,
}

#[derive(Serialize)]
struct SystemBlock<'a> {
    text: Cow<'a, str>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: Vec<ContentBlock<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ContentBlock<'a> {
    Text(Cow<'a, str>),
    Image(ImageBlock<'a>),
    ToolUse(ToolUseBlock<'a>),
    ToolResult(ToolResultBlock<'a>),
}

#[derive(Serialize)]
struct ImageBlock<'a> {
    format: &'static str,
    source: ImageBytes<'a>,
}

/// A blob, which Bedrock's JSON protocol carries base64-encoded: the data URL's payload as sent.
#[derive(Serialize)]
struct ImageBytes<'a> {
    bytes: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseBlock<'a> {
    tool_use_id: &'a str,
    name: &'a str,
    input: Box<RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolResultBlock<'a> {
    tool_use_id: &'a str,
    content: [ToolResultContent<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ToolResultContent<'a> {
    Json(Box<RawValue>),
    Text(Cow<'a, str>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [Cow<'a, str>],
}

impl InferenceConfig<'_> {
    fn is_empty(&self) -> bool {
        self.max_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.stop_sequences.is_empty()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'a> {
    tools: Vec<ToolWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoiceWire<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolWire<'a> {
    tool_spec: ToolSpec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolSpec<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: InputSchema<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}

#[derive(Serialize)]
struct InputSchema<'a> {
    json: Schema<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Schema<'a> {
    Given(&'a RawValue),
    /// A function without `parameters` takes none; Converse requires a schema all the same.
    NoParameters(NoParameters),
}

#[derive(Serialize)]
struct NoParameters {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: EmptyObject,
}

#[derive(Serialize)]
struct EmptyObject {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ToolChoiceWire<'a> {
    Auto(EmptyObject),
    Any(EmptyObject),
    Tool(SpecificTool<'a>),
}

#[derive(Serialize)]
struct SpecificTool<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum AdditionalFields {
    Anthropic {
        top_k: u64,
    },
    Nova {
        #[serde(rename = "inferenceConfig")]
        inference_config: NovaInferenceConfig,
    },
}

#[derive(Serialize)]
struct NovaInferenceConfig {
    #[serde(rename = "topK")]
    top_k: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputConfig<'a> {
    text_format: OutputFormat<'a>,
}

#[derive(Serialize)]
struct OutputFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    structure: OutputStructure<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputStructure<'a> {
    json_schema: JsonSchemaDefinition<'a>,
}

/// Converse takes the schema as a string holding its JSON.
#[derive(Serialize)]
struct JsonSchemaDefinition<'a> {
    schema: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

#[derive(Serialize)]
struct RequestMetadata<'a> {
    user: &'a str,
}
