//! `llama2_format: raw`: Hugging Face text-generation-inference's native API
//! (`{inputs, parameters, stream}`), posted to `upstream_url` as given.
//!
//! | OpenAI | TGI |
//! |---|---|
//! | chat `messages` | `inputs`: the Llama chat prompt ([`crate::template`]) |
//! | completions `prompt` | `inputs`, as written: a completion continues the text it is given (Kong wraps it in a malformed `<<SYS>>` block with a system prompt the client never sent) |
//! | `max_tokens` | `parameters.max_new_tokens` |
//! | `temperature`, `top_p`, `top_k`, `seed`, `stop` | the same names in `parameters`; the values TGI refuses but that mean "no change" (`temperature` 0, `top_p` 1, `top_k` 0) are left out, so that TGI decodes greedily or without that filter |
//! | `response_format` | `parameters.grammar` `{type: json, value: <schema>}` |
//! | `stream` | `stream`, top level as TGI reads it (Kong puts it in `parameters`, where TGI ignores it) |
//! | — | `parameters.details: true`, `return_full_text: false`: the finish reason and token counts come back, the prompt does not |
//!
//! Replies: `[{generated_text, details}]` (TGI's `/`), `{generated_text, details}`
//! (`/generate`) or Kong's fixture shape `{data: [{generated_text}]}`. A server that echoes the
//! prompt anyway has the answer after the template's last marker (`[/INST]`), as Kong reads it.
//! `details.finish_reason`: `length` → `length`, `eos_token` and `stop_sequence` → `stop`.
//! `details.generated_tokens` is the completion count; the prompt count is the length of
//! `details.prefill` when TGI lists it, else not reported.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RString, RVec};
use provider_sdk::abi::{
    Framing, Header, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest, Usage,
};
use provider_sdk::finish_reason::FinishReason;
use provider_sdk::openai::{
    new_response_id, normalize_error_body, reject_other_fields, unix_time_now, unsupported,
    AssistantMessage, ChatChoice, ChatCompletion, ChatRequest, CompletionRequest, ResponseFormat,
    Role, TextChoice, TextCompletion,
};
use provider_sdk::options::{missing_option, ModelOptions};
use provider_sdk::tool_calls::{tool_use, ToolUse};
use provider_sdk::url::split_absolute;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::template::{ChatTemplate, Speaker, Turn};
use crate::PROVIDER;

/// How errors name this upstream.
const RAW: &str = "llama2 (llama2_format raw)";

/// The grammar for JSON mode: any JSON object.
const ANY_OBJECT: &str = r#"{"type":"object"}"#;

pub fn check_config(route_type: RouteType, options: &ModelOptions<'_>) -> Result<(), ModuleError> {
    if route_type == RouteType::EMBEDDINGS {
        return Err(ModuleError::invalid_request(
            "route_type: llama2_format raw serves no embeddings; use llama2_format ollama or openai",
        ));
    }
    upstream_url(options).map(|_| ())
}

fn upstream_url<'o>(options: &'o ModelOptions<'_>) -> Result<&'o str, ModuleError> {
    options
        .upstream_url
        .as_deref()
        .ok_or_else(|| missing_option("upstream_url", PROVIDER))
}

pub fn build_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    template: ChatTemplate,
    body: &[u8],
) -> Result<UpstreamRequest, ModuleError> {
    let (origin, path) = split_absolute(upstream_url(options)?).ok_or_else(|| {
        ModuleError::invalid_request("upstream_url: must be an absolute http or https URL")
    })?;
    let path = match plan.route_type {
        RouteType::PRESERVE => plan.client_path.as_str(),
        _ => path,
    };
    let mut url = format!("{origin}{}", if path.is_empty() { "/" } else { path });
    if !plan.client_query.is_empty() {
        url.push('?');
        url.push_str(plan.client_query.as_str());
    }
    let body = match plan.route_type {
        RouteType::CHAT => chat_body(plan, options, template, body)?,
        RouteType::COMPLETIONS => completion_body(plan, options, body)?,
        RouteType::PRESERVE => {
            return Ok(UpstreamRequest {
                method: plan.client_method.as_str().into(),
                url: url.into(),
                headers: RVec::new(),
                body: ROption::RNone,
                response_framing: Framing::JSON,
                signing: ROption::RNone,
            })
        }
        other => return Err(unsupported_route(other)),
    };
    Ok(UpstreamRequest {
        method: "POST".into(),
        url: RString::from(url),
        headers: RVec::from(vec![Header::new("content-type", "application/json")]),
        body: ROption::RSome(body.into()),
        response_framing: if plan.stream {
            Framing::SSE
        } else {
            Framing::JSON
        },
        signing: ROption::RNone,
    })
}

fn unsupported_route(route_type: RouteType) -> ModuleError {
    ModuleError::invalid_request(format!(
        "{RAW} does not serve route type {}",
        route_type.as_str()
    ))
}

fn chat_body(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    template: ChatTemplate,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = ChatRequest::parse(body)?;
    reject_other_fields(&request.other, &[], RAW)?;
    refuse_choices_and_user(request.n, request.user.is_some())?;
    if tool_use(request.tool_choice.as_ref(), &request.tools)? != ToolUse::None {
        return Err(tools_unsupported());
    }
    let mut turns = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        let speaker = match message.role {
            Role::System | Role::Developer => Speaker::System,
            Role::User => Speaker::User,
            Role::Assistant if message.tool_calls.is_empty() => Speaker::Assistant,
            Role::Assistant | Role::Tool => return Err(tools_unsupported()),
        };
        let text = match &message.content {
            Some(content) => content.text_only(RAW)?,
            None => Cow::Borrowed(""),
        };
        turns.push(Turn { speaker, text });
    }
    let no_schema: &'static RawValue =
        serde_json::from_str(ANY_OBJECT).map_err(|e| ModuleError::module_failure(e.to_string()))?;
    let grammar = match &request.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(Grammar::json(no_schema)),
        Some(ResponseFormat::JsonSchema(format)) => {
            Some(Grammar::json(format.schema.unwrap_or(no_schema)))
        }
    };
    let sampling = Sampling {
        max_tokens: request.max_output_tokens(),
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        seed: request.seed,
        stop: &request.stop,
    };
    to_json(&TgiRequest {
        inputs: Cow::Owned(template.render(&turns)),
        parameters: Parameters::merged(options, &sampling, grammar)?,
        stream: plan.stream,
    })
}

fn completion_body(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = CompletionRequest::parse(body)?;
    reject_other_fields(&request.other, &[], RAW)?;
    refuse_choices_and_user(request.n, request.user.is_some())?;
    let sampling = Sampling {
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        seed: request.seed,
        stop: &request.stop,
    };
    to_json(&TgiRequest {
        inputs: Cow::Borrowed(request.single_prompt(RAW)?),
        parameters: Parameters::merged(options, &sampling, None)?,
        stream: plan.stream,
    })
}

fn tools_unsupported() -> ModuleError {
    ModuleError::invalid_request(
        "tools, tool calls and tool results are not supported by provider llama2 with \
         llama2_format raw: use llama2_format ollama or openai",
    )
}

fn refuse_choices_and_user(n: Option<u64>, has_user: bool) -> Result<(), ModuleError> {
    if n.is_some_and(|n| n != 1) {
        return Err(ModuleError::invalid_request(format!(
            "`n` other than 1 is not supported by provider {RAW}"
        )));
    }
    if has_user {
        return Err(unsupported(&["user"], RAW));
    }
    Ok(())
}

fn to_json(body: &impl Serialize) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(body)
        .map_err(|e| ModuleError::module_failure(format!("cannot serialize the TGI request: {e}")))
}

pub fn parse_response(
    plan: &RequestPlan<'_>,
    template: ChatTemplate,
    status: u16,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    if !(200..300).contains(&status) {
        return Ok(TranslatedResponse {
            status,
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(normalize_error_body(status, body, PROVIDER).into()),
            meta: ResponseMeta::default(),
        });
    }
    let failed = |reason: &str| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {PROVIDER}://{}: {reason}",
            plan.route_type.as_str()
        ))
    };
    let generation = first_generation(body).map_err(|reason| failed(&reason))?;
    let marker = template.answer_marker();
    let details = generation.details.as_ref();
    let finish_reason = finish_reason(details.and_then(|d| d.finish_reason.as_deref()));
    let usage = Usage {
        prompt_tokens: details
            .map(|d| d.prefill.len() as u64)
            .filter(|prefill| *prefill > 0)
            .into(),
        completion_tokens: details.and_then(|d| d.generated_tokens).into(),
        ..Usage::default()
    };
    let built = match plan.route_type {
        RouteType::CHAT => ChatCompletion {
            id: &new_response_id("chatcmpl-"),
            created: unix_time_now(),
            model: plan.model.as_str(),
            choices: vec![ChatChoice {
                message: AssistantMessage {
                    content: Some(Cow::Borrowed(
                        answer(&generation.generated_text, marker).trim(),
                    )),
                    ..AssistantMessage::default()
                },
                finish_reason,
            }],
            usage,
        }
        .build()?,
        RouteType::COMPLETIONS => TextCompletion {
            id: &new_response_id("cmpl-"),
            created: unix_time_now(),
            model: plan.model.as_str(),
            choices: vec![TextChoice {
                text: Cow::Borrowed(answer(&generation.generated_text, marker)),
                finish_reason,
            }],
            usage,
        }
        .build()?,
        other => return Err(unsupported_route(other)),
    };
    Ok(built.into_translated())
}

/// The text after the prompt a server echoed; the whole text when it echoed none.
fn answer<'t>(generated: &'t str, marker: &str) -> &'t str {
    match generated.rfind(marker) {
        Some(at) => generated
            .get(at + marker.len()..)
            .unwrap_or_default()
            .trim(),
        None => generated,
    }
}

/// The first generation of any of the reply shapes TGI servers send; the reason when there is
/// none.
fn first_generation(body: &[u8]) -> Result<Generation<'_>, String> {
    let reply: Reply<'_> = serde_json::from_slice(body)
        .map_err(|e| format!("cannot parse response from llama2 endpoint: {e}"))?;
    let found = match reply {
        Reply::List(generations) => generations.into_iter().next(),
        Reply::Object(object) => match (object.error, object.generated_text, object.data) {
            (Some(error), _, _) => return Err(format!("upstream error: {error}")),
            (None, Some(generated_text), _) => Some(Generation {
                generated_text,
                details: object.details,
            }),
            (None, None, Some(data)) => data.into_iter().next(),
            (None, None, None) => None,
        },
    };
    found.ok_or_else(|| "'generated_text' not in response".to_owned())
}

/// TGI's finish reasons as OpenAI's.
pub fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("length") => FinishReason::Length,
        Some("eos_token") | Some("stop_sequence") | None => FinishReason::Stop,
        // A reason added after these three: the generation ended by itself.
        Some(_) => FinishReason::Stop,
    }
}

pub fn native_metadata(body: &[u8]) -> ResponseMeta {
    let Ok(generation) = first_generation(body) else {
        return ResponseMeta::default();
    };
    let details = generation.details.as_ref();
    ResponseMeta {
        usage: Usage {
            completion_tokens: details.and_then(|d| d.generated_tokens).into(),
            ..Usage::default()
        },
        ..ResponseMeta::default()
    }
}

/// What the client asked of the generation.
struct Sampling<'r> {
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u64>,
    seed: Option<i64>,
    stop: &'r [Cow<'r, str>],
}

#[derive(Serialize)]
struct TgiRequest<'r> {
    inputs: Cow<'r, str>,
    parameters: Parameters<'r>,
    stream: bool,
}

#[derive(Serialize)]
struct Parameters<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_new_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'r [Cow<'r, str>],
    #[serde(skip_serializing_if = "Option::is_none")]
    grammar: Option<Grammar<'r>>,
    details: bool,
    return_full_text: bool,
}

impl<'r> Parameters<'r> {
    /// The client's values with the route's: the configured `max_tokens` replaces the client's
    /// (a cost cap), the configured `temperature`, `top_p` and `top_k` fill in what the client
    /// did not send.
    fn merged(
        configured: &ModelOptions<'_>,
        sent: &Sampling<'r>,
        grammar: Option<Grammar<'r>>,
    ) -> Result<Parameters<'r>, ModuleError> {
        let seed = sent
            .seed
            .map(|seed| {
                u64::try_from(seed).map_err(|_| {
                    ModuleError::invalid_request(format!(
                        "seed: must not be negative for provider {RAW}"
                    ))
                })
            })
            .transpose()?;
        Ok(Parameters {
            max_new_tokens: configured.max_tokens.or(sent.max_tokens),
            temperature: sent
                .temperature
                .or(configured.temperature)
                .filter(|t| *t > 0.0),
            top_p: sent
                .top_p
                .or(configured.top_p)
                .filter(|p| *p > 0.0 && *p < 1.0),
            top_k: sent.top_k.or(configured.top_k).filter(|k| *k > 0),
            seed,
            stop: sent.stop,
            grammar,
            details: true,
            return_full_text: false,
        })
    }
}

/// `parameters.grammar`: constrained decoding.
#[derive(Serialize)]
struct Grammar<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'r RawValue,
}

impl<'r> Grammar<'r> {
    fn json(schema: &'r RawValue) -> Grammar<'r> {
        Grammar {
            kind: "json",
            value: schema,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Reply<'a> {
    #[serde(borrow)]
    List(Vec<Generation<'a>>),
    #[serde(borrow)]
    Object(ReplyObject<'a>),
}

/// `/generate`'s object, Kong's `{data: […]}`, or an `{error}` sent with a success status.
#[derive(Deserialize)]
struct ReplyObject<'a> {
    #[serde(default, borrow)]
    generated_text: Option<Cow<'a, str>>,
    #[serde(default)]
    details: Option<Details>,
    #[serde(default, borrow)]
    data: Option<Vec<Generation<'a>>>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Generation<'a> {
    #[serde(borrow)]
    generated_text: Cow<'a, str>,
    #[serde(default)]
    details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    generated_tokens: Option<u64>,
    /// The prompt's tokens, listed only when asked for with `decoder_input_details`.
    #[serde(default)]
    prefill: Vec<serde::de::IgnoredAny>,
}
