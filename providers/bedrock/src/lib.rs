//! The `bedrock` provider module: Amazon Bedrock Runtime.
//!
//! - Chat and completions go to **Converse** (`/model/{modelId}/converse`), or **ConverseStream**
//!   (`/converse-stream`) when streamed; a completion is one user turn. [`converse_request`] says
//!   what each OpenAI field becomes, [`converse_response`] and [`converse_stream`] how the answer
//!   comes back.
//! - Embeddings go to **InvokeModel** (`/model/{modelId}/invoke`) with the body of the model's
//!   vendor: Amazon Titan or Cohere ([`embeddings`]).
//! - `preserve` sends the client's path, query and body to the route's Bedrock endpoint.
//!
//! Every request is signed with AWS SigV4 by the gateway, which holds the credentials: the module
//! only names the scheme, service and region ([`endpoint`]).

mod converse_request;
mod converse_response;
mod converse_stream;
mod embeddings;
mod endpoint;
mod errors;
mod model_family;
mod stop_reason;
mod usage;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{
    Framing, Header, HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType,
    TranslatedResponse, UpstreamRequest,
};
use provider_sdk::openai::ChunkRelay;
use provider_sdk::options::{ModelOptions, Templates};
use provider_sdk::{ClientBody, Provider, StreamTranslate};

use crate::converse_stream::ConverseStreamTranslator;
use crate::endpoint::{Endpoint, Operation};

const PROVIDER: &str = "bedrock";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct Bedrock;

impl Provider for Bedrock {
    fn manifest() -> Manifest {
        Manifest {
            name: PROVIDER.into(),
            sdk_version: provider_sdk::SDK_VERSION.into(),
            route_types: RVec::from(ROUTE_TYPES.to_vec()),
            native_formats: RVec::new(),
            default_auth: "sigv4".into(),
        }
    }

    fn validate_options(
        route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        check_route_type(route_type)?;
        ModelOptions::check_config(options, |options| {
            let endpoint = Endpoint::from_options(options, Templates::Unresolved)?;
            if route_type == RouteType::PRESERVE {
                Ok(())
            } else {
                endpoint.check_fixed_path_unused()
            }
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        check_route_type(plan.route_type)?;
        let options = ModelOptions::for_request(plan)?;
        let endpoint = Endpoint::from_options(&options, Templates::Resolved)?;
        let model = plan.model.as_str();
        let signing = ROption::RSome(endpoint.signing());
        if plan.route_type == RouteType::PRESERVE {
            return Ok(UpstreamRequest {
                method: plan.client_method.as_str().into(),
                url: endpoint.preserve_url(plan).into(),
                headers: RVec::new(),
                body: ROption::RNone,
                response_framing: Framing::JSON,
                signing,
            });
        }
        endpoint.check_fixed_path_unused()?;
        let (operation, upstream_body) = match plan.route_type {
            RouteType::EMBEDDINGS => (
                Operation::InvokeModel,
                embeddings::request_body(body, model)?,
            ),
            route_type => {
                let converse_body = if route_type == RouteType::COMPLETIONS {
                    converse_request::completion_body(body, model, &options)?
                } else {
                    converse_request::chat_body(body, model, &options)?
                };
                let operation = if plan.stream {
                    Operation::ConverseStream
                } else {
                    Operation::Converse
                };
                (operation, converse_body)
            }
        };
        let streamed = operation == Operation::ConverseStream;
        Ok(UpstreamRequest {
            method: "POST".into(),
            url: endpoint.model_url(model, operation)?.into(),
            headers: RVec::from(vec![
                Header::new("content-type", "application/json"),
                Header::new(
                    "accept",
                    if streamed {
                        "application/vnd.amazon.eventstream"
                    } else {
                        "application/json"
                    },
                ),
            ]),
            body: ROption::RSome(upstream_body.into()),
            response_framing: if streamed {
                Framing::AWS_EVENT_STREAM
            } else {
                Framing::JSON
            },
            signing,
        })
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        if plan.route_type == RouteType::PRESERVE {
            return Ok(TranslatedResponse {
                status,
                headers: RVec::new(),
                body: ROption::RNone,
                meta: converse_response::native_metadata(body),
            });
        }
        if !(200..300).contains(&status) {
            return Ok(errors::error_response(status, headers, body));
        }
        match plan.route_type {
            RouteType::CHAT => converse_response::chat(plan, body),
            RouteType::COMPLETIONS => converse_response::completion(plan, body),
            RouteType::EMBEDDINGS => embeddings::response(plan, headers, body),
            other => Err(unsupported_route_type(other)),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        match plan.route_type {
            RouteType::CHAT | RouteType::COMPLETIONS => {
                Ok(Box::new(ConverseStreamTranslator::new(plan)))
            }
            RouteType::PRESERVE => Ok(Box::new(ChunkRelay::verbatim())),
            other => Err(unsupported_route_type(other)),
        }
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(converse_response::native_metadata(body))
    }
}

fn check_route_type(route_type: RouteType) -> Result<(), ModuleError> {
    if ROUTE_TYPES.contains(&route_type) {
        Ok(())
    } else {
        Err(unsupported_route_type(route_type))
    }
}

fn unsupported_route_type(route_type: RouteType) -> ModuleError {
    ModuleError::invalid_request(format!(
        "route_type: {PROVIDER} does not support route type {}",
        route_type.as_str()
    ))
}

provider_sdk::export_provider!(Bedrock);
