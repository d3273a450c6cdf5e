//! A working provider module whose root module has provider-sdk's layout but claims SDK version
//! 99.0.0. abi_stable checks the version before the layout, so the gateway must refuse it as an
//! incompatible version and skip the file.

use abi_stable::{
    export_root_module,
    library::RootModule,
    prefix_type::PrefixTypeTrait,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RSlice, RStr},
    StableAbi,
};
use provider_sdk::{
    abi::{
        ExtensionBox, HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta, RouteType,
        StreamTranslatorBox, TranslatedResponse, UpstreamRequest,
    },
    export::entry,
};

const PROVIDER_NAME: &str = "incompatible-version";

#[path = "../../stub.rs"]
mod stub;

use stub::Stub;

/// Field for field the same as `provider_sdk::abi::ProviderModule`.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
#[sabi(missing_field(panic))]
pub struct ProviderModule {
    pub manifest: extern "C" fn() -> RResult<Manifest, ModuleError>,
    pub validate_options:
        extern "C" fn(route_type: RouteType, options: RStr<'_>) -> RResult<(), ModuleError>,
    pub build_request: extern "C" fn(
        plan: &RequestPlan<'_>,
        body: RSlice<'_, u8>,
    ) -> RResult<UpstreamRequest, ModuleError>,
    pub parse_response: extern "C" fn(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: RSlice<'_, HeaderRef<'_>>,
        body: RSlice<'_, u8>,
    ) -> RResult<TranslatedResponse, ModuleError>,
    pub new_stream_translator: extern "C" fn(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: RSlice<'_, HeaderRef<'_>>,
    ) -> RResult<StreamTranslatorBox, ModuleError>,
    pub native_metadata: extern "C" fn(
        plan: &RequestPlan<'_>,
        status: u16,
        body: RSlice<'_, u8>,
    ) -> RResult<ResponseMeta, ModuleError>,
    #[sabi(last_prefix_field)]
    pub extension: extern "C" fn(name: RStr<'_>) -> ROption<ExtensionBox>,
}

impl RootModule for ProviderModuleRef {
    abi_stable::declare_root_module_statics! {ProviderModuleRef}

    const BASE_NAME: &'static str = "ai_gateway_provider";
    const NAME: &'static str = "ai_gateway_provider";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("99.0.0");
}

#[export_root_module]
pub fn get_provider_module() -> ProviderModuleRef {
    ProviderModule {
        manifest: entry::manifest::<Stub>,
        validate_options: entry::validate_options::<Stub>,
        build_request: entry::build_request::<Stub>,
        parse_response: entry::parse_response::<Stub>,
        new_stream_translator: entry::new_stream_translator::<Stub>,
        native_metadata: entry::native_metadata::<Stub>,
        extension: entry::extension::<Stub>,
    }
    .leak_into_prefix()
}
