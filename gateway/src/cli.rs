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

// Parsed once at start-up: the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
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

    /// Address of the admin listener (`GET /status/routes`, `GET /status/providers`,
    /// `GET /metrics`).
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

    /// Seconds an upstream keep-alive connection may stay idle before the gateway closes it
    /// (Kong's `upstream_keepalive_idle_timeout`).
    #[arg(
        long,
        env = "AI_GATEWAY_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub upstream_keepalive_idle_timeout: u64,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// OpenTelemetry export and the analytics log. Each flag reads the standard `OTEL_*` variable;
/// with no endpoint set nothing is exported and telemetry costs nothing.
#[derive(Args, Debug, Clone)]
pub struct TelemetryArgs {
    /// Base URL of an OTLP/HTTP collector, e.g. `http://127.0.0.1:4318`; `/v1/traces` and
    /// `/v1/metrics` are appended. Unset: no traces or metrics are exported.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// Full URL for traces, used as given (overrides `--otlp-endpoint` for traces).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value_name = "URL")]
    pub otlp_traces_endpoint: Option<String>,

    /// Full URL for metrics, used as given (overrides `--otlp-endpoint` for metrics).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", value_name = "URL")]
    pub otlp_metrics_endpoint: Option<String>,

    /// OTLP protocol. Only `http/protobuf` is built in; `grpc` is refused at start-up.
    #[arg(
        long,
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        value_name = "PROTOCOL",
        default_value = "http/protobuf"
    )]
    pub otlp_protocol: String,

    /// `otlp` to export traces when an endpoint is set, `none` never to.
    #[arg(
        long,
        env = "OTEL_TRACES_EXPORTER",
        value_name = "otlp|none",
        default_value = "otlp"
    )]
    pub traces_exporter: String,

    /// `otlp` to export metrics when an endpoint is set, `none` never to.
    #[arg(
        long,
        env = "OTEL_METRICS_EXPORTER",
        value_name = "otlp|none",
        default_value = "otlp"
    )]
    pub metrics_exporter: String,

    /// The `service.name` resource attribute.
    #[arg(
        long,
        env = "OTEL_SERVICE_NAME",
        value_name = "NAME",
        default_value = "ai-gateway"
    )]
    pub service_name: String,

    /// More resource attributes, `key1=value1,key2=value2` (values percent-encoded).
    #[arg(long, env = "OTEL_RESOURCE_ATTRIBUTES", value_name = "PAIRS")]
    pub resource_attributes: Option<String>,

    /// Trace sampler: always_on, always_off, traceidratio, parentbased_always_on,
    /// parentbased_always_off or parentbased_traceidratio.
    #[arg(
        long,
        env = "OTEL_TRACES_SAMPLER",
        value_name = "SAMPLER",
        default_value = "parentbased_always_on"
    )]
    pub traces_sampler: String,

    /// The ratio of the traceidratio samplers, between 0 and 1 (default 1).
    #[arg(long, env = "OTEL_TRACES_SAMPLER_ARG", value_name = "RATIO")]
    pub traces_sampler_arg: Option<String>,

    /// Where to write the Kong-compatible analytics record of routes with
    /// `logging.log_statistics`, one JSON line per request: a file (appended to), or `-` for
    /// stdout. Unset: each record goes to traces instead, as an event of its request's span.
    #[arg(long, env = "AI_GATEWAY_ANALYTICS_LOG", value_name = "PATH|-")]
    pub analytics_log: Option<PathBuf>,
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
