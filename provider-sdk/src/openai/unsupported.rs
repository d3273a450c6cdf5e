//! The 400 a translator answers when the client set a parameter its provider cannot honour:
//! dropping it silently would change what the client asked for.

use std::borrow::Cow;

use crate::abi::ModuleError;

/// "`logprobs` is not supported by provider anthropic", or for several fields "`logprobs`,
/// `top_logprobs` are not supported by provider anthropic".
pub fn unsupported(field_names: &[&str], provider: &str) -> ModuleError {
    let names = field_names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let verb = if field_names.len() == 1 { "is" } else { "are" };
    ModuleError::invalid_request(format!(
        "{names} {verb} not supported by provider {provider}"
    ))
}

/// Refuses the request's other fields (a request type's `other`) except those in `ignored`,
/// which the provider's documentation says it drops.
pub fn reject_other_fields(
    other: &[Cow<'_, str>],
    ignored: &[&str],
    provider: &str,
) -> Result<(), ModuleError> {
    let refused: Vec<&str> = other
        .iter()
        .map(Cow::as_ref)
        .filter(|name| !ignored.contains(name))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(unsupported(&refused, provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_every_field() {
        let one = unsupported(&["logprobs"], "anthropic");
        assert_eq!(one.status, 400);
        assert_eq!(one.kind.as_str(), "invalid_request_error");
        assert_eq!(
            one.message.as_str(),
            "`logprobs` is not supported by provider anthropic"
        );
        assert_eq!(
            unsupported(&["logprobs", "top_logprobs"], "cohere")
                .message
                .as_str(),
            "`logprobs`, `top_logprobs` are not supported by provider cohere"
        );
    }

    #[test]
    fn ignored_fields_pass() {
        let other: Vec<Cow<'_, str>> = vec!["parallel_tool_calls".into(), "logit_bias".into()];
        assert_eq!(
            reject_other_fields(&other, &["parallel_tool_calls", "logit_bias"], "p"),
            Ok(())
        );
        assert_eq!(
            reject_other_fields(&other, &["parallel_tool_calls"], "p")
                .unwrap_err()
                .message
                .as_str(),
            "`logit_bias` is not supported by provider p"
        );
        assert_eq!(reject_other_fields(&[], &[], "p"), Ok(()));
    }
}
