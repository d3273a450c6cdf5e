//! The tool fields of a chat request: `tools`, `tool_choice`, and the `tool_calls` of assistant
//! messages. What each becomes at a provider is decided in [`crate::tool_calls`].

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::fields::{optional_text, Text};
use crate::json_edit::ObjectKey;

/// One entry of `tools`. Only function tools exist in chat completions; any other kind lacks
/// `function` and is refused when the request is read.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Tool<'a> {
    #[serde(borrow)]
    pub function: FunctionDefinition<'a>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct FunctionDefinition<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub description: Option<Cow<'a, str>>,
    /// The JSON Schema of the arguments, as the client wrote it.
    #[serde(default, borrow)]
    pub parameters: Option<&'a RawValue>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// A call the model made earlier in the conversation (an assistant message's `tool_calls`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ToolCall<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub function: FunctionCall<'a>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct FunctionCall<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// JSON text, as the model produced it (it may be empty or, from some models, malformed).
    #[serde(default, borrow)]
    pub arguments: Cow<'a, str>,
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice<'a> {
    /// `"none"`: the model must not call a tool.
    None,
    /// `"auto"`: the model decides.
    Auto,
    /// `"required"`: the model must call at least one tool.
    Required,
    /// `{"type":"function","function":{"name":…}}`: the model must call this one.
    Function(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for ToolChoice<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ToolChoiceVisitor(std::marker::PhantomData))
    }
}

struct ToolChoiceVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ToolChoiceVisitor<'a> {
    type Value = ToolChoice<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(r#""none", "auto", "required" or {"type":"function","function":{"name":…}}"#)
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "none" => Ok(ToolChoice::None),
            "auto" => Ok(ToolChoice::Auto),
            "required" => Ok(ToolChoice::Required),
            other => Err(E::unknown_variant(other, &["none", "auto", "required"])),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind = None;
        let mut name = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "type" => kind = Some(map.next_value::<Text<'a>>()?.0),
                "function" => name = Some(map.next_value::<FunctionName<'a>>()?.name.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (kind.as_deref(), name) {
            (Some("function"), Some(name)) => Ok(ToolChoice::Function(name)),
            (Some("function"), None) => Err(A::Error::missing_field("function")),
            (Some(other), _) => Err(A::Error::custom(format!(
                "tool choice type `{other}` is not supported; use `function`"
            ))),
            (None, _) => Err(A::Error::missing_field("type")),
        }
    }
}

#[derive(serde::Deserialize)]
struct FunctionName<'a> {
    #[serde(borrow)]
    name: Text<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(json: &str) -> Result<ToolChoice<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn tool_choice_forms() {
        assert_eq!(choice(r#""none""#).unwrap(), ToolChoice::None);
        assert_eq!(choice(r#""auto""#).unwrap(), ToolChoice::Auto);
        assert_eq!(choice(r#""required""#).unwrap(), ToolChoice::Required);
        assert_eq!(
            choice(r#"{"function":{"name":"add"},"type":"function"}"#).unwrap(),
            ToolChoice::Function("add".into())
        );
        for bad in [
            r#""any""#,
            r#"{"type":"function"}"#,
            r#"{"type":"allowed_tools","allowed_tools":{}}"#,
            r#"{"function":{"name":"add"}}"#,
            "3",
        ] {
            assert!(choice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tools_and_calls_borrow_from_the_body() {
        let tool: Tool<'_> = serde_json::from_str(
            r#"{"type":"function","function":{"name":"add","description":"Adds","parameters":{"type":"object"},"strict":true}}"#,
        )
        .unwrap();
        assert!(matches!(tool.function.name, Cow::Borrowed("add")));
        assert!(matches!(
            tool.function.description,
            Some(Cow::Borrowed("Adds"))
        ));
        assert_eq!(
            tool.function.parameters.map(RawValue::get),
            Some(r#"{"type":"object"}"#)
        );
        assert_eq!(tool.function.strict, Some(true));

        let call: ToolCall<'_> = serde_json::from_str(
            r#"{"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":1}"}}"#,
        )
        .unwrap();
        assert_eq!(call.id, "call_1");
        assert_eq!(call.function.arguments, r#"{"a":1}"#);
        let no_arguments: ToolCall<'_> =
            serde_json::from_str(r#"{"id":"c","function":{"name":"now"}}"#).unwrap();
        assert_eq!(no_arguments.function.arguments, "");
    }

    #[test]
    fn custom_tools_are_refused() {
        let custom = r#"{"type":"custom","custom":{"name":"grammar"}}"#;
        assert!(serde_json::from_str::<Tool<'_>>(custom).is_err());
    }
}
