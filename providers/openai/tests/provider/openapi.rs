//! A small JSON Schema checker for spot checks against OpenAI's OpenAPI document: `$ref`,
//! `allOf`/`anyOf`/`oneOf`, `type`, `enum`, `const`, `required`, `properties`, `items` and
//! `minItems`. Enough to catch a missing required field or a wrongly typed one.

use std::sync::OnceLock;

use serde_json::Value;

const SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/specs/openai/openapi.prism.json"
);

fn spec() -> &'static Value {
    static SPEC_VALUE: OnceLock<Value> = OnceLock::new();
    SPEC_VALUE.get_or_init(|| serde_json::from_slice(&std::fs::read(SPEC).unwrap()).unwrap())
}

/// The violations of `components.schemas.<schema>` in `value`; empty when it conforms.
pub fn violations(schema: &str, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let root = &spec()["components"]["schemas"][schema];
    assert!(root.is_object(), "no schema {schema}");
    check(root, value, "$", &mut found);
    found
}

fn resolve(reference: &str) -> &'static Value {
    let name = reference
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
    &spec()["components"]["schemas"][name]
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn check(schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        check(resolve(reference), value, path, found);
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(part, value, path, found);
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
            let matches = branches.iter().any(|branch| {
                let mut errors = Vec::new();
                check(branch, value, path, &mut errors);
                errors.is_empty()
            });
            if !matches {
                found.push(format!("{path}: matches no {keyword} branch"));
            }
        }
    }
    match schema.get("type") {
        Some(Value::String(name)) if !type_matches(name, value) => {
            found.push(format!("{path}: not {name}"));
        }
        Some(Value::Array(names))
            if !names
                .iter()
                .filter_map(Value::as_str)
                .any(|n| type_matches(n, value)) =>
        {
            found.push(format!("{path}: not any of {names:?}"));
        }
        _ => {}
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            found.push(format!("{path}: {value} not in enum"));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            found.push(format!("{path}: {value} is not {constant}"));
        }
    }
    if let Value::Object(object) = value {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str() {
                if !object.contains_key(name) {
                    found.push(format!("{path}: missing required '{name}'"));
                }
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, member) in object {
                if let Some(member_schema) = properties.get(name) {
                    check(member_schema, member, &format!("{path}.{name}"), found);
                }
            }
        }
    }
    if let Value::Array(items) = value {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                found.push(format!("{path}: fewer than {min} items"));
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{path}[{index}]"), found);
            }
        }
    }
}
