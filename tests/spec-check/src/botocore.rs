//! botocore service models (`service-2.json`, e.g. Bedrock Runtime's), whose shapes are not JSON
//! Schema, converted to JSON Schema so that a request body can be validated like any other.
//!
//! | botocore shape | JSON Schema |
//! |---|---|
//! | `structure` | `object` of its members (each under its `locationName` when it has one), `required`, no other properties |
//! | `structure` with `union: true` | the same, with exactly one member set |
//! | `structure` with `document: true` | any JSON value |
//! | `list` | `array` of the member shape; `min`/`max` items |
//! | `map` | `object` whose keys are the key shape and values the value shape; `min`/`max` entries |
//! | `string` | `string` with its `enum`, `pattern` and `min`/`max` length |
//! | `integer`, `long` | `integer` with `min`/`max` |
//! | `float`, `double` | `number` with `min`/`max` |
//! | `boolean` | `boolean` |
//! | `blob` | a base64 `string` (how rest-json carries bytes) |
//! | `timestamp` | a `string` or a `number` |
//!
//! Members bound to the URI, a header or the query string (`location`) are not part of the JSON
//! body, so they are neither properties nor required. Smithy's patterns are not anchored, and
//! neither are JSON Schema's, so they are used as written. Each shape becomes a `$defs` entry, so
//! recursive shapes are fine; only the shapes reachable from the root are converted.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::{cached, read_document, specs_dir, violations_of};

/// The JSON Schema of shape `root` in the botocore service model `model`.
pub fn botocore_to_json_schema(model: &Value, root: &str) -> Value {
    let shapes = model["shapes"]
        .as_object()
        .expect("a botocore service model has `shapes`");
    assert!(shapes.contains_key(root), "no shape {root}");
    let mut defs = Map::new();
    let mut pending = vec![root.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let shape = shapes
            .get(&name)
            .unwrap_or_else(|| panic!("shape {name} is referred to but not defined"));
        pending.extend(referenced_shapes(shape));
        defs.insert(name, convert(shape));
    }
    json!({ "$defs": defs, "$ref": format!("#/$defs/{root}") })
}

/// The violations of shape `shape` of the botocore model at `spec` (relative to
/// [`specs_dir`](crate::specs_dir)) in `value`; empty when it conforms.
pub fn botocore_violations(spec: &str, shape: &str, value: &Value) -> Vec<String> {
    let validator = cached(format!("botocore:{spec}#{shape}"), || {
        botocore_to_json_schema(&read_document(&specs_dir().join(spec)), shape)
    });
    violations_of(&validator, value)
}

/// Panics, listing every violation, unless `value` conforms to the botocore shape.
pub fn assert_botocore(spec: &str, shape: &str, value: &Value) {
    let found = botocore_violations(spec, shape, value);
    assert!(
        found.is_empty(),
        "{value} does not conform to {spec}#{shape}:\n{}",
        found.join("\n")
    );
}

fn reference(shape: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{shape}") })
}

/// The body members of a structure: those not bound to the URI, a header or the query string.
fn body_members(shape: &Value) -> impl Iterator<Item = (&String, &Value)> {
    shape["members"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, member)| member.get("location").is_none())
}

fn referenced_shapes(shape: &Value) -> Vec<String> {
    let target = |member: &Value| member["shape"].as_str().map(str::to_owned);
    match shape["type"].as_str() {
        Some("structure") if shape["document"] != true => body_members(shape)
            .filter_map(|(_, member)| target(member))
            .collect(),
        Some("list") => target(&shape["member"]).into_iter().collect(),
        Some("map") => [target(&shape["key"]), target(&shape["value"])]
            .into_iter()
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

fn convert(shape: &Value) -> Value {
    let mut schema = Map::new();
    let mut set = |key: &str, value: Value| {
        schema.insert(key.to_string(), value);
    };
    let kind = shape["type"].as_str().unwrap_or_default();
    let (min_key, max_key) = match kind {
        "string" => ("minLength", "maxLength"),
        "list" => ("minItems", "maxItems"),
        "map" => ("minProperties", "maxProperties"),
        "integer" | "long" | "float" | "double" => ("minimum", "maximum"),
        _ => ("", ""),
    };
    match kind {
        "structure" if shape["document"] == true => {}
        "structure" => {
            set("type", json!("object"));
            let mut properties = Map::new();
            let mut json_names = Vec::new();
            for (name, member) in body_members(shape) {
                let json_name = member["locationName"].as_str().unwrap_or(name);
                json_names.push((name.as_str(), json_name.to_string()));
                let target = member["shape"].as_str().unwrap_or_default();
                properties.insert(json_name.to_string(), reference(target));
            }
            let required: Vec<Value> = shape["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|name| json_names.iter().find(|(member, _)| *member == name))
                .map(|(_, json_name)| json!(json_name))
                .collect();
            set("properties", Value::Object(properties));
            set("additionalProperties", json!(false));
            if !required.is_empty() {
                set("required", Value::Array(required));
            }
            if shape["union"] == true {
                set("minProperties", json!(1));
                set("maxProperties", json!(1));
            }
        }
        "list" => {
            set("type", json!("array"));
            set(
                "items",
                reference(shape["member"]["shape"].as_str().unwrap_or_default()),
            );
        }
        "map" => {
            set("type", json!("object"));
            set(
                "additionalProperties",
                reference(shape["value"]["shape"].as_str().unwrap_or_default()),
            );
            set(
                "propertyNames",
                reference(shape["key"]["shape"].as_str().unwrap_or_default()),
            );
        }
        "string" => {
            set("type", json!("string"));
            if let Some(values) = shape.get("enum") {
                set("enum", values.clone());
            }
            if let Some(pattern) = shape.get("pattern") {
                set("pattern", pattern.clone());
            }
        }
        "integer" | "long" => set("type", json!("integer")),
        "float" | "double" => set("type", json!("number")),
        "boolean" => set("type", json!("boolean")),
        "blob" => {
            set("type", json!("string"));
            set("pattern", json!("^[A-Za-z0-9+/]*={0,2}$"));
        }
        "timestamp" => set("type", json!(["string", "number"])),
        other => panic!("botocore shape type {other:?} is not supported"),
    }
    if !min_key.is_empty() {
        if let Some(min) = shape.get("min") {
            set(min_key, min.clone());
        }
        if let Some(max) = shape.get("max") {
            set(max_key, max.clone());
        }
    }
    Value::Object(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up service model with one shape of every kind.
    fn model() -> Value {
        json!({"shapes": {
            "Request": {"type": "structure", "required": ["id", "items", "mode"], "members": {
                "id": {"shape": "Name", "location": "uri", "locationName": "id"},
                "token": {"shape": "Name", "location": "header", "locationName": "X-Token"},
                "items": {"shape": "Items"},
                "mode": {"shape": "Mode", "locationName": "Mode"},
                "choice": {"shape": "Choice"},
                "labels": {"shape": "Labels"},
                "count": {"shape": "Count"},
                "ratio": {"shape": "Ratio"},
                "data": {"shape": "Bytes"},
                "doc": {"shape": "Doc"},
                "at": {"shape": "Time"},
                "flag": {"shape": "Flag"},
                "next": {"shape": "Request"},
            }},
            "Name": {"type": "string", "min": 1, "max": 8, "pattern": "[a-z]+"},
            "Items": {"type": "list", "member": {"shape": "Name"}, "min": 1},
            "Mode": {"type": "string", "enum": ["fast", "slow"]},
            "Choice": {"type": "structure", "union": true, "members": {
                "a": {"shape": "Name"}, "b": {"shape": "Count"},
            }},
            "Labels": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Count"}, "max": 2},
            "Count": {"type": "integer", "min": 0, "max": 10},
            "Ratio": {"type": "float", "max": 1},
            "Bytes": {"type": "blob"},
            "Doc": {"type": "structure", "members": {}, "document": true},
            "Time": {"type": "timestamp"},
            "Flag": {"type": "boolean"},
            "Unused": {"type": "string"},
        }})
    }

    fn violations(value: Value) -> Vec<String> {
        let schema = botocore_to_json_schema(&model(), "Request");
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap();
        violations_of(&validator, &value)
    }

    #[test]
    fn shapes_convert_to_json_schema() {
        let schema = botocore_to_json_schema(&model(), "Request");
        assert_eq!(schema["$ref"], "#/$defs/Request");
        let defs = schema["$defs"].as_object().unwrap();
        assert!(!defs.contains_key("Unused"), "only reachable shapes");
        let request = &defs["Request"];
        assert_eq!(
            request["required"],
            json!(["items", "Mode"]),
            "uri members are not body"
        );
        assert!(request["properties"].get("id").is_none());
        assert!(request["properties"].get("token").is_none());
        assert_eq!(
            request["properties"]["Mode"],
            json!({"$ref": "#/$defs/Mode"})
        );
        assert_eq!(request["additionalProperties"], false);
        assert_eq!(
            defs["Name"],
            json!({"type": "string", "minLength": 1, "maxLength": 8, "pattern": "[a-z]+"})
        );
        assert_eq!(
            defs["Items"],
            json!({"type": "array", "items": {"$ref": "#/$defs/Name"}, "minItems": 1})
        );
        assert_eq!(defs["Choice"]["minProperties"], 1);
        assert_eq!(defs["Choice"]["maxProperties"], 1);
        assert_eq!(
            defs["Labels"],
            json!({"type": "object", "additionalProperties": {"$ref": "#/$defs/Count"},
                   "propertyNames": {"$ref": "#/$defs/Name"}, "maxProperties": 2})
        );
        assert_eq!(
            defs["Count"],
            json!({"type": "integer", "minimum": 0, "maximum": 10})
        );
        assert_eq!(defs["Ratio"], json!({"type": "number", "maximum": 1}));
        assert_eq!(defs["Doc"], json!({}));
        assert_eq!(defs["Time"], json!({"type": ["string", "number"]}));
        assert_eq!(defs["Flag"], json!({"type": "boolean"}));
    }

    #[test]
    fn a_conforming_body_has_no_violations() {
        let good = json!({
            "items": ["ab"], "Mode": "fast", "choice": {"b": 3}, "labels": {"x": 1},
            "count": 10, "ratio": 0.5, "data": "aGk=", "doc": {"any": [1, "thing"]},
            "at": 1.5, "flag": true, "next": {"items": ["c"], "Mode": "slow"},
        });
        assert_eq!(violations(good), Vec::<String>::new());
    }

    #[test]
    fn each_rule_is_enforced() {
        let bad = [
            json!({"items": ["ab"]}),
            json!({"items": [], "Mode": "fast"}),
            json!({"items": ["AB"], "Mode": "fast"}),
            json!({"items": ["abcdefghi"], "Mode": "fast"}),
            json!({"items": ["ab"], "Mode": "medium"}),
            json!({"items": ["ab"], "Mode": "fast", "anthropic_version": "x"}),
            json!({"items": ["ab"], "Mode": "fast", "id": "ab"}),
            json!({"items": ["ab"], "Mode": "fast", "choice": {}}),
            json!({"items": ["ab"], "Mode": "fast", "choice": {"a": "x", "b": 1}}),
            json!({"items": ["ab"], "Mode": "fast", "labels": {"a": 1, "b": 2, "c": 3}}),
            json!({"items": ["ab"], "Mode": "fast", "count": 11}),
            json!({"items": ["ab"], "Mode": "fast", "count": 1.5}),
            json!({"items": ["ab"], "Mode": "fast", "ratio": 1.5}),
            json!({"items": ["ab"], "Mode": "fast", "data": "not base64!"}),
            json!({"items": ["ab"], "Mode": "fast", "flag": "yes"}),
            json!({"items": ["ab"], "Mode": "fast", "next": {"items": ["ab"]}}),
        ];
        for value in bad {
            assert!(!violations(value.clone()).is_empty(), "{value} passed");
        }
    }

    #[test]
    fn bedrock_converse_requests_validate_against_botocores_model() {
        let spec = "bedrock-runtime/service-2.json";
        let good = json!({
            "messages": [{"role": "user", "content": [{"text": "what is pi?"}]}],
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"maxTokens": 64, "temperature": 0.5, "stopSequences": ["\n"]},
        });
        assert_botocore(spec, "ConverseRequest", &good);
        let mut kong = good.clone();
        kong["anthropic_version"] = json!("bedrock-2023-05-31");
        let found = botocore_violations(spec, "ConverseRequest", &kong);
        assert!(
            found.iter().any(|v| v.contains("anthropic_version")),
            "{found:?}"
        );
        let two_kinds =
            json!({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]});
        assert!(!botocore_violations(spec, "ConverseRequest", &two_kinds).is_empty());
    }
}
