//! Cohere's request bodies as its API reference documents them (docs.cohere.com/reference: chat,
//! chat-v1, generate, embed, embed-v1), typed with `deny_unknown_fields`.
//!
//! `../shared/specs/cohere` keeps no machine-readable schema (Cohere's OpenAPI document is
//! proprietary), so "validated against the provider's spec" means this: every body a test
//! produces must deserialize into the documented shape of the endpoint it is sent to, with no
//! field Cohere does not document, every required field present, enums within their values.

// Fields are read only by serde, to check their types.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// Fails the test unless `body` has the documented shape of the endpoint at `path` (which may
/// sit under a prefix, with `upstream_url` or `upstream_path`).
pub fn assert_documented(path: &str, body: &Value) {
    let endpoints: [(&str, Check); 5] = [
        ("/v2/chat", check::<V2ChatRequest>),
        ("/v1/chat", check::<V1ChatRequest>),
        ("/v1/generate", check::<GenerateRequest>),
        ("/v2/embed", check::<V2EmbedRequest>),
        ("/v1/embed", check::<V1EmbedRequest>),
    ];
    let Some((_, check)) = endpoints
        .iter()
        .find(|(endpoint, _)| path.ends_with(endpoint))
    else {
        panic!("no documented request shape for {path}");
    };
    if let Err(error) = check(body) {
        panic!("the body sent to {path} is not Cohere's documented shape: {error}\n{body:#}");
    }
}

/// Reads a body into one endpoint's documented shape.
type Check = fn(&Value) -> Result<(), serde_json::Error>;

fn check<T: for<'de> Deserialize<'de>>(body: &Value) -> Result<(), serde_json::Error> {
    T::deserialize(body).map(drop)
}

// ---------------------------------------------------------------------------------------------
// POST /v2/chat

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2ChatRequest {
    pub stream: bool,
    pub model: String,
    pub messages: Vec<V2Message>,
    pub tools: Option<Vec<V2Tool>>,
    pub strict_tools: Option<bool>,
    pub documents: Option<Vec<Value>>,
    pub citation_options: Option<Value>,
    pub response_format: Option<V2ResponseFormat>,
    pub safety_mode: Option<SafetyMode>,
    pub max_tokens: Option<u64>,
    pub stop_sequences: Option<Vec<String>>,
    pub temperature: Option<f64>,
    pub seed: Option<i64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub k: Option<u64>,
    pub p: Option<f64>,
    pub logprobs: Option<bool>,
    pub tool_choice: Option<V2ToolChoice>,
    pub thinking: Option<Value>,
    pub priority: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "role", rename_all = "lowercase", deny_unknown_fields)]
pub enum V2Message {
    User {
        content: V2Content,
    },
    Assistant {
        tool_calls: Option<Vec<V2ToolCall>>,
        tool_plan: Option<String>,
        content: Option<V2Content>,
        citations: Option<Vec<Value>>,
    },
    System {
        content: V2Content,
    },
    Tool {
        tool_call_id: String,
        content: V2Content,
    },
}

/// A string, or a list of content blocks.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum V2Content {
    Text(String),
    Blocks(Vec<V2ContentBlock>),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum V2ContentBlock {
    Text { text: String },
    Thinking { thinking: String },
    ImageUrl { image_url: Value },
    Document { document: Value },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2ToolCall {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FunctionType,
    pub function: Option<V2FunctionCall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2FunctionCall {
    pub name: Option<String>,
    /// JSON text.
    pub arguments: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionType {
    Function,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Tool {
    #[serde(rename = "type")]
    pub kind: FunctionType,
    pub function: Option<V2Function>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Function {
    pub name: String,
    pub description: Option<String>,
    /// A JSON Schema object.
    pub parameters: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum V2ResponseFormat {
    Text,
    JsonObject {
        json_schema: Option<BTreeMap<String, Value>>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SafetyMode {
    Contextual,
    Strict,
    Off,
    None,
}

#[derive(Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum V2ToolChoice {
    Required,
    None,
}

// ---------------------------------------------------------------------------------------------
// POST /v1/chat

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1ChatRequest {
    pub message: String,
    pub model: Option<String>,
    pub stream: bool,
    pub preamble: Option<String>,
    pub chat_history: Option<Vec<V1Message>>,
    pub conversation_id: Option<String>,
    pub prompt_truncation: Option<String>,
    pub connectors: Option<Vec<Value>>,
    pub search_queries_only: Option<bool>,
    pub documents: Option<Vec<BTreeMap<String, String>>>,
    pub citation_quality: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub max_input_tokens: Option<u64>,
    pub k: Option<u64>,
    pub p: Option<f64>,
    pub seed: Option<i64>,
    pub stop_sequences: Option<Vec<String>>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub raw_prompting: Option<bool>,
    pub tools: Option<Vec<V1Tool>>,
    pub tool_results: Option<Vec<V1ToolResult>>,
    pub force_single_step: Option<bool>,
    pub response_format: Option<V1ResponseFormat>,
    pub safety_mode: Option<SafetyMode>,
}

#[derive(Deserialize)]
#[serde(tag = "role", rename_all = "UPPERCASE", deny_unknown_fields)]
pub enum V1Message {
    Chatbot {
        message: String,
        tool_calls: Option<Vec<V1ToolCall>>,
    },
    System {
        message: String,
        tool_calls: Option<Vec<V1ToolCall>>,
    },
    User {
        message: String,
        tool_calls: Option<Vec<V1ToolCall>>,
    },
    Tool {
        tool_results: Option<Vec<V1ToolResult>>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1ToolCall {
    pub name: String,
    pub parameters: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1ToolResult {
    pub call: V1ToolCall,
    pub outputs: Vec<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Tool {
    pub name: String,
    pub description: String,
    pub parameter_definitions: Option<BTreeMap<String, V1ParameterDefinition>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1ParameterDefinition {
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub required: Option<bool>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum V1ResponseFormat {
    Text,
    JsonObject {
        schema: Option<BTreeMap<String, Value>>,
    },
}

// ---------------------------------------------------------------------------------------------
// POST /v1/generate

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    pub prompt: String,
    pub model: Option<String>,
    pub num_generations: Option<u64>,
    pub stream: Option<bool>,
    pub max_tokens: Option<u64>,
    pub truncate: Option<String>,
    pub temperature: Option<f64>,
    pub seed: Option<i64>,
    pub preset: Option<String>,
    pub end_sequences: Option<Vec<String>>,
    pub stop_sequences: Option<Vec<String>>,
    pub k: Option<u64>,
    pub p: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub return_likelihoods: Option<String>,
    pub raw_prompting: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// POST /v2/embed and POST /v1/embed

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    SearchDocument,
    SearchQuery,
    Classification,
    Clustering,
    Image,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingType {
    Float,
    Int8,
    Uint8,
    Binary,
    Ubinary,
    Base64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2EmbedRequest {
    pub texts: Option<Vec<String>>,
    pub images: Option<Vec<String>>,
    pub model: String,
    pub input_type: InputType,
    pub inputs: Option<Vec<Value>>,
    pub max_tokens: Option<u64>,
    pub output_dimension: Option<u64>,
    pub embedding_types: Option<Vec<EmbeddingType>>,
    pub truncate: Option<String>,
    pub priority: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1EmbedRequest {
    pub texts: Option<Vec<String>>,
    pub images: Option<Vec<String>>,
    pub model: Option<String>,
    pub input_type: Option<InputType>,
    pub embedding_types: Option<Vec<EmbeddingType>>,
    pub truncate: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undocumented_fields_and_values_are_refused() {
        let good = json!({"model": "command-a", "stream": false,
            "messages": [{"role": "user", "content": "hi"}]});
        assert!(check::<V2ChatRequest>(&good).is_ok());
        for bad in [
            json!({"model": "m", "stream": false, "messages": [], "top_p": 0.5}),
            json!({"model": "m", "messages": []}),
            json!({"model": "m", "stream": false, "messages": [{"role": "USER", "content": "hi"}]}),
            json!({"model": "m", "stream": false, "messages": [{"role": "user", "content": "hi", "name": "x"}]}),
            json!({"model": "m", "stream": false, "messages": [], "tool_choice": "AUTO"}),
        ] {
            assert!(check::<V2ChatRequest>(&bad).is_err(), "{bad}");
        }
        assert!(check::<V1ChatRequest>(&json!({"message": "hi", "stream": false})).is_ok());
        assert!(check::<V1ChatRequest>(
            &json!({"message": "hi", "stream": false, "chat_history": [{"role": "user", "message": "x"}]})
        )
        .is_err());
    }
}
