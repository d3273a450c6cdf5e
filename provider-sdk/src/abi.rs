//! The binary interface between the gateway and a provider module.
//!
//! A provider module is a `cdylib` that exports one [`ProviderModule`] through
//! [`export_provider!`](crate::export_provider). The gateway loads it with abi_stable, which checks
//! at load time that the module was built against a compatible layout of every type in this file.
//!
//! Versioning rule: [`ProviderModule`] is a prefix type. A new entry point goes after the last
//! field, and `#[sabi(last_prefix_field)]` stays where it is. abi_stable then lets a gateway load
//! a module built against a newer SDK (the gateway ignores the fields it does not know), but not
//! one built against an older SDK: the loader's fields must all be in the module, so the gateway
//! skips such a module at start-up with "incompatible layout: too many fields", and the module has
//! to be rebuilt. Every other type here is checked for an exact layout match, so changing one
//! breaks both directions: bump the minor version of this crate (0.x) and rebuild the modules.

// abi_stable's `#[sabi_trait]` expands to trait impls for types in abi_stable itself.
#![allow(non_local_definitions)]

use abi_stable::{
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec},
    StableAbi,
};

/// Which OpenAI-shaped operation a route serves. A newtype over `u8` rather than an enum so that a
/// later SDK can add route types without changing the layout; a module answers a value it does not
/// know with an error.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteType(pub u8);

impl RouteType {
    pub const CHAT: RouteType = RouteType(0);
    pub const COMPLETIONS: RouteType = RouteType(1);
    pub const EMBEDDINGS: RouteType = RouteType(2);
    /// The client's path, query and body go upstream as they are, with auth applied.
    pub const PRESERVE: RouteType = RouteType(3);

    /// The name used in configuration files (Kong's `route_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            RouteType::CHAT => "llm/v1/chat",
            RouteType::COMPLETIONS => "llm/v1/completions",
            RouteType::EMBEDDINGS => "llm/v1/embeddings",
            RouteType::PRESERVE => "preserve",
            _ => "unknown",
        }
    }

    pub fn parse(name: &str) -> Option<RouteType> {
        match name {
            "llm/v1/chat" => Some(RouteType::CHAT),
            "llm/v1/completions" => Some(RouteType::COMPLETIONS),
            "llm/v1/embeddings" => Some(RouteType::EMBEDDINGS),
            "preserve" => Some(RouteType::PRESERVE),
            _ => None,
        }
    }

    /// The OpenTelemetry GenAI operation name for this route type.
    pub fn operation_name(self) -> &'static str {
        match self {
            RouteType::CHAT => "chat",
            RouteType::COMPLETIONS => "text_completion",
            RouteType::EMBEDDINGS => "embeddings",
            _ => "preserve",
        }
    }
}

/// How the upstream frames a streamed response. The stream translator does the framing itself;
/// the gateway uses this for analytics of passed-through native streams.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing(pub u8);

impl Framing {
    pub const JSON: Framing = Framing(0);
    pub const SSE: Framing = Framing(1);
    pub const NDJSON: Framing = Framing(2);
    pub const AWS_EVENT_STREAM: Framing = Framing(3);
    pub const JSON_ARRAY: Framing = Framing(4);
}

/// A header borrowed from the gateway for the length of one call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct HeaderRef<'a> {
    pub name: RStr<'a>,
    pub value: RStr<'a>,
}

/// A header a module asks the gateway to set (replacing any header of the same name).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: RString,
    pub value: RString,
}

impl Header {
    pub fn new(name: impl Into<RString>, value: impl Into<RString>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Everything a module needs to know about one request, resolved by the gateway's route actor:
/// templates expanded, model rules and streaming policy applied. Borrowed for one call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct RequestPlan<'a> {
    pub route_type: RouteType,
    /// The model to ask the upstream for: the configured name, or the client's when none is
    /// configured. Empty when neither names one (only possible for `preserve`).
    pub model: RStr<'a>,
    /// `config.model.options` as JSON text, templates resolved. `{}` when not configured.
    pub options: RStr<'a>,
    /// Whether the upstream call streams (the client asked, or `response_streaming: always`).
    pub stream: bool,
    /// Whether the client asked for the usage chunk (`stream_options.include_usage`).
    pub client_wants_usage: bool,
    /// The client's request method, path (as received, before any route stripping) and raw
    /// query string (without `?`).
    pub client_method: RStr<'a>,
    pub client_path: RStr<'a>,
    pub client_query: RStr<'a>,
    /// The client's request headers, hop-by-hop headers removed.
    pub client_headers: RSlice<'a, HeaderRef<'a>>,
}

/// Where one top-level member of a client's JSON object body lies, as byte offsets into the body:
/// the key's text between its quotes, and the value's JSON text.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyMember {
    pub key_start: usize,
    pub key_end: usize,
    pub value_start: usize,
    pub value_end: usize,
}

/// The request the gateway sends upstream. The gateway adds the configured credentials, forwards
/// the client's end-to-end headers, and lets the headers given here replace any of the same name.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct UpstreamRequest {
    pub method: RString,
    /// Absolute URL, query included.
    pub url: RString,
    pub headers: RVec<Header>,
    /// `None` sends the client's body unchanged, which is what an OpenAI-compatible upstream wants
    /// when nothing in the body needs editing.
    pub body: ROption<RVec<u8>>,
    pub response_framing: Framing,
    /// How the gateway must sign the finished request, for providers whose credential is a
    /// signature over the request (the module never sees the credential itself).
    pub signing: ROption<RequestSigning>,
}

/// A request signature the gateway computes after applying auth, over the exact method, URL,
/// headers and body it sends.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RequestSigning {
    /// `aws-sigv4` is the one scheme so far.
    pub scheme: RString,
    /// The signing name of the service, e.g. `bedrock`.
    pub service: RString,
    /// The region the request is signed for, e.g. `us-west-2`.
    pub region: RString,
}

/// Token counts as the provider reported them. `None` means "not reported", which is different
/// from a reported zero.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: ROption<u64>,
    pub completion_tokens: ROption<u64>,
    pub total_tokens: ROption<u64>,
    /// Prompt tokens served from the provider's cache (OpenAI's
    /// `prompt_tokens_details.cached_tokens`). Included in `prompt_tokens`.
    pub cached_tokens: ROption<u64>,
}

/// What the gateway meters about a response, returned beside its bytes.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    pub usage: Usage,
    /// The model the upstream says answered; empty when it did not say.
    pub response_model: RString,
    pub response_id: RString,
    pub finish_reasons: RVec<RString>,
}

/// A whole (non-streamed) response translated for the client.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct TranslatedResponse {
    pub status: u16,
    /// Headers to set on the client's response (`content-type` among them when the body changes).
    pub headers: RVec<Header>,
    /// `None` forwards the upstream body unchanged.
    pub body: ROption<RVec<u8>>,
    pub meta: ResponseMeta,
}

/// An error a module reports. The gateway turns it into the OpenAI error envelope
/// `{"error":{"message","type","code"}}` with `status`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ModuleError {
    pub status: u16,
    /// OpenAI's `error.type`, e.g. `invalid_request_error`.
    pub kind: RString,
    pub message: RString,
    /// OpenAI's `error.code`; empty for none.
    pub code: RString,
}

/// What a module says about itself when it is loaded.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Manifest {
    /// The `model.provider` value routes use to pick this module.
    pub name: RString,
    /// The version of provider-sdk the module was built with.
    pub sdk_version: RString,
    pub route_types: RVec<RouteType>,
    /// Native request formats (`llm_format`) the module accepts besides OpenAI's.
    pub native_formats: RVec<RString>,
    /// How the provider expects its credential, for documentation and `ai-gateway providers`:
    /// e.g. `header Authorization: Bearer <key>`, `sigv4`, `none`.
    pub default_auth: RString,
}

/// Translates one streamed upstream response into OpenAI SSE, chunk by chunk. Created per response
/// by [`ProviderModule::new_stream_translator`].
#[sabi_trait]
pub trait StreamTranslator: Send {
    /// Feeds the next upstream chunk, split anywhere, and returns the bytes to send to the client
    /// now (possibly none). An `Err` ends the stream: the gateway sends it as an SSE error event.
    fn push(&mut self, chunk: RSlice<'_, u8>) -> RResult<RVec<u8>, ModuleError>;

    /// The upstream body ended: returns any final bytes (`data: [DONE]` among them).
    fn finish(&mut self) -> RResult<RVec<u8>, ModuleError>;

    /// Usage, model and finish reasons seen so far.
    #[sabi(last_prefix_field)]
    fn meta(&self) -> ResponseMeta;
}

/// A boxed stream translator as it crosses the boundary.
pub type StreamTranslatorBox = StreamTranslator_TO<'static, RBox<()>>;

/// A capability added after this SDK version, reached by name through
/// [`ProviderModule::extension`]. Input and output are JSON.
#[sabi_trait]
pub trait Extension: Send + Sync {
    #[sabi(last_prefix_field)]
    fn call(&self, input: RSlice<'_, u8>) -> RResult<RVec<u8>, ModuleError>;
}

pub type ExtensionBox = Extension_TO<'static, RBox<()>>;

/// The root module every provider `.so` exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
#[sabi(missing_field(panic))]
pub struct ProviderModule {
    pub manifest: extern "C" fn() -> RResult<Manifest, ModuleError>,

    /// Checks `config.model.options` (JSON text) for a route of this type at config load. The
    /// error message names the bad option.
    pub validate_options:
        extern "C" fn(route_type: RouteType, options: RStr<'_>) -> RResult<(), ModuleError>,

    /// Builds the upstream request from the client's body.
    pub build_request: extern "C" fn(
        plan: &RequestPlan<'_>,
        body: RSlice<'_, u8>,
    ) -> RResult<UpstreamRequest, ModuleError>,

    /// Translates a whole upstream response, error statuses included.
    pub parse_response: extern "C" fn(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: RSlice<'_, HeaderRef<'_>>,
        body: RSlice<'_, u8>,
    ) -> RResult<TranslatedResponse, ModuleError>,

    /// Starts translating a streamed upstream response whose status is a success.
    pub new_stream_translator: extern "C" fn(
        plan: &RequestPlan<'_>,
        status: u16,
        headers: RSlice<'_, HeaderRef<'_>>,
    ) -> RResult<StreamTranslatorBox, ModuleError>,

    /// Reads usage and model from a response that goes to the client untouched (`preserve` and
    /// native formats), for analytics only.
    pub native_metadata: extern "C" fn(
        plan: &RequestPlan<'_>,
        status: u16,
        body: RSlice<'_, u8>,
    ) -> RResult<ResponseMeta, ModuleError>,

    /// A capability by name, for entry points added in later SDK versions.
    #[sabi(last_prefix_field)]
    pub extension: extern "C" fn(name: RStr<'_>) -> ROption<ExtensionBox>,

    /// `build_request` with the top-level members of `body` that the gateway found when it
    /// validated the body, so that a module that edits the body does not read it a second time.
    /// `members` is empty when the gateway has none to give; the module then reads `body` itself.
    /// The gateway calls this one; `build_request` stays for gateways built before it was added.
    pub build_request_with_members: extern "C" fn(
        plan: &RequestPlan<'_>,
        body: RSlice<'_, u8>,
        members: RSlice<'_, BodyMember>,
    ) -> RResult<UpstreamRequest, ModuleError>,
}

impl RootModule for ProviderModuleRef {
    abi_stable::declare_root_module_statics! {ProviderModuleRef}

    const BASE_NAME: &'static str = "ai_gateway_provider";
    const NAME: &'static str = "ai_gateway_provider";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
