//! The `gemini` provider module: Google's Gemini API, and Gemini on Vertex AI.
//!
//! Clients speak OpenAI's API; this module translates chat, text completions and embeddings to
//! Gemini's `generateContent`, `streamGenerateContent`, `embedContent`/`batchEmbedContents` and
//! (on Vertex) `predict`, and their answers back. `preserve` routes reach Google's API as the
//! client sent them. Where each concern lives:
//!
//! - [`endpoint`]: which API, URL and method (Gemini API or Vertex AI, `upstream_url`,
//!   `upstream_path`), and the checks on names that go into the URL;
//! - [`request`]: the `GenerateContentRequest` body, from [`contents`] (messages),
//!   [`generation`] (sampling, response format, tools) and [`schema`] (JSON Schema to Gemini's);
//! - [`response`]: `GenerateContentResponse` back to OpenAI's, with [`finish_reason`] and
//!   [`usage`];
//! - [`stream`]: SSE and JSON-array streams to OpenAI chunks;
//! - [`embeddings`]: both APIs' embeddings;
//! - [`error`]: Google's error bodies as OpenAI's envelope;
//! - [`tool_call_id`]: thought signatures carried in tool call ids.
//!
//! Credentials are the gateway's business: `auth.header_name: x-goog-api-key` (Gemini API), the
//! `key` query parameter (`auth.param_location: query`), or a service account's OAuth token
//! (`auth.gcp_use_service_account`, Vertex AI). The module only says where to send what.

mod contents;
mod embeddings;
mod endpoint;
mod error;
mod finish_reason;
mod generation;
mod request;
mod response;
mod schema;
mod stream;
mod text;
mod tool_call_id;
mod usage;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{
    Framing, Header, HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType,
    TranslatedResponse, UpstreamRequest,
};
use provider_sdk::options::{ModelOptions, Templates};
use provider_sdk::{ClientBody, Provider, StreamTranslate};

use crate::endpoint::{check_model, Api, Method};
use crate::stream::{GeminiStream, NativeStream};

/// The `model.provider` name.
pub const PROVIDER: &str = "gemini";

const ROUTE_TYPES: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

pub struct Gemini;

impl Provider for Gemini {
    fn manifest() -> Manifest {
        Manifest {
            name: PROVIDER.into(),
            sdk_version: provider_sdk::SDK_VERSION.into(),
            route_types: RVec::from(ROUTE_TYPES.to_vec()),
            native_formats: RVec::new(),
            default_auth: "header x-goog-api-key: <key>, query key=<key>, or a GCP service \
                           account (Authorization: Bearer <token>)"
                .into(),
        }
    }

    fn validate_options(
        route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        check_route_type(route_type)?;
        ModelOptions::check_config(options, |options| {
            Api::from_options(options, Templates::Unresolved).map(|_| ())
        })
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        check_route_type(plan.route_type)?;
        let options = ModelOptions::for_request(plan)?;
        let api = Api::from_options(&options, Templates::Resolved)?;
        let framing = if plan.stream {
            Framing::SSE
        } else {
            Framing::JSON
        };
        if plan.route_type == RouteType::PRESERVE {
            return Ok(UpstreamRequest {
                method: plan.client_method.as_str().into(),
                url: endpoint::preserve_url(&api, &options, plan).into(),
                headers: RVec::new(),
                body: ROption::RNone,
                response_framing: framing,
                signing: ROption::RNone,
            });
        }
        let model = plan.model.as_str();
        check_model(model)?;
        let generate = if plan.stream {
            Method::StreamGenerateContent
        } else {
            Method::GenerateContent
        };
        let (method, body) = match plan.route_type {
            RouteType::CHAT => (generate, request::chat_body(plan, &options, body)?),
            RouteType::COMPLETIONS => (generate, request::completion_body(plan, &options, body)?),
            _ => embeddings::request(&api, model, body)?,
        };
        Ok(UpstreamRequest {
            method: "POST".into(),
            url: endpoint::url(&api, &options, model, method).into(),
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(body.into()),
            response_framing: framing,
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
                meta: stream::native_meta(body),
            });
        }
        if !(200..300).contains(&status) {
            return Ok(error::error_response(status, body));
        }
        match plan.route_type {
            RouteType::EMBEDDINGS => embeddings::translate(plan, body),
            _ => response::translate(plan, body),
        }
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        if plan.route_type == RouteType::PRESERVE {
            Ok(Box::new(NativeStream::new(headers)))
        } else {
            Ok(Box::new(GeminiStream::new(plan, headers)))
        }
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(stream::native_meta(body))
    }
}

fn check_route_type(route_type: RouteType) -> Result<(), ModuleError> {
    if ROUTE_TYPES.contains(&route_type) {
        Ok(())
    } else {
        Err(ModuleError::invalid_request(format!(
            "route_type: {PROVIDER} does not support route type {}",
            route_type.0
        )))
    }
}

provider_sdk::export_provider!(Gemini);
