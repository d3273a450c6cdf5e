//! The `cohere` provider module: OpenAI-shaped chat, completions and embeddings requests
//! translated to Cohere's API, and its answers and streams translated back.
//!
//! | route type | v2 (default) | v1 (`model.options.cohere.api_version: v1`) |
//! |---|---|---|
//! | `llm/v1/chat` | `POST /v2/chat`, SSE stream ([`chat_v2`]) | `POST /v1/chat`, NDJSON stream ([`chat_v1`]) |
//! | `llm/v1/completions` | `POST /v1/generate`, NDJSON stream ([`generate`]) | the same |
//! | `llm/v1/embeddings` | `POST /v2/embed` ([`embed`]) | `POST /v1/embed` |
//! | `preserve` | the client's path, answers untouched ([`preserve`]) | the same |
//!
//! Kong speaks only v1 and gets several things wrong that this module does not: system prompts
//! sent as user turns, `finish_reason` always `stop`, tool calls sent in OpenAI's format and
//! lost in streams, error bodies passed through in Cohere's shape. Its fixtures drive the tests.

mod chat_v1;
mod chat_v2;
mod embed;
mod endpoint;
mod error;
mod finish_reason;
mod generate;
mod lenient;
mod preserve;
mod request_fields;
mod settings;
mod stream;
mod usage;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{
    Framing, Header, HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType,
    TranslatedResponse, UpstreamRequest,
};
use provider_sdk::options::{ModelOptions, Templates};
use provider_sdk::{ClientBody, Provider, StreamTranslate};

use crate::settings::{ApiVersion, Settings};
use crate::stream::Translator;

/// The provider's name: the `model.provider` routes use, and the name in error messages.
pub const PROVIDER: &str = "cohere";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct Cohere;

impl Provider for Cohere {
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
            let settings = Settings::read(options, Templates::Unresolved)?;
            endpoint::upstream(settings.api_version).check_config(route_type, options)
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        let settings = Settings::read(&options, Templates::Resolved)?;
        let upstream = endpoint::upstream(settings.api_version);
        let (body, framing) = match (plan.route_type, settings.api_version) {
            (RouteType::PRESERVE, _) => return upstream.build_request(plan, &options, body),
            (RouteType::CHAT, ApiVersion::V2) => (
                chat_v2::translate_request(plan, &options, body)?,
                Framing::SSE,
            ),
            (RouteType::CHAT, ApiVersion::V1) => (
                chat_v1::translate_request(plan, &options, body)?,
                Framing::NDJSON,
            ),
            (RouteType::COMPLETIONS, _) => (
                generate::translate_request(plan, &options, body)?,
                Framing::NDJSON,
            ),
            (RouteType::EMBEDDINGS, _) => (
                embed::translate_request(plan, &settings, body)?,
                Framing::JSON,
            ),
            (other, _) => return Err(unsupported_route(other)),
        };
        Ok(UpstreamRequest {
            method: "POST".into(),
            url: upstream.url(plan, &options)?.into(),
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(body.into()),
            response_framing: if plan.stream { framing } else { Framing::JSON },
            signing: ROption::RNone,
        })
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        if plan.route_type == RouteType::PRESERVE {
            return Ok(TranslatedResponse {
                status,
                headers: RVec::new(),
                body: ROption::RNone,
                meta: preserve::native_metadata(status, body),
            });
        }
        if !(200..300).contains(&status) {
            return Ok(error::translate_error(status, body));
        }
        let options = ModelOptions::for_request(plan)?;
        let settings = Settings::read(&options, Templates::Resolved)?;
        match (plan.route_type, settings.api_version) {
            (RouteType::CHAT, ApiVersion::V2) => chat_v2::translate_response(plan, body),
            (RouteType::CHAT, ApiVersion::V1) => chat_v1::translate_response(plan, body),
            (RouteType::COMPLETIONS, _) => generate::translate_response(plan, body),
            (RouteType::EMBEDDINGS, _) => embed::translate_response(plan, body),
            (other, _) => Err(unsupported_route(other)),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        let settings = Settings::read(&options, Templates::Resolved)?;
        Ok(match (plan.route_type, settings.api_version) {
            (RouteType::PRESERVE, _) => Box::new(preserve::MeteredStream::default()),
            (RouteType::CHAT, ApiVersion::V2) => {
                Box::new(Translator::new(chat_v2::V2ChatEvents::new(plan)))
            }
            (RouteType::CHAT, ApiVersion::V1) => {
                Box::new(Translator::new(chat_v1::V1ChatEvents::new(plan)))
            }
            (RouteType::COMPLETIONS, _) => {
                Box::new(Translator::new(generate::GenerateEvents::new(plan)))
            }
            (other, _) => {
                return Err(ModuleError::bad_upstream(format!(
                    "{PROVIDER} does not stream route type {}",
                    other.as_str()
                )))
            }
        })
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(preserve::native_metadata(status, body))
    }
}

fn unsupported_route(route_type: RouteType) -> ModuleError {
    ModuleError::invalid_request(format!(
        "{PROVIDER} does not support route type {}",
        route_type.0
    ))
}

provider_sdk::export_provider!(Cohere);
