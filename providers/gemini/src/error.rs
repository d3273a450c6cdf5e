//! Google's errors as OpenAI's envelope.
//!
//! Google answers `{"error": {"code": 400, "message": "…", "status": "INVALID_ARGUMENT",
//! "details": […]}}`, wrapped in an array (`[{"error": …}]`) by `streamGenerateContent` without
//! `alt=sse`, and inside a stream as one more element or event. The client gets
//! `{"error": {"message", "type", "param": null, "code"}}` with the same HTTP status: Google's
//! message, the OpenAI type that goes with the status, and Google's `status` name as the code.
//! A body of another shape (a load balancer's page) is handled by the SDK's
//! `normalize_error_body`.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{Header, ModuleError, ResponseMeta, TranslatedResponse};
use provider_sdk::error::{error_envelope, kind_for_status};
use provider_sdk::openai::normalize_error_body;
use serde::Deserialize;

use crate::PROVIDER;

/// Google's `error` object (`google.rpc.Status`).
#[derive(Debug, Default, Deserialize)]
pub struct GoogleError<'a> {
    /// The HTTP status Google maps the error to.
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default, borrow)]
    pub message: Cow<'a, str>,
    /// The canonical error name, e.g. `RESOURCE_EXHAUSTED`.
    #[serde(default, borrow)]
    pub status: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    error: GoogleError<'a>,
}

/// Google's error in a whole body, bare or as the one element of an array.
fn read_error(body: &[u8]) -> Option<GoogleError<'_>> {
    let listed = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    // A struct also reads from an array (its fields in order), so the two shapes are told apart
    // by their first byte.
    let body = if listed {
        serde_json::from_slice::<[ErrorBody<'_>; 1]>(body)
            .ok()
            .map(|[body]| body)
    } else {
        serde_json::from_slice::<ErrorBody<'_>>(body).ok()
    };
    body.map(|body| body.error)
}

impl GoogleError<'_> {
    /// The error for the client, with `status` when Google's body names none.
    pub fn to_module_error(&self, status: u16) -> ModuleError {
        let status = self
            .code
            .filter(|code| (400..600).contains(code))
            .unwrap_or(status);
        let message = if self.message.is_empty() {
            format!("upstream {PROVIDER} returned HTTP {status}")
        } else {
            self.message.to_string()
        };
        ModuleError::new(status, kind_for_status(status), message).with_code(&self.status)
    }
}

/// The client's answer to an upstream error `status` with `body`.
pub fn error_response(status: u16, body: &[u8]) -> TranslatedResponse {
    let envelope = match read_error(body) {
        Some(error) => {
            let message = if error.message.is_empty() {
                Cow::Owned(format!("upstream {PROVIDER} returned HTTP {status}"))
            } else {
                error.message
            };
            error_envelope(&message, kind_for_status(status), &error.status)
        }
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

    fn envelope(status: u16, body: &[u8]) -> (u16, Value) {
        let response = error_response(status, body);
        let body = response.body.into_option().unwrap();
        (response.status, serde_json::from_slice(&body).unwrap())
    }

    const INVALID_KEY: &str = r#"{
  "error": {
    "code": 400,
    "message": "API key not valid. Please pass a valid API key.",
    "status": "INVALID_ARGUMENT",
    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
  }
}"#;

    #[test]
    fn googles_error_becomes_the_openai_envelope() {
        let (status, body) = envelope(400, INVALID_KEY.as_bytes());
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"error": {
                "message": "API key not valid. Please pass a valid API key.",
                "type": "invalid_request_error", "param": null, "code": "INVALID_ARGUMENT",
            }})
        );
    }

    #[test]
    fn a_listed_error_from_a_json_array_stream_is_read_too() {
        let listed = format!("[{INVALID_KEY}]");
        let (_, body) = envelope(429, listed.as_bytes());
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(
            body["error"]["message"],
            "API key not valid. Please pass a valid API key."
        );
    }

    #[test]
    fn other_bodies_use_the_sdks_normalisation() {
        let (status, body) = envelope(502, b"<html>Bad Gateway</html>");
        assert_eq!(status, 502);
        assert_eq!(
            body["error"]["message"],
            "upstream gemini returned HTTP 502"
        );
        let (_, body) = envelope(500, br#"{"error":{"code":500}}"#);
        assert_eq!(
            body["error"]["message"],
            "upstream gemini returned HTTP 500"
        );
        assert_eq!(body["error"]["type"], "server_error");
    }

    #[test]
    fn in_stream_errors_keep_googles_status() {
        let error: ErrorBody<'_> = serde_json::from_str(
            r#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#,
        )
        .unwrap();
        let module_error = error.error.to_module_error(200);
        assert_eq!(module_error.status, 429);
        assert_eq!(module_error.kind.as_str(), "rate_limit_error");
        assert_eq!(module_error.code.as_str(), "RESOURCE_EXHAUSTED");
        assert_eq!(module_error.message.as_str(), "Resource has been exhausted");
        let bare = GoogleError::default().to_module_error(500);
        assert_eq!(bare.message.as_str(), "upstream gemini returned HTTP 500");
    }
}
