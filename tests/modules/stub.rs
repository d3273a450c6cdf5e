//! A provider that accepts any route type and any options and serves nothing: every request-time
//! entry point answers 501. `incompatible-version` exports it under a root module the gateway must
//! refuse, so that only the version check can stop it loading. The including crate defines
//! `PROVIDER_NAME`.

use abi_stable::{library::RootModule, sabi_types::VersionNumber, std_types::RVec};
use provider_sdk::{
    abi::{
        HeaderRef, Manifest, ModuleError, ProviderModuleRef, RequestPlan, ResponseMeta, RouteType,
        TranslatedResponse, UpstreamRequest,
    },
    Provider, StreamTranslate,
};

use super::PROVIDER_NAME;

pub struct Stub;

fn not_served() -> ModuleError {
    ModuleError::new(
        501,
        "not_implemented",
        format!("the '{PROVIDER_NAME}' test stub only validates configs"),
    )
}

impl Provider for Stub {
    fn manifest() -> Manifest {
        let sdk_version = VersionNumber::new(ProviderModuleRef::VERSION_STRINGS)
            .map(|v| v.to_string())
            .unwrap_or_default();
        Manifest {
            name: PROVIDER_NAME.into(),
            sdk_version: sdk_version.into(),
            route_types: RVec::from(vec![
                RouteType::CHAT,
                RouteType::COMPLETIONS,
                RouteType::EMBEDDINGS,
                RouteType::PRESERVE,
            ]),
            native_formats: RVec::new(),
            default_auth: "none".into(),
        }
    }

    fn validate_options(
        _route_type: RouteType,
        _options: &serde_json::Value,
    ) -> Result<(), ModuleError> {
        Ok(())
    }

    fn build_request(
        _plan: &RequestPlan<'_>,
        _body: &provider_sdk::ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        Err(not_served())
    }

    fn parse_response(
        _plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
        _body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        Err(not_served())
    }

    fn new_stream_translator(
        _plan: &RequestPlan<'_>,
        _status: u16,
        _headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
        Err(not_served())
    }

    fn native_metadata(
        _plan: &RequestPlan<'_>,
        _status: u16,
        _body: &[u8],
    ) -> Result<ResponseMeta, ModuleError> {
        Err(not_served())
    }
}
