//! `config.model.options` for the openai provider.
//!
//! Kong's option schema is shared by every provider, so a config written for Kong may carry other
//! providers' options next to ours; those are accepted and ignored. Anything else is refused at
//! load, since a misspelt option that is silently ignored is a cost cap that never applies.

use provider_sdk::abi::ModuleError;
use serde_json::{Map, Value};

/// Options of other providers in Kong's shared schema.
const OTHER_PROVIDERS_OPTIONS: &[&str] = &[
    "anthropic_version",
    "mistral_format",
    "llama2_format",
    "gemini",
    "bedrock",
    "huggingface",
    "cohere",
    "embeddings_dimensions",
];

/// Whether string options may still hold `$(…)` templates, which the gateway resolves per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Templates {
    /// Config load: a templated string is checked once resolved.
    Unresolved,
    /// A request: every value is final and checked in full.
    Resolved,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Options<'a> {
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub upstream_url: Option<&'a str>,
    pub upstream_path: Option<&'a str>,
}

impl<'a> Options<'a> {
    /// Reads and checks the options. `null` counts as not set, as in Kong's exported configs.
    /// Errors start with the option's name.
    pub fn parse(options: &'a Value, templates: Templates) -> Result<Options<'a>, ModuleError> {
        let map = match options {
            Value::Object(map) => map,
            Value::Null => return Ok(Options::default()),
            _ => {
                return Err(ModuleError::invalid_request(
                    "model.options: must be an object",
                ))
            }
        };
        reject_unknown(map)?;
        let set = |name: &str| map.get(name).filter(|v| !v.is_null());
        // Checked so that a bad config fails at load, but not kept: OpenAI rejects `top_k`, and
        // the gateway prices usage itself.
        set("top_k").map(top_k).transpose()?;
        set("input_cost").map(cost("input_cost")).transpose()?;
        set("output_cost").map(cost("output_cost")).transpose()?;
        Ok(Options {
            max_tokens: set("max_tokens")
                .map(positive_integer("max_tokens"))
                .transpose()?,
            temperature: set("temperature")
                .map(number_between("temperature", 0.0, 5.0))
                .transpose()?,
            top_p: set("top_p")
                .map(number_between("top_p", 0.0, 1.0))
                .transpose()?,
            upstream_url: set("upstream_url")
                .map(|v| upstream_url(v, templates))
                .transpose()?,
            upstream_path: set("upstream_path")
                .map(|v| upstream_path(v, templates))
                .transpose()?,
        })
    }
}

fn reject_unknown(map: &Map<String, Value>) -> Result<(), ModuleError> {
    const OURS: &[&str] = &[
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "upstream_url",
        "upstream_path",
        "input_cost",
        "output_cost",
    ];
    let unknown = map.keys().find(|key| {
        !OURS.contains(&key.as_str())
            && !OTHER_PROVIDERS_OPTIONS.contains(&key.as_str())
            && !key.starts_with("azure_")
    });
    match unknown {
        Some(key) => Err(invalid(key, "unknown option")),
        None => Ok(()),
    }
}

fn invalid(name: &str, problem: &str) -> ModuleError {
    ModuleError::invalid_request(format!("{name}: {problem}"))
}

fn positive_integer(name: &'static str) -> impl Fn(&Value) -> Result<u64, ModuleError> {
    move |value| {
        value
            .as_u64()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid(name, "must be a positive integer"))
    }
}

fn number_between(
    name: &'static str,
    min: f64,
    max: f64,
) -> impl Fn(&Value) -> Result<f64, ModuleError> {
    move |value| {
        let number = value
            .as_f64()
            .ok_or_else(|| invalid(name, "must be a number"))?;
        if !(min..=max).contains(&number) {
            return Err(invalid(name, &format!("must be between {min} and {max}")));
        }
        Ok(number)
    }
}

fn top_k(value: &Value) -> Result<u64, ModuleError> {
    value
        .as_u64()
        .filter(|k| *k <= 500)
        .ok_or_else(|| invalid("top_k", "must be an integer between 0 and 500"))
}

fn cost(name: &'static str) -> impl Fn(&Value) -> Result<f64, ModuleError> {
    move |value| {
        value
            .as_f64()
            .filter(|c| *c > 0.0)
            .ok_or_else(|| invalid(name, "must be a number greater than 0"))
    }
}

fn is_template(text: &str) -> bool {
    text.contains("$(")
}

fn upstream_url(value: &Value, templates: Templates) -> Result<&str, ModuleError> {
    let url = value
        .as_str()
        .ok_or_else(|| invalid("upstream_url", "must be a string"))?;
    if templates == Templates::Unresolved && is_template(url) {
        return Ok(url);
    }
    match crate::upstream_url::split_absolute(url) {
        Some(_) => Ok(url),
        None => Err(invalid(
            "upstream_url",
            "must be an absolute http or https URL",
        )),
    }
}

fn upstream_path(value: &Value, templates: Templates) -> Result<&str, ModuleError> {
    let path = value
        .as_str()
        .ok_or_else(|| invalid("upstream_path", "must be a string"))?;
    if templates == Templates::Unresolved && is_template(path) {
        return Ok(path);
    }
    if !path.starts_with('/') {
        return Err(invalid("upstream_path", "must start with /"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "upstream_path",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(options: Value) -> String {
        Options::parse(&options, Templates::Unresolved)
            .unwrap_err()
            .message
            .into_string()
    }

    #[test]
    fn reads_every_option() {
        let value = json!({
            "max_tokens": 512, "temperature": 0.5, "top_p": 1, "top_k": 40,
            "upstream_url": "http://localhost:8080/v1/chat", "upstream_path": "/v2/x",
            "input_cost": 10, "output_cost": 0.5,
        });
        let options = Options::parse(&value, Templates::Resolved).unwrap();
        assert_eq!(
            options,
            Options {
                max_tokens: Some(512),
                temperature: Some(0.5),
                top_p: Some(1.0),
                upstream_url: Some("http://localhost:8080/v1/chat"),
                upstream_path: Some("/v2/x"),
            }
        );
    }

    #[test]
    fn nulls_empty_and_other_providers_options_are_accepted() {
        let value = json!({
            "max_tokens": null, "temperature": null, "upstream_url": null,
            "anthropic_version": "2023-06-01", "azure_instance": "x", "azure_api_version": "v",
            "azure_deployment_id": "d", "mistral_format": "openai", "llama2_format": "raw",
            "gemini": {"project_id": "p"}, "bedrock": {"aws_region": "us-east-1"},
            "huggingface": {"use_cache": true}, "cohere": {}, "embeddings_dimensions": 3,
        });
        assert_eq!(
            Options::parse(&value, Templates::Resolved).unwrap(),
            Options::default()
        );
        assert_eq!(
            Options::parse(&json!({}), Templates::Resolved).unwrap(),
            Options::default()
        );
        assert_eq!(
            Options::parse(&Value::Null, Templates::Resolved).unwrap(),
            Options::default()
        );
    }

    #[test]
    fn errors_name_the_option() {
        let cases = [
            (
                json!({"temperature": 5.1}),
                "temperature: must be between 0 and 5",
            ),
            (
                json!({"temperature": -0.1}),
                "temperature: must be between 0 and 5",
            ),
            (
                json!({"temperature": "hot"}),
                "temperature: must be a number",
            ),
            (json!({"top_p": 1.5}), "top_p: must be between 0 and 1"),
            (
                json!({"top_k": 501}),
                "top_k: must be an integer between 0 and 500",
            ),
            (
                json!({"top_k": 1.5}),
                "top_k: must be an integer between 0 and 500",
            ),
            (
                json!({"max_tokens": 0}),
                "max_tokens: must be a positive integer",
            ),
            (
                json!({"max_tokens": 1.5}),
                "max_tokens: must be a positive integer",
            ),
            (
                json!({"max_tokens": "512"}),
                "max_tokens: must be a positive integer",
            ),
            (
                json!({"input_cost": 0}),
                "input_cost: must be a number greater than 0",
            ),
            (
                json!({"output_cost": -1}),
                "output_cost: must be a number greater than 0",
            ),
            (
                json!({"upstream_url": "localhost:8080"}),
                "upstream_url: must be an absolute http or https URL",
            ),
            (
                json!({"upstream_url": "ftp://host/x"}),
                "upstream_url: must be an absolute http or https URL",
            ),
            (
                json!({"upstream_url": "http:///path"}),
                "upstream_url: must be an absolute http or https URL",
            ),
            (
                json!({"upstream_url": 8080}),
                "upstream_url: must be a string",
            ),
            (
                json!({"upstream_path": "v1/chat"}),
                "upstream_path: must start with /",
            ),
            (
                json!({"upstream_path": "/a b"}),
                "upstream_path: must not contain whitespace or control characters",
            ),
            (json!({"temprature": 1}), "temprature: unknown option"),
            (json!([1]), "model.options: must be an object"),
        ];
        for (options, message) in cases {
            assert_eq!(error(options.clone()), message, "{options}");
        }
    }

    #[test]
    fn templates_are_checked_once_resolved() {
        let value = json!({
            "upstream_url": "$(headers.upstream)", "upstream_path": "$(uri_captures.op)",
        });
        let options = Options::parse(&value, Templates::Unresolved).unwrap();
        assert_eq!(options.upstream_url, Some("$(headers.upstream)"));
        assert_eq!(
            Options::parse(&value, Templates::Resolved)
                .unwrap_err()
                .message
                .as_str(),
            "upstream_url: must be an absolute http or https URL"
        );
    }
}
