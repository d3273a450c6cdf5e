//! The `anthropic` provider module: OpenAI-shaped clients in front of Anthropic's Messages API
//! (`llm/v1/chat`) and its legacy Text Completions API (`llm/v1/completions`), plus `preserve`,
//! which forwards Anthropic's own API untouched and only meters it.
//!
//! Where each concern lives:
//! - [`endpoint`]: URL, headers (`anthropic-version`), options and the `max_tokens` default;
//! - [`messages_request`] / [`messages_response`]: chat, both ways;
//! - [`complete_request`] / [`complete_response`]: legacy text completions, both ways;
//! - [`content_block`], [`usage`], [`stop_reason`]: Anthropic's response pieces and their mapping;
//! - [`stream_event`] / [`stream`]: Anthropic's named SSE events and the stream translator;
//! - [`error_body`]: Anthropic's error bodies as OpenAI's envelope.
//!
//! `README.md` beside this crate lists what is mapped, refused and why.

mod complete_request;
mod complete_response;
mod content_block;
mod endpoint;
mod error_body;
mod messages_request;
mod messages_response;
mod stop_reason;
mod stream;
mod stream_event;
mod usage;

use abi_stable::std_types::RVec;
use provider_sdk::abi::{
    HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use provider_sdk::options::ModelOptions;
use provider_sdk::{ClientBody, Provider, StreamTranslate};

pub use endpoint::DEFAULT_MAX_TOKENS;

const PROVIDER: &str = "anthropic";

const ROUTE_TYPES: [RouteType; 3] = [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE];

pub struct Anthropic;

impl Provider for Anthropic {
    fn manifest() -> Manifest {
        Manifest {
            name: PROVIDER.into(),
            sdk_version: provider_sdk::SDK_VERSION.into(),
            route_types: RVec::from(ROUTE_TYPES.to_vec()),
            native_formats: RVec::new(),
            default_auth: "header x-api-key: <key>".into(),
        }
    }

    fn validate_options(
        route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        if !ROUTE_TYPES.contains(&route_type) {
            return Err(ModuleError::invalid_request(format!(
                "route_type: {PROVIDER} does not support route type {} (Anthropic has no \
                 embeddings API)",
                route_type.as_str()
            )));
        }
        ModelOptions::check_config(options, |options| {
            endpoint::check_config(route_type, options)
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        let translated = match plan.route_type {
            RouteType::CHAT => Some(messages_request::translate(plan, &options, body)?),
            RouteType::COMPLETIONS => Some(complete_request::translate(plan, &options, body)?),
            RouteType::PRESERVE => None,
            other => return Err(endpoint::unsupported_route_type(other)),
        };
        endpoint::upstream_request(plan, &options, translated)
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        if plan.route_type == RouteType::PRESERVE {
            return Ok(messages_response::forwarded(status, body));
        }
        if !(200..300).contains(&status) {
            return Ok(error_body::translate_error(status, body));
        }
        match plan.route_type {
            RouteType::CHAT => messages_response::translate_response(plan, body),
            RouteType::COMPLETIONS => complete_response::translate_response(plan, body),
            other => Err(endpoint::unsupported_route_type(other)),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        Ok(Box::new(stream::AnthropicStream::new(plan)))
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(messages_response::native_metadata(status, body))
    }
}

provider_sdk::export_provider!(Anthropic);
