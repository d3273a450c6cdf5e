//! `config.model.options`: Kong's option schema, which every provider shares, read into typed
//! values.
//!
//! A config written for Kong may carry other providers' options next to the ones a module reads;
//! those are accepted. Anything no provider knows is refused at load, since a misspelt option that
//! is silently ignored is a cost cap that never applies.
//!
//! The gateway hands a module the options as JSON text, templates resolved, on every request, so
//! they are read borrowed: strings point into that text.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::abi::{ModuleError, RequestPlan};
use crate::json_edit::{object_members, EditError};

/// Keys that a provider module reads and Kong's schema does not define. A module reads its own
/// with [`ModelOptions::provider_specific`]; add a key here when a module starts reading one.
pub const PROVIDER_SPECIFIC_OPTIONS: &[&str] =
    &["cohere", "embeddings_dimensions", "llama2_chat_template"];

/// Whether string options may still hold `$(…)` templates, which the gateway resolves per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Templates {
    /// Config load: a templated string is checked once resolved.
    Unresolved,
    /// A request: every value is final and checked in full.
    Resolved,
}

/// `llama2_format`: the API a self-hosted Llama server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Llama2Format {
    /// Hugging Face TGI's `inputs`/`parameters` with a Llama chat template.
    Raw,
    Ollama,
    OpenAi,
}

/// `mistral_format`: the API a Mistral endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MistralFormat {
    OpenAi,
    Ollama,
}

/// `gemini.*`: Vertex AI's location, set all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeminiOptions<'a> {
    pub api_endpoint: Option<Cow<'a, str>>,
    pub project_id: Option<Cow<'a, str>>,
    pub location_id: Option<Cow<'a, str>>,
}

/// `bedrock.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BedrockOptions<'a> {
    pub aws_region: Option<Cow<'a, str>>,
}

/// `huggingface.*`, sent to the Inference API as the body's `options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HuggingfaceOptions {
    pub use_cache: Option<bool>,
    pub wait_for_model: Option<bool>,
}

/// `config.model.options`. `None` (and a JSON `null`) means not configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelOptions<'a> {
    /// A cap operators set on cost: it replaces the client's value.
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    /// An absolute `http`/`https` URL (checked once templates are resolved).
    pub upstream_url: Option<Cow<'a, str>>,
    /// Starts with `/` (checked once templates are resolved).
    pub upstream_path: Option<Cow<'a, str>>,
    /// Price per million prompt tokens; the gateway prices usage with it.
    pub input_cost: Option<f64>,
    pub output_cost: Option<f64>,
    pub anthropic_version: Option<Cow<'a, str>>,
    pub azure_instance: Option<Cow<'a, str>>,
    pub azure_api_version: Option<Cow<'a, str>>,
    pub azure_deployment_id: Option<Cow<'a, str>>,
    pub llama2_format: Option<Llama2Format>,
    pub mistral_format: Option<MistralFormat>,
    pub gemini: GeminiOptions<'a>,
    pub bedrock: BedrockOptions<'a>,
    pub huggingface: HuggingfaceOptions,
    /// [`PROVIDER_SPECIFIC_OPTIONS`] that were set, with their JSON text.
    provider_specific: Vec<(Cow<'a, str>, &'a str)>,
}

impl<'a> ModelOptions<'a> {
    /// Reads and checks options given as JSON text. Errors are 400s whose message starts with the
    /// option's name (`temperature: must be between 0 and 5`).
    pub fn parse(json: &'a str, templates: Templates) -> Result<ModelOptions<'a>, ModuleError> {
        let members = match object_members(json.as_bytes()) {
            Ok(members) => members,
            Err(EditError::NotAnObject) if json.trim() == "null" => return Ok(Self::default()),
            Err(EditError::NotAnObject) => {
                return Err(ModuleError::invalid_request(
                    "model.options: must be an object",
                ))
            }
            Err(other) => {
                return Err(ModuleError::invalid_request(format!(
                    "model.options: {other}"
                )))
            }
        };
        let mut options = ModelOptions::default();
        for (key, raw) in members {
            options.read_member(key, raw, templates)?;
        }
        if options.gemini.api_endpoint.is_some() != options.gemini.project_id.is_some()
            || options.gemini.project_id.is_some() != options.gemini.location_id.is_some()
        {
            return Err(invalid(
                "gemini",
                "api_endpoint, project_id and location_id must be set together",
            ));
        }
        Ok(options)
    }

    /// The options of a request, templates resolved by the gateway. A value that does not check
    /// out is a 400: templates are filled from the client's headers, path and query.
    pub fn for_request(plan: &RequestPlan<'a>) -> Result<ModelOptions<'a>, ModuleError> {
        ModelOptions::parse(plan.options.as_str(), Templates::Resolved)
    }

    /// Checks a route's options when the configuration loads (templates still unresolved), then
    /// runs the provider's own checks, such as its required options, on them.
    pub fn check_config(
        options: &serde_json::Value,
        provider_checks: impl FnOnce(&ModelOptions<'_>) -> Result<(), ModuleError>,
    ) -> Result<(), ModuleError> {
        let text = options.to_string();
        let parsed = ModelOptions::parse(&text, Templates::Unresolved)?;
        provider_checks(&parsed)
    }

    /// The JSON text of a provider-specific option (one of [`PROVIDER_SPECIFIC_OPTIONS`]), when
    /// it is set.
    pub fn provider_specific(&self, key: &str) -> Option<&'a str> {
        self.provider_specific
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, json)| *json)
    }

    /// A provider-specific option read as `T`; a value of the wrong shape is an error naming the
    /// key.
    pub fn provider_specific_as<T: Deserialize<'a>>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ModuleError> {
        self.provider_specific(key)
            .map(|json| serde_json::from_str(json).map_err(|e| invalid(key, &e.to_string())))
            .transpose()
    }

    fn read_member(
        &mut self,
        name: Cow<'a, str>,
        raw: &'a RawValue,
        templates: Templates,
    ) -> Result<(), ModuleError> {
        let key = name.as_ref();
        let value = OptionValue::read(key, raw)?;
        if value == OptionValue::Null {
            return if is_known(key) {
                Ok(())
            } else {
                Err(invalid(key, "unknown option"))
            };
        }
        match key {
            "max_tokens" => self.max_tokens = Some(value.positive_integer(key)?),
            "temperature" => self.temperature = Some(value.number_between(key, 0.0, 5.0)?),
            "top_p" => self.top_p = Some(value.number_between(key, 0.0, 1.0)?),
            "top_k" => self.top_k = Some(value.top_k()?),
            "input_cost" => self.input_cost = Some(value.cost(key)?),
            "output_cost" => self.output_cost = Some(value.cost(key)?),
            "upstream_url" => self.upstream_url = Some(upstream_url(value.text(key)?, templates)?),
            "upstream_path" => {
                self.upstream_path = Some(upstream_path(value.text(key)?, templates)?)
            }
            "anthropic_version" => self.anthropic_version = Some(value.text(key)?),
            "azure_instance" => self.azure_instance = Some(value.text(key)?),
            "azure_api_version" => self.azure_api_version = Some(value.text(key)?),
            "azure_deployment_id" => self.azure_deployment_id = Some(value.text(key)?),
            "llama2_format" => {
                self.llama2_format = Some(value.one_of(
                    key,
                    &[
                        ("raw", Llama2Format::Raw),
                        ("ollama", Llama2Format::Ollama),
                        ("openai", Llama2Format::OpenAi),
                    ],
                )?)
            }
            "mistral_format" => {
                self.mistral_format = Some(value.one_of(
                    key,
                    &[
                        ("openai", MistralFormat::OpenAi),
                        ("ollama", MistralFormat::Ollama),
                    ],
                )?)
            }
            "gemini" => self.gemini = read_gemini(raw)?,
            "bedrock" => self.bedrock = read_bedrock(raw)?,
            "huggingface" => self.huggingface = read_huggingface(raw)?,
            _ if PROVIDER_SPECIFIC_OPTIONS.contains(&key) => {
                self.provider_specific.retain(|(known, _)| known != key);
                self.provider_specific.push((name.clone(), raw.get()));
            }
            _ => return Err(invalid(key, "unknown option")),
        }
        Ok(())
    }
}

const KONG_OPTIONS: &[&str] = &[
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "input_cost",
    "output_cost",
    "upstream_url",
    "upstream_path",
    "anthropic_version",
    "azure_instance",
    "azure_api_version",
    "azure_deployment_id",
    "llama2_format",
    "mistral_format",
    "gemini",
    "bedrock",
    "huggingface",
];

fn is_known(key: &str) -> bool {
    KONG_OPTIONS.contains(&key) || PROVIDER_SPECIFIC_OPTIONS.contains(&key)
}

/// The error for a required option that is not set, e.g. `azure_instance: must be set for the
/// azure provider`.
pub fn missing_option(name: &str, provider: &str) -> ModuleError {
    invalid(name, &format!("must be set for the {provider} provider"))
}

/// The value of a required string option, or [`missing_option`].
pub fn required<'o>(
    value: &'o Option<Cow<'_, str>>,
    name: &str,
    provider: &str,
) -> Result<&'o str, ModuleError> {
    value
        .as_deref()
        .ok_or_else(|| missing_option(name, provider))
}

/// Whether `text` holds a `$(source.key)` template the gateway resolves per request.
pub fn is_template(text: &str) -> bool {
    text.contains("$(")
}

fn invalid(name: &str, problem: &str) -> ModuleError {
    ModuleError::invalid_request(format!("{name}: {problem}"))
}

fn upstream_url(url: Cow<'_, str>, templates: Templates) -> Result<Cow<'_, str>, ModuleError> {
    if templates == Templates::Unresolved && is_template(&url) {
        return Ok(url);
    }
    match crate::url::split_absolute(&url) {
        Some(_) => Ok(url),
        None => Err(invalid(
            "upstream_url",
            "must be an absolute http or https URL",
        )),
    }
}

fn upstream_path(path: Cow<'_, str>, templates: Templates) -> Result<Cow<'_, str>, ModuleError> {
    if templates == Templates::Unresolved && is_template(&path) {
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

/// Reads the members of a nested record (`gemini`, `bedrock`, `huggingface`), refusing unknown
/// keys; `read` stores one known, non-null member and returns whether it knew the key.
fn read_record<'a>(
    record: &str,
    raw: &'a RawValue,
    mut read: impl FnMut(&str, &str, OptionValue<'a>) -> Result<bool, ModuleError>,
) -> Result<(), ModuleError> {
    let members =
        object_members(raw.get().as_bytes()).map_err(|_| invalid(record, "must be an object"))?;
    for (key, member) in members {
        let name = format!("{record}.{key}");
        let value = OptionValue::read(&name, member)?;
        let known = value == OptionValue::Null || read(&key, &name, value)?;
        if !known {
            return Err(invalid(&name, "unknown option"));
        }
    }
    Ok(())
}

fn read_gemini(raw: &RawValue) -> Result<GeminiOptions<'_>, ModuleError> {
    let mut gemini = GeminiOptions::default();
    read_record("gemini", raw, |key, name, value| {
        let slot = match key {
            "api_endpoint" => &mut gemini.api_endpoint,
            "project_id" => &mut gemini.project_id,
            "location_id" => &mut gemini.location_id,
            _ => return Ok(false),
        };
        *slot = Some(value.text(name)?);
        Ok(true)
    })?;
    Ok(gemini)
}

fn read_bedrock(raw: &RawValue) -> Result<BedrockOptions<'_>, ModuleError> {
    let mut bedrock = BedrockOptions::default();
    read_record("bedrock", raw, |key, name, value| {
        if key != "aws_region" {
            return Ok(false);
        }
        bedrock.aws_region = Some(value.text(name)?);
        Ok(true)
    })?;
    Ok(bedrock)
}

fn read_huggingface(raw: &RawValue) -> Result<HuggingfaceOptions, ModuleError> {
    let mut huggingface = HuggingfaceOptions::default();
    read_record("huggingface", raw, |key, name, value| {
        let slot = match key {
            "use_cache" => &mut huggingface.use_cache,
            "wait_for_model" => &mut huggingface.wait_for_model,
            _ => return Ok(false),
        };
        *slot = Some(value.boolean(name)?);
        Ok(true)
    })?;
    Ok(huggingface)
}

/// One option's value, typed just enough to check it and name what is wrong.
#[derive(Debug, Clone, PartialEq)]
enum OptionValue<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative(i64),
    Float(f64),
    Text(Cow<'a, str>),
    Array,
    Object,
}

impl<'a> OptionValue<'a> {
    fn read(name: &str, raw: &'a RawValue) -> Result<OptionValue<'a>, ModuleError> {
        serde_json::from_str(raw.get()).map_err(|e| invalid(name, &format!("cannot be read: {e}")))
    }

    fn number(&self) -> Option<f64> {
        // Options are small numbers written by hand; converting to f64 only matters for range
        // checks, which a rounded value answers the same way.
        match *self {
            OptionValue::Unsigned(n) => Some(n as f64),
            OptionValue::Negative(n) => Some(n as f64),
            OptionValue::Float(n) => Some(n),
            _ => None,
        }
    }

    fn positive_integer(&self, name: &str) -> Result<u64, ModuleError> {
        match *self {
            OptionValue::Unsigned(n) if n > 0 => Ok(n),
            _ => Err(invalid(name, "must be a positive integer")),
        }
    }

    fn number_between(&self, name: &str, min: f64, max: f64) -> Result<f64, ModuleError> {
        let number = self
            .number()
            .ok_or_else(|| invalid(name, "must be a number"))?;
        if !(min..=max).contains(&number) {
            return Err(invalid(name, &format!("must be between {min} and {max}")));
        }
        Ok(number)
    }

    fn top_k(&self) -> Result<u64, ModuleError> {
        match *self {
            OptionValue::Unsigned(k) if k <= 500 => Ok(k),
            _ => Err(invalid("top_k", "must be an integer between 0 and 500")),
        }
    }

    fn cost(&self, name: &str) -> Result<f64, ModuleError> {
        self.number()
            .filter(|c| *c > 0.0)
            .ok_or_else(|| invalid(name, "must be a number greater than 0"))
    }

    fn text(self, name: &str) -> Result<Cow<'a, str>, ModuleError> {
        match self {
            OptionValue::Text(text) => Ok(text),
            _ => Err(invalid(name, "must be a string")),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool, ModuleError> {
        match *self {
            OptionValue::Bool(b) => Ok(b),
            _ => Err(invalid(name, "must be a boolean")),
        }
    }

    fn one_of<T: Copy>(self, name: &str, allowed: &[(&str, T)]) -> Result<T, ModuleError> {
        let names = || {
            allowed
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let OptionValue::Text(text) = self else {
            return Err(invalid(name, &format!("must be one of {}", names())));
        };
        allowed
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, v)| *v)
            .ok_or_else(|| invalid(name, &format!("must be one of {}", names())))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for OptionValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OptionValueVisitor(std::marker::PhantomData))
    }
}

struct OptionValueVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for OptionValueVisitor<'a> {
    type Value = OptionValue<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(OptionValue::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(OptionValue::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(OptionValue::Unsigned(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).map_or(OptionValue::Negative(v), OptionValue::Unsigned))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(OptionValue::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(OptionValue::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(OptionValue::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(OptionValue::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(OptionValue::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(json: &str) -> ModelOptions<'_> {
        ModelOptions::parse(json, Templates::Resolved).unwrap()
    }

    fn error(options: serde_json::Value) -> String {
        ModelOptions::check_config(&options, |_| Ok(()))
            .unwrap_err()
            .message
            .into_string()
    }

    #[test]
    fn reads_every_kong_option() {
        let text = json!({
            "max_tokens": 512, "temperature": 0.5, "top_p": 1, "top_k": 40,
            "upstream_url": "http://localhost:8080/v1/chat", "upstream_path": "/v2/x",
            "input_cost": 10, "output_cost": 0.5, "anthropic_version": "2023-06-01",
            "azure_instance": "inst", "azure_api_version": "2024-10-21",
            "azure_deployment_id": "dep", "llama2_format": "ollama", "mistral_format": "openai",
            "gemini": {"api_endpoint": "e", "project_id": "p", "location_id": "l"},
            "bedrock": {"aws_region": "us-east-1"},
            "huggingface": {"use_cache": true, "wait_for_model": false},
        })
        .to_string();
        let options = parsed(&text);
        assert_eq!(options.max_tokens, Some(512));
        assert_eq!(options.temperature, Some(0.5));
        assert_eq!(options.top_p, Some(1.0));
        assert_eq!(options.top_k, Some(40));
        assert_eq!(
            options.upstream_url.as_deref(),
            Some("http://localhost:8080/v1/chat")
        );
        assert_eq!(options.upstream_path.as_deref(), Some("/v2/x"));
        assert_eq!(options.input_cost, Some(10.0));
        assert_eq!(options.output_cost, Some(0.5));
        assert_eq!(options.anthropic_version.as_deref(), Some("2023-06-01"));
        assert_eq!(options.azure_instance.as_deref(), Some("inst"));
        assert_eq!(options.azure_api_version.as_deref(), Some("2024-10-21"));
        assert_eq!(options.azure_deployment_id.as_deref(), Some("dep"));
        assert_eq!(options.llama2_format, Some(Llama2Format::Ollama));
        assert_eq!(options.mistral_format, Some(MistralFormat::OpenAi));
        assert_eq!(options.gemini.project_id.as_deref(), Some("p"));
        assert_eq!(options.bedrock.aws_region.as_deref(), Some("us-east-1"));
        assert_eq!(
            options.huggingface,
            HuggingfaceOptions {
                use_cache: Some(true),
                wait_for_model: Some(false)
            }
        );
    }

    #[test]
    fn strings_are_borrowed_from_the_options_text() {
        let text = r#"{"upstream_url":"http://h/p","azure_instance":"a\u0062c"}"#;
        let options = parsed(text);
        assert!(matches!(options.upstream_url, Some(Cow::Borrowed(_))));
        assert_eq!(options.azure_instance.as_deref(), Some("abc"));
    }

    #[test]
    fn nulls_empty_objects_and_provider_specific_keys_are_accepted() {
        let text = json!({
            "max_tokens": null, "temperature": null, "upstream_url": null, "gemini": null,
            "cohere": {"api_version": "v1"}, "embeddings_dimensions": 3,
            "huggingface": {"use_cache": null},
        })
        .to_string();
        let options = parsed(&text);
        assert_eq!(options.max_tokens, None);
        assert_eq!(options.gemini, GeminiOptions::default());
        assert_eq!(options.huggingface, HuggingfaceOptions::default());
        for empty in ["{}", "null", " {} "] {
            assert_eq!(parsed(empty), ModelOptions::default(), "{empty}");
        }
    }

    #[test]
    fn provider_specific_values_are_read_on_request() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Cohere<'a> {
            api_version: &'a str,
        }
        let text = r#"{"cohere":{"api_version":"v1"},"embeddings_dimensions":3}"#;
        let options = parsed(text);
        assert_eq!(
            options.provider_specific("cohere"),
            Some(r#"{"api_version":"v1"}"#)
        );
        assert_eq!(
            options
                .provider_specific_as::<Cohere<'_>>("cohere")
                .unwrap(),
            Some(Cohere { api_version: "v1" })
        );
        assert_eq!(
            options.provider_specific_as::<u32>("embeddings_dimensions"),
            Ok(Some(3))
        );
        assert_eq!(options.provider_specific("bedrock"), None);
        let error = options
            .provider_specific_as::<Cohere<'_>>("embeddings_dimensions")
            .unwrap_err();
        assert!(
            error
                .message
                .starts_with("embeddings_dimensions: invalid type"),
            "{error}"
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
            (
                json!({"azure_instance": ["x"]}),
                "azure_instance: must be a string",
            ),
            (
                json!({"llama2_format": "tgi"}),
                "llama2_format: must be one of raw, ollama, openai",
            ),
            (
                json!({"mistral_format": 1}),
                "mistral_format: must be one of openai, ollama",
            ),
            (json!({"gemini": "x"}), "gemini: must be an object"),
            (
                json!({"gemini": {"project": "p"}}),
                "gemini.project: unknown option",
            ),
            (
                json!({"gemini": {"project_id": "p"}}),
                "gemini: api_endpoint, project_id and location_id must be set together",
            ),
            (
                json!({"bedrock": {"aws_region": 1}}),
                "bedrock.aws_region: must be a string",
            ),
            (
                json!({"huggingface": {"use_cache": "yes"}}),
                "huggingface.use_cache: must be a boolean",
            ),
            (json!({"temprature": 1}), "temprature: unknown option"),
            (json!({"azure_foo": null}), "azure_foo: unknown option"),
            (json!([1]), "model.options: must be an object"),
        ];
        for (options, message) in cases {
            assert_eq!(error(options.clone()), message, "{options}");
        }
        let error = ModelOptions::parse("{", Templates::Resolved).unwrap_err();
        assert!(error.message.starts_with("model.options: not valid JSON"));
    }

    #[test]
    fn templates_are_checked_once_resolved() {
        let text = r#"{"upstream_url":"$(headers.upstream)","upstream_path":"$(uri_captures.op)"}"#;
        let options = ModelOptions::parse(text, Templates::Unresolved).unwrap();
        assert_eq!(options.upstream_url.as_deref(), Some("$(headers.upstream)"));
        assert_eq!(options.upstream_path.as_deref(), Some("$(uri_captures.op)"));
        assert_eq!(
            ModelOptions::parse(text, Templates::Resolved)
                .unwrap_err()
                .message
                .as_str(),
            "upstream_url: must be an absolute http or https URL"
        );
    }

    #[test]
    fn provider_checks_run_after_the_shared_ones() {
        let options = json!({"azure_deployment_id": "d"});
        let error = ModelOptions::check_config(&options, |o| {
            required(&o.azure_instance, "azure_instance", "azure").map(|_| ())
        })
        .unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "azure_instance: must be set for the azure provider"
        );
        let shared_first = ModelOptions::check_config(&json!({"top_p": 3}), |_| {
            Err(ModuleError::invalid_request("provider check ran"))
        })
        .unwrap_err();
        assert_eq!(
            shared_first.message.as_str(),
            "top_p: must be between 0 and 1"
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let options = parsed(r#"{"max_tokens":5,"max_tokens":7,"cohere":1,"cohere":2}"#);
        assert_eq!(options.max_tokens, Some(7));
        assert_eq!(options.provider_specific("cohere"), Some("2"));
    }
}
