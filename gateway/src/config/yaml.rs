//! YAML text to the JSON-shaped tree that validation walks.
//!
//! A key written twice in one mapping is an error: YAML parsers commonly keep the last one, which
//! would silently drop, for example, a route's first `plugins` list. Merge keys (`<<: *anchor`)
//! are applied. Keys must be strings, as every decK key is.

use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

use super::error::{field_path, index_path, ConfigErrors};

pub(crate) fn parse_yaml(text: &str, source_name: &str) -> Result<Value, ConfigErrors> {
    let invalid = |error: serde_norway::Error| {
        let mut errors = ConfigErrors::default();
        errors.push("", format!("{source_name}: invalid YAML: {error}"));
        errors
    };
    let mut document: Yaml = serde_norway::from_str(text).map_err(invalid)?;
    document.apply_merge().map_err(invalid)?;
    let mut errors = ConfigErrors::default();
    let converted = to_json(document, "", &mut errors);
    if errors.is_empty() {
        Ok(converted)
    } else {
        Err(errors)
    }
}

fn to_json(value: Yaml, path: &str, errors: &mut ConfigErrors) -> Value {
    match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => number_to_json(&number).unwrap_or_else(|| {
            errors.push(path, format!("the number {number} is not supported"));
            Value::Null
        }),
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| to_json(item, &index_path(path, index), errors))
                .collect(),
        ),
        Yaml::Mapping(entries) => {
            let mut fields = Map::new();
            for (key, item) in entries {
                let Yaml::String(key) = key else {
                    errors.push(path, "mapping keys must be strings");
                    continue;
                };
                let item = to_json(item, &field_path(path, &key), errors);
                fields.insert(key, item);
            }
            Value::Object(fields)
        }
        Yaml::Tagged(tagged) => {
            errors.push(path, format!("YAML tag {} is not supported", tagged.tag));
            Value::Null
        }
    }
}

fn number_to_json(number: &serde_norway::Number) -> Option<Value> {
    if let Some(integer) = number.as_i64() {
        return Some(Value::Number(integer.into()));
    }
    if let Some(integer) = number.as_u64() {
        return Some(Value::Number(integer.into()));
    }
    number
        .as_f64()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(text: &str) -> Vec<String> {
        match parse_yaml(text, "t.yaml") {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn scalars_sequences_and_mappings_convert() {
        let value = parse_yaml("a: [1, -2, 1.5, true, null, text]\nb: {c: d}\n", "t.yaml").unwrap();
        assert_eq!(
            value,
            json!({"a": [1, -2, 1.5, true, null, "text"], "b": {"c": "d"}})
        );
    }

    #[test]
    fn a_key_written_twice_is_an_error() {
        assert_eq!(
            messages("routes:\n- plugins: []\n  paths: [/a]\n  plugins: []\n"),
            ["t.yaml: invalid YAML: routes[0]: duplicate entry with key \"plugins\" at line 2 column 3"]
        );
    }

    #[test]
    fn merge_keys_are_applied() {
        let value = parse_yaml(
            "base: &base {a: 1}\nderived:\n  <<: *base\n  b: 2\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(value["derived"], json!({"a": 1, "b": 2}));
    }

    #[test]
    fn non_string_keys_tags_and_infinities_are_errors() {
        assert_eq!(
            messages("services:\n- 1: x\n  port: .inf\n  host: !custom h\n"),
            [
                "services[0]: mapping keys must be strings",
                "services[0].port: the number .inf is not supported",
                "services[0].host: YAML tag !custom is not supported",
            ]
        );
    }
}
