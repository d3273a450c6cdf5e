//! Upstream error bodies turned into OpenAI's error envelope, so that every client SDK can read
//! the provider's message whatever shape the provider used.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lenient::{other_kinds_give, LenientStr};
use crate::error::{error_envelope, kind_for_status};
use crate::json_edit::ObjectKey;

/// How much of a plain-text error body goes into the message: enough for any real explanation,
/// bounded so that a proxy's multi-kilobyte page does not become the message.
const MAX_TEXT_MESSAGE_CHARS: usize = 512;

/// The body to send a client for an upstream error with `status`. A body that already is an
/// OpenAI envelope (`{"error":{"message":"…"}}`) is kept byte for byte. Otherwise the envelope
/// carries the best message the body offers: a JSON `message`, an `error` string, `detail`, or the
/// text itself (trimmed and shortened). Markup, such as a load balancer's HTML page, and empty
/// bodies become "upstream `provider_label` returned HTTP `status`".
pub fn normalize_error_body(status: u16, body: &[u8], provider_label: &str) -> Vec<u8> {
    let kind = kind_for_status(status);
    let fallback = || format!("upstream {provider_label} returned HTTP {status}");
    if let Ok(found) = serde_json::from_slice::<ErrorSkim<'_>>(body) {
        // Skipped strings are not checked for UTF-8 while skimming, and a client's JSON parser
        // would reject the whole body over one bad byte.
        if found.is_envelope && std::str::from_utf8(body).is_ok() {
            return body.to_vec();
        }
        let message = found.message.map(Cow::into_owned).unwrap_or_else(fallback);
        let code = found.code.unwrap_or_default();
        return error_envelope(&message, kind, &code);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        return error_envelope(&fallback(), kind, "");
    }
    let message: String = text.chars().take(MAX_TEXT_MESSAGE_CHARS).collect();
    error_envelope(&message, kind, "")
}

/// The parts of a JSON error body that can carry a message.
#[derive(Default)]
struct ErrorSkim<'a> {
    /// `error` is an object with a string `message`, which is then `message`.
    is_envelope: bool,
    message: Option<Cow<'a, str>>,
    code: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ErrorSkim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ErrorSkimVisitor(std::marker::PhantomData))
    }
}

struct ErrorSkimVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ErrorSkimVisitor<'a> {
    type Value = ErrorSkim<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut error = None;
        let mut message = None;
        let mut detail = None;
        let mut code = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "error" => error = Some(map.next_value::<ErrorMember<'a>>()?),
                // AWS services capitalise it.
                "message" | "Message" => message = map.next_value::<LenientStr<'a>>()?.0,
                "detail" => detail = map.next_value::<Detail<'a>>()?.0,
                "code" => code = map.next_value::<LenientStr<'a>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut skim = ErrorSkim {
            code,
            ..ErrorSkim::default()
        };
        match error {
            Some(ErrorMember::Object {
                message: Some(text),
                ..
            }) => {
                skim.is_envelope = true;
                skim.message = Some(text);
            }
            Some(ErrorMember::Object {
                message: None,
                code: nested_code,
            }) => skim.code = nested_code.or(skim.code),
            Some(ErrorMember::Text(text)) => skim.message = Some(text),
            Some(ErrorMember::Other) | None => {}
        }
        skim.message = skim.message.or(message).or(detail);
        Ok(skim)
    }
}

enum ErrorMember<'a> {
    Object {
        message: Option<Cow<'a, str>>,
        code: Option<Cow<'a, str>>,
    },
    Text(Cow<'a, str>),
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
        f.write_str("an error object or message")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ErrorMember::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ErrorMember::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut message = None;
        let mut code = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "message" => message = map.next_value::<LenientStr<'a>>()?.0,
                "code" => code = map.next_value::<LenientStr<'a>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ErrorMember::Object { message, code })
    }

    other_kinds_give!(ErrorMember::Other; bool, i64, u64, f64, unit, seq);
}

/// `detail` as a string, or as a validation list (`[{"msg": …}, …]`, FastAPI's shape) whose
/// first message is used.
struct Detail<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Detail<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DetailVisitor(std::marker::PhantomData))
    }
}

struct DetailVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for DetailVisitor<'a> {
    type Value = Detail<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a detail message")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Detail(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Detail(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut first = None;
        while let Some(DetailItem(msg)) = seq.next_element()? {
            first = first.or(msg);
        }
        Ok(Detail(first))
    }

    other_kinds_give!(Detail(None); bool, i64, u64, f64, unit, map);
}

struct DetailItem<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for DetailItem<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DetailItemVisitor(std::marker::PhantomData))
    }
}

struct DetailItemVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for DetailItemVisitor<'a> {
    type Value = DetailItem<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a detail entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut msg = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            if key == "msg" {
                msg = map.next_value::<LenientStr<'a>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(DetailItem(msg))
    }

    other_kinds_give!(DetailItem(None); bool, i64, u64, f64, str, unit, seq);
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/kong-ai-proxy"
    );

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{path}")).unwrap()
    }

    fn envelope(body: &[u8]) -> serde_json::Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn openai_envelopes_are_kept_byte_for_byte() {
        for path in [
            "openai/llm-v1-chat/responses/unauthorized.json",
            "openai/llm-v1-chat/responses/bad_request.json",
            "openai/llm-v1-completions/responses/unauthorized.json",
            "anthropic/llm-v1-chat/responses/unauthorized.json",
        ] {
            let body = fixture(path);
            assert_eq!(normalize_error_body(401, &body, "openai"), body, "{path}");
        }
    }

    #[test]
    fn an_envelope_with_invalid_utf8_is_rebuilt() {
        let body = b"{\"error\":{\"message\":\"bad key\",\"param\":\"\xff\"}}";
        let out = envelope(&normalize_error_body(401, body, "openai"));
        assert_eq!(out["error"]["message"], "bad key");
        assert_eq!(out["error"]["type"], "authentication_error");
    }

    #[test]
    fn html_becomes_a_short_message() {
        let body = fixture("openai/llm-v1-chat/responses/internal_server_error.html");
        let out = envelope(&normalize_error_body(500, &body, "openai"));
        assert_eq!(out["error"]["message"], "upstream openai returned HTTP 500");
        assert_eq!(out["error"]["type"], "server_error");
        assert!(out["error"]["code"].is_null());
    }

    #[test]
    fn provider_shapes_give_their_message() {
        let cases: [(&[u8], &str); 8] = [
            (br#"{"message":"invalid api token"}"#, "invalid api token"),
            (br#"{"Message":"The security token is invalid"}"#, "The security token is invalid"),
            (br#"{"error":"Template error: x","error_type":"template_error"}"#, "Template error: x"),
            (br#"{"detail":"Not Found"}"#, "Not Found"),
            (br#"{"detail":[{"loc":["body"],"msg":"field required","type":"missing"},{"msg":"second"}]}"#, "field required"),
            (br#"{"error":{"code":"x"},"message":"outer"}"#, "outer"),
            (b"  Model is overloaded\n", "Model is overloaded"),
            (br#"{"error":{"message":null},"message":"m"}"#, "m"),
        ];
        for (body, message) in cases {
            let out = envelope(&normalize_error_body(400, body, "p"));
            assert_eq!(
                out["error"]["message"],
                message,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(out["error"]["type"], "invalid_request_error");
        }
    }

    #[test]
    fn kong_cohere_and_huggingface_error_bodies() {
        let body = fixture("cohere/llm-v1-chat/responses/unauthorized.json");
        let expected: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let out = envelope(&normalize_error_body(401, &body, "cohere"));
        assert_eq!(out["error"]["message"], expected["message"]);
        assert_eq!(out["error"]["type"], "authentication_error");

        let body = fixture("huggingface/llm-v1-chat/responses/bad_request.json");
        let expected: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let out = envelope(&normalize_error_body(400, &body, "huggingface"));
        assert_eq!(out["error"]["message"], expected["error"]);
    }

    #[test]
    fn codes_are_carried_over() {
        let out = envelope(&normalize_error_body(
            429,
            br#"{"message":"slow down","code":"rate_limited"}"#,
            "p",
        ));
        assert_eq!(out["error"]["code"], "rate_limited");
        assert_eq!(out["error"]["type"], "rate_limit_error");
    }

    #[test]
    fn json_without_a_message_and_empty_bodies_use_the_status() {
        for body in [
            &b"{}"[..],
            b"",
            b"   ",
            br#"{"error":5}"#,
            br#"{"error":{"type":"x"}}"#,
        ] {
            let out = envelope(&normalize_error_body(503, body, "openai"));
            assert_eq!(out["error"]["message"], "upstream openai returned HTTP 503");
            assert_eq!(out["error"]["type"], "service_unavailable");
        }
    }

    #[test]
    fn json_that_is_not_an_object_is_text() {
        let out = envelope(&normalize_error_body(500, b"[1,2]", "openai"));
        assert_eq!(out["error"]["message"], "[1,2]");
    }

    #[test]
    fn long_and_binary_text_is_bounded() {
        let long = "é".repeat(2000);
        let out = envelope(&normalize_error_body(502, long.as_bytes(), "p"));
        assert_eq!(
            out["error"]["message"].as_str().unwrap().chars().count(),
            512
        );

        let out = envelope(&normalize_error_body(500, b"bad \xff\x00 bytes", "p"));
        assert_eq!(out["error"]["message"], "bad \u{fffd}\u{0} bytes");
    }
}
