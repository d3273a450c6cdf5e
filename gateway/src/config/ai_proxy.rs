//! The `config` of an `ai-proxy` plugin: its types and Kong's schema rules for them.

use std::fmt;

use provider_sdk::abi::RouteType;
use serde_json::{Map, Value};

use super::error::{field_path, ConfigErrors};
use super::model_options::check_model_options;
use super::record::{expected_one_of, Fields, Record, REQUIRED_FIELD};
use crate::template::contains_expression;

/// Kong's default is 8 KiB, which together with nginx's body buffering rejects ordinary chats
/// (a documented Kong bug, reference §3.1 and §11.4). 8 MiB holds long conversations and
/// images while still bounding memory per request.
pub const DEFAULT_MAX_REQUEST_BODY_SIZE: usize = 8 * 1024 * 1024;

/// A validated `ai-proxy` plugin configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AiProxyConfig {
    /// The plugin's `instance_name`, for logs and metrics.
    pub instance_name: Option<String>,
    /// The plugin's `id`, when the file gives one (the analytics record's `plugin_id`).
    pub plugin_id: Option<String>,
    pub route_type: RouteType,
    pub auth: AuthConfig,
    pub model: ModelConfig,
    pub logging: LoggingConfig,
    pub response_streaming: StreamingPolicy,
    /// In bytes. Defaults to [`DEFAULT_MAX_REQUEST_BODY_SIZE`], not Kong's 8192.
    pub max_request_body_size: usize,
    /// Whether responses carry `X-Kong-LLM-Model: <provider>/<model>`.
    pub model_name_header: bool,
    pub llm_format: LlmFormat,
    /// Where the plugin's `config` is in the file, e.g. `services[0].routes[1].plugins[0].config`,
    /// so that a provider module's complaints about `model.options` can name the field.
    pub config_path: String,
}

/// The credentials the gateway adds to upstream requests. Its `Debug` output hides the secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    pub param_name: Option<String>,
    pub param_value: Option<String>,
    pub param_location: Option<ParamLocation>,
    /// Whether a credential the client sends takes the place of the configured one.
    pub allow_override: bool,
    pub gcp_use_service_account: bool,
    pub gcp_service_account_json: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redacted(secret: &Option<String>) -> Option<&'static str> {
            secret.as_ref().map(|_| "<redacted>")
        }
        f.debug_struct("AuthConfig")
            .field("header_name", &self.header_name)
            .field("header_value", &redacted(&self.header_value))
            .field("param_name", &self.param_name)
            .field("param_value", &redacted(&self.param_value))
            .field("param_location", &self.param_location)
            .field("allow_override", &self.allow_override)
            .field("gcp_use_service_account", &self.gcp_use_service_account)
            .field(
                "gcp_service_account_json",
                &redacted(&self.gcp_service_account_json),
            )
            .field("aws_access_key_id", &self.aws_access_key_id)
            .field(
                "aws_secret_access_key",
                &redacted(&self.aws_secret_access_key),
            )
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    Query,
    Body,
}

/// `config.model`. Every string in it except `provider` may hold one `$(source.key)` template,
/// resolved per request by [`crate::template::resolve_model`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The provider module's name. Modules are found at run time, so any name is accepted here.
    pub provider: String,
    /// `None`: the client's `model` is used.
    pub name: Option<String>,
    /// `model.options` as written: always a JSON object. The provider module validates what it
    /// reads; this crate checks only the options Kong defines.
    pub options: Value,
    has_templates: bool,
}

impl ModelConfig {
    pub fn new(provider: String, name: Option<String>, options: Value) -> ModelConfig {
        let has_templates =
            name.as_deref().is_some_and(contains_expression) || value_has_templates(&options);
        ModelConfig {
            provider,
            name,
            options,
            has_templates,
        }
    }

    /// A model whose templates are already resolved for one request.
    pub(crate) fn resolved(provider: String, name: Option<String>, options: Value) -> ModelConfig {
        ModelConfig {
            provider,
            name,
            options,
            has_templates: false,
        }
    }

    /// Whether some string holds a `$(...)` template, so that resolving per request is needed.
    pub fn has_templates(&self) -> bool {
        self.has_templates
    }
}

fn value_has_templates(value: &Value) -> bool {
    match value {
        Value::String(text) => contains_expression(text),
        Value::Array(items) => items.iter().any(value_has_templates),
        Value::Object(fields) => fields.values().any(value_has_templates),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    pub log_statistics: bool,
    /// Takes effect only together with `log_statistics`, as in Kong.
    pub log_payloads: bool,
}

/// `config.response_streaming`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamingPolicy {
    /// The client chooses.
    #[default]
    Allow,
    /// A client that asks for a stream gets 400.
    Deny,
    /// The upstream call always streams.
    Always,
}

/// `config.llm_format`: the API the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LlmFormat {
    #[default]
    OpenAi,
    Bedrock,
    Gemini,
}

impl LlmFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmFormat::OpenAi => "openai",
            LlmFormat::Bedrock => "bedrock",
            LlmFormat::Gemini => "gemini",
        }
    }
}

const CONFIG_FIELDS: Fields = Fields {
    known: &[
        "route_type",
        "auth",
        "model",
        "logging",
        "response_streaming",
        "max_request_body_size",
        "model_name_header",
        "llm_format",
    ],
    unsupported: &[],
};

const AUTH_FIELDS: Fields = Fields {
    known: &[
        "header_name",
        "header_value",
        "param_name",
        "param_value",
        "param_location",
        "allow_override",
        "gcp_use_service_account",
        "gcp_service_account_json",
        "aws_access_key_id",
        "aws_secret_access_key",
    ],
    unsupported: &[
        "azure_use_managed_identity",
        "azure_client_id",
        "azure_client_secret",
        "azure_tenant_id",
    ],
};

const MODEL_FIELDS: Fields = Fields {
    known: &["provider", "name", "options"],
    unsupported: &[],
};

const LOGGING_FIELDS: Fields = Fields {
    known: &["log_statistics", "log_payloads"],
    unsupported: &[],
};

const ROUTE_TYPES: &[&str] = &[
    "llm/v1/chat",
    "llm/v1/completions",
    "llm/v1/embeddings",
    "preserve",
];

/// Reads and validates an `ai-proxy` plugin's `config` found at `path` (absent counts as empty,
/// so that the required fields are named). `None` when something was wrong; it is reported.
pub(crate) fn parse_ai_proxy_config(
    config: Option<&Value>,
    path: String,
    instance_name: Option<&str>,
    errors: &mut ConfigErrors,
) -> Option<AiProxyConfig> {
    let errors_before = errors.0.len();
    let empty = Value::Object(Map::new());
    let mut record = Record::open(
        config.unwrap_or(&empty),
        path.clone(),
        &CONFIG_FIELDS,
        errors,
    )?;

    let route_type =
        record
            .required_string("route_type")
            .and_then(|name| match RouteType::parse(name) {
                Some(route_type) => Some(route_type),
                None => {
                    record.report("route_type", expected_one_of(ROUTE_TYPES));
                    None
                }
            });
    let auth = match record.record("auth", &AUTH_FIELDS) {
        Some(mut auth) => parse_auth(&mut auth),
        None => AuthConfig::default(),
    };
    let model = if record.has("model") {
        record
            .record("model", &MODEL_FIELDS)
            .and_then(|mut model| parse_model(&mut model))
    } else {
        record.report("model", REQUIRED_FIELD);
        None
    };
    let logging = match record.record("logging", &LOGGING_FIELDS) {
        Some(mut logging) => LoggingConfig {
            log_statistics: logging.bool_or("log_statistics", false),
            log_payloads: logging.bool_or("log_payloads", false),
        },
        None => LoggingConfig::default(),
    };
    let response_streaming = match record.one_of("response_streaming", &["allow", "deny", "always"])
    {
        Some("deny") => StreamingPolicy::Deny,
        Some("always") => StreamingPolicy::Always,
        _ => StreamingPolicy::Allow,
    };
    let max_request_body_size = record
        .integer_greater_than("max_request_body_size", 0)
        .map_or(DEFAULT_MAX_REQUEST_BODY_SIZE, |size| {
            usize::try_from(size).unwrap_or(usize::MAX)
        });
    let model_name_header = record.bool_or("model_name_header", true);
    let llm_format = match record.one_of("llm_format", &["openai", "bedrock", "gemini"]) {
        Some("bedrock") => LlmFormat::Bedrock,
        Some("gemini") => LlmFormat::Gemini,
        _ => LlmFormat::OpenAi,
    };

    let (Some(route_type), Some(model)) = (route_type, model) else {
        return None;
    };
    let config = AiProxyConfig {
        instance_name: instance_name.map(str::to_owned),
        plugin_id: None,
        route_type,
        auth,
        model,
        logging,
        response_streaming,
        max_request_body_size,
        model_name_header,
        llm_format,
        config_path: path,
    };
    check_entity_rules(&config, &mut record);
    (errors.0.len() == errors_before).then_some(config)
}

fn parse_auth(auth: &mut Record) -> AuthConfig {
    // Kong resolves `{vault://…}` references in these fields. Sent as they are, they would reach
    // the provider as a bogus credential, so they are refused.
    let mut auth_string = |key: &str| -> Option<String> {
        let text = auth.string(key)?;
        if text.starts_with("{vault://") {
            auth.report(
                key,
                "vault references are not supported; use ${{ env \"NAME\" }} instead",
            );
            return None;
        }
        Some(text.to_owned())
    };
    let header_name = auth_string("header_name");
    let header_value = auth_string("header_value");
    let param_name = auth_string("param_name");
    let param_value = auth_string("param_value");
    let gcp_service_account_json = auth_string("gcp_service_account_json");
    let aws_access_key_id = auth_string("aws_access_key_id");
    let aws_secret_access_key = auth_string("aws_secret_access_key");
    let param_location = match auth.one_of("param_location", &["query", "body"]) {
        Some("query") => Some(ParamLocation::Query),
        Some("body") => Some(ParamLocation::Body),
        _ => None,
    };
    let config = AuthConfig {
        header_name,
        header_value,
        param_name,
        param_value,
        param_location,
        allow_override: auth.bool_or("allow_override", false),
        gcp_use_service_account: auth.bool_or("gcp_use_service_account", false),
        gcp_service_account_json,
        aws_access_key_id,
        aws_secret_access_key,
    };
    let header_group = [
        ("auth.header_name", auth.has("header_name")),
        ("auth.header_value", auth.has("header_value")),
    ];
    require_all_or_none(auth, &header_group);
    let param_group = [
        ("auth.param_name", auth.has("param_name")),
        ("auth.param_value", auth.has("param_value")),
        ("auth.param_location", auth.has("param_location")),
    ];
    require_all_or_none(auth, &param_group);
    config
}

/// Kong's `mutually_required` check, reported on the record that holds the fields.
pub(crate) fn require_all_or_none(record: &mut Record, fields: &[(&str, bool)]) {
    let set = fields.iter().filter(|(_, present)| *present).count();
    if set != 0 && set != fields.len() {
        let names: Vec<String> = fields.iter().map(|(name, _)| format!("'{name}'")).collect();
        let path = record.path().to_owned();
        record.errors().push(
            path,
            format!(
                "all or none of these fields must be set: {}",
                names.join(", ")
            ),
        );
    }
}

fn parse_model(model: &mut Record) -> Option<ModelConfig> {
    let provider = model.required_string("provider");
    if provider.is_some_and(contains_expression) {
        model.report(
            "provider",
            "templates are not supported in model.provider: the provider module is chosen when the configuration loads",
        );
    }
    if provider.is_some_and(str::is_empty) {
        model.report("provider", "length must be at least 1");
    }
    let name = model.string("name").map(str::to_owned);
    let options = match model.value("options") {
        Some(options @ Value::Object(_)) => {
            let path = model.path_of("options");
            check_model_options(options, path, model.errors());
            options.clone()
        }
        Some(_) => {
            model.report("options", "expected a record");
            return None;
        }
        None => Value::Object(Map::new()),
    };
    let provider = provider?;
    Some(ModelConfig::new(provider.to_owned(), name, options))
}

/// Kong's entity checks: rules that tie several fields together, mostly by provider.
fn check_entity_rules(config: &AiProxyConfig, record: &mut Record) {
    let provider = config.model.provider.as_str();
    let options = config.model.options.as_object();
    let has_option = |key: &str| {
        options
            .and_then(|options| options.get(key))
            .is_some_and(|value| !value.is_null())
    };
    let options_path = field_path(&record.path_of("model"), "options");
    let require_option = |record: &mut Record, key: &str, reason: &str| {
        if !has_option(key) {
            record.errors().push(
                options_path.clone(),
                format!("must set 'model.options.{key}' for {reason}"),
            );
        }
    };

    if matches!(provider, "bedrock" | "gemini") && config.auth.allow_override {
        let path = field_path(&record.path_of("auth"), "allow_override");
        record.errors().push(
            path,
            "bedrock and gemini only support auth.allow_override = false",
        );
    }
    match provider {
        "llama2" => {
            require_option(record, "llama2_format", "llama2 provider");
            require_option(record, "upstream_url", "self-hosted providers/models");
        }
        "mistral" => require_option(record, "mistral_format", "mistral provider"),
        "anthropic" => require_option(record, "anthropic_version", "anthropic provider"),
        "azure" => {
            require_option(record, "azure_instance", "azure provider");
            require_option(record, "azure_deployment_id", "azure provider");
        }
        _ => {}
    }
    if config.logging.log_statistics
        && provider == "anthropic"
        && config.route_type == RouteType::COMPLETIONS
    {
        let path = field_path(&record.path_of("logging"), "log_statistics");
        record.errors().push(
            path,
            format!(
                "anthropic does not support statistics when route_type is {}",
                RouteType::COMPLETIONS.as_str()
            ),
        );
    }
    if config.llm_format != LlmFormat::OpenAi {
        if config.route_type != RouteType::CHAT {
            record.report(
                "llm_format",
                "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type",
            );
        }
        let format = config.llm_format.as_str();
        if provider != format {
            record.report(
                "llm_format",
                format!("native llm_format '{format}' can only be used with the '{format}' model.provider"),
            );
        }
    }
}
