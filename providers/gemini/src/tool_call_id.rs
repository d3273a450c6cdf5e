//! Tool call ids that carry Gemini's thought signatures.
//!
//! Thinking models (Gemini 2.5 and later) attach an opaque `thoughtSignature` to a `functionCall`
//! part, and Gemini 3 refuses a conversation whose earlier function calls come back without it.
//! OpenAI's format has no place for it, but every client returns a tool call's `id` unchanged in
//! the assistant message and in the tool result, so the signature travels in the id:
//! `{id}__thought__{signature}` (the form LiteLLM uses too, so histories written through either
//! work with the other). A call without a signature keeps a plain id.

const SIGNATURE_MARK: &str = "__thought__";

/// The OpenAI id of a call Gemini identified as `id`, with its thought signature if any.
pub fn encode(id: &str, thought_signature: Option<&str>) -> String {
    match thought_signature.filter(|s| !s.is_empty()) {
        Some(signature) => format!("{id}{SIGNATURE_MARK}{signature}"),
        None => id.to_owned(),
    }
}

/// The id as Gemini knew it, and the thought signature it carries.
pub fn decode(id: &str) -> (&str, Option<&str>) {
    match id.split_once(SIGNATURE_MARK) {
        Some((id, signature)) if !signature.is_empty() => (id, Some(signature)),
        _ => (id, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_and_plain_ids_stay_plain() {
        let id = encode("call_1", Some("CiQB0e2Kb+/x=="));
        assert_eq!(id, "call_1__thought__CiQB0e2Kb+/x==");
        assert_eq!(decode(&id), ("call_1", Some("CiQB0e2Kb+/x==")));
        assert_eq!(encode("call_2", None), "call_2");
        assert_eq!(encode("call_3", Some("")), "call_3");
        assert_eq!(decode("call_2"), ("call_2", None));
        assert_eq!(decode("toolu_01A"), ("toolu_01A", None));
        assert_eq!(decode("x__thought__"), ("x__thought__", None));
    }
}
