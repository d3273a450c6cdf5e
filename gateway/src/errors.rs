//! Errors the gateway itself produces. Each one becomes OpenAI's error envelope
//! `{"error":{"message","type","param","code"}}` with the status that says who was at fault, so
//! that every OpenAI SDK can read it, and carries the class the route statistics count it under.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use provider_sdk::abi::ModuleError;
use provider_sdk::error::error_envelope;

use crate::stats::ErrorClass;

#[derive(Debug, Clone)]
pub struct GatewayError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub code: Option<String>,
    pub class: ErrorClass,
}

impl GatewayError {
    fn new(status: StatusCode, kind: &'static str, class: ErrorClass, message: String) -> Self {
        GatewayError {
            status,
            kind,
            message,
            code: None,
            class,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            ErrorClass::BadRequest,
            message.into(),
        )
    }

    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            ErrorClass::BadRequest,
            "no Route matched with those values".to_string(),
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            ErrorClass::BadRequest,
            message.into(),
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            ErrorClass::BadRequest,
            format!(
                "request body is larger than this route's max_request_body_size of {limit} bytes"
            ),
        )
    }

    pub fn unsupported_media_type(found: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            ErrorClass::BadRequest,
            format!("content-type must be application/json, not '{found}'"),
        )
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            ErrorClass::Unreachable,
            message.into(),
        )
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            ErrorClass::Timeout,
            message.into(),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            ErrorClass::Module,
            message.into(),
        )
    }

    /// A module's error. A 4xx from a module means the client's request cannot be translated; any
    /// other status is a failure of the module or of what the upstream sent.
    pub fn from_module(e: ModuleError) -> Self {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let class = if status.is_client_error() {
            ErrorClass::BadRequest
        } else {
            ErrorClass::Module
        };
        let kind = match e.kind.as_str() {
            "invalid_request_error" => "invalid_request_error",
            "authentication_error" => "authentication_error",
            "provider_module_error" => "provider_module_error",
            _ if status.is_client_error() => "invalid_request_error",
            _ => "bad_gateway",
        };
        GatewayError {
            status,
            kind,
            message: e.message.into_string(),
            code: (!e.code.is_empty()).then(|| e.code.into_string()),
            class,
        }
    }

    pub fn body(&self) -> Vec<u8> {
        error_envelope(&self.message, self.kind, self.code.as_deref().unwrap_or(""))
    }
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for GatewayError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("application/json")
            .body(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_client_errors_count_as_bad_requests_and_keep_status() {
        let e = GatewayError::from_module(ModuleError::invalid_request("no tools here"));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.class, ErrorClass::BadRequest);
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["error"]["message"], "no tools here");
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn a_caught_module_panic_is_a_502_module_failure() {
        let e = GatewayError::from_module(ModuleError::module_failure("panicked"));
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert_eq!(e.class, ErrorClass::Module);
        assert_eq!(e.kind, "provider_module_error");
    }
}
