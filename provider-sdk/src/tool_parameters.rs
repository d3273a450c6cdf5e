//! A function tool's `parameters`, for providers that require the field (Ollama, Mistral): OpenAI
//! lets a client leave it out for a function that takes no arguments.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

/// The client's parameter schema as it sent it, or, when it sent none, the schema of a function
/// without arguments: `{"type":"object","properties":{}}`.
#[derive(Debug, Clone, Copy)]
pub struct RequiredParameters<'a>(pub Option<&'a RawValue>);

impl Serialize for RequiredParameters<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(schema) => schema.serialize(serializer),
            None => {
                let mut schema = serializer.serialize_map(Some(2))?;
                schema.serialize_entry("type", "object")?;
                schema.serialize_entry("properties", &serde_json::Map::new())?;
                schema.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_schema_is_a_function_without_arguments() {
        assert_eq!(
            serde_json::to_string(&RequiredParameters(None)).unwrap(),
            r#"{"type":"object","properties":{}}"#
        );
    }

    #[test]
    fn a_sent_schema_is_kept_byte_for_byte() {
        let schema: &RawValue =
            serde_json::from_str(r#"{"type": "object", "required": ["a"]}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&RequiredParameters(Some(schema))).unwrap(),
            r#"{"type": "object", "required": ["a"]}"#
        );
    }
}
