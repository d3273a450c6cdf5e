//! Google API discovery documents (such as `vertex-ai/aiplatform.v1.json`) as JSON Schema.
//!
//! A discovery document's `schemas` look like JSON Schema but are not: `$ref` names another
//! schema by its bare name, types include `any`, and `format` says how proto3's JSON mapping
//! writes a field (`int64` is a decimal string, `byte` is base64). The conversion keeps what a
//! request body must satisfy:
//!
//! | discovery | JSON Schema |
//! |---|---|
//! | `"$ref": "Name"` | `{"$ref": "#/$defs/Name"}` |
//! | `type: any` | no constraint |
//! | `type: object` with `properties` | those properties, **and no others** (Google's JSON parser answers 400 to an unknown field) |
//! | `type: object` with `additionalProperties` | a map whose values match it |
//! | `type: array`, `items` | the same |
//! | `enum` | the same |
//! | `type: integer`, `format: int32` / `uint32` | an integer in that range |
//! | `type: string`, `format: int64` / `uint64` | a string of decimal digits, as proto3 JSON writes 64-bit integers |
//! | `type: string`, `format: byte` | a base64 string (standard or URL-safe alphabet) |
//! | other formats (`float`, `double`, `google-datetime`, …) | the bare type |
//!
//! Descriptions and output-only markers are dropped. Only the schemas reachable from the one
//! validated against are converted, so that compiling stays quick on a document of thousands.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::{cached, read_document, specs_dir, violations_of};

/// The violations of the discovery schema `schema` of the document `spec` (relative to
/// [`specs_dir`]) in `value`; empty when it conforms.
pub fn discovery_violations(spec: &str, schema: &str, value: &Value) -> Vec<String> {
    let path = specs_dir().join(spec);
    let validator = cached(format!("{spec}#discovery:{schema}"), || {
        discovery_to_json_schema(&read_document(&path), schema)
    });
    violations_of(&validator, value)
}

/// Panics, listing every violation, unless `value` conforms to the discovery schema.
pub fn assert_discovery(spec: &str, schema: &str, value: &Value) {
    let found = discovery_violations(spec, schema, value);
    assert!(
        found.is_empty(),
        "{value} does not conform to {spec}#{schema}:\n{}",
        found.join("\n")
    );
}

/// The JSON Schema (draft 2020-12) for the schema called `root` in `document`, a discovery
/// document: `{"$ref": "#/$defs/<root>", "$defs": {…every schema reachable from it…}}`.
pub fn discovery_to_json_schema(document: &Value, root: &str) -> Value {
    let schemas = document["schemas"]
        .as_object()
        .unwrap_or_else(|| panic!("the discovery document has no `schemas`"));
    let mut defs = BTreeMap::new();
    let mut pending = vec![root.to_string()];
    while let Some(name) = pending.pop() {
        if defs.contains_key(&name) {
            continue;
        }
        let schema = schemas
            .get(&name)
            .unwrap_or_else(|| panic!("no schema {name} in the discovery document"));
        let converted = convert(schema, &mut pending);
        defs.insert(name, converted);
    }
    json!({
        "$ref": format!("#/$defs/{root}"),
        "$defs": defs.into_iter().collect::<Map<String, Value>>(),
    })
}

/// Converts one discovery schema; the names it refers to are pushed on `referenced`.
fn convert(schema: &Value, referenced: &mut Vec<String>) -> Value {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        referenced.push(name.to_string());
        return json!({ "$ref": format!("#/$defs/{name}") });
    }
    let mut out = Map::new();
    if let Some(values) = schema.get("enum") {
        out.insert("enum".into(), values.clone());
    }
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            out.insert("type".into(), json!("object"));
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                let converted: Map<String, Value> = properties
                    .iter()
                    .map(|(name, property)| (name.clone(), convert(property, referenced)))
                    .collect();
                out.insert("properties".into(), Value::Object(converted));
            }
            match schema.get("additionalProperties") {
                Some(values) => {
                    out.insert("additionalProperties".into(), convert(values, referenced));
                }
                None if schema.get("properties").is_some() => {
                    out.insert("additionalProperties".into(), json!(false));
                }
                None => {}
            }
        }
        Some("array") => {
            out.insert("type".into(), json!("array"));
            if let Some(items) = schema.get("items") {
                out.insert("items".into(), convert(items, referenced));
            }
        }
        Some("integer") => {
            out.insert("type".into(), json!("integer"));
            let range = match format {
                "int32" => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
                "uint32" => Some((0, i64::from(u32::MAX))),
                _ => None,
            };
            if let Some((minimum, maximum)) = range {
                out.insert("minimum".into(), json!(minimum));
                out.insert("maximum".into(), json!(maximum));
            }
        }
        Some("string") => {
            out.insert("type".into(), json!("string"));
            let pattern = match format {
                "int64" => Some("^-?[0-9]+$"),
                "uint64" => Some("^[0-9]+$"),
                "byte" => Some(
                    "^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$",
                ),
                _ => None,
            };
            if let Some(pattern) = pattern {
                out.insert("pattern".into(), json!(pattern));
            }
        }
        Some(kind @ ("number" | "boolean")) => {
            out.insert("type".into(), json!(kind));
        }
        // `any`, or no type at all: every JSON value.
        _ => {}
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        json!({
            "schemas": {
                "Request": {
                    "id": "Request",
                    "type": "object",
                    "properties": {
                        "contents": {"type": "array", "items": {"$ref": "Content"}},
                        "mode": {"type": "string", "enum": ["MODE_UNSPECIFIED", "AUTO", "ANY"]},
                        "count": {"type": "integer", "format": "int32"},
                        "big": {"type": "string", "format": "int64"},
                        "ratio": {"type": "number", "format": "float"},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "args": {"type": "object", "additionalProperties": {"type": "any", "description": "Properties of the object."}},
                        "data": {"type": "string", "format": "byte"},
                        "when": {"type": "string", "format": "google-datetime"},
                        "anything": {"type": "any"},
                        "flag": {"type": "boolean", "readOnly": true},
                    },
                },
                "Content": {
                    "id": "Content",
                    "type": "object",
                    "properties": {
                        "role": {"type": "string"},
                        "parts": {"type": "array", "items": {"$ref": "Part"}},
                    },
                },
                "Part": {
                    "id": "Part",
                    "type": "object",
                    "properties": {"text": {"type": "string"}, "nested": {"$ref": "Content"}},
                },
                "Unreached": {"id": "Unreached", "type": "object", "properties": {}},
            }
        })
    }

    fn violations(value: Value) -> Vec<String> {
        let schema = discovery_to_json_schema(&document(), "Request");
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap();
        violations_of(&validator, &value)
    }

    #[test]
    fn only_reachable_schemas_are_converted_and_refs_point_into_defs() {
        let schema = discovery_to_json_schema(&document(), "Request");
        let defs = schema["$defs"].as_object().unwrap();
        let names: Vec<&str> = defs.keys().map(String::as_str).collect();
        assert_eq!(names, ["Content", "Part", "Request"]);
        assert_eq!(schema["$ref"], "#/$defs/Request");
        assert_eq!(
            defs["Content"]["properties"]["parts"]["items"],
            json!({"$ref": "#/$defs/Part"})
        );
        assert_eq!(defs["Part"]["additionalProperties"], false);
        assert_eq!(defs["Request"]["properties"]["anything"], json!({}));
        assert_eq!(
            defs["Request"]["properties"]["args"]["additionalProperties"],
            json!({})
        );
    }

    #[test]
    fn a_conforming_value_passes() {
        let good = json!({
            "contents": [{"role": "user", "parts": [{"text": "hi", "nested": {"parts": []}}]}],
            "mode": "AUTO", "count": 5, "big": "-9007199254740993", "ratio": 0.5,
            "labels": {"team": "a"}, "args": {"x": [1, {"y": null}]}, "data": "iVBORw0KGgo=",
            "when": "2024-01-01T00:00:00Z", "anything": [1, "x"], "flag": true,
        });
        assert_eq!(violations(good), Vec::<String>::new());
        assert_eq!(violations(json!({})), Vec::<String>::new());
        assert_eq!(violations(json!({"data": "a-_b"})), Vec::<String>::new());
    }

    #[test]
    fn each_rule_rejects_what_google_would() {
        let cases = [
            json!({"contnets": []}),
            json!({"contents": [{"parts": [{"txt": "hi"}]}]}),
            json!({"contents": [{"parts": [{"nested": {"role": 1}}]}]}),
            json!({"mode": "auto"}),
            json!({"count": 2_147_483_648u64}),
            json!({"count": 1.5}),
            json!({"count": "5"}),
            json!({"big": 5}),
            json!({"big": "5x"}),
            json!({"ratio": "0.5"}),
            json!({"labels": {"team": 1}}),
            json!({"data": "not base64!"}),
            json!({"flag": "yes"}),
            json!({"contents": {"parts": []}}),
        ];
        for case in cases {
            assert!(!violations(case.clone()).is_empty(), "{case} was accepted");
        }
    }

    #[test]
    fn vertex_generate_content_requests() {
        let spec = "vertex-ai/aiplatform.v1.json";
        let schema = "GoogleCloudAiplatformV1GenerateContentRequest";
        let good = json!({
            "contents": [
                {"role": "user", "parts": [{"text": "What is 1 + 1?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
                {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 1, "b": 1}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {"output": "2"}}}]},
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "tools": [{"functionDeclarations": [{"name": "add", "parameters": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}, "maxProperties": "3"}}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["add"]}},
            "generationConfig": {"maxOutputTokens": 256, "temperature": 0.2, "topK": 40, "stopSequences": ["\n"], "seed": 7},
        });
        assert_discovery(spec, schema, &good);
        for bad in [
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generation_config": {}}),
            json!({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "@@"}}]}]}),
            json!({"contents": [], "toolConfig": {"functionCallingConfig": {"mode": "REQUIRED"}}}),
            json!({"contents": [], "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "maxProperties": 3}}]}]}),
        ] {
            assert!(
                !discovery_violations(spec, schema, &bad).is_empty(),
                "{bad} was accepted"
            );
        }
    }
}
