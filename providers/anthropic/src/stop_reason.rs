//! Anthropic's `stop_reason` (Messages and legacy Text Completions) as OpenAI's `finish_reason`.
//! Kong passes the raw values through (`end_turn`, `stop_sequence`, …), which clients matching
//! on OpenAI's four values do not understand.

use provider_sdk::finish_reason::FinishReason;

pub fn finish_reason(stop_reason: Option<&str>) -> FinishReason {
    match stop_reason {
        Some("end_turn" | "stop_sequence") => FinishReason::Stop,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        // A server tool loop (web search, code execution) paused a long turn; the client resumes
        // it by sending the reply back. OpenAI has no such state, and the text so far is a
        // complete reply to show.
        Some("pause_turn") => FinishReason::Stop,
        // No reason, or one added after this module: the model ended its reply for a reason
        // OpenAI's four values do not name.
        Some(_) | None => FinishReason::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_reason_maps_to_openais() {
        let table = [
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("model_context_window_exceeded", FinishReason::Length),
            ("tool_use", FinishReason::ToolCalls),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Stop),
            ("something_new", FinishReason::Stop),
        ];
        for (anthropic, openai) in table {
            assert_eq!(finish_reason(Some(anthropic)), openai, "{anthropic}");
        }
        assert_eq!(finish_reason(None), FinishReason::Stop);
    }
}
