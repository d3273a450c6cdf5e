//! Cohere's finish reasons (v2 chat, v1 chat and generate share most of them) and what each one
//! becomes for the client. Kong answers `stop` whatever Cohere said.

use provider_sdk::abi::ModuleError;
use provider_sdk::finish_reason::FinishReason;

use crate::PROVIDER;

/// How a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Finished(FinishReason),
    /// Cohere gave up (`ERROR`, `TIMEOUT`): what it wrote is not an answer, so the client gets an
    /// error rather than a truncated reply dressed up as `stop`.
    Failed,
}

/// The table.
pub fn translate_finish_reason(reason: &str) -> Ending {
    match reason {
        "COMPLETE" | "STOP_SEQUENCE" | "USER_CANCEL" => Ending::Finished(FinishReason::Stop),
        // ERROR_LIMIT (v1): the reply reached the model's context length.
        "MAX_TOKENS" | "ERROR_LIMIT" => Ending::Finished(FinishReason::Length),
        "TOOL_CALL" => Ending::Finished(FinishReason::ToolCalls),
        "ERROR_TOXIC" => Ending::Finished(FinishReason::ContentFilter),
        "ERROR" | "TIMEOUT" => Ending::Failed,
        // A reason added after this table: the reply ended some other way, and did end.
        _ => Ending::Finished(FinishReason::Stop),
    }
}

/// A reply whose finish reason is not reported ended normally, unless it called tools.
pub fn ending_of(reason: Option<&str>, called_tools: bool) -> Ending {
    let ending = reason.map_or(
        Ending::Finished(FinishReason::Stop),
        translate_finish_reason,
    );
    match ending {
        // v1 chat reports COMPLETE for a reply that calls tools.
        Ending::Finished(FinishReason::Stop) if called_tools => {
            Ending::Finished(FinishReason::ToolCalls)
        }
        other => other,
    }
}

/// The error for a generation Cohere gave up on, with its message when it sent one.
pub fn generation_failed(reason: &str, detail: Option<&str>) -> ModuleError {
    let message = match detail.filter(|d| !d.is_empty()) {
        Some(detail) => format!("{PROVIDER} stopped generating ({reason}): {detail}"),
        None => format!("{PROVIDER} stopped generating ({reason})"),
    };
    ModuleError::bad_upstream(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_reason() {
        let cases = [
            ("COMPLETE", Ending::Finished(FinishReason::Stop)),
            ("STOP_SEQUENCE", Ending::Finished(FinishReason::Stop)),
            ("USER_CANCEL", Ending::Finished(FinishReason::Stop)),
            ("MAX_TOKENS", Ending::Finished(FinishReason::Length)),
            ("ERROR_LIMIT", Ending::Finished(FinishReason::Length)),
            ("TOOL_CALL", Ending::Finished(FinishReason::ToolCalls)),
            ("ERROR_TOXIC", Ending::Finished(FinishReason::ContentFilter)),
            ("ERROR", Ending::Failed),
            ("TIMEOUT", Ending::Failed),
            ("SOMETHING_NEW", Ending::Finished(FinishReason::Stop)),
        ];
        for (reason, ending) in cases {
            assert_eq!(translate_finish_reason(reason), ending, "{reason}");
        }
    }

    #[test]
    fn a_reply_that_calls_tools_finishes_with_tool_calls() {
        assert_eq!(
            ending_of(Some("COMPLETE"), true),
            Ending::Finished(FinishReason::ToolCalls)
        );
        assert_eq!(
            ending_of(None, true),
            Ending::Finished(FinishReason::ToolCalls)
        );
        assert_eq!(ending_of(None, false), Ending::Finished(FinishReason::Stop));
        assert_eq!(
            ending_of(Some("MAX_TOKENS"), true),
            Ending::Finished(FinishReason::Length)
        );
    }

    #[test]
    fn failures_carry_cohere_s_message() {
        let error = generation_failed("ERROR", Some("internal error"));
        assert_eq!(error.status, 502);
        assert_eq!(
            error.message.as_str(),
            "cohere stopped generating (ERROR): internal error"
        );
        assert_eq!(
            generation_failed("TIMEOUT", Some("")).message.as_str(),
            "cohere stopped generating (TIMEOUT)"
        );
    }
}
