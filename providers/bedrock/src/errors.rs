//! Bedrock's errors in OpenAI's envelope: HTTP error responses with their status kept, and the
//! exceptions a ConverseStream sends inside the stream.
//!
//! Bedrock writes `{"message": "…"}` (some services `Message`) and names the error in the
//! `x-amzn-ErrorType` header (`ValidationException:http://internal.amazon.com/…`). The name becomes
//! the envelope's `code`, so that clients can tell a throttle from a validation error; in-stream
//! exceptions (`throttlingException`) get the same names and the status Bedrock gives each of them
//! over HTTP.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{Header, HeaderRef, ModuleError, ResponseMeta, TranslatedResponse};
use provider_sdk::error::{error_envelope, kind_for_status};
use provider_sdk::openai::normalize_error_body;
use serde::Deserialize;

use crate::PROVIDER;

/// An upstream error response, translated.
pub fn error_response(status: u16, headers: &[HeaderRef<'_>], body: &[u8]) -> TranslatedResponse {
    let error_type = headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case("x-amzn-errortype"))
        .map(|h| error_name(h.value.as_str()));
    let parsed = serde_json::from_slice::<ErrorBody<'_>>(body).ok();
    let code = error_type.or_else(|| {
        parsed
            .as_ref()
            .and_then(|b| b.kind.as_deref())
            .map(error_name)
    });
    let message = parsed.as_ref().and_then(|b| b.message.as_deref());
    let envelope = match (message, code) {
        (Some(message), code) => {
            error_envelope(message, kind_for_status(status), &code.unwrap_or_default())
        }
        (None, _) => normalize_error_body(status, body, PROVIDER),
    };
    TranslatedResponse {
        status,
        headers: RVec::from(vec![Header::new("content-type", "application/json")]),
        body: ROption::RSome(envelope.into()),
        meta: ResponseMeta::default(),
    }
}

/// An `exception` message of a ConverseStream (`:exception-type` and its JSON payload), as the
/// error the stream ends with.
pub fn stream_exception(exception_type: &str, payload: &[u8]) -> ModuleError {
    let status = match exception_type {
        "validationException" => 400,
        "accessDeniedException" => 403,
        "resourceNotFoundException" => 404,
        "modelTimeoutException" => 408,
        "modelStreamErrorException" => 424,
        "throttlingException" | "modelNotReadyException" => 429,
        "internalServerException" => 500,
        "serviceUnavailableException" => 503,
        // An exception this table does not know came from the upstream all the same.
        _ => 502,
    };
    let message = serde_json::from_slice::<ErrorBody<'_>>(payload)
        .ok()
        .and_then(|b| b.message.map(Cow::into_owned))
        .unwrap_or_else(|| format!("upstream {PROVIDER} stream failed with {exception_type}"));
    stream_error(status, exception_type, &message)
}

/// An `error` message of an event stream (`:error-code`, `:error-message`).
pub fn stream_error_message(code: &str, message: &str) -> ModuleError {
    stream_error(502, code, message)
}

fn stream_error(status: u16, code: &str, message: &str) -> ModuleError {
    ModuleError::new(status, kind_for_status(status), message).with_code(&capitalized(code))
}

/// `ValidationException:http://internal.amazon.com/…` or `com.amazon.coral#ValidationException`
/// → `ValidationException`.
fn error_name(raw: &str) -> String {
    let name = raw.split(':').next().unwrap_or(raw);
    let name = name.rsplit('#').next().unwrap_or(name);
    capitalized(name.trim())
}

/// Stream exceptions are named in camelCase, HTTP errors in PascalCase; clients see one spelling.
fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow, default, alias = "Message")]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "__type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RStr;

    fn envelope(response: &TranslatedResponse) -> serde_json::Value {
        serde_json::from_slice(
            response
                .body
                .as_ref()
                .map(|b| b.as_slice())
                .unwrap_or_default(),
        )
        .unwrap()
    }

    #[test]
    fn the_message_and_the_error_type_reach_the_envelope() {
        let headers = [HeaderRef {
            name: RStr::from_str("X-Amzn-ErrorType"),
            value: RStr::from_str(
                "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            ),
        }];
        let response = error_response(
            400,
            &headers,
            br#"{"message":"The provided model identifier is invalid."}"#,
        );
        assert_eq!(response.status, 400);
        assert_eq!(
            envelope(&response),
            serde_json::json!({"error": {
                "message": "The provided model identifier is invalid.",
                "type": "invalid_request_error", "param": null, "code": "ValidationException",
            }})
        );
    }

    #[test]
    fn capitalised_messages_and_body_types_are_read() {
        let response = error_response(
            403,
            &[],
            br#"{"Message":"User is not authorized","__type":"com.amazon.coral.service#AccessDeniedException"}"#,
        );
        let body = envelope(&response);
        assert_eq!(body["error"]["message"], "User is not authorized");
        assert_eq!(body["error"]["type"], "permission_error");
        assert_eq!(body["error"]["code"], "AccessDeniedException");
    }

    #[test]
    fn bodies_without_a_message_fall_back_to_the_shared_normalisation() {
        let response = error_response(503, &[], b"<html>Service Unavailable</html>");
        let body = envelope(&response);
        assert_eq!(
            body["error"]["message"],
            "upstream bedrock returned HTTP 503"
        );
        assert_eq!(body["error"]["type"], "service_unavailable");
    }

    #[test]
    fn stream_exceptions_get_their_http_status() {
        let error = stream_exception("throttlingException", br#"{"message":"Too many requests"}"#);
        assert_eq!(
            (
                error.status,
                error.kind.as_str(),
                error.message.as_str(),
                error.code.as_str()
            ),
            (
                429,
                "rate_limit_error",
                "Too many requests",
                "ThrottlingException"
            )
        );
        let error = stream_exception("modelStreamErrorException", b"{}");
        assert_eq!(error.status, 424);
        assert_eq!(
            error.message.as_str(),
            "upstream bedrock stream failed with modelStreamErrorException"
        );
        assert_eq!(stream_exception("newException", b"not json").status, 502);
    }
}
