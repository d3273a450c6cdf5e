//! The `openai` provider module: OpenAI's API, and any server that speaks it (`upstream_url`).
//!
//! The client already speaks OpenAI, so nothing is translated: provider-sdk's
//! [`openai_compatible`](provider_sdk::openai_compatible) sends the body upstream with only the
//! fields the route decides edited in place, and forwards responses as the upstream sent them,
//! skimmed for usage on the way.

use abi_stable::std_types::RVec;
use provider_sdk::abi::{
    HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use provider_sdk::openai_compatible::{self, CompatibleUpstream};
use provider_sdk::options::ModelOptions;
use provider_sdk::{ClientBody, Provider, StreamTranslate};

const PROVIDER: &str = "openai";

const DEFAULT_ORIGIN: &str = "https://api.openai.com";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct OpenAi;

fn upstream() -> CompatibleUpstream<'static> {
    CompatibleUpstream::new(PROVIDER, Some(DEFAULT_ORIGIN.into()))
}

impl Provider for OpenAi {
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
            upstream().check_config(route_type, options)
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        upstream().build_request(plan, &options, body)
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        openai_compatible::parse_response(PROVIDER, plan, status, body)
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        Ok(Box::new(openai_compatible::stream_relay(plan)))
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(openai_compatible::native_metadata(body))
    }
}

provider_sdk::export_provider!(OpenAi);
