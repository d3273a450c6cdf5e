//! Which fields of an OpenAI request this module maps, which it refuses, and the sampling values
//! every Cohere generation body carries.
//!
//! | OpenAI | Cohere |
//! |---|---|
//! | `max_completion_tokens`, else `max_tokens` | `max_tokens` |
//! | `temperature`, `seed` | the same |
//! | `top_p`, `top_k` | `p`, `k` |
//! | `stop` | `stop_sequences` |
//! | `frequency_penalty`, `presence_penalty` | the same (Cohere takes 0..1) |
//! | `parallel_tool_calls: true` | nothing: Cohere may call several tools at once |
//! | `n` above 1 on chat, `parallel_tool_calls: false`, `user`, a message's `name`, anything else | 400 |
//!
//! The configured `max_tokens`, `temperature`, `top_p` and `top_k` replace the client's (Kong's
//! rule: operators cap what clients spend).

use std::borrow::Cow;

use provider_sdk::abi::ModuleError;
use provider_sdk::openai::{
    reject_other_fields, unsupported, ChatRequest, CompletionRequest, Role,
};
use provider_sdk::options::ModelOptions;

use crate::PROVIDER;

/// The OpenAI fields that [`ChatRequest`] and [`CompletionRequest`] keep only by name and that
/// Cohere can honour.
const PENALTIES: [&str; 2] = ["frequency_penalty", "presence_penalty"];

/// The sampling values of a Cohere generation body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling<'r> {
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub p: Option<f64>,
    pub k: Option<u64>,
    pub seed: Option<i64>,
    pub stop_sequences: &'r [Cow<'r, str>],
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
}

/// The values of the fields the typed requests only name, read with a second pass over the body
/// when (and only when) the client sent one of them.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
struct NamedFields {
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
}

impl NamedFields {
    fn read(body: &[u8], other: &[Cow<'_, str>]) -> Result<NamedFields, ModuleError> {
        let wanted = [
            "frequency_penalty",
            "presence_penalty",
            "parallel_tool_calls",
        ];
        if !other.iter().any(|name| wanted.contains(&name.as_ref())) {
            return Ok(NamedFields::default());
        }
        provider_sdk::json_bytes::from_bytes(body).map_err(|e| {
            let text = e.to_string();
            let position = format!(" at line {} column {}", e.line(), e.column());
            let reason = text.strip_suffix(&position).unwrap_or(&text);
            ModuleError::invalid_request(format!("request body: {reason}"))
        })
    }
}

/// Checks a chat request's fields against the table and returns its sampling values.
pub fn chat_sampling<'r>(
    request: &'r ChatRequest<'_>,
    body: &[u8],
    options: &ModelOptions<'_>,
) -> Result<Sampling<'r>, ModuleError> {
    reject_other_fields(
        &request.other,
        &[
            "frequency_penalty",
            "presence_penalty",
            "parallel_tool_calls",
        ],
        PROVIDER,
    )?;
    if request.n.is_some_and(|n| n > 1) {
        return Err(unsupported(&["n"], PROVIDER));
    }
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    // A tool result's `name` repeats the function its call names; the others have no place.
    let named = request
        .messages
        .iter()
        .position(|m| m.name.is_some() && m.role != Role::Tool);
    if let Some(index) = named {
        return Err(unsupported(&[&format!("messages[{index}].name")], PROVIDER));
    }
    let named = NamedFields::read(body, &request.other)?;
    if named.parallel_tool_calls == Some(false) {
        return Err(ModuleError::invalid_request(format!(
            "`parallel_tool_calls: false` is not supported by provider {PROVIDER}: its models may call several tools at once"
        )));
    }
    Ok(Sampling {
        max_tokens: options.max_tokens.or(request.max_output_tokens()),
        temperature: options.temperature.or(request.temperature),
        p: options.top_p.or(request.top_p),
        k: options.top_k.or(request.top_k),
        seed: request.seed,
        stop_sequences: &request.stop,
        frequency_penalty: named.frequency_penalty,
        presence_penalty: named.presence_penalty,
    })
}

/// Checks a completion request's fields against the table and returns its sampling values.
pub fn completion_sampling<'r>(
    request: &'r CompletionRequest<'_>,
    body: &[u8],
    options: &ModelOptions<'_>,
) -> Result<Sampling<'r>, ModuleError> {
    reject_other_fields(&request.other, &PENALTIES, PROVIDER)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    let named = NamedFields::read(body, &request.other)?;
    Ok(Sampling {
        max_tokens: options.max_tokens.or(request.max_tokens),
        temperature: options.temperature.or(request.temperature),
        p: options.top_p.or(request.top_p),
        k: options.top_k.or(request.top_k),
        seed: request.seed,
        stop_sequences: &request.stop,
        frequency_penalty: named.frequency_penalty,
        presence_penalty: named.presence_penalty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::options::Templates;

    fn options(json: &str) -> ModelOptions<'_> {
        ModelOptions::parse(json, Templates::Resolved).unwrap()
    }

    fn chat_error(body: &str) -> String {
        let request = ChatRequest::parse(body.as_bytes()).unwrap();
        chat_sampling(&request, body.as_bytes(), &options("{}"))
            .unwrap_err()
            .message
            .into_string()
    }

    #[test]
    fn client_values_are_mapped() {
        let body = br#"{"messages":[{"role":"user","content":"x"}],"max_tokens":9,"max_completion_tokens":10,
            "temperature":0.2,"top_p":0.5,"top_k":7,"seed":3,"stop":["END"],"frequency_penalty":0.1,
            "presence_penalty":0.4,"parallel_tool_calls":true,"n":1}"#;
        let request = ChatRequest::parse(body).unwrap();
        let sampling = chat_sampling(&request, body, &options("{}")).unwrap();
        assert_eq!(
            sampling,
            Sampling {
                max_tokens: Some(10),
                temperature: Some(0.2),
                p: Some(0.5),
                k: Some(7),
                seed: Some(3),
                stop_sequences: &[Cow::Borrowed("END")],
                frequency_penalty: Some(0.1),
                presence_penalty: Some(0.4),
            }
        );
    }

    #[test]
    fn configured_values_replace_the_client_s() {
        let body =
            br#"{"messages":[{"role":"user","content":"x"}],"max_tokens":9,"temperature":0.2}"#;
        let request = ChatRequest::parse(body).unwrap();
        let configured = options(r#"{"max_tokens":512,"temperature":0.5,"top_p":1,"top_k":5}"#);
        let sampling = chat_sampling(&request, body, &configured).unwrap();
        assert_eq!(
            (
                sampling.max_tokens,
                sampling.temperature,
                sampling.p,
                sampling.k
            ),
            (Some(512), Some(0.5), Some(1.0), Some(5))
        );
    }

    #[test]
    fn what_cohere_cannot_honour_is_refused_by_name() {
        let cases = [
            (
                r#"{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":2}"#,
                "`logprobs`, `top_logprobs` are not supported by provider cohere",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"n":2}"#,
                "`n` is not supported by provider cohere",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"user":"u-1"}"#,
                "`user` is not supported by provider cohere",
            ),
            (
                r#"{"messages":[{"role":"system","content":"s"},{"role":"user","name":"ann","content":"x"}]}"#,
                "`messages[1].name` is not supported by provider cohere",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"parallel_tool_calls":false}"#,
                "`parallel_tool_calls: false` is not supported by provider cohere: its models may call several tools at once",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"frequency_penalty":"high"}"#,
                "request body: invalid type: string \"high\", expected f64",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(chat_error(body), message, "{body}");
        }
    }

    #[test]
    fn a_tool_result_may_name_its_function() {
        let body =
            br#"{"messages":[{"role":"tool","tool_call_id":"c1","name":"add","content":"4"}]}"#;
        let request = ChatRequest::parse(body).unwrap();
        assert!(chat_sampling(&request, body, &options("{}")).is_ok());
    }

    #[test]
    fn completions_take_penalties_and_refuse_the_rest() {
        let body = br#"{"prompt":"x","presence_penalty":0.3,"max_tokens":4}"#;
        let request = CompletionRequest::parse(body).unwrap();
        let sampling = completion_sampling(&request, body, &options("{}")).unwrap();
        assert_eq!(sampling.presence_penalty, Some(0.3));
        assert_eq!(sampling.max_tokens, Some(4));
        let body = br#"{"prompt":"x","echo":true,"suffix":"y"}"#;
        let request = CompletionRequest::parse(body).unwrap();
        assert_eq!(
            completion_sampling(&request, body, &options("{}"))
                .unwrap_err()
                .message
                .as_str(),
            "`echo`, `suffix` are not supported by provider cohere"
        );
    }
}
