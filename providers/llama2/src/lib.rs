//! The `llama2` provider module: a self-hosted Llama server at `upstream_url` (required), in one
//! of three formats (`llama2_format`, required):
//!
//! - `raw`: Hugging Face text-generation-inference's native API, the chat written as one prompt
//!   with a Llama chat template ([`tgi`], [`template`]). Chat and completions.
//! - `ollama`: Ollama's native API, translated by provider-sdk's
//!   [`ollama`](provider_sdk::ollama). Chat, completions and embeddings; `upstream_url` may name
//!   any of its endpoints (Kong's seed config uses `…/api/chat`).
//! - `openai`: an OpenAI-compatible server; provider-sdk's
//!   [`openai_compatible`](provider_sdk::openai_compatible) forwards the body with the route's
//!   edits, and `upstream_url` is the endpoint.
//!
//! `preserve` sends the client's request to the client's path on `upstream_url`'s server.

mod template;
mod tgi;
mod tgi_stream;

use abi_stable::std_types::RVec;
use provider_sdk::abi::{
    HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use provider_sdk::ollama::{self, Ollama};
use provider_sdk::openai_compatible::{self, CompatibleUpstream};
use provider_sdk::options::{missing_option, Llama2Format, ModelOptions};
use provider_sdk::{ClientBody, Provider, StreamTranslate};

pub use template::{ChatTemplate, TEMPLATE_OPTION};

const PROVIDER: &str = "llama2";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct Llama2;

/// `llama2_format`, which every route must set.
fn format_of(options: &ModelOptions<'_>) -> Result<Llama2Format, ModuleError> {
    options
        .llama2_format
        .ok_or_else(|| missing_option("llama2_format", PROVIDER))
}

/// `llama2_chat_template`, when set.
fn configured_template(options: &ModelOptions<'_>) -> Result<Option<ChatTemplate>, ModuleError> {
    options
        .provider_specific_as::<&str>(TEMPLATE_OPTION)?
        .map(|name| {
            ChatTemplate::named(name).ok_or_else(|| {
                ModuleError::invalid_request(format!(
                    "{TEMPLATE_OPTION}: must be one of llama2, llama3"
                ))
            })
        })
        .transpose()
}

fn template_for(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
) -> Result<ChatTemplate, ModuleError> {
    Ok(ChatTemplate::for_model(
        plan.model.as_str(),
        configured_template(options)?,
    ))
}

fn openai_upstream() -> CompatibleUpstream<'static> {
    CompatibleUpstream::new(PROVIDER, None)
}

fn ollama() -> Ollama<'static> {
    Ollama::new(PROVIDER)
}

impl Provider for Llama2 {
    fn manifest() -> Manifest {
        Manifest {
            name: PROVIDER.into(),
            sdk_version: provider_sdk::SDK_VERSION.into(),
            route_types: RVec::from(ROUTE_TYPES.to_vec()),
            native_formats: RVec::new(),
            default_auth: "none (self-hosted; configure auth if the server wants a key)".into(),
        }
    }

    fn validate_options(
        route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        if !ROUTE_TYPES.contains(&route_type) {
            return Err(ModuleError::invalid_request(format!(
                "route_type: {PROVIDER} does not support route type {}",
                route_type.0
            )));
        }
        ModelOptions::check_config(options, |options| {
            if options.upstream_url.is_none() {
                return Err(missing_option("upstream_url", PROVIDER));
            }
            let format = format_of(options)?;
            let template = configured_template(options)?;
            if template.is_some() && format != Llama2Format::Raw {
                return Err(ModuleError::invalid_request(format!(
                    "{TEMPLATE_OPTION}: only applies to llama2_format raw"
                )));
            }
            match format {
                Llama2Format::Raw => tgi::check_config(route_type, options),
                Llama2Format::Ollama => ollama().check_config(route_type, options),
                Llama2Format::OpenAi => openai_upstream().check_config(route_type, options),
            }
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        match format_of(&options)? {
            Llama2Format::Raw => {
                tgi::build_request(plan, &options, template_for(plan, &options)?, body)
            }
            Llama2Format::Ollama => ollama().build_request(plan, &options, body),
            Llama2Format::OpenAi => openai_upstream().build_request(plan, &options, body),
        }
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        match format_of(&options)? {
            Llama2Format::Raw => {
                tgi::parse_response(plan, template_for(plan, &options)?, status, body)
            }
            Llama2Format::Ollama => ollama().parse_response(plan, status, body),
            Llama2Format::OpenAi => openai_compatible::parse_response(PROVIDER, plan, status, body),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        Ok(match format_of(&options)? {
            Llama2Format::Raw => Box::new(tgi_stream::new_stream(plan)),
            Llama2Format::Ollama => Box::new(ollama().stream_translator(plan)),
            Llama2Format::OpenAi => Box::new(openai_compatible::stream_relay(plan)),
        })
    }

    fn native_metadata(
        plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        Ok(match format_of(&options)? {
            Llama2Format::Raw => tgi::native_metadata(body),
            Llama2Format::Ollama => ollama::native_metadata(body),
            Llama2Format::OpenAi => openai_compatible::native_metadata(body),
        })
    }
}

provider_sdk::export_provider!(Llama2);
