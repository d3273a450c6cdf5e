//! Errors as modules report them, and the OpenAI error envelope every client receives.

use abi_stable::std_types::RString;
use serde::Serialize;

use crate::abi::ModuleError;

impl ModuleError {
    pub fn new(status: u16, kind: &str, message: impl Into<String>) -> ModuleError {
        ModuleError {
            status,
            kind: kind.into(),
            message: RString::from(message.into()),
            code: RString::new(),
        }
    }

    /// The client's request cannot be served as sent (400).
    pub fn invalid_request(message: impl Into<String>) -> ModuleError {
        ModuleError::new(400, "invalid_request_error", message)
    }

    /// The upstream answered something the module cannot translate (502).
    pub fn bad_upstream(message: impl Into<String>) -> ModuleError {
        ModuleError::new(502, "bad_gateway", message)
    }

    /// The module failed, e.g. a caught panic (502: the gateway itself keeps serving).
    pub fn module_failure(message: impl Into<String>) -> ModuleError {
        ModuleError::new(502, "provider_module_error", message)
    }

    pub fn with_code(mut self, code: &str) -> ModuleError {
        self.code = code.into();
        self
    }

    /// The OpenAI-shaped JSON body for this error.
    pub fn to_envelope(&self) -> Vec<u8> {
        error_envelope(&self.message, &self.kind, &self.code)
    }
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.kind, self.message)
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: EnvelopeBody<'a>,
}

#[derive(Serialize)]
struct EnvelopeBody<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// `{"error":{"message","type","param":null,"code"}}`, the shape OpenAI's SDKs parse. An empty
/// `code` becomes `null`.
pub fn error_envelope(message: &str, kind: &str, code: &str) -> Vec<u8> {
    let body = Envelope {
        error: EnvelopeBody {
            message,
            kind,
            param: None,
            code: (!code.is_empty()).then_some(code),
        },
    };
    serde_json::to_vec(&body).unwrap_or_else(|_| br#"{"error":{"message":"error"}}"#.to_vec())
}

/// The OpenAI `error.type` that goes with an HTTP status, for errors that do not carry one.
pub fn kind_for_status(status: u16) -> &'static str {
    match status {
        400 | 404 | 405 | 409 | 413 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "timeout",
        _ if status >= 500 => "server_error",
        _ => "invalid_request_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_openai_shape_and_null_code_when_empty() {
        let body = error_envelope("bad \"thing\"", "invalid_request_error", "");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v["error"]["message"], "bad \"thing\"");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["code"].is_null());
        assert!(v["error"]["param"].is_null());
    }

    #[test]
    fn envelope_keeps_a_code() {
        let e = ModuleError::invalid_request("x").with_code("model_mismatch");
        let v: serde_json::Value = serde_json::from_slice(&e.to_envelope()).unwrap_or_default();
        assert_eq!(v["error"]["code"], "model_mismatch");
    }
}
