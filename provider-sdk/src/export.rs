//! The Rust-side contract a provider implements, and the macro that exports it as a
//! [`ProviderModule`](crate::abi::ProviderModule) with every entry point guarded against panics.
//!
//! A panic must never unwind across the FFI boundary: Rust aborts the process when it does, which
//! would take the gateway down with every request in flight. Each exported function therefore runs
//! the provider's code inside `catch_unwind` and turns a panic into a [`ModuleError`] with status
//! 502. Modules must be built with `panic = "unwind"` (the workspace profiles set it).

use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RSlice, RStr, RVec},
};

use crate::abi::{
    BodyMember, ExtensionBox, HeaderRef, Manifest, ModuleError, RequestPlan, ResponseMeta,
    RouteType, StreamTranslator, StreamTranslatorBox, StreamTranslator_TO, TranslatedResponse,
    UpstreamRequest,
};
use crate::client_body::ClientBody;

/// A stream translator as a provider writes it, in plain Rust.
pub trait StreamTranslate: Send + 'static {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError>;
    fn finish(&mut self) -> Result<Vec<u8>, ModuleError>;
    fn meta(&self) -> ResponseMeta;
}

/// What a provider module implements. Modules are sans-IO and stateless: each call gets all it
/// needs as arguments, and nothing may open sockets, sleep, spawn threads or keep secrets.
pub trait Provider: 'static {
    fn manifest() -> Manifest;

    /// `options` is `config.model.options` as JSON (`{}` when absent).
    fn validate_options(
        route_type: RouteType,
        options: &serde_json::Value,
    ) -> Result<(), ModuleError>;

    /// `body` is the client's body; [`ClientBody::members`] has its top-level members when the
    /// gateway located them.
    fn build_request(
        plan: &RequestPlan<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError>;

    fn parse_response(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: &[HeaderRef<'_>],
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError>;

    fn new_stream_translator(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: &[HeaderRef<'_>],
    ) -> Result<Box<dyn StreamTranslate>, ModuleError>;

    fn native_metadata(
        plan: &RequestPlan<'_>,
        status: u16,
        body: &[u8],
    ) -> Result<ResponseMeta, ModuleError>;

    fn extension(_name: &str) -> Option<ExtensionBox> {
        None
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f`, turning a panic into a 502 [`ModuleError`] that names the entry point.
pub fn guard<T>(
    entry: &str,
    f: impl FnOnce() -> Result<T, ModuleError>,
) -> RResult<T, ModuleError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => RResult::ROk(v),
        Ok(Err(e)) => RResult::RErr(e),
        Err(payload) => RResult::RErr(ModuleError::module_failure(format!(
            "provider module panicked in {entry}: {}",
            panic_message(payload.as_ref())
        ))),
    }
}

/// Wraps a [`StreamTranslate`] so that its methods are panic-guarded too. After a panic the
/// translator is poisoned and every later call reports an error.
struct GuardedTranslator {
    inner: Box<dyn StreamTranslate>,
    poisoned: bool,
}

impl GuardedTranslator {
    fn run(
        &mut self,
        entry: &str,
        f: impl FnOnce(&mut dyn StreamTranslate) -> Result<Vec<u8>, ModuleError>,
    ) -> RResult<RVec<u8>, ModuleError> {
        if self.poisoned {
            return RResult::RErr(ModuleError::module_failure(
                "provider module stream translator failed earlier",
            ));
        }
        let inner = &mut *self.inner;
        let out = guard(entry, || f(inner)).map(RVec::from);
        if matches!(&out, RResult::RErr(e) if e.kind.as_str() == "provider_module_error") {
            self.poisoned = true;
        }
        out
    }
}

impl StreamTranslator for GuardedTranslator {
    fn push(&mut self, chunk: RSlice<'_, u8>) -> RResult<RVec<u8>, ModuleError> {
        self.run("StreamTranslator::push", |t| t.push(chunk.as_slice()))
    }

    fn finish(&mut self) -> RResult<RVec<u8>, ModuleError> {
        self.run("StreamTranslator::finish", |t| t.finish())
    }

    fn meta(&self) -> ResponseMeta {
        let inner = &*self.inner;
        catch_unwind(AssertUnwindSafe(|| inner.meta())).unwrap_or_default()
    }
}

/// The `extern "C"` entry points, monomorphised per provider by [`export_provider!`](crate::export_provider).
#[doc(hidden)]
pub mod entry {
    use super::*;

    pub extern "C" fn manifest<P: Provider>() -> RResult<Manifest, ModuleError> {
        guard("manifest", || Ok(P::manifest()))
    }

    pub extern "C" fn validate_options<P: Provider>(
        route_type: RouteType,
        options: RStr<'_>,
    ) -> RResult<(), ModuleError> {
        guard("validate_options", || {
            let value: serde_json::Value = serde_json::from_str(options.as_str()).map_err(|e| {
                ModuleError::invalid_request(format!("model.options: not valid JSON: {e}"))
            })?;
            P::validate_options(route_type, &value)
        })
    }

    pub extern "C" fn build_request<P: Provider>(
        plan: &RequestPlan<'_>,
        body: RSlice<'_, u8>,
    ) -> RResult<UpstreamRequest, ModuleError> {
        guard("build_request", || {
            P::build_request(plan, &ClientBody::new(body.as_slice()))
        })
    }

    pub extern "C" fn build_request_with_members<P: Provider>(
        plan: &RequestPlan<'_>,
        body: RSlice<'_, u8>,
        members: RSlice<'_, BodyMember>,
    ) -> RResult<UpstreamRequest, ModuleError> {
        guard("build_request", || {
            P::build_request(
                plan,
                &ClientBody::with_members(body.as_slice(), members.as_slice()),
            )
        })
    }

    pub extern "C" fn parse_response<P: Provider>(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: RSlice<'_, HeaderRef<'_>>,
        body: RSlice<'_, u8>,
    ) -> RResult<TranslatedResponse, ModuleError> {
        guard("parse_response", || {
            P::parse_response(plan, status, headers.as_slice(), body.as_slice())
        })
    }

    pub extern "C" fn new_stream_translator<P: Provider>(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: RSlice<'_, HeaderRef<'_>>,
    ) -> RResult<StreamTranslatorBox, ModuleError> {
        guard("new_stream_translator", || {
            let inner = P::new_stream_translator(plan, status, headers.as_slice())?;
            let guarded = GuardedTranslator {
                inner,
                poisoned: false,
            };
            Ok(StreamTranslator_TO::from_value(guarded, TD_Opaque))
        })
    }

    pub extern "C" fn native_metadata<P: Provider>(
        plan: &RequestPlan<'_>,
        status: u16,
        body: RSlice<'_, u8>,
    ) -> RResult<ResponseMeta, ModuleError> {
        guard("native_metadata", || {
            P::native_metadata(plan, status, body.as_slice())
        })
    }

    pub extern "C" fn extension<P: Provider>(name: RStr<'_>) -> ROption<ExtensionBox> {
        match catch_unwind(AssertUnwindSafe(|| P::extension(name.as_str()))) {
            Ok(Some(ext)) => ROption::RSome(ext),
            _ => ROption::RNone,
        }
    }
}

/// Exports a [`Provider`] implementation as this library's root module.
///
/// ```ignore
/// struct OpenAi;
/// impl provider_sdk::Provider for OpenAi { /* ... */ }
/// provider_sdk::export_provider!(OpenAi);
/// ```
#[macro_export]
macro_rules! export_provider {
    ($provider:ty) => {
        /// The root module of this provider library, read by the gateway's loader.
        #[::abi_stable::export_root_module]
        pub fn get_provider_module() -> $crate::abi::ProviderModuleRef {
            $crate::provider_module::<$provider>()
        }
    };
}

/// Builds the root module for `P`. Used by [`export_provider!`], and by tests that call a provider
/// in-process without loading a library.
pub fn provider_module<P: Provider>() -> crate::abi::ProviderModuleRef {
    use abi_stable::prefix_type::PrefixTypeTrait;
    crate::abi::ProviderModule {
        manifest: entry::manifest::<P>,
        validate_options: entry::validate_options::<P>,
        build_request: entry::build_request::<P>,
        parse_response: entry::parse_response::<P>,
        new_stream_translator: entry::new_stream_translator::<P>,
        native_metadata: entry::native_metadata::<P>,
        extension: entry::extension::<P>,
        build_request_with_members: entry::build_request_with_members::<P>,
    }
    .leak_into_prefix()
}
