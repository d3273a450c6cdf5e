//! The `GenerateContentRequest` body for a chat or a text completion.
//!
//! A text completion is sent as a chat of one user turn (Kong refuses completions for Gemini;
//! Gemini has no other text endpoint, and a single turn is what a completion asks).
//!
//! Parameters Gemini cannot honour are refused with a 400 naming them: `logprobs`,
//! `top_logprobs`, `logit_bias`, `parallel_tool_calls`, `user`, `echo`, `suffix`, `best_of` and
//! any other field not mapped in [`crate::generation`] or [`crate::contents`].

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::openai::{
    reject_other_fields, unsupported, ChatRequest, CompletionRequest, ResponseFormat,
};
use provider_sdk::options::ModelOptions;
use serde::Serialize;

use crate::contents::{conversation, Content, Part};
use crate::generation::{
    parameter_schemas, FunctionDeclarations, GenerationConfig, OutputFormat, Sampling, ToolConfig,
};
use crate::schema::JsonSchema;
use crate::text::error_message;
use crate::PROVIDER;

/// Request fields read apart, since the SDK's request types leave them among the others.
const PENALTIES: [&str; 2] = ["presence_penalty", "frequency_penalty"];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateContentRequest<'a> {
    contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Content<'a>>,
    #[serde(skip_serializing_if = "FunctionDeclarations::is_empty")]
    tools: FunctionDeclarations<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    generation_config: GenerationConfig<'a>,
}

/// `presence_penalty` and `frequency_penalty`, read only when the client sent one.
#[derive(Debug, Default, serde::Deserialize)]
struct Penalties {
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
}

impl Penalties {
    /// Reads the penalties among `other` (a request's other field names) from `body`, and
    /// refuses the rest of `other`.
    fn read(body: &[u8], other: &[Cow<'_, str>]) -> Result<Penalties, ModuleError> {
        reject_other_fields(other, &PENALTIES, PROVIDER)?;
        if other.is_empty() {
            return Ok(Penalties::default());
        }
        provider_sdk::json_bytes::from_bytes(body).map_err(|e| {
            ModuleError::invalid_request(format!(
                "presence_penalty, frequency_penalty: {}",
                error_message(&e)
            ))
        })
    }
}

/// The body for a chat request.
pub fn chat_body(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    let penalties = Penalties::read(body, &request.other)?;
    let conversation = conversation(&request.messages, plan.model.as_str())?;
    let schemas = parameter_schemas(&request.tools)?;
    let response_schema = match &request.response_format {
        Some(ResponseFormat::JsonSchema(format)) => format
            .schema
            .map(|raw| {
                JsonSchema::parse(raw).map_err(|e| e.at("response_format.json_schema.schema"))
            })
            .transpose()?,
        _ => None,
    };
    let format = match &request.response_format {
        None | Some(ResponseFormat::Text) => OutputFormat::Text,
        Some(ResponseFormat::JsonObject) => OutputFormat::Json,
        Some(ResponseFormat::JsonSchema(_)) => OutputFormat::JsonSchema(response_schema.as_ref()),
    };
    let sampling = Sampling {
        max_tokens: request.max_output_tokens(),
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        stop: &request.stop,
        seed: request.seed,
        n: request.n,
        presence_penalty: penalties.presence_penalty,
        frequency_penalty: penalties.frequency_penalty,
    };
    to_json(&GenerateContentRequest {
        contents: conversation.contents,
        system_instruction: conversation.system_instruction,
        tools: FunctionDeclarations::new(&request.tools, &schemas)?,
        tool_config: ToolConfig::new(request.tool_choice.as_ref(), &request.tools)?,
        generation_config: GenerationConfig::new(&sampling, options, format, plan.stream)?,
    })
}

/// The body for a text completion: the prompt as the one user turn.
pub fn completion_body(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    let penalties = Penalties::read(body, &request.other)?;
    let prompt = request.single_prompt(PROVIDER)?;
    let sampling = Sampling {
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        stop: &request.stop,
        seed: request.seed,
        n: request.n,
        presence_penalty: penalties.presence_penalty,
        frequency_penalty: penalties.frequency_penalty,
    };
    to_json(&GenerateContentRequest {
        contents: vec![Content {
            role: Some("user"),
            parts: vec![Part::Text(Cow::Borrowed(prompt))],
        }],
        system_instruction: None,
        tools: FunctionDeclarations::new(&[], &[])?,
        tool_config: None,
        generation_config: GenerationConfig::new(
            &sampling,
            options,
            OutputFormat::Text,
            plan.stream,
        )?,
    })
}

fn to_json(request: &GenerateContentRequest<'_>) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(request).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the Gemini request: {e}"))
    })
}
