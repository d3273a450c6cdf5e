//! The `mistral` provider module, in one of two formats (`mistral_format`, required):
//!
//! - `openai`: Mistral's API (La Plateforme), by default at `https://api.mistral.ai`
//!   (`/v1/chat/completions`, `/v1/embeddings`), or at `upstream_url`. The upstream side is
//!   provider-sdk's [`openai_compatible`](provider_sdk::openai_compatible) with Mistral's dialect
//!   on top: chat and embeddings bodies get the edits in [`request`], and chat replies and streams
//!   are written again for OpenAI's clients ([`response`], [`stream`]).
//! - `ollama`: an Ollama server at `upstream_url` (required), translated by provider-sdk's
//!   [`ollama`](provider_sdk::ollama).
//!
//! Completions: Mistral's API has none (its `/v1/fim/completions` is fill-in-the-middle code
//! completion, which answers in chat form), so an `openai`-format completions route needs
//! `upstream_url` (or `upstream_path`): an OpenAI-compatible server that serves a Mistral model's
//! `/v1/completions`, to which the body goes as OpenAI wrote it. Without one the route is refused
//! when the config loads.

mod request;
mod response;
mod stream;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{
    Framing, Header, HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType,
    TranslatedResponse, UpstreamRequest,
};
use provider_sdk::ollama::{self, Ollama};
use provider_sdk::openai_compatible::{self, CompatibleUpstream, RoutePaths};
use provider_sdk::options::{missing_option, MistralFormat, ModelOptions};
use provider_sdk::{ClientBody, Provider, StreamTranslate};

const PROVIDER: &str = "mistral";

/// La Plateforme, when `upstream_url` is not set.
const DEFAULT_ORIGIN: &str = "https://api.mistral.ai";

const ROUTE_PATHS: RoutePaths = RoutePaths {
    chat: Some("/v1/chat/completions"),
    completions: None,
    embeddings: Some("/v1/embeddings"),
};

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct Mistral;

/// `mistral_format`, which every route must set.
fn format_of(options: &ModelOptions<'_>) -> Result<MistralFormat, ModuleError> {
    options
        .mistral_format
        .ok_or_else(|| missing_option("mistral_format", PROVIDER))
}

/// Mistral's API. It answers streams with usage unasked, and refuses `stream_options`.
fn upstream() -> CompatibleUpstream<'static> {
    CompatibleUpstream {
        route_paths: ROUTE_PATHS,
        stream_usage: false,
        ..CompatibleUpstream::new(PROVIDER, Some(DEFAULT_ORIGIN.into()))
    }
}

fn ollama() -> Ollama<'static> {
    Ollama::new(PROVIDER)
}

/// A chat or embeddings request in Mistral's dialect.
fn dialect_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &ClientBody<'_>,
) -> Result<UpstreamRequest, ModuleError> {
    let url = upstream().url(plan, options)?;
    let (body, streams) = if plan.route_type == RouteType::CHAT {
        (request::chat(plan, options, body)?, plan.stream)
    } else {
        (request::embeddings(plan, options, body)?, false)
    };
    Ok(UpstreamRequest {
        method: "POST".into(),
        url: url.into(),
        headers: RVec::from(vec![Header::new("content-type", "application/json")]),
        body: ROption::RSome(body.into()),
        response_framing: if streams { Framing::SSE } else { Framing::JSON },
        signing: ROption::RNone,
    })
}

impl Provider for Mistral {
    fn manifest() -> Manifest {
        Manifest {
            name: PROVIDER.into(),
            sdk_version: provider_sdk::SDK_VERSION.into(),
            route_types: RVec::from(ROUTE_TYPES.to_vec()),
            native_formats: RVec::new(),
            default_auth: "header Authorization: Bearer <key>".into(),
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
        ModelOptions::check_config(options, |options| match format_of(options)? {
            MistralFormat::OpenAi => upstream().check_config(route_type, options),
            MistralFormat::Ollama => ollama().check_config(route_type, options),
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        match (format_of(&options)?, plan.route_type) {
            (MistralFormat::OpenAi, RouteType::CHAT | RouteType::EMBEDDINGS) => {
                dialect_request(plan, &options, body)
            }
            (MistralFormat::OpenAi, _) => upstream().build_request(plan, &options, body),
            (MistralFormat::Ollama, _) => ollama().build_request(plan, &options, body),
        }
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        match (format_of(&options)?, plan.route_type) {
            (MistralFormat::OpenAi, RouteType::CHAT) => response::translate(plan, status, body),
            (MistralFormat::OpenAi, _) => {
                openai_compatible::parse_response(PROVIDER, plan, status, body)
            }
            (MistralFormat::Ollama, _) => ollama().parse_response(plan, status, body),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        Ok(match (format_of(&options)?, plan.route_type) {
            (MistralFormat::OpenAi, RouteType::CHAT) => Box::new(stream::new_stream(plan)),
            (MistralFormat::OpenAi, _) => Box::new(openai_compatible::stream_relay(plan)),
            (MistralFormat::Ollama, _) => Box::new(ollama().stream_translator(plan)),
        })
    }

    fn native_metadata(
        plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        Ok(match format_of(&options)? {
            MistralFormat::OpenAi => openai_compatible::native_metadata(body),
            MistralFormat::Ollama => ollama::native_metadata(body),
        })
    }
}

provider_sdk::export_provider!(Mistral);
