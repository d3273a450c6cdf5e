//! The validated configuration: Kong's services and routes, each route with the `ai-proxy`
//! settings that apply to it.

use std::time::Duration;

use regex::Regex;

use super::ai_proxy::AiProxyConfig;
use super::host::HostPattern;

/// A whole declarative file, validated.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// In file order.
    pub services: Vec<Service>,
    /// The routes of enabled services: each service's nested routes in file order, then the
    /// top-level `routes` in file order. The router's order of evaluation is computed from this.
    pub routes: Vec<Route>,
}

/// A Kong service: the upstream that a route's plain (non-AI) traffic would go to. For an
/// `ai-proxy` route the provider decides the upstream; the service still gives the timeouts and
/// the retry budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub protocol: Protocol,
    pub host: String,
    /// When the file gives none: 80 for http and 443 for https. (Kong defaults to 80 for both.)
    pub port: u16,
    pub path: Option<String>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub retries: u32,
    /// `None` when the file does not say: the gateway's default applies.
    pub tls_verify: Option<bool>,
    /// A disabled service is kept here so that indexes stay those of the file, but its routes
    /// are left out of [`GatewayConfig::routes`].
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http,
    Https,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Http => 80,
            Protocol::Https => 443,
        }
    }
}

/// A Kong route.
#[derive(Debug, Clone)]
pub struct Route {
    /// From the file, or `<service name>.<n>` where `n` counts the service's routes from 0.
    pub name: String,
    /// Index into [`GatewayConfig::services`].
    pub service: usize,
    pub paths: Vec<RoutePath>,
    /// Upper-case method names; empty matches any method.
    pub methods: Vec<String>,
    /// Empty matches any host.
    pub hosts: Vec<HostPattern>,
    pub strip_path: bool,
    pub regex_priority: i64,
    /// The protocols the route accepts. A request on another one gets
    /// `https_redirect_status_code` in Kong.
    pub protocols: Vec<Protocol>,
    pub https_redirect_status_code: u16,
    /// The enabled `ai-proxy` plugin of the route, or else of its service.
    pub ai_proxy: Option<AiProxyConfig>,
    /// Where the route is in the file, e.g. `services[0].routes[1]` or `routes[0]`, for messages.
    pub config_path: String,
}

/// One entry of a route's `paths`.
#[derive(Debug, Clone)]
pub enum RoutePath {
    /// A plain prefix of the request path, compared byte for byte.
    Prefix(String),
    /// A `~` path. `source` is the entry as written (with its `~`); `regex` is the compiled pattern,
    /// anchored at the start of the request path as in Kong.
    Regex { source: String, regex: Regex },
}

impl RoutePath {
    /// The entry as written in the file.
    pub fn as_str(&self) -> &str {
        match self {
            RoutePath::Prefix(prefix) => prefix,
            RoutePath::Regex { source, .. } => source,
        }
    }
}
