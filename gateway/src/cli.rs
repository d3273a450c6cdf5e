//! Command-line interface. Every flag can also be set by an environment variable, so that the
//! gateway can be configured the same way in a shell, a container or a systemd unit.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ai-gateway",
    version,
    about = "An AI gateway: one OpenAI-shaped API in front of many LLM providers.",
    long_about = "An AI gateway: clients speak OpenAI's API; the gateway routes each request by \
                  a Kong decK configuration, translates it for the provider with a provider module \
                  (.so) loaded from the providers directory, authenticates, sends it, and \
                  translates the answer back, metering tokens, cost and latency."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log filter for stderr, e.g. `info`, `debug`, `ai_gateway=debug,warn`.
    #[arg(long, global = true, env = "AI_GATEWAY_LOG", default_value = "info")]
    pub log_level: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Validate a configuration against the provider modules; print its routes and the modules.
    /// Exits non-zero and prints every error when it is not valid.
    Check(CheckArgs),
    /// List the provider modules in the providers directory.
    Providers(ProvidersArgs),
}

#[derive(Args, Debug)]
pub struct ProvidersDir {
    /// Directory holding provider modules (`*.so`). Defaults to the directory that holds the
    /// ai-gateway executable, where `cargo build` puts the modules beside it.
    #[arg(long = "providers", env = "AI_GATEWAY_PROVIDERS", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl ProvidersDir {
    pub fn resolve(&self) -> Result<PathBuf, String> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the executable's directory: {e}"))?;
        exe.parent()
            .map(PathBuf::from)
            .ok_or_else(|| "the executable has no parent directory".to_string())
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Declarative configuration file (Kong decK YAML).
    #[arg(long, env = "AI_GATEWAY_CONFIG", value_name = "FILE")]
    pub config: PathBuf,

    #[command(flatten)]
    pub providers: ProvidersDir,

    /// Address of the proxy listener.
    #[arg(
        long,
        env = "AI_GATEWAY_LISTEN",
        value_name = "ADDR",
        default_value = "0.0.0.0:8000"
    )]
    pub listen: SocketAddr,

    /// Address of the admin listener (`GET /status/routes`, `GET /status/providers`).
    #[arg(
        long,
        env = "AI_GATEWAY_ADMIN_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8001"
    )]
    pub admin_listen: SocketAddr,

    /// Worker threads of the proxy listener. Defaults to the number of CPU cores.
    #[arg(long, env = "AI_GATEWAY_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Declarative configuration file (Kong decK YAML).
    #[arg(long, env = "AI_GATEWAY_CONFIG", value_name = "FILE")]
    pub config: PathBuf,

    #[command(flatten)]
    pub providers: ProvidersDir,
}

#[derive(Args, Debug)]
pub struct ProvidersArgs {
    #[command(flatten)]
    pub providers: ProvidersDir,
}
