//! Gemini's `finishReason` as OpenAI's `finish_reason`, in one table.

use provider_sdk::finish_reason::FinishReason;

/// Gemini's `finishReason` as OpenAI's, `called_tools` saying whether the candidate called a
/// function (Gemini says `STOP` then).
pub fn finish_reason(reason: &str, called_tools: bool) -> FinishReason {
    let mapped = match reason {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        // LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
        // NO_IMAGE, IMAGE_OTHER, FINISH_REASON_UNSPECIFIED, an absent reason and values added
        // later: the model stopped for a reason OpenAI has no name for and nothing was filtered.
        _ => FinishReason::Stop,
    };
    match mapped {
        FinishReason::Stop if called_tools => FinishReason::ToolCalls,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finish_reason_has_an_openai_value() {
        let table = [
            ("STOP", false, FinishReason::Stop),
            ("STOP", true, FinishReason::ToolCalls),
            ("", true, FinishReason::ToolCalls),
            ("MAX_TOKENS", false, FinishReason::Length),
            ("MAX_TOKENS", true, FinishReason::Length),
            ("SAFETY", false, FinishReason::ContentFilter),
            ("RECITATION", false, FinishReason::ContentFilter),
            ("BLOCKLIST", false, FinishReason::ContentFilter),
            ("PROHIBITED_CONTENT", false, FinishReason::ContentFilter),
            ("SPII", true, FinishReason::ContentFilter),
            ("IMAGE_SAFETY", false, FinishReason::ContentFilter),
            ("LANGUAGE", false, FinishReason::Stop),
            ("OTHER", false, FinishReason::Stop),
            ("MALFORMED_FUNCTION_CALL", false, FinishReason::Stop),
            ("FINISH_REASON_UNSPECIFIED", false, FinishReason::Stop),
            ("SOMETHING_NEW", false, FinishReason::Stop),
        ];
        for (reason, called_tools, expected) in table {
            assert_eq!(finish_reason(reason, called_tools), expected, "{reason}");
        }
    }
}
