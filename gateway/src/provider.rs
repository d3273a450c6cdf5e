//! Safe calls into a loaded provider module. Every entry point of a module built with
//! provider-sdk catches its own panics, so each call here returns either a value or a
//! [`ModuleError`]; none can unwind into the gateway.

use abi_stable::std_types::{RSlice, RStr};
use provider_sdk::abi::{
    BodyMember, HeaderRef, ModuleError, ProviderModuleRef, RequestPlan, ResponseMeta, RouteType,
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

    /// `members` are where `body`'s top-level members lie (empty when not located).
    pub fn build_request(
        &self,
        plan: &RequestPlan<'_>,
        body: &[u8],
        members: &[BodyMember],
    ) -> Result<UpstreamRequest, ModuleError> {
        (self.0.build_request_with_members())(
            plan,
            RSlice::from_slice(body),
            RSlice::from_slice(members),
        )
        .into_result()
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

#[cfg(test)]
mod tests {
    use abi_stable::std_types::{ROption, RVec};
    use provider_sdk::abi::{Framing, Header, Manifest};
    use provider_sdk::{ClientBody, Provider, StreamTranslate};

    use super::*;
    use crate::plan::RequestFacts;

    /// Answers every request with the members it was given, key by key, in a header.
    struct MemberEcho;

    fn unused() -> ModuleError {
        ModuleError::invalid_request("not used in this test")
    }

    impl Provider for MemberEcho {
        fn manifest() -> Manifest {
            Manifest {
                name: "member-echo".into(),
                sdk_version: provider_sdk::SDK_VERSION.into(),
                route_types: RVec::from(vec![RouteType::CHAT]),
                native_formats: RVec::new(),
                default_auth: "none".into(),
            }
        }

        fn validate_options(_: RouteType, _: &serde_json::Value) -> Result<(), ModuleError> {
            Ok(())
        }

        fn build_request(
            _plan: &RequestPlan<'_>,
            body: &ClientBody<'_>,
        ) -> Result<UpstreamRequest, ModuleError> {
            let keys: Vec<&str> = body
                .members()
                .iter()
                .map(|m| std::str::from_utf8(&body[m.key_start..m.key_end]).unwrap())
                .collect();
            Ok(UpstreamRequest {
                method: "POST".into(),
                url: "http://upstream.test/".into(),
                headers: RVec::from(vec![Header::new("x-members", keys.join(","))]),
                body: ROption::RNone,
                response_framing: Framing::JSON,
                signing: ROption::RNone,
            })
        }

        fn parse_response(
            _: &RequestPlan<'_>,
            _: u16,
            _: &[HeaderRef<'_>],
            _: &[u8],
        ) -> Result<TranslatedResponse, ModuleError> {
            Err(unused())
        }

        fn new_stream_translator(
            _: &RequestPlan<'_>,
            _: u16,
            _: &[HeaderRef<'_>],
        ) -> Result<Box<dyn StreamTranslate>, ModuleError> {
            Err(unused())
        }

        fn native_metadata(
            _: &RequestPlan<'_>,
            _: u16,
            _: &[u8],
        ) -> Result<ResponseMeta, ModuleError> {
            Err(unused())
        }
    }

    #[test]
    fn the_members_the_gateway_located_reach_the_module() {
        let body = br#"{"model":"m", "messages":[{"role":"user","content":"hi"}],"n":1}"#;
        let facts = RequestFacts::read(RouteType::CHAT, body).unwrap();
        let plan = RequestPlan {
            route_type: RouteType::CHAT,
            model: RStr::from_str("m"),
            options: RStr::from_str("{}"),
            stream: false,
            client_wants_usage: false,
            client_method: RStr::from_str("POST"),
            client_path: RStr::from_str("/v1/chat/completions"),
            client_query: RStr::from_str(""),
            client_headers: RSlice::from_slice(&[]),
        };
        let module = ProviderHandle::new(provider_sdk::provider_module::<MemberEcho>());
        let request = module.build_request(&plan, body, &facts.members).unwrap();
        assert_eq!(request.headers[0].value.as_str(), "model,messages,n");
    }
}
