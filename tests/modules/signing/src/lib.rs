//! A provider module named `signing-test` that asks the gateway to sign each upstream request
//! with AWS SigV4 (service `bedrock`, region `us-west-2`), so that the end-to-end tests can check
//! the signing the gateway does before a real Bedrock module exists. Otherwise it is an OpenAI
//! passthrough.
//!
//! `model.options`:
//! - `upstream_url` (required): where the request goes, path and query included.
//! - `signing_scheme`: the scheme to ask for (default `aws-sigv4`), to test an unknown one.

use abi_stable::{
    library::RootModule,
    sabi_types::VersionNumber,
    std_types::{ROption, RVec},
};
use provider_sdk::{
    abi::{
        Framing, Header, HeaderRef, Manifest, ModuleError, ProviderModuleRef, RequestPlan,
        RequestSigning, ResponseMeta, RouteType, TranslatedResponse, UpstreamRequest,
    },
    ClientBody, Provider, StreamTranslate,
};
use serde_json::Value;

struct Signing;

fn option<'a>(options: &'a Value, name: &str) -> Option<&'a str> {
    options.get(name).and_then(Value::as_str)
}

impl Provider for Signing {
    fn manifest() -> Manifest {
        let sdk_version = VersionNumber::new(ProviderModuleRef::VERSION_STRINGS)
            .map(|v| v.to_string())
            .unwrap_or_default();
        Manifest {
            name: "signing-test".into(),
            sdk_version: sdk_version.into(),
            route_types: RVec::from(vec![RouteType::CHAT]),
            native_formats: RVec::new(),
            default_auth: "aws-sigv4".into(),
        }
    }

    fn validate_options(
        _route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        match option(options, "upstream_url") {
            Some(_) => Ok(()),
            None => Err(ModuleError::invalid_request(
                "model.options.upstream_url is required",
            )),
        }
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        _body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options: Value = serde_json::from_str(plan.options.as_str()).unwrap_or_default();
        let url = option(&options, "upstream_url")
            .ok_or_else(|| ModuleError::invalid_request("model.options.upstream_url is not set"))?;
        let scheme = option(&options, "signing_scheme").unwrap_or("aws-sigv4");
        Ok(UpstreamRequest {
            method: plan.client_method.into(),
            url: url.into(),
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RNone,
            response_framing: if plan.stream {
                Framing::SSE
            } else {
                Framing::JSON
            },
            signing: ROption::RSome(RequestSigning {
                scheme: scheme.into(),
                service: "bedrock".into(),
                region: "us-west-2".into(),
            }),
        })
    }

    fn parse_response(
        _plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        _body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        Ok(TranslatedResponse {
            status,
            headers: RVec::new(),
            body: ROption::RNone,
            meta: ResponseMeta::default(),
        })
    }

    fn new_stream_translator(
        _plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        Ok(Box::new(Passthrough))
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        _body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(ResponseMeta::default())
    }
}

struct Passthrough;

impl StreamTranslate for Passthrough {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        Ok(chunk.to_vec())
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        Ok(Vec::new())
    }

    fn meta(&self) -> ResponseMeta {
        ResponseMeta::default()
    }
}

provider_sdk::export_provider!(Signing);
