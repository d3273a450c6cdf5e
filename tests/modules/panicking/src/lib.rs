//! A provider module that panics where its route's options say, so that the end-to-end tests can
//! check that a panic in any entry point becomes an error response and the gateway keeps serving.
//!
//! `model.options`:
//! - `panic_at`: `build_request` (default), `parse_response`, `new_stream_translator`,
//!   `stream_push` or `stream_finish`. Until that point the module is an OpenAI passthrough.
//! - `upstream_url`: where the passthrough sends the request.
//! - `panic_in_validate: true`: `validate_options` panics, at config load.
//!
//! With `AI_GATEWAY_TEST_PANIC_IN_MANIFEST` set in the gateway's environment, `manifest` panics,
//! so the gateway must skip the module at load.

// Panicking on purpose is what this module is for.
#![allow(clippy::panic)]

use abi_stable::{
    library::RootModule,
    sabi_types::VersionNumber,
    std_types::{ROption, RVec},
};
use provider_sdk::{
    abi::{
        Framing, Header, HeaderRef, Manifest, ModuleError, ProviderModuleRef, RequestPlan,
        ResponseMeta, RouteType, TranslatedResponse, UpstreamRequest,
    },
    ClientBody, Provider, StreamTranslate,
};

const PANIC_POINTS: [&str; 5] = [
    "build_request",
    "parse_response",
    "new_stream_translator",
    "stream_push",
    "stream_finish",
];

struct Panicking;

fn options(plan: &RequestPlan<'_>) -> serde_json::Value {
    serde_json::from_str(plan.options.as_str()).unwrap_or_default()
}

fn panics_at(options: &serde_json::Value, point: &str) -> bool {
    options
        .get("panic_at")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("build_request")
        == point
}

fn panic_at(point: &str) -> ! {
    panic!("test module told to panic at {point}")
}

impl Provider for Panicking {
    fn manifest() -> Manifest {
        if std::env::var_os("AI_GATEWAY_TEST_PANIC_IN_MANIFEST").is_some() {
            panic_at("manifest");
        }
        let sdk_version = VersionNumber::new(ProviderModuleRef::VERSION_STRINGS)
            .map(|v| v.to_string())
            .unwrap_or_default();
        Manifest {
            name: "panicking".into(),
            sdk_version: sdk_version.into(),
            route_types: RVec::from(vec![RouteType::CHAT]),
            native_formats: RVec::new(),
            default_auth: "none".into(),
        }
    }

    fn validate_options(
        _route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        if options.get("panic_in_validate") == Some(&serde_json::Value::Bool(true)) {
            panic_at("validate_options");
        }
        match options.get("panic_at").and_then(serde_json::Value::as_str) {
            Some(point) if !PANIC_POINTS.contains(&point) => Err(ModuleError::invalid_request(
                format!("model.options.panic_at: unknown point '{point}'"),
            )),
            _ => Ok(()),
        }
    }

    fn build_request(
        plan: &RequestPlan<'_>,
        _body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        let options = options(plan);
        if panics_at(&options, "build_request") {
            panic_at("build_request");
        }
        let url = options
            .get("upstream_url")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ModuleError::invalid_request("model.options.upstream_url is not set"))?;
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
            signing: ROption::RNone,
        })
    }

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        _headers: &[HeaderRef<'_>],
        _body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        if panics_at(&options(plan), "parse_response") {
            panic_at("parse_response");
        }
        Ok(TranslatedResponse {
            status,
            headers: RVec::new(),
            body: ROption::RNone,
            meta: ResponseMeta::default(),
        })
    }

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        let options = options(plan);
        if panics_at(&options, "new_stream_translator") {
            panic_at("new_stream_translator");
        }
        Ok(Box::new(Passthrough {
            panic_in_push: panics_at(&options, "stream_push"),
            panic_in_finish: panics_at(&options, "stream_finish"),
        }))
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        _body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Ok(ResponseMeta::default())
    }
}

struct Passthrough {
    panic_in_push: bool,
    panic_in_finish: bool,
}

impl StreamTranslate for Passthrough {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if self.panic_in_push {
            panic_at("stream_push");
        }
        Ok(chunk.to_vec())
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        if self.panic_in_finish {
            panic_at("stream_finish");
        }
        Ok(Vec::new())
    }

    fn meta(&self) -> ResponseMeta {
        ResponseMeta::default()
    }
}

provider_sdk::export_provider!(Panicking);
