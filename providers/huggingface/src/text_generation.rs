//! Text completions through the Inference API's text generation task (TGI's `/generate`
//! shape): `POST /models/{model}`.
//!
//! | OpenAI completions | text generation |
//! |---|---|
//! | `prompt` (one text) | `inputs` |
//! | `max_tokens` (the configured one replaces it) | `parameters.max_new_tokens` |
//! | `temperature` above 0 | `parameters.temperature`, `do_sample: true` (TGI decodes greedily at exactly 1.0 otherwise) |
//! | `temperature: 0` | `do_sample: false` and no sampling parameters: greedy decoding, which TGI's own `temperature` cannot express (it must be above 0) |
//! | `top_p` below 1 / `top_p: 1` | `parameters.top_p` / nothing (TGI wants it below 1; 1 filters nothing) |
//! | `top_k` above 0 / `top_k: 0` | `parameters.top_k` / nothing |
//! | `stop`, `seed`, `frequency_penalty` | `parameters.stop`, `.seed`, `.frequency_penalty` |
//! | `stream` | `stream` |
//! | `parameters` (Kong's pass-through of TGI's own) | kept; each value the client set there wins, but `max_new_tokens` when one is configured, and `details` |
//! | `n` above 1, `echo`, `logprobs`, `suffix`, `best_of`, `presence_penalty`, `logit_bias`, `user` | 400 |
//!
//! Always sent: `return_full_text: false` (OpenAI's text excludes the prompt), `details: true`
//! (for the finish reason and token counts) and `options` (see [`crate::endpoint`]). The
//! configured `temperature`, `top_p` and `top_k` fill in what the client did not send, as for
//! every provider here.
//!
//! The answer `[{"generated_text", "details": {"finish_reason", "generated_tokens", "prefill"}}]`
//! (TGI's `/generate` writes the object without the list) becomes a `text_completion`: text,
//! finish reason mapped, `completion_tokens = generated_tokens`, and `prompt_tokens` the length
//! of `prefill` when TGI lists the prompt's tokens there (only with `decoder_input_details`,
//! which is not asked for because its size grows with the prompt), else not reported. Kong
//! answers a chat-shaped body with `object: "llm/v1/completions"` and `finish_reason: "complete"`.

use std::borrow::Cow;

use abi_stable::std_types::ROption;
use provider_sdk::abi::{
    Framing, ModuleError, RequestPlan, RouteType, TranslatedResponse, UpstreamRequest, Usage,
};
use provider_sdk::finish_reason::FinishReason;
use provider_sdk::json_edit::ObjectEdit;
use provider_sdk::openai::{
    new_response_id, unix_time_now, unsupported, CompletionRequest, TextChoice, TextCompletion,
};
use provider_sdk::options::ModelOptions;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::endpoint::{self, json_headers, InferenceOptions};
use crate::error::untranslatable;
use crate::finish_reason::from_tgi;
use crate::PROVIDER;

/// Top-level fields read beside the ones every completion request has.
const EXTRA_FIELDS: &[&str] = &["parameters", "frequency_penalty"];

#[derive(Serialize)]
struct GenerationRequest<'a> {
    inputs: &'a str,
    parameters: &'a RawValue,
    options: InferenceOptions,
    stream: bool,
}

#[derive(Default, serde::Deserialize)]
struct ExtraFields<'a> {
    #[serde(default, borrow)]
    parameters: Option<&'a RawValue>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
}

/// The upstream request for a completions `body`.
pub fn build_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<UpstreamRequest, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    let inputs = request.single_prompt(PROVIDER)?;
    if request.n.is_some_and(|n| n > 1) {
        return Err(ModuleError::invalid_request(format!(
            "`n` greater than 1 is not supported by provider {PROVIDER}: text generation answers one text"
        )));
    }
    let refused: Vec<&str> = request
        .user
        .as_ref()
        .map(|_| "user")
        .into_iter()
        .chain(request.other.iter().map(|name| name.as_ref()))
        .filter(|name| !EXTRA_FIELDS.contains(name))
        .collect();
    if !refused.is_empty() {
        return Err(unsupported(&refused, PROVIDER));
    }
    let extra = if request.other.is_empty() {
        ExtraFields::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ModuleError::invalid_request(format!("request body: {e}")))?
    };
    let parameters = parameters(&request, &extra, options)?;
    let parameters = RawValue::from_string(parameters)
        .map_err(|e| ModuleError::invalid_request(format!("parameters: {e}")))?;
    let inference_options = InferenceOptions::of(options);
    let upstream_body = serde_json::to_vec(&GenerationRequest {
        inputs,
        parameters: &parameters,
        options: inference_options,
        stream: plan.stream,
    })
    .map_err(|e| ModuleError::invalid_request(format!("request body: {e}")))?;
    let url = endpoint::upstream(RouteType::COMPLETIONS, plan.model.as_str(), options)?
        .url(plan, options)?;
    Ok(UpstreamRequest {
        method: "POST".into(),
        url: url.into(),
        headers: json_headers(inference_options),
        body: ROption::RSome(upstream_body.into()),
        response_framing: if plan.stream {
            Framing::SSE
        } else {
            Framing::JSON
        },
        signing: ROption::RNone,
    })
}

/// The `parameters` object's JSON: the client's own, with what the OpenAI fields ask for filled
/// in.
fn parameters(
    request: &CompletionRequest<'_>,
    extra: &ExtraFields<'_>,
    options: &ModelOptions<'_>,
) -> Result<String, ModuleError> {
    let client_parameters = extra.parameters.map_or("{}", RawValue::get);
    let mut parameters = ObjectEdit::parse(client_parameters.as_bytes())
        .map_err(|_| ModuleError::invalid_request("`parameters` must be an object"))?;
    let temperature = request.temperature.or(options.temperature);
    if temperature.is_some_and(|t| t < 0.0) {
        return Err(ModuleError::invalid_request(
            "`temperature` must not be negative",
        ));
    }
    if temperature == Some(0.0) {
        fill_in(&mut parameters, "do_sample", &false)?;
    } else {
        if let Some(temperature) = temperature {
            fill_in(&mut parameters, "temperature", &temperature)?;
            fill_in(&mut parameters, "do_sample", &true)?;
        }
        match request.top_p.or(options.top_p) {
            Some(top_p) if top_p <= 0.0 => {
                return Err(ModuleError::invalid_request(format!(
                    "`top_p` must be greater than 0 for provider {PROVIDER}"
                )))
            }
            Some(top_p) if top_p < 1.0 => fill_in(&mut parameters, "top_p", &top_p)?,
            _ => {}
        }
        if let Some(top_k) = request.top_k.or(options.top_k).filter(|k| *k > 0) {
            fill_in(&mut parameters, "top_k", &top_k)?;
        }
    }
    if let Some(seed) = request.seed {
        let seed = u64::try_from(seed)
            .map_err(|_| ModuleError::invalid_request("`seed` must not be negative"))?;
        fill_in(&mut parameters, "seed", &seed)?;
    }
    if !request.stop.is_empty() {
        fill_in(&mut parameters, "stop", &request.stop)?;
    }
    if let Some(penalty) = extra.frequency_penalty {
        fill_in(&mut parameters, "frequency_penalty", &penalty)?;
    }
    fill_in(&mut parameters, "return_full_text", &false)?;
    match options.max_tokens {
        Some(cap) => set(&mut parameters, "max_new_tokens", &cap)?,
        None => {
            if let Some(max_tokens) = request.max_tokens {
                fill_in(&mut parameters, "max_new_tokens", &max_tokens)?;
            }
        }
    }
    set(&mut parameters, "details", &true)?;
    Ok(parameters.into_string())
}

/// Sets `name` unless the client's `parameters` already set it.
fn fill_in(
    parameters: &mut ObjectEdit<'_>,
    name: &'static str,
    value: &impl Serialize,
) -> Result<(), ModuleError> {
    if parameters.get(name).is_some_and(|v| v != "null") {
        return Ok(());
    }
    set(parameters, name, value)
}

fn set(
    parameters: &mut ObjectEdit<'_>,
    name: &'static str,
    value: &impl Serialize,
) -> Result<(), ModuleError> {
    parameters
        .set_json(name, value)
        .map_err(|e| ModuleError::invalid_request(format!("parameters.{name}: {e}")))
}

/// A whole text generation answer as a `text_completion`.
pub fn parse_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let generation = Generation::parse(body)?;
    let details = generation.details.as_ref();
    let usage = Usage {
        prompt_tokens: details
            .map(|d| d.prefill.0)
            .filter(|tokens| *tokens > 0)
            .into(),
        completion_tokens: details.and_then(|d| d.generated_tokens).into(),
        ..Usage::default()
    };
    // Without details (a model served by a plain pipeline) the answer cannot say why it stopped;
    // it did stop, which is what `stop` says.
    let finish_reason = details.map_or(FinishReason::Stop, |d| from_tgi(&d.finish_reason));
    let id = new_response_id("cmpl-");
    TextCompletion {
        id: &id,
        created: unix_time_now(),
        model: plan.model.as_str(),
        choices: vec![TextChoice {
            text: generation.generated_text,
            finish_reason,
        }],
        usage,
    }
    .build()
    .map(|built| built.into_translated())
}

#[derive(serde::Deserialize)]
struct Generation<'a> {
    #[serde(borrow)]
    generated_text: Cow<'a, str>,
    #[serde(default, borrow)]
    details: Option<GenerationDetails<'a>>,
}

impl<'a> Generation<'a> {
    /// The Inference API's list of one generation, or TGI's generation object.
    fn parse(body: &'a [u8]) -> Result<Generation<'a>, ModuleError> {
        let failed = |reason: &str| untranslatable(RouteType::COMPLETIONS, body, reason);
        let starts_list = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[');
        if starts_list {
            let list: Vec<Generation<'a>> = serde_json::from_slice(body)
                .map_err(|_| failed("response is not a list of generations"))?;
            list.into_iter()
                .next()
                .ok_or_else(|| failed("the list of generations is empty"))
        } else {
            serde_json::from_slice(body).map_err(|_| failed("'generated_text' not in response"))
        }
    }
}

#[derive(serde::Deserialize)]
struct GenerationDetails<'a> {
    #[serde(borrow)]
    finish_reason: Cow<'a, str>,
    #[serde(default)]
    generated_tokens: Option<u64>,
    #[serde(default)]
    prefill: Count,
}

/// How many elements a list has, read without keeping them; `null` or absent is 0.
#[derive(Default)]
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut count = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(Count(count))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Count(0))
    }
}
