//! The `azure` provider module: Azure OpenAI, which speaks OpenAI's API at a per-deployment URL.
//!
//! Nothing is translated: provider-sdk's
//! [`openai_compatible`](provider_sdk::openai_compatible) edits the few fields the route decides
//! and forwards responses as Azure sent them, so Azure's additions
//! (`prompt_filter_results`, `content_filter_results`) reach the client. [`deployment`] says where
//! a request goes.

mod deployment;

use abi_stable::std_types::RVec;
use provider_sdk::abi::{
    HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use provider_sdk::openai_compatible;
use provider_sdk::options::{ModelOptions, Templates};
use provider_sdk::{ClientBody, Provider, StreamTranslate};

use crate::deployment::Deployment;

const PROVIDER: &str = "azure";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct Azure;

impl Provider for Azure {
    fn manifest() -> Manifest {
        Manifest {
            name: PROVIDER.into(),
            sdk_version: provider_sdk::SDK_VERSION.into(),
            route_types: RVec::from(ROUTE_TYPES.to_vec()),
            native_formats: RVec::new(),
            default_auth: "header api-key: <key>".into(),
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
            let deployment = Deployment::from_options(options, Templates::Unresolved)?;
            deployment.upstream("").check_config(route_type, options)
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = ModelOptions::for_request(plan)?;
        let deployment = Deployment::from_options(&options, Templates::Resolved)?;
        deployment
            .upstream(plan.client_query.as_str())
            .build_request(plan, &options, body)
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
        let chunk_object = if plan.route_type == RouteType::COMPLETIONS {
            "text_completion"
        } else {
            "chat.completion.chunk"
        };
        Ok(Box::new(
            openai_compatible::stream_relay(plan).naming_empty_objects(chunk_object),
        ))
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(openai_compatible::native_metadata(body))
    }
}

provider_sdk::export_provider!(Azure);
