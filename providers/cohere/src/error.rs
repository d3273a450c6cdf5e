//! Cohere's error answers, and successful answers this module cannot read.

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{Header, ModuleError, ResponseMeta, RouteType, TranslatedResponse};
use provider_sdk::openai::normalize_error_body;

use crate::PROVIDER;

/// An error status from Cohere: its `{"message": …}` body becomes OpenAI's envelope, status kept
/// (Kong passes the body through as it is, which OpenAI's SDKs cannot read).
pub fn translate_error(status: u16, body: &[u8]) -> TranslatedResponse {
    TranslatedResponse {
        status,
        headers: RVec::from(vec![Header::new("content-type", "application/json")]),
        body: ROption::RSome(normalize_error_body(status, body, PROVIDER).into()),
        meta: ResponseMeta::default(),
    }
}

/// A success body that is not what `route_type`'s endpoint answers (Kong's message, with 502
/// rather than Kong's 500: the gateway is fine, the upstream answer is not).
pub fn unreadable(route_type: RouteType, reason: &str) -> ModuleError {
    ModuleError::bad_upstream(format!(
        "transformation failed from type {PROVIDER}://{}: {reason}",
        route_type.as_str()
    ))
}

/// A stream event that is not JSON, or not shaped as documented.
pub fn bad_event(error: &serde_json::Error) -> ModuleError {
    ModuleError::bad_upstream(format!(
        "{PROVIDER} sent an unreadable stream event: {error}"
    ))
}
