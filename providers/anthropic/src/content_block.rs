//! One block of an Anthropic reply's `content`, in a whole message or a `content_block_start`
//! event.
//!
//! Only `text` and `tool_use` blocks become part of the OpenAI answer. `thinking` and
//! `redacted_thinking` (the model's reasoning, which OpenAI's chat format has no place for) and
//! the blocks of Anthropic's server tools (`server_tool_use`, `web_search_tool_result`, …, run by
//! Anthropic, not by the client) are read past; their results reach the client through the text
//! the model writes about them.
//!
//! One flat struct rather than an enum tagged by `type`: serde buffers internally tagged enums,
//! which would copy every string and cannot borrow the raw `input`.

use std::borrow::Cow;

use serde_json::value::RawValue;

#[derive(Debug, Clone, serde::Deserialize)]
pub struct ContentBlock<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// `text` blocks.
    #[serde(default, borrow)]
    pub text: Cow<'a, str>,
    /// `tool_use` blocks.
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub input: Option<&'a RawValue>,
}

impl ContentBlock<'_> {
    pub fn is_text(&self) -> bool {
        self.kind == "text"
    }

    /// A call of one of the client's tools (not of one of Anthropic's server tools).
    pub fn is_tool_use(&self) -> bool {
        self.kind == "tool_use"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_borrow_from_the_body() {
        let text: ContentBlock<'_> =
            serde_json::from_str(r#"{"type":"text","text":"Hi","citations":null}"#).unwrap();
        assert!(text.is_text() && !text.is_tool_use());
        assert!(matches!(text.text, Cow::Borrowed("Hi")));
        let tool: ContentBlock<'_> = serde_json::from_str(
            r#"{"type":"tool_use","id":"toolu_1","name":"get_weather","caller":{"type":"direct"},"input":{"location": "Paris"}}"#,
        )
        .unwrap();
        assert!(tool.is_tool_use());
        assert_eq!(
            tool.input.map(RawValue::get),
            Some(r#"{"location": "Paris"}"#)
        );
        let thinking: ContentBlock<'_> = serde_json::from_str(
            r#"{"type":"thinking","thinking":"Let me see","signature":"sig"}"#,
        )
        .unwrap();
        assert!(!thinking.is_text() && !thinking.is_tool_use());
        assert_eq!(thinking.text, "");
    }
}
