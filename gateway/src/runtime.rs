//! The configuration as the data path uses it: every route joined to its service and to the
//! provider module that serves it, with what can be computed once at load (options as JSON,
//! whether templates need resolving, costs, cloud credentials) computed once.

use std::sync::Arc;

use provider_sdk::abi::RouteType;

use crate::cloud_auth::{AwsCredentials, Env, RouteCloudAuth};
use crate::config::{AiProxyConfig, GatewayConfig, ParamLocation, Service};
use crate::modules::ModuleRegistry;
use crate::plan::RequestParams;
use crate::provider::ProviderHandle;
use crate::router::Router;
use crate::telemetry::analytics::AzureMeta;

/// The provider whose routes need an AWS region.
const BEDROCK: &str = "bedrock";

pub struct Runtime {
    pub routes: Vec<Arc<RouteRuntime>>,
    pub services: Vec<Service>,
    pub router: Router,
}

pub struct RouteRuntime {
    pub index: usize,
    pub name: String,
    pub service: usize,
    pub service_name: String,
    pub ai: Option<AiRoute>,
    /// The attributes every SERVER span of the route starts with, written as protobuf once.
    pub span_attributes: Vec<u8>,
}

pub struct AiRoute {
    pub config: AiProxyConfig,
    pub provider: ProviderHandle,
    pub options_json: Arc<str>,
    /// Whether any string under `config.model` holds a `$(...)` template.
    pub templated: bool,
    pub costs: Option<(f64, f64)>,
    /// The tuning options `model.options` sets (without templates).
    pub tuning: RequestParams,
    /// What the analytics record reports of an azure route's deployment (without templates).
    pub azure: Option<Arc<AzureMeta>>,
    /// AWS credentials to sign with and the GCP token source, when the route has them.
    pub cloud_auth: RouteCloudAuth,
    /// The analytics record's `plugin_id`: the plugin's `id`, else its `instance_name`, else
    /// where it is in the file.
    pub plugin_id: String,
    /// The provider module's file, for the spans.
    pub module_file: Arc<str>,
}

impl AiRoute {
    /// The name of the body parameter the route authenticates with, if it does.
    pub fn body_param_name(&self) -> Option<&str> {
        let auth = &self.config.auth;
        match auth.param_location {
            Some(ParamLocation::Body) => auth.param_name.as_deref(),
            _ => None,
        }
    }
}

/// `(input_cost, output_cost)` per 1M tokens, when both are set (Kong uses neither otherwise).
pub fn costs_of(options: &serde_json::Value) -> Option<(f64, f64)> {
    let input = options.get("input_cost")?.as_f64()?;
    let output = options.get("output_cost")?.as_f64()?;
    Some((input, output))
}

fn contains_template(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains("$("),
        serde_json::Value::Array(items) => items.iter().any(contains_template),
        serde_json::Value::Object(map) => map.values().any(contains_template),
        _ => false,
    }
}

impl Runtime {
    /// Joins the config to the loaded modules and resolves the routes' cloud credentials, reading
    /// the environment through `env`. Returns every problem found, each naming the config path it
    /// comes from.
    pub fn build(
        config: GatewayConfig,
        modules: &ModuleRegistry,
        env: Env,
    ) -> Result<Runtime, Vec<String>> {
        let mut errors = Vec::new();
        let router = Router::new(&config);
        // The environment's AWS credentials are the same for every route: read them once.
        let ambient_aws: Result<AwsCredentials, String> = crate::cloud_auth::from_environment(env);
        let mut routes = Vec::with_capacity(config.routes.len());
        for (index, route) in config.routes.into_iter().enumerate() {
            let service_name = config
                .services
                .get(route.service)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let ai = match route.ai_proxy {
                None => None,
                Some(ai) => match ai_route(ai, &route.name, modules, &ambient_aws, env) {
                    Ok(ai) => Some(ai),
                    Err(e) => {
                        errors.extend(e);
                        None
                    }
                },
            };
            let span_attributes =
                crate::exchange::route_span_attributes(&route.name, &service_name, ai.as_ref());
            routes.push(Arc::new(RouteRuntime {
                index,
                name: route.name,
                service: route.service,
                service_name,
                ai,
                span_attributes,
            }));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Runtime {
            routes,
            services: config.services,
            router,
        })
    }
}

/// An ai-proxy route joined to its module, with its cloud credentials. Reports the problems with
/// both.
fn ai_route(
    mut ai: AiProxyConfig,
    route_name: &str,
    modules: &ModuleRegistry,
    ambient_aws: &Result<AwsCredentials, String>,
    env: Env,
) -> Result<AiRoute, Vec<String>> {
    if ai.model.provider == BEDROCK {
        fill_aws_region(&mut ai, route_name, env).map_err(|e| vec![e])?;
    }
    let (provider, cloud_auth) = match (
        join_module(&ai, modules),
        RouteCloudAuth::load(&ai, ambient_aws, env),
    ) {
        (Ok(provider), Ok(cloud_auth)) => (provider, cloud_auth),
        (provider, cloud_auth) => {
            let mut errors: Vec<String> = provider.err().into_iter().collect();
            errors.extend(cloud_auth.err().unwrap_or_default());
            return Err(errors);
        }
    };
    let templated = ai.model.name.as_deref().is_some_and(|n| n.contains("$("))
        || ai.model.provider.contains("$(")
        || contains_template(&ai.model.options);
    let module_file = modules
        .get(&ai.model.provider)
        .map_or_else(String::new, |m| m.path.display().to_string());
    Ok(AiRoute {
        options_json: Arc::from(ai.model.options.to_string()),
        costs: costs_of(&ai.model.options),
        tuning: RequestParams::from_options(&ai.model.options),
        azure: AzureMeta::of_route(&ai.model.provider, &ai.model.options),
        templated,
        provider,
        cloud_auth,
        plugin_id: ai
            .plugin_id
            .clone()
            .or_else(|| ai.instance_name.clone())
            .unwrap_or_else(|| ai.config_path.trim_end_matches(".config").to_string()),
        module_file: Arc::from(module_file),
        config: ai,
    })
}

/// Writes the region a Bedrock route signs for into its `model.options.bedrock.aws_region`, so
/// that the module (which reads no environment) receives it: the configured one, else
/// `AWS_REGION`, `AWS_DEFAULT_REGION` or the AWS profile's, as Kong's schema says. A route with no
/// region anywhere does not load.
fn fill_aws_region(ai: &mut AiProxyConfig, route_name: &str, env: Env) -> Result<(), String> {
    let region = crate::cloud_auth::resolve_region(&ai.model.options, env).ok_or_else(|| {
        format!(
            "{}.model.options.bedrock.aws_region: route {route_name} has no AWS region: set it, \
             or AWS_REGION or AWS_DEFAULT_REGION, or a region in the AWS profile",
            ai.config_path
        )
    })?;
    if !ai.model.options.is_object() {
        ai.model.options = serde_json::Value::Object(serde_json::Map::new());
    }
    let bedrock = &mut ai.model.options["bedrock"];
    if !bedrock.is_object() {
        *bedrock = serde_json::Value::Object(serde_json::Map::new());
    }
    bedrock["aws_region"] = serde_json::Value::String(region);
    Ok(())
}

fn join_module(ai: &AiProxyConfig, modules: &ModuleRegistry) -> Result<ProviderHandle, String> {
    let path = &ai.config_path;
    let provider = &ai.model.provider;
    let Some(module) = modules.get(provider) else {
        let loaded: Vec<&str> = modules
            .modules
            .iter()
            .map(|m| m.manifest.name.as_str())
            .collect();
        return Err(format!(
            "{path}.model.provider: no module for provider '{provider}' in providers directory {} (loaded: {})",
            modules.dir.display(),
            if loaded.is_empty() { "none".to_string() } else { loaded.join(", ") }
        ));
    };
    let route_type: RouteType = ai.route_type;
    if !module.manifest.route_types.contains(&route_type) {
        return Err(format!(
            "{path}.route_type: provider '{provider}' does not serve route type {}",
            route_type.as_str()
        ));
    }
    module
        .handle
        .validate_options(route_type, &ai.model.options.to_string())
        .map_err(|e| format!("{path}.model.options: {}", e.message))?;
    Ok(module.handle)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::{
        AuthConfig, LlmFormat, LoggingConfig, ModelConfig, StreamingPolicy,
        DEFAULT_MAX_REQUEST_BODY_SIZE,
    };

    fn bedrock(options: serde_json::Value) -> AiProxyConfig {
        AiProxyConfig {
            instance_name: None,
            plugin_id: None,
            route_type: RouteType::CHAT,
            auth: AuthConfig::default(),
            model: ModelConfig::new(BEDROCK.to_string(), Some("m".into()), options),
            logging: LoggingConfig::default(),
            response_streaming: StreamingPolicy::default(),
            max_request_body_size: DEFAULT_MAX_REQUEST_BODY_SIZE,
            model_name_header: true,
            llm_format: LlmFormat::default(),
            config_path: "services[0].routes[0].plugins[0].config".to_string(),
        }
    }

    fn filled(options: serde_json::Value, env: Env) -> Result<serde_json::Value, String> {
        let mut ai = bedrock(options);
        fill_aws_region(&mut ai, "chat", env).map(|()| ai.model.options)
    }

    fn env_region(name: &str) -> Option<String> {
        (name == "AWS_REGION").then(|| "eu-central-1".to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_configured_region_is_kept() {
        let options = json!({ "bedrock": { "aws_region": "us-west-2" }, "max_tokens": 5 });
        assert_eq!(filled(options.clone(), &env_region), Ok(options));
    }

    #[test]
    fn an_empty_region_is_filled_from_the_environment() {
        for options in [
            json!({}),
            json!({ "bedrock": null }),
            json!({ "bedrock": { "aws_region": "" } }),
            json!({ "bedrock": { "aws_region": null }, "upstream_url": "http://h" }),
        ] {
            let filled = filled(options.clone(), &env_region).unwrap();
            assert_eq!(filled["bedrock"]["aws_region"], "eu-central-1", "{options}");
        }
    }

    #[test]
    fn a_route_with_no_region_anywhere_does_not_load() {
        let error = filled(json!({}), &no_env).unwrap_err();
        assert!(
            error.starts_with(
                "services[0].routes[0].plugins[0].config.model.options.bedrock.aws_region: route chat has no AWS region"
            ),
            "{error}"
        );
    }
}
