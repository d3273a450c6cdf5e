//! What odd tool-call input becomes, decided once for every translator.
//!
//! | input | result |
//! |---|---|
//! | OpenAI `arguments` `""` or only whitespace | provider input `{}` |
//! | OpenAI `arguments` that is not JSON | 400 naming the tool call id |
//! | OpenAI `arguments` that is JSON but not an object | 400 naming the tool call id |
//! | provider input absent or `null` | OpenAI `arguments` `"{}"` |
//! | provider input (any JSON) | OpenAI `arguments`: the same JSON, compact |
//! | no `tools`, `tool_choice` absent, `none` or `auto` | [`ToolUse::None`] |
//! | no `tools`, `tool_choice` `required` or a function | 400 |
//! | `tools`, `tool_choice` absent | [`ToolUse::Auto`] (OpenAI's default) |
//! | `tool_choice` names a function not in `tools` | 400 |
//!
//! A model's malformed arguments are refused rather than passed on as a string: every provider
//! here wants an object, and would answer a less clear error of its own.

use serde_json::value::RawValue;

use crate::abi::ModuleError;
use crate::openai::{Tool, ToolChoice};

/// A tool call's OpenAI `arguments` (JSON text) as the JSON object providers take as input.
pub fn arguments_to_input(call_id: &str, arguments: &str) -> Result<Box<RawValue>, ModuleError> {
    let trimmed = arguments.trim();
    if trimmed.is_empty() {
        return RawValue::from_string("{}".to_owned()).map_err(|e| bad_arguments(call_id, &e));
    }
    let input: Box<RawValue> =
        serde_json::from_str(trimmed).map_err(|e| bad_arguments(call_id, &e))?;
    if !input.get().starts_with('{') {
        return Err(ModuleError::invalid_request(format!(
            "tool call `{call_id}`: function.arguments must be a JSON object"
        )));
    }
    Ok(input)
}

fn bad_arguments(call_id: &str, error: &serde_json::Error) -> ModuleError {
    ModuleError::invalid_request(format!(
        "tool call `{call_id}`: function.arguments is not valid JSON: {error}"
    ))
}

/// A provider's tool input (valid JSON, as the provider sent it) as OpenAI's `arguments` string:
/// the same JSON without insignificant whitespace. Absent or `null` input is `{}`.
pub fn input_to_arguments(input: Option<&RawValue>) -> String {
    match input.map(RawValue::get) {
        None | Some("null") => "{}".to_owned(),
        Some(json) => compact_json(json),
    }
}

/// Removes the whitespace between tokens of valid JSON; strings, numbers and escapes are kept
/// byte for byte.
fn compact_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// What the model may do with tools, once `tool_choice` has been checked against `tools`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolUse<'a> {
    /// No tools offered, or the client forbade calling them.
    None,
    Auto,
    Required,
    /// This function must be called.
    Function(&'a str),
}

/// Resolves `tool_choice` against `tools` (see the table at the top of this file).
pub fn tool_use<'a>(
    choice: Option<&'a ToolChoice<'a>>,
    tools: &[Tool<'_>],
) -> Result<ToolUse<'a>, ModuleError> {
    let use_of_tools = match choice {
        None if tools.is_empty() => ToolUse::None,
        None | Some(ToolChoice::Auto) if !tools.is_empty() => ToolUse::Auto,
        None | Some(ToolChoice::None) | Some(ToolChoice::Auto) => ToolUse::None,
        Some(ToolChoice::Required) => ToolUse::Required,
        Some(ToolChoice::Function(name)) => ToolUse::Function(name),
    };
    match use_of_tools {
        ToolUse::Required | ToolUse::Function(_) if tools.is_empty() => {
            Err(ModuleError::invalid_request(
                "tool_choice asks for a tool call, but the request has no tools",
            ))
        }
        ToolUse::Function(name) if !tools.iter().any(|t| t.function.name == name) => {
            Err(ModuleError::invalid_request(format!(
                "tool_choice names function `{name}`, which is not in tools"
            )))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(names: &[&str]) -> Vec<Tool<'static>> {
        names
            .iter()
            .map(|name| {
                let json = format!(r#"{{"type":"function","function":{{"name":"{name}"}}}}"#);
                serde_json::from_str::<Tool<'_>>(Box::leak(json.into_boxed_str())).unwrap()
            })
            .collect()
    }

    fn message(error: ModuleError) -> String {
        assert_eq!(error.status, 400);
        error.message.into_string()
    }

    #[test]
    fn empty_arguments_become_an_empty_object() {
        assert_eq!(arguments_to_input("call_1", "").unwrap().get(), "{}");
        assert_eq!(arguments_to_input("call_1", " \n").unwrap().get(), "{}");
    }

    #[test]
    fn object_arguments_are_kept_as_written() {
        let input = arguments_to_input("call_1", r#" {"a": 2, "b": [1.50]} "#).unwrap();
        assert_eq!(input.get(), r#"{"a": 2, "b": [1.50]}"#);
    }

    #[test]
    fn arguments_that_are_not_json_name_the_call() {
        let error = arguments_to_input("call_9", r#"{"a": 2"#).unwrap_err();
        assert!(
            message(error).starts_with("tool call `call_9`: function.arguments is not valid JSON"),
        );
    }

    #[test]
    fn arguments_that_are_not_an_object_name_the_call() {
        for arguments in ["[1]", "5", "\"x\"", "null"] {
            assert_eq!(
                message(arguments_to_input("call_2", arguments).unwrap_err()),
                "tool call `call_2`: function.arguments must be a JSON object",
                "{arguments}"
            );
        }
    }

    #[test]
    fn provider_input_becomes_compact_arguments() {
        let input: Box<RawValue> = serde_json::from_str(
            "{\n  \"city\": \"New York\",\n  \"q\": \"a \\\" b\",\n  \"n\": 1.50\n}",
        )
        .unwrap();
        assert_eq!(
            input_to_arguments(Some(&input)),
            r#"{"city":"New York","q":"a \" b","n":1.50}"#
        );
    }

    #[test]
    fn absent_or_null_provider_input_is_an_empty_object() {
        assert_eq!(input_to_arguments(None), "{}");
        let null: Box<RawValue> = serde_json::from_str("null").unwrap();
        assert_eq!(input_to_arguments(Some(&null)), "{}");
    }

    #[test]
    fn no_tools_means_no_tool_use() {
        for choice in [None, Some(ToolChoice::None), Some(ToolChoice::Auto)] {
            assert_eq!(tool_use(choice.as_ref(), &[]), Ok(ToolUse::None));
        }
    }

    #[test]
    fn tools_without_a_choice_are_auto() {
        assert_eq!(tool_use(None, &tools(&["add"])), Ok(ToolUse::Auto));
        assert_eq!(
            tool_use(Some(&ToolChoice::None), &tools(&["add"])),
            Ok(ToolUse::None)
        );
        assert_eq!(
            tool_use(Some(&ToolChoice::Required), &tools(&["add"])),
            Ok(ToolUse::Required)
        );
    }

    #[test]
    fn a_named_function_must_be_offered() {
        let add = ToolChoice::Function("add".into());
        assert_eq!(
            tool_use(Some(&add), &tools(&["multiply", "add"])),
            Ok(ToolUse::Function("add"))
        );
        assert_eq!(
            message(tool_use(Some(&add), &tools(&["multiply"])).unwrap_err()),
            "tool_choice names function `add`, which is not in tools"
        );
    }

    #[test]
    fn asking_for_a_call_without_tools_is_refused() {
        for choice in [ToolChoice::Required, ToolChoice::Function("add".into())] {
            assert_eq!(
                message(tool_use(Some(&choice), &[]).unwrap_err()),
                "tool_choice asks for a tool call, but the request has no tools"
            );
        }
    }
}
