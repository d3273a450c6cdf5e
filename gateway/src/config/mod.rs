//! The declarative configuration: Kong's decK format, loaded unchanged.
//!
//! A file goes through three steps: `${{ env "NAME" }}` substitution (`env.rs`), YAML parsing
//! (`yaml.rs`), and validation of every entity with Kong's rules and messages (`deck.rs` and the
//! files it uses). Validation does not stop at the first problem: [`ConfigErrors`] lists them
//! all, each with the path of its field as a decK user reads it, e.g.
//! `services[0].routes[1].plugins[0].config.model.provider: required field missing`.
//!
//! Where this differs from Kong:
//! - `route_type` also accepts `llm/v1/embeddings`.
//! - `max_request_body_size` defaults to 8 MiB instead of 8 KiB.
//! - `model.provider` is any name: provider modules are found at run time.
//! - `model.options` may hold options Kong does not define; the provider module checks them.
//! - a service with `protocol: https` and no port uses port 443 (Kong uses 80).
//! - route `headers`, global plugins, `ai-proxy-advanced`, vault references and the Enterprise
//!   Azure identity fields are refused with a clear error rather than ignored.
//! - a regex path is anchored as a whole: `~/a|/b` matches only paths that start with `/a` or
//!   `/b` (Kong anchors only the first alternative).

mod ai_proxy;
mod deck;
mod entities;
mod env;
mod error;
mod host;
mod model_options;
mod names;
mod plugin;
mod record;
mod route;
mod service;
mod url;
mod yaml;

use std::path::Path;

pub use ai_proxy::{
    AiProxyConfig, AuthConfig, LlmFormat, LoggingConfig, ModelConfig, ParamLocation,
    StreamingPolicy, DEFAULT_MAX_REQUEST_BODY_SIZE,
};
pub use entities::{GatewayConfig, Protocol, Route, RoutePath, Service};
pub use error::{ConfigError, ConfigErrors};
pub use host::HostPattern;

/// Reads and validates the decK file at `path`. `env` looks up the variables that
/// `${{ env "NAME" }}` templates name (in production, `|name| std::env::var(name).ok()`).
pub fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GatewayConfig, ConfigErrors> {
    let source_name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError::new(
            "",
            format!("{source_name}: cannot read the file: {error}"),
        )])
    })?;
    load_str(&text, &source_name, env)
}

/// Validates decK text. `source_name` names the text in messages (usually its file's path).
pub fn load_str(
    text: &str,
    source_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GatewayConfig, ConfigErrors> {
    let substitution = env::substitute(text, source_name, env)?;
    let document = yaml::parse_yaml(&substitution.text, source_name)?;
    deck::build_config(&substitution.restore(document), source_name)
}

#[cfg(test)]
mod tests;
