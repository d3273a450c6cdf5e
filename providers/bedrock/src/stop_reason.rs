//! Bedrock's `stopReason` as OpenAI's `finish_reason`: the one table, for JSON and streams.

use provider_sdk::finish_reason::FinishReason;

pub fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        // Kong passes `guardrail_intervened` through raw; OpenAI's clients know `content_filter`.
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        // `malformed_model_output`, `malformed_tool_use` and values added after this table: the
        // model stopped, and what it produced is in the response as it is.
        _ => FinishReason::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_stop_reason_has_an_openai_value() {
        let table = [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("model_context_window_exceeded", "length"),
            ("tool_use", "tool_calls"),
            ("guardrail_intervened", "content_filter"),
            ("content_filtered", "content_filter"),
            ("malformed_model_output", "stop"),
            ("malformed_tool_use", "stop"),
            ("something_new", "stop"),
        ];
        for (bedrock, openai) in table {
            assert_eq!(finish_reason(bedrock).as_str(), openai, "{bedrock}");
        }
    }
}
