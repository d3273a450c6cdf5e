//! decK configs, built as JSON values in the tests and written out as YAML.

use serde_json::{json, Map, Value};

/// A decK file holding `services`.
pub fn deck(services: Vec<Value>) -> Value {
    json!({ "_format_version": "3.0", "services": services })
}

/// A service whose routes each carry one `ai-proxy` plugin. `routes` are `(name, path, plugin
/// config)`. The service URL points nowhere on purpose: ai-proxy picks the upstream from the
/// provider and `model.options.upstream_url`, never from the service.
pub fn service(name: &str, routes: Vec<(&str, &str, Value)>) -> Value {
    let routes: Vec<Value> = routes
        .into_iter()
        .map(|(route, path, config)| {
            json!({
                "name": route,
                "paths": [path],
                "strip_path": true,
                "plugins": [{ "name": "ai-proxy", "config": config }],
            })
        })
        .collect();
    json!({ "name": name, "url": "http://localhost:32000", "routes": routes })
}

/// A decK file with one service named `svc` and one route named `route` at `path`.
pub fn single_route(path: &str, plugin_config: Value) -> Value {
    deck(vec![service("svc", vec![("route", path, plugin_config)])])
}

/// `base` with `patch` applied as a JSON merge patch (RFC 7386): objects merge, `null` removes a
/// key, anything else replaces.
pub fn merged(mut base: Value, patch: Value) -> Value {
    merge_into(&mut base, patch);
    base
}

fn merge_into(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    base.remove(&key);
                } else {
                    merge_into(base.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Renders `value` as block YAML. Strings are double-quoted, whose escapes are a superset of
/// JSON's, so any string survives unchanged.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_node(&mut out, value, 0);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn write_node(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => write_map(out, map, indent, None),
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                write_item(out, item, indent);
            }
        }
        other => {
            out.push_str(&" ".repeat(indent));
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// Writes a mapping; with `first_prefix`, its first key goes on the current line after that
/// prefix (a sequence item's `- `).
fn write_map(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    first_prefix: Option<&str>,
) {
    for (i, (key, value)) in map.iter().enumerate() {
        match (i, first_prefix) {
            (0, Some(prefix)) => out.push_str(prefix),
            _ => out.push_str(&" ".repeat(indent)),
        }
        out.push_str(&Value::String(key.clone()).to_string());
        if is_block(value) {
            out.push_str(":\n");
            write_node(out, value, indent + 2);
        } else {
            out.push_str(": ");
            out.push_str(&scalar(value));
            out.push('\n');
        }
    }
}

fn write_item(out: &mut String, item: &Value, indent: usize) {
    let prefix = format!("{}- ", " ".repeat(indent));
    match item {
        Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2, Some(&prefix)),
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&prefix);
            out.push('\n');
            for nested in items {
                write_item(out, nested, indent + 2);
            }
        }
        other => {
            out.push_str(&prefix);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}
