//! A root module exported under the symbol every provider module uses, with provider-sdk's version
//! but a different layout, as a module built against a changed SDK would be. The gateway's layout
//! check must refuse it and skip the file.

use abi_stable::{
    export_root_module, library::RootModule, prefix_type::PrefixTypeTrait,
    sabi_types::VersionStrings, std_types::RString, StableAbi,
};

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
#[sabi(missing_field(panic))]
pub struct ProviderModule {
    #[sabi(last_prefix_field)]
    pub manifest: extern "C" fn() -> RString,
}

impl RootModule for ProviderModuleRef {
    abi_stable::declare_root_module_statics! {ProviderModuleRef}

    const BASE_NAME: &'static str = "ai_gateway_provider";
    const NAME: &'static str = "ai_gateway_provider";
    // The SDK's own version passes the version check, so that the layout check is what fails.
    const VERSION_STRINGS: VersionStrings = provider_sdk::abi::ProviderModuleRef::VERSION_STRINGS;
}

extern "C" fn manifest() -> RString {
    "incompatible-layout".into()
}

#[export_root_module]
pub fn get_provider_module() -> ProviderModuleRef {
    ProviderModule { manifest }.leak_into_prefix()
}
