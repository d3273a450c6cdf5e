//! Chat through TGI's Messages API (`/v1/chat/completions`), which speaks OpenAI's chat API. The
//! client's body goes upstream with provider-sdk's OpenAI-compatible edits (model, `stream` and
//! the usage chunk, configured tuning) and these, for what TGI reads differently:
//!
//! | the client sends | TGI receives | why |
//! |---|---|---|
//! | `stop: "END"` | `stop: ["END"]` | TGI's `stop` is a list; a string is a 422 |
//! | `max_completion_tokens` | `max_tokens` | TGI has no `max_completion_tokens` and would ignore it |
//! | an assistant message with `tool_calls` and empty `content` | the message without `content` | TGI reads a message as text or as tool calls, text first, so the calls would be dropped |
//! | an assistant message with `tool_calls` and text | 400 | TGI cannot take both |
//! | `n` above 1 | 400 | TGI answers one choice (`n` is "UNUSED" in its schema) |
//! | `logit_bias` ("UNUSED"), `top_k`, and fields TGI does not read (`user`, `parallel_tool_calls`, …) | 400 naming them | TGI ignores unknown fields, which would drop them silently |
//!
//! Kong moves `temperature`, `top_p`, `top_k` and `max_tokens` into a `parameters` object, which
//! TGI's chat ignores; here they stay where TGI reads them.
//!
//! Answers are forwarded as TGI wrote them, role included (Kong drops it and answers
//! `finish_reason: "complete"`), except each `finish_reason`, mapped to OpenAI's in place.

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RString, RVec};
use provider_sdk::abi::{
    Header, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse, UpstreamRequest,
    Usage,
};
use provider_sdk::json_edit::ObjectEdit;
use provider_sdk::openai::{body_members, body_object, unsupported};
use provider_sdk::options::ModelOptions;
use provider_sdk::ClientBody;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::endpoint::{self, InferenceOptions};
use crate::error::untranslatable;
use crate::finish_reason::for_chat;
use crate::json_members::{has_member, replace_string_values};
use crate::PROVIDER;

/// The key whose string values are rewritten in answers.
pub const FINISH_REASON: &[u8] = b"\"finish_reason\"";

pub const TOOL_CALLS: &[u8] = b"\"tool_calls\"";

/// The top-level fields of a chat request that TGI's Messages API reads (its `ChatRequest`, as
/// Hugging Face's chat-completion input schema lists them), besides `max_completion_tokens`,
/// which becomes `max_tokens`.
const READ_BY_TGI: &[&str] = &[
    "model",
    "messages",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "reasoning_effort",
    "response_format",
    "seed",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "tool_prompt",
];

/// The upstream request for a chat `body`.
pub fn build_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &ClientBody<'_>,
) -> Result<UpstreamRequest, ModuleError> {
    let for_tgi = edit_for_tgi(body)?;
    let upstream = endpoint::upstream(RouteType::CHAT, plan.model.as_str(), options)?;
    let sent = for_tgi.as_deref().map_or(*body, ClientBody::new);
    let mut request = upstream.build_request(plan, options, &sent)?;
    if let (ROption::RNone, Some(edited)) = (&request.body, for_tgi) {
        request.body = ROption::RSome(edited.into());
    }
    request
        .headers
        .extend(InferenceOptions::of(options).headers());
    Ok(request)
}

/// `body` as TGI reads it, or `None` when it needs no change; a 400 for what TGI cannot honour.
fn edit_for_tgi(body: &ClientBody<'_>) -> Result<Option<Vec<u8>>, ModuleError> {
    let members = body_members(body)?;
    let mut refused: Vec<&str> = Vec::new();
    let mut stop_is_text = false;
    let mut completion_cap = None;
    let mut messages = None;
    for (name, value) in &members {
        let name = name.as_ref();
        if *value == "null" {
            continue;
        }
        match name {
            "n" if serde_json::from_str::<u64>(value).is_ok_and(|n| n > 1) => {
                return Err(ModuleError::invalid_request(format!(
                    "`n` greater than 1 is not supported by provider {PROVIDER}: TGI answers one choice"
                )));
            }
            "stop" => stop_is_text = value.starts_with('"'),
            "max_completion_tokens" => completion_cap = Some(*value),
            "messages" => messages = Some(*value),
            _ if READ_BY_TGI.contains(&name) => {}
            _ => refused.push(name),
        }
    }
    if !refused.is_empty() {
        return Err(unsupported(&refused, PROVIDER));
    }
    let messages = match messages {
        Some(messages) if has_member(messages.as_bytes(), TOOL_CALLS, b"[") => {
            messages_for_tgi(messages)?
        }
        _ => None,
    };
    if !stop_is_text && completion_cap.is_none() && messages.is_none() {
        return Ok(None);
    }
    let mut object = body_object(body)?;
    if stop_is_text {
        if let Some(stop) = object.get("stop") {
            let stop = format!("[{stop}]");
            object.set("stop", stop);
        }
    }
    if let Some(cap) = completion_cap {
        object.remove("max_completion_tokens");
        object.set("max_tokens", cap);
    }
    if let Some(messages) = messages {
        object.set("messages", messages);
    }
    Ok(Some(object.into_bytes()))
}

/// The `messages` array with the empty `content` of tool-calling messages removed, or `None` when
/// no message needs it.
fn messages_for_tgi(messages: &str) -> Result<Option<String>, ModuleError> {
    let list: Vec<&RawValue> = serde_json::from_str(messages)
        .map_err(|e| ModuleError::invalid_request(format!("messages: {e}")))?;
    let mut edited: Option<Vec<Cow<'_, str>>> = None;
    for (index, message) in list.iter().enumerate() {
        let skim: MessageSkim<'_> = serde_json::from_str(message.get())
            .map_err(|e| ModuleError::invalid_request(format!("messages[{index}]: {e}")))?;
        if !skim.calls_tools() || skim.content.is_none() {
            continue;
        }
        if !skim.content_is_empty() {
            return Err(ModuleError::invalid_request(format!(
                "messages[{index}]: a message with both `content` and `tool_calls` is not \
                 supported by provider {PROVIDER}: TGI would keep the text and drop the calls"
            )));
        }
        let mut without_content = ObjectEdit::parse(message.get().as_bytes())
            .map_err(|e| ModuleError::invalid_request(format!("messages[{index}]: {e}")))?;
        without_content.remove("content");
        let edited = edited.get_or_insert_with(|| {
            list.iter()
                .map(|m| Cow::Borrowed(m.get()))
                .collect::<Vec<_>>()
        });
        if let Some(slot) = edited.get_mut(index) {
            *slot = Cow::Owned(without_content.into_string());
        }
    }
    Ok(edited.map(|messages| format!("[{}]", messages.join(","))))
}

/// The parts of a message TGI's text-or-tool-calls reading depends on.
#[derive(Deserialize)]
struct MessageSkim<'a> {
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_calls: Option<&'a RawValue>,
}

impl MessageSkim<'_> {
    fn calls_tools(&self) -> bool {
        self.tool_calls
            .is_some_and(|calls| is_non_empty_array(calls.get()))
    }

    fn content_is_empty(&self) -> bool {
        self.content
            .is_none_or(|content| matches!(content.get(), "\"\"") || is_empty_array(content.get()))
    }
}

fn is_empty_array(json: &str) -> bool {
    json.strip_prefix('[')
        .is_some_and(|rest| rest.trim_start() == "]")
}

fn is_non_empty_array(json: &str) -> bool {
    json.starts_with('[') && !is_empty_array(json)
}

/// A whole chat answer: forwarded, with its finish reasons mapped.
pub fn parse_response(body: &[u8]) -> Result<TranslatedResponse, ModuleError> {
    let failed = |reason: &str| untranslatable(RouteType::CHAT, body, reason);
    // Strings the skim skips are not checked for UTF-8, and the client's JSON parser would
    // refuse the whole answer over one bad byte.
    if std::str::from_utf8(body).is_err() {
        return Err(failed("response is not valid UTF-8"));
    }
    let completion: ChatCompletionSkim<'_> =
        serde_json::from_slice(body).map_err(|_| failed("response is not a chat completion"))?;
    if completion.error.is_some() {
        return Err(failed("response is an error"));
    }
    let Some(choices) = completion.choices else {
        return Err(failed("'choices' not in response"));
    };
    let calls_tools = choices.iter().any(ChoiceSkim::calls_tools);
    let mut finish_reasons = RVec::new();
    let edited = replace_string_values(body, FINISH_REASON, |tgi| {
        let reason = for_chat(tgi, calls_tools).as_str();
        finish_reasons.push(RString::from(reason));
        Some(reason)
    });
    let meta = ResponseMeta {
        usage: completion.usage.map(TgiUsage::to_usage).unwrap_or_default(),
        response_model: completion.model.as_deref().unwrap_or_default().into(),
        response_id: completion.id.as_deref().unwrap_or_default().into(),
        finish_reasons,
    };
    let headers = match edited {
        Some(_) => vec![Header::new("content-type", "application/json")],
        None => Vec::new(),
    };
    Ok(TranslatedResponse {
        status: 200,
        headers: RVec::from(headers),
        body: edited.map(RVec::from).into(),
        meta,
    })
}

#[derive(Deserialize)]
struct ChatCompletionSkim<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceSkim<'a>>>,
    #[serde(default)]
    usage: Option<TgiUsage>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ChoiceSkim<'a> {
    #[serde(default, borrow)]
    message: Option<MessageSkim<'a>>,
}

impl ChoiceSkim<'_> {
    fn calls_tools(&self) -> bool {
        self.message.as_ref().is_some_and(MessageSkim::calls_tools)
    }
}

/// TGI's `usage`: every count reported, none of them cached (TGI reports no prompt cache).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TgiUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl TgiUsage {
    pub fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.into(),
            completion_tokens: self.completion_tokens.into(),
            total_tokens: self.total_tokens.into(),
            cached_tokens: ROption::RNone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `edit_for_tgi` of `body` read by parsing it; when the gateway's peek accepts the body, read
    /// from the members the peek located too, which must give the same answer.
    fn edit(body: &str) -> Result<Option<Vec<u8>>, ModuleError> {
        let bytes = body.as_bytes();
        let parsed = edit_for_tgi(&ClientBody::new(bytes));
        if let Ok(peek) = provider_sdk::openai::peek_request(RouteType::CHAT, bytes) {
            let located = edit_for_tgi(&ClientBody::with_members(bytes, &peek.members));
            assert_eq!(located, parsed, "{body}");
        }
        parsed
    }

    fn edited(body: &str) -> Option<String> {
        edit(body).unwrap().map(|b| String::from_utf8(b).unwrap())
    }

    fn refused(body: &str) -> String {
        let error = edit(body).unwrap_err();
        assert_eq!(error.status, 400);
        error.message.into_string()
    }

    const USER: &str = r#"{"role":"user","content":"hi"}"#;

    #[test]
    fn a_plain_request_is_not_edited() {
        let body = format!(
            r#"{{"model":"m","messages":[{USER}],"stop":["x"],"n":1,"tools":null,"user":null,"temperature":0}}"#
        );
        assert_eq!(edited(&body), None);
    }

    #[test]
    fn stop_becomes_a_list_and_max_completion_tokens_max_tokens() {
        assert_eq!(
            edited(&format!(
                r#"{{"messages":[{USER}],"stop":"END","max_tokens":9,"max_completion_tokens":32}}"#
            ))
            .as_deref(),
            Some(format!(r#"{{"messages":[{USER}],"stop":["END"],"max_tokens":32}}"#).as_str())
        );
    }

    #[test]
    fn empty_content_beside_tool_calls_is_removed() {
        let call = r#"{"id":"0","type":"function","function":{"name":"add","arguments":"{}"}}"#;
        let body = format!(
            r#"{{"messages":[{USER},{{"role":"assistant","content":"","tool_calls":[{call}]}},{{"role":"tool","tool_call_id":"0","content":"4"}}]}}"#
        );
        assert_eq!(
            edited(&body).as_deref(),
            Some(
                format!(
                    r#"{{"messages":[{USER},{{"role":"assistant","tool_calls":[{call}]}},{{"role":"tool","tool_call_id":"0","content":"4"}}]}}"#
                )
                .as_str()
            )
        );
        let null_content = format!(
            r#"{{"messages":[{{"role":"assistant","content":null,"tool_calls":[{call}]}}]}}"#
        );
        assert_eq!(edited(&null_content), None);
        let both = format!(
            r#"{{"messages":[{USER},{{"role":"assistant","content":"Let me add.","tool_calls":[{call}]}}]}}"#
        );
        assert!(refused(&both).starts_with("messages[1]: a message with both"));
        let no_calls = r#"{"messages":[{"role":"assistant","content":"x","tool_calls":[]}]}"#;
        assert_eq!(edited(no_calls), None);
    }

    #[test]
    fn what_tgi_would_ignore_is_refused() {
        assert_eq!(
            refused(&format!(
                r#"{{"messages":[{USER}],"top_k":5,"user":"u","logit_bias":{{"1":2}},"parallel_tool_calls":false}}"#
            )),
            "`top_k`, `user`, `logit_bias`, `parallel_tool_calls` are not supported by provider huggingface"
        );
        assert_eq!(
            refused(&format!(r#"{{"messages":[{USER}],"n":2}}"#)),
            "`n` greater than 1 is not supported by provider huggingface: TGI answers one choice"
        );
    }

    #[test]
    fn answers_keep_their_bytes_but_the_finish_reason() {
        let body = br#"{"object":"chat.completion","id":"","created":1,"model":"m","system_fingerprint":"3.0.1","choices":[{"index":0,"message":{"role":"assistant","content":"finish_reason"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
        let translated = parse_response(body).unwrap();
        assert!(translated.body.is_none(), "already OpenAI's value");
        assert!(translated.headers.is_empty());
        assert_eq!(translated.meta.finish_reasons[0].as_str(), "stop");
        assert_eq!(translated.meta.usage.total_tokens, ROption::RSome(5));
    }

    #[test]
    fn answers_without_choices_are_502s() {
        for body in [
            &b"{}"[..],
            b"[]",
            b"nope",
            br#"{"error":"Model m is overloaded"}"#,
        ] {
            let error = parse_response(body).unwrap_err();
            assert_eq!(error.status, 502, "{}", String::from_utf8_lossy(body));
        }
    }
}
