//! The `huggingface` provider module: Hugging Face's Inference API
//! (`https://api-inference.huggingface.co`, Kong's default) and any TGI server or Inference
//! Endpoint named by `upstream_url`.
//!
//! | route type | upstream | translation |
//! |---|---|---|
//! | `llm/v1/chat` | TGI's Messages API, OpenAI-compatible | the body edited in place ([`chat`]), answers and streams forwarded with finish reasons mapped ([`chat_stream`]) |
//! | `llm/v1/completions` | text generation | full, both ways ([`text_generation`], [`text_generation_stream`]) |
//! | `llm/v1/embeddings` | feature extraction | full, both ways ([`embeddings`]) |
//! | `preserve` | the client's path | none |
//!
//! [`endpoint`] says where each goes and how `huggingface.use_cache` and `.wait_for_model` are
//! sent; [`error`] turns Hugging Face's error bodies into OpenAI's envelope; [`finish_reason`]
//! is the one table of stop reasons.

mod chat;
mod chat_stream;
mod embeddings;
mod endpoint;
mod error;
mod finish_reason;
mod json_members;
mod text_generation;
mod text_generation_stream;

use abi_stable::std_types::RVec;
use provider_sdk::abi::{
    HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use provider_sdk::openai_compatible;
use provider_sdk::options::ModelOptions;
use provider_sdk::{ClientBody, Provider, StreamTranslate};

use crate::chat_stream::ChatRelay;
use crate::text_generation_stream::TextGenerationStream;

/// The `model.provider` value of this module's routes.
pub const PROVIDER: &str = "huggingface";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct HuggingFace;

impl Provider for HuggingFace {
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
        ModelOptions::check_config(options, |options| {
            if route_type == RouteType::CHAT && options.top_k.is_some() {
                return Err(ModuleError::invalid_request(format!(
                    "top_k: not supported by {PROVIDER} on llm/v1/chat: TGI's chat API has no \
                     top_k (it applies to llm/v1/completions)"
                )));
            }
            endpoint::check_config(options)
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        match plan.route_type {
            RouteType::CHAT => chat::build_request(plan, &options, body),
            RouteType::COMPLETIONS => text_generation::build_request(plan, &options, body),
            RouteType::EMBEDDINGS => embeddings::build_request(plan, &options, body),
            RouteType::PRESERVE => endpoint::upstream(RouteType::PRESERVE, "", &options)?
                .build_request(plan, &options, body),
            other => Err(unsupported_route_type(other)),
        }
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        if plan.route_type == RouteType::PRESERVE {
            return openai_compatible::parse_response(PROVIDER, plan, status, body);
        }
        if !(200..300).contains(&status) {
            return Ok(error::upstream_error(status, body));
        }
        match plan.route_type {
            RouteType::CHAT => chat::parse_response(body),
            RouteType::COMPLETIONS => text_generation::parse_response(plan, body),
            RouteType::EMBEDDINGS => embeddings::parse_response(plan, body),
            other => Err(unsupported_route_type(other)),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        match plan.route_type {
            RouteType::CHAT => Ok(Box::new(ChatRelay::new(plan))),
            RouteType::COMPLETIONS => Ok(Box::new(TextGenerationStream::new(plan))),
            RouteType::PRESERVE => Ok(Box::new(openai_compatible::stream_relay(plan))),
            other => Err(unsupported_route_type(other)),
        }
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(openai_compatible::native_metadata(body))
    }
}

fn unsupported_route_type(route_type: RouteType) -> ModuleError {
    ModuleError::invalid_request(format!(
        "{PROVIDER} does not support route type {} here",
        route_type.as_str()
    ))
}

provider_sdk::export_provider!(HuggingFace);
