//! Anthropic's errors, `{"type":"error","error":{"type":…,"message":…}}` in a body or in a stream's
//! `error` event, as OpenAI's envelope: the message kept, `type` mapped to the OpenAI type an SDK
//! expects, Anthropic's own type kept as `code` so that nothing is lost. The HTTP status is kept.
//! Bodies of any other shape (a proxy's HTML page, an empty body) go through provider-sdk's
//! normalisation.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{Header, ModuleError, ResponseMeta, TranslatedResponse};
use provider_sdk::error::{error_envelope, kind_for_status};
use provider_sdk::openai::normalize_error_body;

use crate::PROVIDER;

/// The `error` member of an Anthropic error body or stream event.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AnthropicError<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub message: Cow<'a, str>,
}

impl AnthropicError<'_> {
    /// The OpenAI `error.type` for this error; `status` decides for types Anthropic may add.
    pub fn openai_kind(&self, status: u16) -> &'static str {
        match self.kind.as_ref() {
            "invalid_request_error" | "not_found_error" | "request_too_large" => {
                "invalid_request_error"
            }
            "authentication_error" => "authentication_error",
            "permission_error" => "permission_error",
            "rate_limit_error" => "rate_limit_error",
            "billing_error" => "insufficient_quota",
            "api_error" | "overloaded_error" => "server_error",
            "timeout_error" => "timeout",
            _ => kind_for_status(status),
        }
    }

    /// The error as a module error, for a stream that fails after its head was sent (the status
    /// is never written; the envelope is).
    pub fn to_module_error(&self) -> ModuleError {
        let message = if self.message.is_empty() {
            "upstream anthropic reported an error in the stream"
        } else {
            &self.message
        };
        ModuleError::new(502, self.openai_kind(502), message).with_code(&self.kind)
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody<'a> {
    #[serde(default, borrow)]
    error: Option<AnthropicError<'a>>,
}

/// The client's response for an upstream error with `status`.
pub fn translate_error(status: u16, body: &[u8]) -> TranslatedResponse {
    let anthropic = serde_json::from_slice::<ErrorBody<'_>>(body)
        .ok()
        .and_then(|parsed| parsed.error)
        .filter(|error| !error.message.is_empty());
    let envelope = match anthropic {
        Some(error) => error_envelope(&error.message, error.openai_kind(status), &error.kind),
        None => normalize_error_body(status, body, PROVIDER),
    };
    TranslatedResponse {
        status,
        headers: RVec::from(vec![Header::new("content-type", "application/json")]),
        body: ROption::RSome(envelope.into()),
        meta: ResponseMeta::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn envelope(status: u16, body: &[u8]) -> Value {
        let response = translate_error(status, body);
        assert_eq!(response.status, status);
        assert_eq!(response.headers[0].value.as_str(), "application/json");
        serde_json::from_slice(response.body.as_ref().unwrap().as_slice()).unwrap()
    }

    #[test]
    fn anthropic_types_map_to_openais_and_stay_as_the_code() {
        let table = [
            (400, "invalid_request_error", "invalid_request_error"),
            (401, "authentication_error", "authentication_error"),
            (402, "billing_error", "insufficient_quota"),
            (403, "permission_error", "permission_error"),
            (404, "not_found_error", "invalid_request_error"),
            (413, "request_too_large", "invalid_request_error"),
            (429, "rate_limit_error", "rate_limit_error"),
            (500, "api_error", "server_error"),
            (504, "timeout_error", "timeout"),
            (529, "overloaded_error", "server_error"),
            (418, "teapot_error", "invalid_request_error"),
            (503, "new_kind_of_error", "service_unavailable"),
        ];
        for (status, anthropic, openai) in table {
            let body = json!({"type": "error", "error": {"type": anthropic, "message": "m \"q\""}, "request_id": "req_1"});
            assert_eq!(
                envelope(status, body.to_string().as_bytes()),
                json!({"error": {"message": "m \"q\"", "type": openai, "param": null, "code": anthropic}}),
                "{anthropic}"
            );
        }
    }

    #[test]
    fn other_shapes_are_normalised() {
        let html = b"<html><body>Bad gateway</body></html>";
        assert_eq!(
            envelope(502, html)["error"]["message"],
            "upstream anthropic returned HTTP 502"
        );
        assert_eq!(envelope(500, b"")["error"]["type"], "server_error");
        let no_message = br#"{"type":"error","error":{"type":"api_error"}}"#;
        assert_eq!(
            envelope(500, no_message)["error"]["message"],
            "upstream anthropic returned HTTP 500"
        );
    }

    #[test]
    fn stream_errors_keep_type_and_message() {
        let error: AnthropicError<'_> =
            serde_json::from_str(r#"{"type":"overloaded_error","message":"Overloaded"}"#).unwrap();
        let module_error = error.to_module_error();
        assert_eq!(module_error.kind.as_str(), "server_error");
        assert_eq!(module_error.code.as_str(), "overloaded_error");
        assert_eq!(module_error.message.as_str(), "Overloaded");
    }
}
