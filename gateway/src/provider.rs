//! Safe calls into a loaded provider module. Every entry point of a module built with
//! provider-sdk catches its own panics, so each call here returns either a value or a
//! [`ModuleError`]; none can unwind into the gateway.

use abi_stable::std_types::{RSlice, RStr};
use provider_sdk::abi::{
    HeaderRef, ModuleError, ProviderModuleRef, RequestPlan, ResponseMeta, RouteType,
    StreamTranslatorBox, TranslatedResponse, UpstreamRequest,
};

/// What a module says about itself, copied out of the FFI types once at load.
#[derive(Debug, Clone)]
pub struct ModuleManifest {
    pub name: String,
    pub sdk_version: String,
    pub route_types: Vec<RouteType>,
    pub native_formats: Vec<String>,
    pub default_auth: String,
}

#[derive(Clone, Copy)]
pub struct ProviderHandle(ProviderModuleRef);

impl ProviderHandle {
    pub fn new(root: ProviderModuleRef) -> ProviderHandle {
        ProviderHandle(root)
    }

    pub fn manifest(&self) -> Result<ModuleManifest, ModuleError> {
        let m = (self.0.manifest())().into_result()?;
        Ok(ModuleManifest {
            name: m.name.into_string(),
            sdk_version: m.sdk_version.into_string(),
            route_types: m.route_types.into_iter().collect(),
            native_formats: m
                .native_formats
                .into_iter()
                .map(|s| s.into_string())
                .collect(),
            default_auth: m.default_auth.into_string(),
        })
    }

    pub fn validate_options(
        &self,
        route_type: RouteType,
        options: &str,
    ) -> Result<(), ModuleError> {
        (self.0.validate_options())(route_type, RStr::from_str(options)).into_result()
    }

    pub fn build_request(
        &self,
        plan: &RequestPlan<'_>,
        body: &[u8],
    ) -> Result<UpstreamRequest, ModuleError> {
        (self.0.build_request())(plan, RSlice::from_slice(body)).into_result()
    }

    pub fn parse_response(
        &self,
        plan: &RequestPlan<'_>,
        status: u16,
        headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        (self.0.parse_response())(
            plan,
            status,
            RSlice::from_slice(headers),
            RSlice::from_slice(body),
        )
        .into_result()
    }

    pub fn new_stream_translator(
        &self,
        plan: &RequestPlan<'_>,
        status: u16,
        headers: &[HeaderRef<'_>],
    ) -> Result<StreamTranslatorBox, ModuleError> {
        (self.0.new_stream_translator())(plan, status, RSlice::from_slice(headers)).into_result()
    }

    pub fn native_metadata(
        &self,
        plan: &RequestPlan<'_>,
        status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        (self.0.native_metadata())(plan, status, RSlice::from_slice(body)).into_result()
    }
}
