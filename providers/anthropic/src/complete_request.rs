//! An OpenAI text completion request as an Anthropic legacy Text Completions request
//! (`POST /v1/complete`).
//!
//! The API takes one prompt in its turn format, `"\n\nHuman: {prompt}\n\nAssistant:"`, and
//! refuses any other; Kong writes `"Human: …"` without the leading blank line, which Anthropic
//! rejects. `max_tokens` becomes `max_tokens_to_sample` (always set, as for chat), `stop`
//! `stop_sequences`, `user` `metadata.user_id`; `temperature`, `top_p` and `top_k` are passed on.
//! `seed`, `n` above 1, several prompts, token prompts and every other OpenAI field are a 400.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::openai::{reject_other_fields, unsupported, CompletionRequest};
use provider_sdk::options::ModelOptions;
use serde::Serialize;

use crate::endpoint;
use crate::PROVIDER;

/// The body for `plan`'s completions request.
pub fn translate(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    let mut refused = Vec::new();
    if request.seed.is_some() {
        refused.push("seed");
    }
    if request.n.is_some_and(|n| n != 1) {
        refused.push("n");
    }
    if !refused.is_empty() {
        return Err(unsupported(&refused, PROVIDER));
    }
    reject_other_fields(&request.other, &[], PROVIDER)?;
    let prompt = request.single_prompt(PROVIDER)?;
    let complete_request = CompleteRequest {
        model: plan.model.as_str(),
        prompt: format!("\n\nHuman: {prompt}\n\nAssistant:"),
        max_tokens_to_sample: endpoint::max_tokens(options, request.max_tokens),
        temperature: options.temperature.or(request.temperature),
        top_p: options.top_p.or(request.top_p),
        top_k: options.top_k.or(request.top_k),
        stop_sequences: &request.stop,
        stream: plan.stream,
        metadata: request.user.as_deref().map(|user_id| Metadata { user_id }),
    };
    serde_json::to_vec(&complete_request).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the anthropic request: {e}"))
    })
}

#[derive(Serialize)]
struct CompleteRequest<'r> {
    model: &'r str,
    prompt: String,
    max_tokens_to_sample: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'r [Cow<'r, str>],
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata<'r>>,
}

#[derive(Serialize)]
struct Metadata<'r> {
    user_id: &'r str,
}
