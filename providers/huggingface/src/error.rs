//! Hugging Face's error bodies as OpenAI's error envelope, the upstream's status kept.
//!
//! | Hugging Face body | envelope |
//! |---|---|
//! | `{"error": "…", "error_type": "validation"}` (TGI) | `message`; `code` is TGI's `error_type` |
//! | `{"error": "… is currently loading", "estimated_time": 305.7}` (503) | `message` with the estimated time appended |
//! | `{"error": ["…", "…"]}` (the Inference API's parameter checks) | the messages joined with `; ` |
//! | anything else (`{"message": …}`, OpenAI envelopes, HTML, text) | provider-sdk's [`normalize_error_body`] |
//!
//! The same shapes arrive inside streams (`data: {"error": …}`) and, from the Inference API, in
//! bodies whose status is 200; those become an SSE error event and a 502.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{Header, ModuleError, ResponseMeta, RouteType, TranslatedResponse};
use provider_sdk::error::{error_envelope, kind_for_status};
use provider_sdk::openai::normalize_error_body;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::PROVIDER;

/// The response for an upstream error status.
pub fn upstream_error(status: u16, body: &[u8]) -> TranslatedResponse {
    let envelope = match HfError::parse(body) {
        Some(error) => error_envelope(
            &error.message(),
            kind_for_status(status),
            error.error_type.as_deref().unwrap_or_default(),
        ),
        None => normalize_error_body(status, body, PROVIDER),
    };
    TranslatedResponse {
        status,
        headers: RVec::from(vec![Header::new("content-type", "application/json")]),
        body: ROption::RSome(envelope.into()),
        meta: ResponseMeta::default(),
    }
}

/// The 502 for a success body that cannot be translated: Hugging Face's own error when the body is
/// one (the Inference API answers some failures with status 200), else `reason`.
pub fn untranslatable(route_type: RouteType, body: &[u8], reason: &str) -> ModuleError {
    match HfError::parse(body) {
        Some(error) => ModuleError::bad_upstream(format!(
            "{PROVIDER} answered HTTP 200 with an error: {}",
            error.message()
        )),
        None => ModuleError::bad_upstream(format!(
            "transformation failed from type {PROVIDER}://{}: {reason}",
            route_type.as_str()
        )),
    }
}

/// The error an in-stream error event (`data: {"error": …}`) reports, for the SSE error event the
/// stream ends with. TGI's `error_type` chooses OpenAI's `type` and is kept as `code`.
pub fn in_stream(data: &[u8]) -> ModuleError {
    let Some(error) = HfError::parse(data) else {
        return ModuleError::bad_upstream(format!(
            "{PROVIDER} stream failed: {}",
            String::from_utf8_lossy(data)
        ));
    };
    let error_type = error.error_type.as_deref().unwrap_or_default();
    let kind = match error_type {
        "validation" => "invalid_request_error",
        "overloaded" => "rate_limit_error",
        _ => "server_error",
    };
    ModuleError::new(502, kind, error.message()).with_code(error_type)
}

/// A body whose `error` is a message or a list of messages.
struct HfError<'a> {
    messages: Vec<Cow<'a, str>>,
    error_type: Option<Cow<'a, str>>,
    estimated_time: Option<f64>,
}

impl<'a> HfError<'a> {
    fn parse(body: &'a [u8]) -> Option<HfError<'a>> {
        let fields: ErrorFields<'a> = serde_json::from_slice(body).ok()?;
        let messages = match fields.error? {
            ErrorMember::Text(text) => vec![text],
            ErrorMember::List(list) if !list.is_empty() => list,
            ErrorMember::List(_) | ErrorMember::Other => return None,
        };
        Some(HfError {
            messages,
            error_type: fields.error_type,
            estimated_time: fields.estimated_time,
        })
    }

    fn message(&self) -> String {
        let mut message = self.messages.join("; ");
        if let Some(seconds) = self.estimated_time.filter(|s| s.is_finite() && *s >= 0.0) {
            message.push_str(&format!(
                " (estimated time until the model is loaded: {seconds:.0} s)"
            ));
        }
        message
    }
}

#[derive(serde::Deserialize)]
struct ErrorFields<'a> {
    #[serde(default, borrow)]
    error: Option<ErrorMember<'a>>,
    #[serde(default, borrow)]
    error_type: Option<Cow<'a, str>>,
    #[serde(default)]
    estimated_time: Option<f64>,
}

enum ErrorMember<'a> {
    Text(Cow<'a, str>),
    List(Vec<Cow<'a, str>>),
    /// An OpenAI-style object, or anything else: left to provider-sdk's normalisation.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for ErrorMember<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ErrorMemberVisitor(std::marker::PhantomData))
    }
}

struct ErrorMemberVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ErrorMemberVisitor<'a> {
    type Value = ErrorMember<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an error message or a list of them")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ErrorMember::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ErrorMember::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = seq.next_element::<ListItem<'a>>()? {
            list.extend(item.0);
        }
        Ok(ErrorMember::List(list))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ErrorMember::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ErrorMember::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ErrorMember::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ErrorMember::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ErrorMember::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ErrorMember::Other)
    }
}

/// One entry of an error list; entries that are not strings are skipped.
struct ListItem<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for ListItem<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match ErrorMember::deserialize(deserializer)? {
            ErrorMember::Text(text) => Ok(ListItem(Some(text))),
            ErrorMember::List(_) | ErrorMember::Other => Ok(ListItem(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(status: u16, body: &[u8]) -> serde_json::Value {
        let translated = upstream_error(status, body);
        assert_eq!(translated.status, status);
        serde_json::from_slice(&translated.body.unwrap()).unwrap()
    }

    #[test]
    fn tgi_errors_keep_their_type_as_the_code() {
        let body = br#"{"error":"Input validation error: `inputs` must have less than 4096 tokens","error_type":"validation"}"#;
        let error = &envelope(422, body)["error"];
        assert_eq!(
            error["message"],
            "Input validation error: `inputs` must have less than 4096 tokens"
        );
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["code"], "validation");
        assert!(error["param"].is_null());
    }

    #[test]
    fn the_inference_apis_lists_are_joined() {
        let body = br#"{"error":["Error in `parameters.top_k`: ensure this value is greater than or equal to 1", 3, "Error in `inputs`: field required"]}"#;
        let error = &envelope(400, body)["error"];
        assert_eq!(
            error["message"],
            "Error in `parameters.top_k`: ensure this value is greater than or equal to 1; Error in `inputs`: field required"
        );
        assert!(error["code"].is_null());
    }

    #[test]
    fn other_shapes_are_normalised_by_the_sdk() {
        let error = &envelope(401, br#"{"error":{"message":"bad key","type":"x"}}"#)["error"];
        assert_eq!(error["message"], "bad key");
        let error = &envelope(500, b"<html>oops</html>")["error"];
        assert_eq!(error["message"], "upstream huggingface returned HTTP 500");
        let error = &envelope(400, br#"{"error":[]}"#)["error"];
        assert_eq!(error["message"], "upstream huggingface returned HTTP 400");
    }

    #[test]
    fn stream_errors_choose_the_type_from_tgi() {
        let error = in_stream(br#"{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}"#);
        assert_eq!(error.kind.as_str(), "server_error");
        assert_eq!(error.code.as_str(), "generation");
        assert_eq!(
            error.message.as_str(),
            "Request failed during generation: Server error: CUDA out of memory"
        );
        let error = in_stream(br#"{"error":"Model is overloaded","error_type":"overloaded"}"#);
        assert_eq!(error.kind.as_str(), "rate_limit_error");
        let error = in_stream(b"{\"error\":true}");
        assert_eq!(error.status, 502);
        assert!(error.message.contains("{\"error\":true}"));
    }

    #[test]
    fn a_success_body_with_an_error_says_so() {
        let error = untranslatable(
            RouteType::COMPLETIONS,
            br#"{"error":"Model gpt2 is currently loading","estimated_time":20.0}"#,
            "not a text generation",
        );
        assert_eq!(error.status, 502);
        assert_eq!(
            error.message.as_str(),
            "huggingface answered HTTP 200 with an error: Model gpt2 is currently loading (estimated time until the model is loaded: 20 s)"
        );
        let error = untranslatable(RouteType::CHAT, b"{}", "'choices' not in response");
        assert_eq!(
            error.message.as_str(),
            "transformation failed from type huggingface://llm/v1/chat: 'choices' not in response"
        );
    }
}
