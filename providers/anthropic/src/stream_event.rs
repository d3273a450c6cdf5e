//! One `data:` payload of an Anthropic stream, as far as the translator reads it.
//!
//! Messages API events (`message_start`, `content_block_start`, `content_block_delta`,
//! `content_block_stop`, `message_delta`, `message_stop`, `ping`, `error`) and the legacy Text
//! Completions events (`completion`, `ping`, `error`) share one flat struct: each event type fills
//! the members it has, and every string borrows from the event's bytes unless it had escapes.

use std::borrow::Cow;

use crate::content_block::ContentBlock;
use crate::error_body::AnthropicError;
use crate::usage::AnthropicUsage;

#[derive(Debug, serde::Deserialize)]
pub struct StreamEvent<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// `message_start`.
    #[serde(default, borrow)]
    pub message: Option<StartedMessage<'a>>,
    /// `content_block_*`: the block's position in the message's `content`.
    #[serde(default)]
    pub index: Option<u64>,
    /// `content_block_start`.
    #[serde(default, borrow)]
    pub content_block: Option<ContentBlock<'a>>,
    /// `content_block_delta` and `message_delta`.
    #[serde(default, borrow)]
    pub delta: Option<EventDelta<'a>>,
    /// `message_delta`: running totals.
    #[serde(default)]
    pub usage: Option<AnthropicUsage>,
    /// `error`.
    #[serde(default, borrow)]
    pub error: Option<AnthropicError<'a>>,
    /// Legacy `completion` events: the next piece of text, the stop reason on the last one.
    #[serde(default, borrow)]
    pub completion: Cow<'a, str>,
    #[serde(default, borrow)]
    pub stop_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub model: Cow<'a, str>,
}

/// The message a `message_start` opens: empty content, the prompt's usage.
#[derive(Debug, serde::Deserialize)]
pub struct StartedMessage<'a> {
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub model: Cow<'a, str>,
    #[serde(default)]
    pub usage: Option<AnthropicUsage>,
}

/// A content block's delta (`text_delta`, `input_json_delta`, `thinking_delta`, …) or the
/// message's (`stop_reason`).
#[derive(Debug, serde::Deserialize)]
pub struct EventDelta<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub text: Cow<'a, str>,
    #[serde(default, borrow)]
    pub partial_json: Cow<'a, str>,
    #[serde(default, borrow)]
    pub stop_reason: Option<Cow<'a, str>>,
}

/// The text of a text delta written exactly as Anthropic writes one,
/// `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}`, compact
/// and in this order, when the text needs no unescaping; `None` for anything else, which goes
/// through the full parse and reads the same.
///
/// Why: nearly every event of a stream is one of these, and parsing each into [`StreamEvent`]
/// was about a tenth of the gateway's CPU for a translated stream (perf, 20-chunk streams).
pub fn plain_text_delta(data: &[u8]) -> Option<&str> {
    let rest = data.strip_prefix(br#"{"type":"content_block_delta","index":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    // What the parse takes as a u64: no leading zero, and short enough never to overflow.
    let index_ok = (1..=18).contains(&digits) && (digits == 1 || rest.first() != Some(&b'0'));
    if !index_ok {
        return None;
    }
    let text = rest
        .get(digits..)?
        .strip_prefix(br#","delta":{"type":"text_delta","text":""#)?
        .strip_suffix(br#""}}"#)?;
    // Without quotes, backslashes and control characters the bytes are the text itself, and
    // the parse would reject a control character.
    if text.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        return None;
    }
    std::str::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> StreamEvent<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn plain_text_deltas_are_read_without_a_parse() {
        let delta = |json: &'static str| plain_text_delta(json.as_bytes());
        assert_eq!(
            delta(
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" Hello, wörld ✓"}}"#
            ),
            Some(" Hello, wörld ✓")
        );
        assert_eq!(
            delta(
                r#"{"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":""}}"#
            ),
            Some("")
        );
        for other in [
            // Escapes need the parse.
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\nb"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"say \"hi\""}}"#,
            // So does anything not written exactly so.
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"},"x":1}"#,
            r#"{"type":"content_block_delta", "index":0,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"text":"a","type":"text_delta"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
            r#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":1234567890123456789,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}"#,
            "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\tb\"}}",
        ] {
            assert_eq!(delta(other), None, "{other}");
        }
        let invalid_utf8 =
            b"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\xff\"}}";
        assert_eq!(plain_text_delta(invalid_utf8), None);
    }

    #[test]
    fn each_event_type_fills_its_members() {
        let start = event(
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"usage":{"input_tokens":11,"output_tokens":1}}}"#,
        );
        let message = start.message.unwrap();
        assert_eq!(
            (message.id.as_ref(), message.model.as_ref()),
            ("msg_1", "claude-x")
        );
        assert_eq!(message.usage.unwrap().input_tokens, Some(11));

        let delta = event(
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
        );
        assert_eq!(delta.index, Some(1));
        assert_eq!(delta.delta.unwrap().partial_json, r#"{"a":"#);

        let stop = event(
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}}"#,
        );
        assert_eq!(stop.delta.unwrap().stop_reason.as_deref(), Some("tool_use"));
        assert_eq!(stop.usage.unwrap().output_tokens, Some(65));

        let legacy = event(
            r#"{"type":"completion","completion":" Hello","stop_reason":null,"model":"claude-2.1"}"#,
        );
        assert_eq!(legacy.completion, " Hello");
        assert_eq!(legacy.stop_reason, None);

        let error =
            event(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
        assert_eq!(error.error.unwrap().kind, "overloaded_error");
    }
}
