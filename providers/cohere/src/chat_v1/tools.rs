//! Tools in Cohere's v1 chat: definitions as `parameter_definitions`, calls as `{name,
//! parameters}` without ids, results as `{call, outputs}`.
//!
//! | OpenAI | v1 |
//! |---|---|
//! | `function.parameters.properties.<p>` | `parameter_definitions.<p>`: `description`, `required` (listed in `required`), `type` as a Python type |
//! | JSON Schema `string` / `integer` / `number` / `boolean` / `array` / `object` | `str` / `int` / `float` / `bool` / `List[<items>]` / `Dict` |
//! | a type list with `null` | `Optional[<type>]` |
//! | a property without a type (`anyOf`, `$ref`, …) | 400: v1 cannot describe it |
//! | `function.strict` | 400: v1 has no strict mode |
//! | a tool call's `id` | `<generation_id>-<index>` for calls Cohere returns; v1 matches results by name and parameters |
//! | a tool result that is a JSON object | `outputs: [<object>]` |
//! | a tool result that is a JSON array of objects | `outputs` as it is |
//! | any other tool result | `outputs: [{"output": <text>}]` |

use std::borrow::Cow;
use std::collections::BTreeMap;

use provider_sdk::abi::ModuleError;
use provider_sdk::openai::Tool;
use serde::de::{Deserializer, Error, IgnoredAny, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::PROVIDER;

/// One v1 tool definition.
#[derive(Debug, Serialize)]
pub struct V1Tool<'a> {
    pub name: &'a str,
    /// Required by v1.
    pub description: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter_definitions: BTreeMap<Cow<'a, str>, ParameterDefinition<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ParameterDefinition<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Cow<'a, str>>,
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
}

/// `tools` as v1 takes them.
pub fn translate_tools<'a>(tools: &'a [Tool<'a>]) -> Result<Vec<V1Tool<'a>>, ModuleError> {
    tools
        .iter()
        .enumerate()
        .map(|(index, tool)| {
            let function = &tool.function;
            if function.strict == Some(true) {
                return Err(ModuleError::invalid_request(format!(
                    "`tools[{index}].function.strict` is not supported by provider {PROVIDER} with api_version v1"
                )));
            }
            let schema: ObjectSchema<'a> = match function.parameters {
                Some(parameters) => serde_json::from_str(parameters.get()).map_err(|e| {
                    ModuleError::invalid_request(format!(
                        "tools[{index}].function.parameters: {e}"
                    ))
                })?,
                None => ObjectSchema::default(),
            };
            let mut definitions = BTreeMap::new();
            for (name, property) in schema.properties {
                let kind = python_type(&property).ok_or_else(|| {
                    ModuleError::invalid_request(format!(
                        "tools[{index}].function.parameters.properties.{name}: provider {PROVIDER} with api_version v1 needs a plain JSON Schema `type`"
                    ))
                })?;
                let required = schema.required.contains(&name);
                definitions.insert(
                    name,
                    ParameterDefinition {
                        description: property.description,
                        kind,
                        required,
                    },
                );
            }
            Ok(V1Tool {
                name: &function.name,
                description: function.description.as_deref().unwrap_or_default(),
                parameter_definitions: definitions,
            })
        })
        .collect()
}

/// The Python type Cohere's v1 wants for a JSON Schema property.
fn python_type(property: &PropertySchema<'_>) -> Option<String> {
    let (kind, nullable) = match &property.kind {
        SchemaType::One(kind) => (kind.as_ref(), false),
        SchemaType::Nullable(kind) => (kind.as_ref(), true),
        SchemaType::Missing => return None,
    };
    let plain = match kind {
        "string" => "str".to_owned(),
        "integer" => "int".to_owned(),
        "number" => "float".to_owned(),
        "boolean" => "bool".to_owned(),
        "object" => "Dict".to_owned(),
        "array" => match property.items.as_deref().and_then(python_type) {
            Some(item) => format!("List[{item}]"),
            None => "List".to_owned(),
        },
        _ => return None,
    };
    Some(if nullable {
        format!("Optional[{plain}]")
    } else {
        plain
    })
}

/// A tool call as v1 writes it in the history and in results.
#[derive(Debug, Clone, Serialize)]
pub struct V1ToolCall<'a> {
    pub name: &'a str,
    pub parameters: Box<RawValue>,
}

/// A tool's result for v1.
#[derive(Debug, Serialize)]
pub struct V1ToolResult<'a> {
    pub call: V1ToolCall<'a>,
    pub outputs: Box<RawValue>,
}

/// A tool message's text as v1 `outputs`, a list of objects.
pub fn tool_outputs(text: &str) -> Result<Box<RawValue>, ModuleError> {
    let trimmed = text.trim();
    let as_written = if trimmed.starts_with('{') {
        serde_json::from_str::<&RawValue>(trimmed)
            .ok()
            .map(|object| format!("[{}]", object.get()))
    } else if trimmed.starts_with('[') {
        serde_json::from_str::<ObjectList>(trimmed)
            .ok()
            .map(|_| trimmed.to_owned())
    } else {
        None
    };
    let json = match as_written {
        Some(json) => json,
        None => serde_json::to_string(&[Output { output: text }])
            .map_err(|e| ModuleError::module_failure(e.to_string()))?,
    };
    RawValue::from_string(json).map_err(|e| ModuleError::module_failure(e.to_string()))
}

/// The id given to the `index`th call of the reply `generation_id`: v1 calls have no ids, and
/// OpenAI clients need one per call to answer it.
pub fn call_id(generation_id: &str, index: usize) -> String {
    if generation_id.is_empty() {
        format!("call_{index}")
    } else {
        format!("{generation_id}-{index}")
    }
}

#[derive(Serialize)]
struct Output<'a> {
    output: &'a str,
}

/// A JSON array whose items are all objects.
struct ObjectList;

impl<'de> serde::Deserialize<'de> for ObjectList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectListVisitor;
        impl<'de> Visitor<'de> for ObjectListVisitor {
            type Value = ObjectList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ObjectList, A::Error> {
                while let Some(item) = seq.next_element::<&RawValue>()? {
                    if !item.get().starts_with('{') {
                        return Err(A::Error::custom("not an object"));
                    }
                }
                Ok(ObjectList)
            }
        }
        deserializer.deserialize_seq(ObjectListVisitor)
    }
}

/// The top of a function's `parameters`: only what v1 can say is read.
#[derive(Default, serde::Deserialize)]
struct ObjectSchema<'a> {
    #[serde(default, borrow)]
    properties: BTreeMap<Cow<'a, str>, PropertySchema<'a>>,
    #[serde(default, borrow)]
    required: Vec<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct PropertySchema<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: SchemaType<'a>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    items: Option<Box<PropertySchema<'a>>>,
}

/// `type`: one name, or a list of one name and `null`.
#[derive(Default)]
enum SchemaType<'a> {
    One(Cow<'a, str>),
    Nullable(Cow<'a, str>),
    /// Absent, or a list v1 cannot express.
    #[default]
    Missing,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for SchemaType<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TypeVisitor<'a> {
            type Value = SchemaType<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON Schema type")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(SchemaType::One(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(SchemaType::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut named = Vec::new();
                let mut nullable = false;
                while let Some(name) = seq.next_element::<Cow<'a, str>>()? {
                    if name == "null" {
                        nullable = true;
                    } else {
                        named.push(name);
                    }
                }
                Ok(match (named.pop(), named.is_empty(), nullable) {
                    (Some(one), true, true) => SchemaType::Nullable(one),
                    (Some(one), true, false) => SchemaType::One(one),
                    _ => SchemaType::Missing,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(SchemaType::Missing)
            }
        }
        deserializer.deserialize_any(TypeVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tools(json: serde_json::Value) -> Vec<Tool<'static>> {
        let text: &'static str = Box::leak(json.to_string().into_boxed_str());
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn json_schema_becomes_parameter_definitions() {
        let tools = tools(json!([{"type": "function", "function": {
            "name": "search", "description": "Searches",
            "parameters": {"type": "object", "required": ["query"], "properties": {
                "query": {"type": "string", "description": "What to find"},
                "limit": {"type": "integer"},
                "score": {"type": ["number", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "filters": {"type": "object"},
                "exact": {"type": "boolean"},
            }},
        }}]));
        let translated = serde_json::to_value(translate_tools(&tools).unwrap()).unwrap();
        assert_eq!(
            translated,
            json!([{"name": "search", "description": "Searches", "parameter_definitions": {
                "query": {"description": "What to find", "type": "str", "required": true},
                "limit": {"type": "int", "required": false},
                "score": {"type": "Optional[float]", "required": false},
                "tags": {"type": "List[str]", "required": false},
                "filters": {"type": "Dict", "required": false},
                "exact": {"type": "bool", "required": false},
            }}])
        );
    }

    #[test]
    fn a_function_without_parameters_or_description() {
        let tools = tools(json!([{"type": "function", "function": {"name": "now"}}]));
        assert_eq!(
            serde_json::to_value(translate_tools(&tools).unwrap()).unwrap(),
            json!([{"name": "now", "description": ""}])
        );
    }

    #[test]
    fn what_v1_cannot_describe_is_refused() {
        let untyped = tools(json!([{"type": "function", "function": {"name": "f",
            "parameters": {"type": "object", "properties": {"x": {"anyOf": [{"type": "string"}]}}}}}]));
        assert_eq!(
            translate_tools(&untyped).unwrap_err().message.as_str(),
            "tools[0].function.parameters.properties.x: provider cohere with api_version v1 needs a plain JSON Schema `type`"
        );
        let strict = tools(
            json!([{"type": "function", "function": {"name": "f", "strict": true, "parameters": {}}}]),
        );
        assert_eq!(
            translate_tools(&strict).unwrap_err().message.as_str(),
            "`tools[0].function.strict` is not supported by provider cohere with api_version v1"
        );
    }

    #[test]
    fn tool_results_become_lists_of_objects() {
        let cases = [
            (r#"{"temperature": 21}"#, r#"[{"temperature": 21}]"#),
            (r#" [{"a":1},{"b":2}] "#, r#"[{"a":1},{"b":2}]"#),
            ("21 degrees", r#"[{"output":"21 degrees"}]"#),
            ("[1, 2]", r#"[{"output":"[1, 2]"}]"#),
            ("{not json", r#"[{"output":"{not json"}]"#),
            ("", r#"[{"output":""}]"#),
        ];
        for (text, outputs) in cases {
            assert_eq!(tool_outputs(text).unwrap().get(), outputs, "{text}");
        }
    }

    #[test]
    fn calls_get_ids_from_their_generation() {
        assert_eq!(call_id("44b5-9f", 1), "44b5-9f-1");
        assert_eq!(call_id("", 0), "call_0");
    }
}
