//! TGI's finish reasons as OpenAI's, for chat, text generation and their streams.
//!
//! | TGI | OpenAI |
//! |---|---|
//! | `length` | `length` |
//! | `eos_token`, `stop_sequence`, `stop` (TGI 2.2+ writes `stop` for `eos_token` on chat) | `stop`, or `tool_calls` when the chat answer calls tools |
//! | `tool_calls`, `content_filter` (OpenAI's own values, from OpenAI-compatible servers) | the same |
//!
//! Kong answers `complete` for every Hugging Face response, which OpenAI's SDKs reject.

use provider_sdk::finish_reason::FinishReason;

/// A TGI finish reason.
pub fn from_tgi(reason: &str) -> FinishReason {
    match reason {
        "length" => FinishReason::Length,
        "eos_token" | "stop_sequence" | "stop" => FinishReason::Stop,
        "tool_calls" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        // TGI has no other reason; one added later still says that the generation ended.
        _ => FinishReason::Stop,
    }
}

/// A chat answer's finish reason: TGI reports how its generation of the tool call's JSON ended,
/// where OpenAI says that the answer is a tool call.
pub fn for_chat(reason: &str, calls_tools: bool) -> FinishReason {
    match from_tgi(reason) {
        FinishReason::Stop if calls_tools => FinishReason::ToolCalls,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tgi_reason_has_an_openai_value() {
        let table = [
            ("length", FinishReason::Length),
            ("eos_token", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("stop", FinishReason::Stop),
            ("tool_calls", FinishReason::ToolCalls),
            ("content_filter", FinishReason::ContentFilter),
            ("something_new", FinishReason::Stop),
        ];
        for (tgi, openai) in table {
            assert_eq!(from_tgi(tgi), openai, "{tgi}");
        }
    }

    #[test]
    fn a_chat_answer_that_calls_tools_finishes_with_tool_calls() {
        assert_eq!(for_chat("eos_token", true), FinishReason::ToolCalls);
        assert_eq!(for_chat("stop", true), FinishReason::ToolCalls);
        assert_eq!(for_chat("length", true), FinishReason::Length);
        assert_eq!(for_chat("eos_token", false), FinishReason::Stop);
    }
}
