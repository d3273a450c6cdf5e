//! The `openai` provider module: OpenAI's API, and any server that speaks it (`upstream_url`).
//!
//! The client already speaks OpenAI, so nothing is translated: the body goes upstream with only
//! the fields the route decides edited in place, and responses go back as the upstream sent them,
//! skimmed for usage on the way.

mod options;
mod request;
mod response;
mod upstream_url;

use abi_stable::std_types::RVec;
use provider_sdk::abi::{
    HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use provider_sdk::openai::ChunkRelay;
use provider_sdk::{Provider, StreamTranslate};

use crate::options::{Options, Templates};

pub struct OpenAi;

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

impl Provider for OpenAi {
    fn manifest() -> Manifest {
        Manifest {
            name: "openai".into(),
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
                "route_type: openai does not support route type {}",
                route_type.0
            )));
        }
        Options::parse(options, Templates::Unresolved).map(|_| ())
    }

    fn build_request(plan: &RequestPlan<'_>, body: &[u8]) -> Result<UpstreamRequest, ModuleError> {
        request::build(plan, body)
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        response::parse(plan, status, body)
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        let relay = if plan.route_type == RouteType::PRESERVE {
            ChunkRelay::verbatim()
        } else {
            ChunkRelay::reframing(plan.client_wants_usage)
        };
        Ok(Box::new(relay))
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(response::native_metadata(body))
    }
}

provider_sdk::export_provider!(OpenAi);
