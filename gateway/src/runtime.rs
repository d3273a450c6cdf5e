//! The configuration as the data path uses it: every route joined to its service and to the
//! provider module that serves it, with what can be computed once at load (options as JSON,
//! whether templates need resolving, costs) computed once.

use std::sync::Arc;

use provider_sdk::abi::RouteType;

use crate::config::{AiProxyConfig, GatewayConfig, Service};
use crate::modules::ModuleRegistry;
use crate::provider::ProviderHandle;
use crate::router::Router;

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
}

pub struct AiRoute {
    pub config: AiProxyConfig,
    pub provider: ProviderHandle,
    pub options_json: Arc<str>,
    /// Whether any string under `config.model` holds a `$(...)` template.
    pub templated: bool,
    pub costs: Option<(f64, f64)>,
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
    /// Joins the config to the loaded modules. Returns every problem found, each naming the config
    /// path it comes from.
    pub fn build(config: GatewayConfig, modules: &ModuleRegistry) -> Result<Runtime, Vec<String>> {
        let mut errors = Vec::new();
        let router = Router::new(&config);
        let mut routes = Vec::with_capacity(config.routes.len());
        for (index, route) in config.routes.into_iter().enumerate() {
            let service_name = config
                .services
                .get(route.service)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let ai = match route.ai_proxy {
                None => None,
                Some(ai) => match join_module(&ai, modules) {
                    Ok(provider) => {
                        let templated = ai.model.name.as_deref().is_some_and(|n| n.contains("$("))
                            || ai.model.provider.contains("$(")
                            || contains_template(&ai.model.options);
                        Some(AiRoute {
                            options_json: Arc::from(ai.model.options.to_string()),
                            costs: costs_of(&ai.model.options),
                            templated,
                            provider,
                            config: ai,
                        })
                    }
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
            };
            routes.push(Arc::new(RouteRuntime {
                index,
                name: route.name,
                service: route.service,
                service_name,
                ai,
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
