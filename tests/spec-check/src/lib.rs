//! Validates JSON against the providers' published schemas in `../shared/specs/`, so that tests
//! can show that what a translator sends upstream is what the provider documents.
//!
//! Two kinds of source are supported: a named schema under `components.schemas` of an OpenAPI
//! 3.1 document (JSON or YAML), and a standalone JSON Schema file. Schemas are compiled once per
//! test process.

// Test support: a schema that cannot be read or compiled is a broken test setup, reported by
// panicking with the path, which is what a test wants.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::Value;

mod botocore;
mod discovery;

pub use botocore::{assert_botocore, botocore_to_json_schema, botocore_violations};
pub use discovery::{assert_discovery, discovery_to_json_schema, discovery_violations};

/// `../shared/specs`, found from this crate's directory (the workspace sits beside `shared/`).
pub fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs")
}

fn read_document(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read spec {}: {e}", path.display()));
    let is_yaml = path
        .extension()
        .is_some_and(|ext| ext == "yaml" || ext == "yml");
    if is_yaml {
        serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("spec {} is not YAML: {e}", path.display()))
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("spec {} is not JSON: {e}", path.display()))
    }
}

type Cache = Mutex<HashMap<String, Arc<Validator>>>;

fn cached(key: String, build: impl FnOnce() -> Value) -> Arc<Validator> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(v) = cache.lock().expect("spec cache").get(&key) {
        return v.clone();
    }
    let schema = build();
    let validator = Arc::new(
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap_or_else(|e| panic!("cannot compile schema {key}: {e}")),
    );
    cache
        .lock()
        .expect("spec cache")
        .insert(key, validator.clone());
    validator
}

fn violations_of(validator: &Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect()
}

/// The violations of `components.schemas.<schema>` of the OpenAPI 3.1 document at `spec`
/// (relative to [`specs_dir`]) in `value`; empty when it conforms.
///
/// The whole document is the schema's root resource, with a `$ref` to the component added at the
/// top, so that the component's own `#/components/...` references resolve. OpenAPI's other
/// top-level keys are not JSON Schema keywords and are ignored.
pub fn openapi_violations(spec: &str, schema: &str, value: &Value) -> Vec<String> {
    let path = specs_dir().join(spec);
    let validator = cached(format!("{spec}#{schema}"), || {
        let mut document = read_document(&path);
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "no schema {schema} in {spec}"
        );
        if let Value::Object(map) = &mut document {
            map.insert(
                "$ref".to_string(),
                Value::String(format!("#/components/schemas/{schema}")),
            );
        }
        document
    });
    violations_of(&validator, value)
}

/// The violations of the standalone JSON Schema file `spec` (relative to [`specs_dir`]).
pub fn json_schema_violations(spec: &str, value: &Value) -> Vec<String> {
    let path = specs_dir().join(spec);
    let validator = cached(spec.to_string(), || read_document(&path));
    violations_of(&validator, value)
}

/// Panics, listing every violation, unless `value` conforms to the OpenAPI component.
pub fn assert_openapi(spec: &str, schema: &str, value: &Value) {
    let found = openapi_violations(spec, schema, value);
    assert!(
        found.is_empty(),
        "{value} does not conform to {spec}#{schema}:\n{}",
        found.join("\n")
    );
}

/// Panics, listing every violation, unless `value` conforms to the JSON Schema file.
pub fn assert_json_schema(spec: &str, value: &Value) {
    let found = json_schema_violations(spec, value);
    assert!(
        found.is_empty(),
        "{value} does not conform to {spec}:\n{}",
        found.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_openai_chat_request_conforms_and_a_broken_one_does_not() {
        let good = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
        assert_openapi(
            "openai/openapi.prism.json",
            "CreateChatCompletionRequest",
            &good,
        );
        let no_messages = json!({"model": "gpt-4o"});
        assert!(!openapi_violations(
            "openai/openapi.prism.json",
            "CreateChatCompletionRequest",
            &no_messages
        )
        .is_empty());
    }

    #[test]
    fn yaml_documents_load_and_validate() {
        let good = json!({"model": "llama3", "messages": [{"role": "user", "content": "hi"}]});
        let found = openapi_violations("ollama/openapi.yaml", "ChatRequest", &good);
        assert!(found.is_empty(), "{found:?}");
        let bad = json!({"model": 3, "messages": "nope"});
        assert!(!openapi_violations("ollama/openapi.yaml", "ChatRequest", &bad).is_empty());
    }

    #[test]
    fn standalone_json_schemas_validate() {
        let good = json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}]
        });
        let spec = "anthropic/messages-create-request.nonstreaming.schema.json";
        let found = json_schema_violations(spec, &good);
        assert!(found.is_empty(), "{found:?}");
        let bad = json!({"model": "claude", "messages": [{"role": "robot", "content": "hi"}]});
        assert!(!json_schema_violations(spec, &bad).is_empty());
    }
}
