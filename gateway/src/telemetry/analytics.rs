//! The Kong-compatible analytics record of one request, `{"ai":{"proxy":{"meta","usage",
//! "payload"}}}` (reference §8), with Kong's faults fixed:
//!
//! - `log_payloads` works without `log_statistics`;
//! - `payload.request` is the client's body, and the body sent upstream is beside it as
//!   `payload.upstream_request`;
//! - streamed completion tokens are the provider's, never counted twice, and an estimate is
//!   marked `usage.estimated: true`;
//! - `llm_latency` is the whole upstream exchange, to the end of the stream (Kong stops at the
//!   response headers, which for a stream is the time to the first byte), so `time_per_token`
//!   (`llm_latency / completion_tokens`) means what it says.
//!
//! Credentials never appear: headers are not logged at all, and a body auth parameter is replaced
//! by `"[REDACTED]"` in both logged bodies, whoever put it there.

use std::borrow::Cow;
use std::sync::Arc;

use provider_sdk::abi::ResponseMeta;
use provider_sdk::json_edit::ObjectEdit;
use serde::Serialize;
use serde_json::{json, Value};

use crate::accounting::Tokens;

/// The most of one body a record holds; a longer body is cut and the payload marked
/// `truncated`.
pub const MAX_LOGGED_BODY: usize = 1024 * 1024;

/// What replaces a body auth parameter's value.
pub const REDACTED: &str = "[REDACTED]";

/// Azure's deployment, as Kong adds it to `meta` for the azure provider.
#[derive(Debug, PartialEq, Eq)]
pub struct AzureMeta {
    pub instance: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
}

impl AzureMeta {
    /// For a route of `provider` whose resolved `model.options` are `options`: made once per
    /// route, or per request only where the options are templated.
    pub fn of_route(provider: &str, options: &Value) -> Option<Arc<AzureMeta>> {
        (provider == "azure").then(|| Arc::new(AzureMeta::from_options(options)))
    }

    /// From a route's resolved `model.options` (Kong's default API version when unset).
    pub fn from_options(options: &Value) -> AzureMeta {
        let text = |key: &str| options.get(key).and_then(Value::as_str).map(str::to_owned);
        AzureMeta {
            instance: text("azure_instance"),
            deployment: text("azure_deployment_id"),
            api_version: text("azure_api_version").or_else(|| Some("2023-05-15".to_string())),
        }
    }
}

/// The response body as the client got it.
pub enum LoggedResponse<'a> {
    /// A whole body.
    Whole(&'a [u8]),
    /// The SSE the client received (up to [`MAX_LOGGED_BODY`]), logged as Kong's composite
    /// `chat.completion` (or `text_completion`).
    Stream { sse: &'a [u8], cut: bool },
}

pub struct Payloads<'a> {
    pub request: &'a [u8],
    pub upstream_request: Option<&'a [u8]>,
    pub response: LoggedResponse<'a>,
    /// The route's body auth parameter, redacted wherever it appears at the top level.
    pub body_param: Option<&'a str>,
    /// Whether the stream is of text completions rather than chat.
    pub completions: bool,
}

pub struct RecordInput<'a> {
    pub plugin_id: &'a str,
    pub provider: &'a str,
    pub request_model: &'a str,
    pub llm_latency_ms: u64,
    pub azure: Option<&'a AzureMeta>,
    pub meta: &'a ResponseMeta,
    pub tokens: Tokens,
    pub time_per_token: f64,
    pub cost: f64,
    pub payloads: Option<Payloads<'a>>,
}

#[derive(Serialize)]
struct PayloadRecord<'a> {
    request: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_request: Option<Cow<'a, str>>,
    response: Cow<'a, str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

/// The record as one line of JSON.
pub fn record_json(input: &RecordInput<'_>) -> String {
    let mut line = Vec::new();
    write_record(input, &mut line);
    String::from_utf8(line).unwrap_or_default()
}

/// Appends the record, as one line of JSON without its newline, to `out`: the analytics log's
/// buffer, so that the line is written once, where it waits. Its keys are constants, written as
/// they are: through a derived `Serialize`, escaping each of them on every request was half of
/// the record's cost. The values go through serde_json.
pub fn write_record(input: &RecordInput<'_>, out: &mut Vec<u8>) {
    let request_model = if input.request_model.is_empty() {
        "UNSPECIFIED"
    } else {
        input.request_model
    };
    let response_model = match input.meta.response_model.as_str() {
        "" => request_model,
        model => model,
    };
    out.extend_from_slice(br#"{"ai":{"proxy":{"meta":{"plugin_id":"#);
    json_value(out, input.plugin_id);
    out.extend_from_slice(br#","provider_name":"#);
    json_value(out, input.provider);
    out.extend_from_slice(br#","request_model":"#);
    json_value(out, request_model);
    out.extend_from_slice(br#","response_model":"#);
    json_value(out, response_model);
    out.extend_from_slice(br#","llm_latency":"#);
    json_value(out, &input.llm_latency_ms);
    if let Some(azure) = &input.azure {
        let members = [
            (&br#","azure_instance_id":"#[..], &azure.instance),
            (br#","azure_deployment_id":"#, &azure.deployment),
            (br#","azure_api_version":"#, &azure.api_version),
        ];
        for (key, value) in members {
            if let Some(value) = value {
                out.extend_from_slice(key);
                json_value(out, value.as_str());
            }
        }
    }
    let tokens = &input.tokens;
    out.extend_from_slice(br#"},"usage":{"prompt_tokens":"#);
    json_value(out, &tokens.prompt);
    out.extend_from_slice(br#","completion_tokens":"#);
    json_value(out, &tokens.completion);
    out.extend_from_slice(br#","total_tokens":"#);
    json_value(out, &tokens.total);
    if let Some(cached) = tokens.cached {
        out.extend_from_slice(br#","cached_tokens":"#);
        json_value(out, &cached);
    }
    out.extend_from_slice(br#","time_per_token":"#);
    json_value(out, &input.time_per_token);
    out.extend_from_slice(br#","cost":"#);
    json_value(out, &input.cost);
    out.extend_from_slice(br#","estimated":"#);
    json_value(out, &tokens.estimated);
    out.push(b'}');
    if let Some(payloads) = &input.payloads {
        out.extend_from_slice(br#","payload":"#);
        json_value(out, &payload_record(payloads, input.meta, tokens));
    }
    out.extend_from_slice(b"}}}");
}

/// One value as JSON. Written into a `Vec`, a string, number, bool or the payload's strings
/// cannot fail to serialize (a non-finite float is written as `null`).
fn json_value(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(&mut *out, value);
}

fn payload_record<'a>(p: &Payloads<'a>, meta: &ResponseMeta, tokens: &Tokens) -> PayloadRecord<'a> {
    let mut truncated = false;
    let mut text = |body: Cow<'a, [u8]>| {
        let (body, cut) = logged_text(body);
        truncated |= cut;
        body
    };
    let request = text(redact(p.request, p.body_param));
    let upstream_request = p
        .upstream_request
        .map(|body| text(redact(body, p.body_param)));
    let response = match p.response {
        LoggedResponse::Whole(body) => text(Cow::Borrowed(body)),
        LoggedResponse::Stream { sse, cut } => {
            truncated |= cut;
            Cow::Owned(stream_composite(sse, p.completions, meta, tokens))
        }
    };
    PayloadRecord {
        request,
        upstream_request,
        response,
        truncated,
    }
}

/// `body` with the top-level member `param` (when it has one) replaced by [`REDACTED`].
fn redact<'a>(body: &'a [u8], param: Option<&str>) -> Cow<'a, [u8]> {
    let Some(param) = param else {
        return Cow::Borrowed(body);
    };
    match ObjectEdit::parse(body) {
        Ok(mut edit) if edit.get(param).is_some() => {
            edit.set(param.to_string(), format!("\"{REDACTED}\""));
            Cow::Owned(edit.into_bytes())
        }
        _ => Cow::Borrowed(body),
    }
}

/// A body as text, cut to [`MAX_LOGGED_BODY`] bytes (a character cut in two becomes U+FFFD);
/// whether it was cut.
fn logged_text(body: Cow<'_, [u8]>) -> (Cow<'_, str>, bool) {
    let cut = body.len() > MAX_LOGGED_BODY;
    let text = match body {
        Cow::Borrowed(bytes) => String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOGGED_BODY)]),
        Cow::Owned(bytes) => Cow::Owned(
            String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOGGED_BODY)]).into_owned(),
        ),
    };
    (text, cut)
}

/// Kong's composite response of a stream: the text the client received as one message, the
/// last finish reason, and the usage charged.
pub fn stream_composite(
    sse: &[u8],
    completions: bool,
    meta: &ResponseMeta,
    tokens: &Tokens,
) -> String {
    let mut text = String::new();
    let mut finish_reason = Value::Null;
    for line in sse.split(|b| *b == b'\n') {
        let Some(data) = line.strip_prefix(b"data:") else {
            continue;
        };
        let Ok(event) = serde_json::from_slice::<Value>(data.trim_ascii()) else {
            continue;
        };
        let Some(choice) = event.get("choices").and_then(|c| c.get(0)) else {
            continue;
        };
        let piece = if completions {
            choice.get("text")
        } else {
            choice.get("delta").and_then(|d| d.get("content"))
        };
        if let Some(piece) = piece.and_then(Value::as_str) {
            text.push_str(piece);
        }
        if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
            finish_reason = reason.clone();
        }
    }
    let choice = if completions {
        json!({ "index": 0, "text": text, "finish_reason": finish_reason, "logprobs": null })
    } else {
        json!({
            "index": 0,
            "message": { "role": "assistant", "content": text },
            "finish_reason": finish_reason,
            "logprobs": null,
        })
    };
    json!({
        "id": meta.response_id.as_str(),
        "model": meta.response_model.as_str(),
        "object": if completions { "text_completion" } else { "chat.completion" },
        "choices": [choice],
        "usage": {
            "prompt_tokens": tokens.prompt,
            "completion_tokens": tokens.completion,
            "total_tokens": tokens.total,
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ResponseMeta {
        ResponseMeta {
            response_model: "gpt-3.5-turbo-0613".into(),
            response_id: "chatcmpl-1".into(),
            ..ResponseMeta::default()
        }
    }

    fn tokens() -> Tokens {
        Tokens {
            prompt: 25,
            completion: 12,
            total: 37,
            ..Tokens::default()
        }
    }

    fn input<'a>(meta: &'a ResponseMeta, payloads: Option<Payloads<'a>>) -> RecordInput<'a> {
        RecordInput {
            plugin_id: "ai-proxy-chat",
            provider: "openai",
            request_model: "gpt-3.5-turbo",
            llm_latency_ms: 1234,
            azure: None,
            meta,
            tokens: tokens(),
            // 1234 ms over 8 tokens: exact in binary, so the JSON round trip keeps it.
            time_per_token: 154.25,
            cost: 0.00037,
            payloads,
        }
    }

    #[test]
    fn the_record_has_kongs_shape_and_values() {
        let meta = meta();
        let record: Value = serde_json::from_str(&record_json(&input(&meta, None))).unwrap();
        assert_eq!(
            record,
            json!({"ai": {"proxy": {
                "meta": {
                    "plugin_id": "ai-proxy-chat",
                    "provider_name": "openai",
                    "request_model": "gpt-3.5-turbo",
                    "response_model": "gpt-3.5-turbo-0613",
                    "llm_latency": 1234,
                },
                "usage": {
                    "prompt_tokens": 25,
                    "completion_tokens": 12,
                    "total_tokens": 37,
                    "time_per_token": 154.25,
                    "cost": 0.00037,
                    "estimated": false,
                },
            }}})
        );
    }

    #[test]
    fn a_record_with_every_member_is_written_byte_for_byte_in_kongs_order() {
        let meta = ResponseMeta {
            response_model: "gpt-4o-2024-08-06".into(),
            ..ResponseMeta::default()
        };
        let payloads = Payloads {
            request: br#"{"messages":[]}"#,
            upstream_request: Some(br#"{"messages":[],"model":"gpt-4o"}"#),
            response: LoggedResponse::Whole(br#"{"id":"chatcmpl-1"}"#),
            body_param: None,
            completions: false,
        };
        let azure = AzureMeta::from_options(&json!({
            "azure_instance": "001-kong-t",
            "azure_deployment_id": "gpt-4o-prod",
            "azure_api_version": "2024-10-21",
        }));
        let mut i = input(&meta, Some(payloads));
        i.plugin_id = "ai-proxy \"chat\"";
        i.provider = "azure";
        i.request_model = "gpt-4o";
        i.azure = Some(&azure);
        i.tokens.cached = Some(5);
        i.tokens.estimated = true;
        assert_eq!(
            record_json(&i),
            concat!(
                r#"{"ai":{"proxy":{"meta":{"plugin_id":"ai-proxy \"chat\"","provider_name":"azure","#,
                r#""request_model":"gpt-4o","response_model":"gpt-4o-2024-08-06","llm_latency":1234,"#,
                r#""azure_instance_id":"001-kong-t","azure_deployment_id":"gpt-4o-prod","#,
                r#""azure_api_version":"2024-10-21"},"usage":{"prompt_tokens":25,"#,
                r#""completion_tokens":12,"total_tokens":37,"cached_tokens":5,"time_per_token":154.25,"#,
                r#""cost":0.00037,"estimated":true},"payload":{"request":"{\"messages\":[]}","#,
                r#""upstream_request":"{\"messages\":[],\"model\":\"gpt-4o\"}","#,
                r#""response":"{\"id\":\"chatcmpl-1\"}"}}}}"#
            )
        );
    }

    #[test]
    fn a_figure_that_is_not_a_number_is_written_as_null() {
        let meta = meta();
        let mut i = input(&meta, None);
        i.time_per_token = f64::NAN;
        let record: Value = serde_json::from_str(&record_json(&i)).unwrap();
        assert_eq!(
            record["ai"]["proxy"]["usage"]["time_per_token"],
            Value::Null
        );
    }

    #[test]
    fn azure_meta_and_model_fallbacks() {
        let meta = ResponseMeta::default();
        let options = json!({
            "azure_instance": "001-kong-t",
            "azure_deployment_id": "gpt-4o-prod",
        });
        assert_eq!(AzureMeta::of_route("openai", &options), None);
        let azure = AzureMeta::of_route("azure", &options).unwrap();
        let mut i = input(&meta, None);
        i.request_model = "";
        i.azure = Some(&azure);
        let record: Value = serde_json::from_str(&record_json(&i)).unwrap();
        let meta = &record["ai"]["proxy"]["meta"];
        assert_eq!(meta["request_model"], "UNSPECIFIED");
        assert_eq!(meta["response_model"], "UNSPECIFIED");
        assert_eq!(meta["azure_instance_id"], "001-kong-t");
        assert_eq!(meta["azure_deployment_id"], "gpt-4o-prod");
        assert_eq!(meta["azure_api_version"], "2023-05-15");
    }

    #[test]
    fn payloads_log_the_clients_body_and_the_upstream_body_with_the_body_param_redacted() {
        let meta = meta();
        let payloads = Payloads {
            request: br#"{"messages":[],"key":"client-secret"}"#,
            upstream_request: Some(br#"{"messages":[],"model":"m","key":"sk-body-secret"}"#),
            response: LoggedResponse::Whole(br#"{"id":"chatcmpl-1"}"#),
            body_param: Some("key"),
            completions: false,
        };
        let line = record_json(&input(&meta, Some(payloads)));
        assert!(
            !line.contains("sk-body-secret") && !line.contains("client-secret"),
            "{line}"
        );
        let record: Value = serde_json::from_str(&line).unwrap();
        let payload = &record["ai"]["proxy"]["payload"];
        assert_eq!(payload["request"], r#"{"messages":[],"key":"[REDACTED]"}"#);
        assert_eq!(
            payload["upstream_request"],
            r#"{"messages":[],"model":"m","key":"[REDACTED]"}"#
        );
        assert_eq!(payload["response"], r#"{"id":"chatcmpl-1"}"#);
        assert!(payload.get("truncated").is_none());
    }

    #[test]
    fn a_streams_payload_is_the_composite_of_what_the_client_got() {
        let sse = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The answer\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" is 2.\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n"
        );
        let composite: Value =
            serde_json::from_str(&stream_composite(sse.as_bytes(), false, &meta(), &tokens()))
                .unwrap();
        assert_eq!(
            composite,
            json!({
                "id": "chatcmpl-1",
                "model": "gpt-3.5-turbo-0613",
                "object": "chat.completion",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "The answer is 2."},
                    "finish_reason": "stop",
                    "logprobs": null,
                }],
                "usage": {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37},
            })
        );
        let completion = "data: {\"choices\":[{\"text\":\"Hi\",\"finish_reason\":\"length\"}]}\n\n";
        let composite: Value = serde_json::from_str(&stream_composite(
            completion.as_bytes(),
            true,
            &meta(),
            &tokens(),
        ))
        .unwrap();
        assert_eq!(composite["choices"][0]["text"], "Hi");
        assert_eq!(composite["choices"][0]["finish_reason"], "length");
        assert_eq!(composite["object"], "text_completion");
    }

    #[test]
    fn long_bodies_are_cut_and_marked() {
        let meta = meta();
        let long = vec![b'a'; MAX_LOGGED_BODY + 10];
        let payloads = Payloads {
            request: &long,
            upstream_request: None,
            response: LoggedResponse::Whole(b"{}"),
            body_param: None,
            completions: false,
        };
        let record: Value =
            serde_json::from_str(&record_json(&input(&meta, Some(payloads)))).unwrap();
        let payload = &record["ai"]["proxy"]["payload"];
        assert_eq!(payload["request"].as_str().unwrap().len(), MAX_LOGGED_BODY);
        assert_eq!(payload["truncated"], true);
    }
}
