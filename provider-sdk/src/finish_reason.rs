//! OpenAI's finish reasons: the only values a translated response may carry.
//!
//! Every translator maps its provider's stop reasons onto these in one table, so that clients see
//! the same four values whatever answered (Kong passes Anthropic's, Gemini's and Hugging Face's
//! raw values through, which breaks clients that match on OpenAI's).

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The token limit (`max_tokens`, or the model's context).
    Length,
    /// The model called one or more tools and waits for their results.
    ToolCalls,
    /// A safety or moderation filter cut or withheld the content.
    ContentFilter,
}

impl FinishReason {
    /// The wire value, as OpenAI writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
        }
    }

    /// The value for a text completion, whose schema has no `tool_calls`: a completion that ended
    /// in a tool call ended its text normally.
    pub fn for_text_completion(self) -> FinishReason {
        match self {
            FinishReason::ToolCalls => FinishReason::Stop,
            other => other,
        }
    }
}

impl std::fmt::Display for FinishReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_are_openais() {
        let all = [
            (FinishReason::Stop, "stop"),
            (FinishReason::Length, "length"),
            (FinishReason::ToolCalls, "tool_calls"),
            (FinishReason::ContentFilter, "content_filter"),
        ];
        for (reason, wire) in all {
            assert_eq!(reason.as_str(), wire);
            assert_eq!(reason.to_string(), wire);
        }
    }

    #[test]
    fn text_completions_have_no_tool_calls_reason() {
        assert_eq!(
            FinishReason::ToolCalls.for_text_completion(),
            FinishReason::Stop
        );
        assert_eq!(
            FinishReason::Length.for_text_completion(),
            FinishReason::Length
        );
        assert_eq!(
            FinishReason::ContentFilter.for_text_completion(),
            FinishReason::ContentFilter
        );
    }
}
