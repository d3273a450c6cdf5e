//! The ai-gateway: an OpenAI-shaped API in front of many LLM providers, configured with Kong's
//! decK format and extended by provider modules loaded at start-up.

pub mod accounting;
pub mod admin;
pub mod attempts;
pub mod auth;
pub mod cli;
pub mod cloud_auth;
pub mod commands;
pub mod config;
pub mod errors;
pub mod estimate;
pub mod exchange;
pub mod logging;
pub mod modules;
pub mod passthrough;
pub mod plan;
pub mod provider;
pub mod proxy;
pub mod route_actor;
pub mod router;
pub mod runtime;
pub mod server;
pub mod stats;
pub mod stream;
pub mod telemetry;
pub mod template;
pub mod upstream;
