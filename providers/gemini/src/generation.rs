//! The request's parameters as Gemini's `generationConfig`, `tools` and `toolConfig`.
//!
//! | OpenAI | Gemini |
//! |---|---|
//! | `max_completion_tokens`, else `max_tokens` | `generationConfig.maxOutputTokens` |
//! | `temperature`, `top_p`, `top_k` | `temperature`, `topP`, `topK` |
//! | `stop` | `stopSequences` |
//! | `n` | `candidateCount` (not with a stream: one choice is streamed) |
//! | `seed` | `seed` (a 32-bit integer) |
//! | `presence_penalty`, `frequency_penalty` | `presencePenalty`, `frequencyPenalty` |
//! | `response_format` `json_object` | `responseMimeType: application/json` |
//! | `response_format` `json_schema` | the same and `responseSchema` ([`crate::schema`]) |
//! | `tools` | `[{functionDeclarations: [{name, description, parameters}]}]` |
//! | `tool_choice` `none` / `auto` / `required` / a function | `toolConfig.functionCallingConfig.mode` `NONE` / `AUTO` / `ANY` / `ANY` with `allowedFunctionNames` |
//!
//! The route's `max_tokens`, `temperature`, `top_p` and `top_k` options replace the client's
//! values, as in Kong. A function whose parameters are an object without properties (or `{}`) is
//! declared without `parameters`: Gemini refuses an `OBJECT` with no properties, and such a
//! function takes no arguments either way.

use std::borrow::Cow;

use provider_sdk::abi::ModuleError;
use provider_sdk::openai::{Tool, ToolChoice};
use provider_sdk::options::ModelOptions;
use provider_sdk::tool_calls::{tool_use, ToolUse};
use serde::Serialize;

use crate::schema::{GeminiSchema, JsonSchema};

/// The sampling parameters chat and completion requests share, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct Sampling<'a> {
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub stop: &'a [Cow<'a, str>],
    pub seed: Option<i64>,
    pub n: Option<u64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
}

/// `generationConfig`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [Cow<'a, str>],
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_schema: Option<GeminiSchema<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidate_count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
}

/// What the client asked the answer to look like.
#[derive(Debug, Clone, Copy)]
pub enum OutputFormat<'s, 'a> {
    Text,
    Json,
    JsonSchema(Option<&'s JsonSchema<'a>>),
}

impl<'a> GenerationConfig<'a> {
    /// The config for `sampling`, the route's `options` taking precedence. `stream`: whether the
    /// answer is streamed, which allows one candidate only.
    pub fn new(
        sampling: &Sampling<'a>,
        options: &ModelOptions<'_>,
        format: OutputFormat<'a, 'a>,
        stream: bool,
    ) -> Result<GenerationConfig<'a>, ModuleError> {
        let candidate_count = match sampling.n {
            Some(0) => return Err(ModuleError::invalid_request("`n` must be at least 1")),
            Some(n) if n > 1 && stream => {
                return Err(ModuleError::invalid_request(
                    "`n` greater than 1 is not supported with `stream` by provider gemini",
                ))
            }
            Some(n) if n > 1 => Some(int32("n", n)?),
            _ => None,
        };
        let seed = sampling
            .seed
            .map(|seed| {
                i32::try_from(seed).map_err(|_| {
                    ModuleError::invalid_request(
                        "`seed` must be a 32-bit integer for provider gemini",
                    )
                })
            })
            .transpose()?;
        let (response_mime_type, response_schema) = match format {
            OutputFormat::Text => (None, None),
            OutputFormat::Json => (Some("application/json"), None),
            OutputFormat::JsonSchema(schema) => (
                Some("application/json"),
                schema
                    .map(|schema| {
                        schema
                            .to_gemini()
                            .map_err(|e| e.at("response_format.json_schema.schema"))
                    })
                    .transpose()?,
            ),
        };
        Ok(GenerationConfig {
            stop_sequences: sampling.stop,
            response_mime_type,
            response_schema,
            candidate_count,
            max_output_tokens: options
                .max_tokens
                .or(sampling.max_tokens)
                .map(|max| int32("max_tokens", max))
                .transpose()?,
            temperature: options.temperature.or(sampling.temperature),
            top_p: options.top_p.or(sampling.top_p),
            top_k: options
                .top_k
                .or(sampling.top_k)
                .map(|k| int32("top_k", k))
                .transpose()?,
            seed,
            presence_penalty: sampling.presence_penalty,
            frequency_penalty: sampling.frequency_penalty,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.stop_sequences.is_empty()
            && self.response_mime_type.is_none()
            && self.response_schema.is_none()
            && self.candidate_count.is_none()
            && self.max_output_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.seed.is_none()
            && self.presence_penalty.is_none()
            && self.frequency_penalty.is_none()
    }
}

fn int32(name: &str, value: u64) -> Result<i32, ModuleError> {
    i32::try_from(value).map_err(|_| {
        ModuleError::invalid_request(format!("`{name}` is too large for provider gemini"))
    })
}

/// `tools`: one `Tool` holding every function declaration.
#[derive(Debug, Clone)]
pub struct FunctionDeclarations<'a>(Vec<FunctionDeclaration<'a>>);

#[derive(Debug, Clone, Serialize)]
pub struct FunctionDeclaration<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<GeminiSchema<'a>>,
}

impl<'a> FunctionDeclarations<'a> {
    /// Declares `tools`, whose parameter schemas were read into `schemas` (one per tool).
    pub fn new(
        tools: &'a [Tool<'_>],
        schemas: &'a [Option<JsonSchema<'_>>],
    ) -> Result<FunctionDeclarations<'a>, ModuleError> {
        tools
            .iter()
            .zip(schemas)
            .enumerate()
            .map(|(index, (tool, schema))| {
                let parameters = schema
                    .as_ref()
                    .map(|schema| {
                        schema
                            .to_gemini()
                            .map_err(|e| e.at(&format!("tools[{index}].function.parameters")))
                    })
                    .transpose()?
                    .filter(|parameters| !parameters.takes_no_arguments());
                Ok(FunctionDeclaration {
                    name: &tool.function.name,
                    description: tool.function.description.as_deref(),
                    parameters,
                })
            })
            .collect::<Result<_, ModuleError>>()
            .map(FunctionDeclarations)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FunctionDeclarations<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct GeminiTool<'s, 'a> {
            function_declarations: &'s [FunctionDeclaration<'a>],
        }
        [GeminiTool {
            function_declarations: &self.0,
        }]
        .serialize(serializer)
    }
}

/// Reads each tool's `parameters` schema.
pub fn parameter_schemas<'a>(
    tools: &[Tool<'a>],
) -> Result<Vec<Option<JsonSchema<'a>>>, ModuleError> {
    tools
        .iter()
        .enumerate()
        .map(|(index, tool)| {
            tool.function
                .parameters
                .map(|raw| {
                    JsonSchema::parse(raw)
                        .map_err(|e| e.at(&format!("tools[{index}].function.parameters")))
                })
                .transpose()
        })
        .collect()
}

/// `toolConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig<'a> {
    function_calling_config: FunctionCallingConfig<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionCallingConfig<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_function_names: Vec<&'a str>,
}

impl<'a> ToolConfig<'a> {
    /// The config for the client's `tool_choice`; `None` when the client left it to the model
    /// (Gemini's default, `AUTO`) or offered no tools.
    pub fn new(
        choice: Option<&'a ToolChoice<'a>>,
        tools: &[Tool<'_>],
    ) -> Result<Option<ToolConfig<'a>>, ModuleError> {
        let use_of_tools = tool_use(choice, tools)?;
        let (mode, allowed_function_names) = match use_of_tools {
            _ if choice.is_none() || tools.is_empty() => return Ok(None),
            ToolUse::None => ("NONE", Vec::new()),
            ToolUse::Auto => ("AUTO", Vec::new()),
            ToolUse::Required => ("ANY", Vec::new()),
            ToolUse::Function(name) => ("ANY", vec![name]),
        };
        Ok(Some(ToolConfig {
            function_calling_config: FunctionCallingConfig {
                mode,
                allowed_function_names,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::openai::ChatRequest;
    use provider_sdk::options::Templates;
    use serde_json::json;

    #[test]
    fn options_replace_the_clients_sampling() {
        let stop = vec![Cow::Borrowed("END")];
        let sampling = Sampling {
            max_tokens: Some(100),
            temperature: Some(0.1),
            top_p: Some(0.2),
            top_k: Some(3),
            stop: &stop,
            seed: Some(-7),
            n: Some(2),
            presence_penalty: Some(0.5),
            frequency_penalty: Some(-0.5),
        };
        let options = ModelOptions::parse(
            r#"{"max_tokens":8192,"temperature":0.8,"top_k":1}"#,
            Templates::Resolved,
        )
        .unwrap();
        let config = GenerationConfig::new(&sampling, &options, OutputFormat::Json, false).unwrap();
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            json!({
                "stopSequences": ["END"], "responseMimeType": "application/json",
                "candidateCount": 2, "maxOutputTokens": 8192, "temperature": 0.8, "topP": 0.2,
                "topK": 1, "seed": -7, "presencePenalty": 0.5, "frequencyPenalty": -0.5,
            })
        );
        assert!(GenerationConfig::default().is_empty());
    }

    #[test]
    fn values_gemini_cannot_take_are_400s() {
        let options = ModelOptions::default();
        let cases = [
            (
                Sampling {
                    n: Some(0),
                    ..Sampling::default()
                },
                false,
                "`n` must be at least 1",
            ),
            (
                Sampling {
                    n: Some(2),
                    ..Sampling::default()
                },
                true,
                "`n` greater than 1 is not supported with `stream` by provider gemini",
            ),
            (
                Sampling {
                    seed: Some(1 << 40),
                    ..Sampling::default()
                },
                false,
                "`seed` must be a 32-bit integer for provider gemini",
            ),
            (
                Sampling {
                    max_tokens: Some(1 << 40),
                    ..Sampling::default()
                },
                false,
                "`max_tokens` is too large for provider gemini",
            ),
        ];
        for (sampling, stream, message) in cases {
            let error =
                GenerationConfig::new(&sampling, &options, OutputFormat::Text, stream).unwrap_err();
            assert_eq!(error.message.as_str(), message);
        }
    }

    fn tool_config(body: serde_json::Value) -> Result<serde_json::Value, String> {
        let text = body.to_string();
        let request = ChatRequest::parse(text.as_bytes()).unwrap();
        ToolConfig::new(request.tool_choice.as_ref(), &request.tools)
            .map(|config| serde_json::to_value(config).unwrap())
            .map_err(|e| e.message.into_string())
    }

    #[test]
    fn tool_choice_becomes_the_function_calling_mode() {
        let tools = json!([{"type": "function", "function": {"name": "add"}}]);
        let messages = json!([{"role": "user", "content": "x"}]);
        let cases = [
            (json!(null), json!(null)),
            (
                json!("auto"),
                json!({"functionCallingConfig": {"mode": "AUTO"}}),
            ),
            (
                json!("none"),
                json!({"functionCallingConfig": {"mode": "NONE"}}),
            ),
            (
                json!("required"),
                json!({"functionCallingConfig": {"mode": "ANY"}}),
            ),
            (
                json!({"type": "function", "function": {"name": "add"}}),
                json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["add"]}}),
            ),
        ];
        for (choice, expected) in cases {
            let body = json!({"messages": messages, "tools": tools, "tool_choice": choice});
            assert_eq!(tool_config(body).unwrap(), expected, "{choice}");
        }
        let no_tools = json!({"messages": messages, "tool_choice": "none"});
        assert_eq!(tool_config(no_tools).unwrap(), json!(null));
        let missing = json!({"messages": messages, "tools": tools, "tool_choice": {"type": "function", "function": {"name": "sub"}}});
        assert_eq!(
            tool_config(missing).unwrap_err(),
            "tool_choice names function `sub`, which is not in tools"
        );
    }

    #[test]
    fn declarations_without_arguments_have_no_parameters() {
        let body = json!({"messages": [{"role": "user", "content": "x"}], "tools": [
            {"type": "function", "function": {"name": "now", "description": "The time", "parameters": {"type": "object", "properties": {}}}},
            {"type": "function", "function": {"name": "stop"}},
            {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false}}},
        ]})
        .to_string();
        let request = ChatRequest::parse(body.as_bytes()).unwrap();
        let schemas = parameter_schemas(&request.tools).unwrap();
        let declarations = FunctionDeclarations::new(&request.tools, &schemas).unwrap();
        assert_eq!(
            serde_json::to_value(&declarations).unwrap(),
            json!([{"functionDeclarations": [
                {"name": "now", "description": "The time"},
                {"name": "stop"},
                {"name": "add", "parameters": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}, "required": ["a"]}},
            ]}])
        );
    }

    #[test]
    fn a_bad_parameter_schema_names_the_tool() {
        let body = json!({"messages": [{"role": "user", "content": "x"}], "tools": [
            {"type": "function", "function": {"name": "ok"}},
            {"type": "function", "function": {"name": "bad", "parameters": {"type": "object", "properties": {"n": {"not": {}}}}}},
        ]})
        .to_string();
        let request = ChatRequest::parse(body.as_bytes()).unwrap();
        let schemas = parameter_schemas(&request.tools).unwrap();
        let error = FunctionDeclarations::new(&request.tools, &schemas).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "tools[1].function.parameters.properties.n.not: JSON Schema keyword `not` is not supported by provider gemini"
        );
    }
}
