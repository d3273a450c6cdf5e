//! An OpenAI chat request as the body of Cohere's `POST /v2/chat`.
//!
//! | OpenAI | v2 |
//! |---|---|
//! | `system`, `developer` message | `system` message (Kong sends it as a user message) |
//! | `user` message | `user` message; image parts are refused |
//! | `assistant` message | `assistant`: `content`, or with `tool_calls` the text as `tool_plan` |
//! | `tool` message | `tool` message with `tool_call_id` |
//! | `tools` | `tools` (`type: function`); `strict` on every tool is `strict_tools` |
//! | `tool_choice` `auto` / `none` / `required` | absent / `NONE` / `REQUIRED` |
//! | `tool_choice` naming a function | `REQUIRED` with only that tool offered: Cohere cannot name one |
//! | `response_format` `json_object` / `json_schema` | `json_object`, the schema as `json_schema` |
//!
//! The sampling fields are in [`crate::request_fields`].

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::openai::{ChatMessage, ChatRequest, ResponseFormat, Role, Tool, ToolCall};
use provider_sdk::options::ModelOptions;
use provider_sdk::tool_calls::{arguments_to_input, tool_use, ToolUse};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::request_fields::chat_sampling;
use crate::PROVIDER;

/// What a function without `parameters` takes; Cohere requires the field.
const NO_PARAMETERS: &str = r#"{"type":"object","properties":{}}"#;

/// Builds the `/v2/chat` body for `body`, a client's chat request.
pub fn translate_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    let sampling = chat_sampling(&request, body, options)?;
    let use_of_tools = tool_use(request.tool_choice.as_ref(), &request.tools)?;
    let offered: Vec<&Tool<'_>> = match use_of_tools {
        ToolUse::Function(name) => request
            .tools
            .iter()
            .filter(|tool| tool.function.name == name)
            .collect(),
        _ => request.tools.iter().collect(),
    };
    let no_parameters = raw(NO_PARAMETERS)?;
    let tools = offered
        .iter()
        .map(|tool| V2Tool {
            kind: "function",
            function: V2Function {
                name: &tool.function.name,
                description: tool.function.description.as_deref(),
                parameters: tool.function.parameters.unwrap_or(&*no_parameters),
            },
        })
        .collect();
    let cohere_body = V2ChatBody {
        model: plan.model.as_str(),
        messages: request
            .messages
            .iter()
            .map(translate_message)
            .collect::<Result<_, _>>()?,
        tools,
        strict_tools: strict_tools(&offered)?,
        tool_choice: match use_of_tools {
            ToolUse::None if !request.tools.is_empty() => Some("NONE"),
            ToolUse::Required | ToolUse::Function(_) => Some("REQUIRED"),
            ToolUse::None | ToolUse::Auto => None,
        },
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

fn raw(json: &str) -> Result<Box<RawValue>, ModuleError> {
    RawValue::from_string(json.to_owned()).map_err(|e| ModuleError::module_failure(e.to_string()))
}

/// Cohere's `strict_tools` covers every tool of a request, so the tools must agree.
fn strict_tools(tools: &[&Tool<'_>]) -> Result<Option<bool>, ModuleError> {
    let strict = tools
        .iter()
        .filter(|t| t.function.strict == Some(true))
        .count();
    match strict {
        0 => Ok(None),
        n if n == tools.len() => Ok(Some(true)),
        _ => Err(ModuleError::invalid_request(format!(
            "`strict` on some tools but not all is not supported by provider {PROVIDER}: it applies strict mode to all tools of a request"
        ))),
    }
}

fn response_format<'a>(format: &'a ResponseFormat<'a>) -> Option<V2ResponseFormat<'a>> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(V2ResponseFormat {
            kind: "json_object",
            json_schema: None,
        }),
        ResponseFormat::JsonSchema(schema) => Some(V2ResponseFormat {
            kind: "json_object",
            json_schema: schema.schema,
        }),
    }
}

fn text<'m>(message: &'m ChatMessage<'_>) -> Result<Cow<'m, str>, ModuleError> {
    match &message.content {
        Some(content) => content.text_only(PROVIDER),
        None => Ok(Cow::Borrowed("")),
    }
}

fn translate_message<'m>(message: &'m ChatMessage<'_>) -> Result<V2Message<'m>, ModuleError> {
    Ok(match message.role {
        Role::System | Role::Developer => V2Message::System {
            content: text(message)?,
        },
        Role::User => V2Message::User {
            content: text(message)?,
        },
        Role::Assistant if message.tool_calls.is_empty() => V2Message::Assistant {
            content: Some(text(message)?),
            tool_plan: None,
            tool_calls: Vec::new(),
        },
        Role::Assistant => V2Message::Assistant {
            content: None,
            tool_plan: Some(text(message)?).filter(|plan| !plan.is_empty()),
            tool_calls: message
                .tool_calls
                .iter()
                .map(translate_tool_call)
                .collect::<Result<_, _>>()?,
        },
        Role::Tool => V2Message::Tool {
            tool_call_id: message.tool_call_id.as_deref().ok_or_else(|| {
                ModuleError::invalid_request("a `tool` message needs `tool_call_id`")
            })?,
            content: text(message)?,
        },
    })
}

fn translate_tool_call<'m>(call: &'m ToolCall<'_>) -> Result<V2ToolCall<'m>, ModuleError> {
    Ok(V2ToolCall {
        id: &call.id,
        kind: "function",
        function: V2FunctionCall {
            name: &call.function.name,
            arguments: arguments_to_input(&call.id, &call.function.arguments)?,
        },
    })
}

#[derive(Serialize)]
struct V2ChatBody<'a> {
    model: &'a str,
    messages: Vec<V2Message<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<V2Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict_tools: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<V2ResponseFormat<'a>>,
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
#[serde(tag = "role", rename_all = "lowercase")]
enum V2Message<'a> {
    System {
        content: Cow<'a, str>,
    },
    User {
        content: Cow<'a, str>,
    },
    Assistant {
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tool_plan: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<V2ToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: Cow<'a, str>,
    },
}

#[derive(Serialize)]
struct V2ToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: V2FunctionCall<'a>,
}

#[derive(Serialize)]
struct V2FunctionCall<'a> {
    name: &'a str,
    /// v2 takes the arguments as JSON text, as OpenAI does; checked, and `""` sent as `{}`.
    #[serde(serialize_with = "json_text")]
    arguments: Box<RawValue>,
}

fn json_text<S: serde::Serializer>(value: &RawValue, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.get())
}

#[derive(Serialize)]
struct V2Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: V2Function<'a>,
}

#[derive(Serialize)]
struct V2Function<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    parameters: &'a RawValue,
}

#[derive(Serialize)]
struct V2ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    json_schema: Option<&'a RawValue>,
}
