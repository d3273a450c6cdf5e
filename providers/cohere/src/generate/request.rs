//! An OpenAI completion request as the body of Cohere's `POST /v1/generate`.
//!
//! | OpenAI | generate |
//! |---|---|
//! | `prompt` (one text) | `prompt` |
//! | `n` | `num_generations`; above 1 only without `stream`, since a stream carries one choice |
//! | sampling fields | as in [`crate::request_fields`] |

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::openai::CompletionRequest;
use provider_sdk::options::ModelOptions;
use serde::Serialize;
use std::borrow::Cow;

use crate::request_fields::completion_sampling;
use crate::PROVIDER;

/// Builds the `/v1/generate` body for `body`, a client's completion request.
pub fn translate_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    let sampling = completion_sampling(&request, body, options)?;
    let num_generations = request.n.filter(|n| *n != 1);
    if num_generations.is_some() && plan.stream {
        return Err(ModuleError::invalid_request(format!(
            "`n` above 1 with `stream` is not supported by provider {PROVIDER}"
        )));
    }
    let generate = GenerateBody {
        model: plan.model.as_str(),
        prompt: request.single_prompt(PROVIDER)?,
        num_generations,
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
    serde_json::to_vec(&generate).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the {PROVIDER} request: {e}"))
    })
}

#[derive(Serialize)]
struct GenerateBody<'a> {
    model: &'a str,
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_generations: Option<u64>,
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
