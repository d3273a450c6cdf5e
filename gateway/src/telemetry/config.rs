//! What to export and where, resolved from the `serve` flags and their standard `OTEL_*`
//! variables (clap reads both) by the OpenTelemetry specification's rules. A value the gateway
//! cannot honour is an error at start-up, not a silent fallback: a gateway that quietly exports
//! nothing is worse than one that refuses to start.

use std::path::PathBuf;

use opentelemetry_sdk::trace::Sampler;

use crate::cli::TelemetryArgs;

/// The one OTLP protocol this build speaks.
pub const HTTP_PROTOBUF: &str = "http/protobuf";

/// Where analytics records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalyticsTarget {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// Full URL traces are posted to; `None`: no trace export.
    pub traces_endpoint: Option<String>,
    /// Full URL metrics are posted to; `None`: no metric export.
    pub metrics_endpoint: Option<String>,
    pub service_name: String,
    pub resource_attributes: Vec<(String, String)>,
    pub sampler: Sampler,
    pub analytics: Option<AnalyticsTarget>,
}

/// Resolves and checks the telemetry settings. The message of an error names the flag and its
/// variable.
pub fn resolve(args: &TelemetryArgs) -> Result<ExportConfig, String> {
    check_protocol(&args.otlp_protocol)?;
    let traces_endpoint = endpoint(
        &args.traces_exporter,
        "--traces-exporter/OTEL_TRACES_EXPORTER",
        args.otlp_traces_endpoint.as_deref(),
        args.otlp_endpoint.as_deref(),
        "v1/traces",
    )?;
    let metrics_endpoint = endpoint(
        &args.metrics_exporter,
        "--metrics-exporter/OTEL_METRICS_EXPORTER",
        args.otlp_metrics_endpoint.as_deref(),
        args.otlp_endpoint.as_deref(),
        "v1/metrics",
    )?;
    let resource_attributes = match &args.resource_attributes {
        Some(text) => parse_resource_attributes(text)?,
        None => Vec::new(),
    };
    let analytics = args.analytics_log.as_ref().map(|target| {
        if target.as_os_str() == "-" {
            AnalyticsTarget::Stdout
        } else {
            AnalyticsTarget::File(target.clone())
        }
    });
    Ok(ExportConfig {
        traces_endpoint,
        metrics_endpoint,
        service_name: args.service_name.clone(),
        resource_attributes,
        sampler: sampler(&args.traces_sampler, args.traces_sampler_arg.as_deref())?,
        analytics,
    })
}

fn check_protocol(protocol: &str) -> Result<(), String> {
    match protocol {
        HTTP_PROTOBUF => Ok(()),
        "grpc" => Err(
            "--otlp-protocol/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported by this build; \
             use http/protobuf and the collector's OTLP/HTTP port (usually 4318)"
                .to_string(),
        ),
        other => Err(format!(
            "--otlp-protocol/OTEL_EXPORTER_OTLP_PROTOCOL: '{other}' is not supported; use {HTTP_PROTOBUF}"
        )),
    }
}

/// A signal's URL: its own endpoint as given, else the base endpoint with the signal's path
/// appended (the specification's rule for OTLP/HTTP), else none.
fn endpoint(
    exporter: &str,
    exporter_flag: &str,
    signal: Option<&str>,
    base: Option<&str>,
    path: &str,
) -> Result<Option<String>, String> {
    match exporter {
        "none" => return Ok(None),
        "otlp" => {}
        other => {
            return Err(format!(
                "{exporter_flag}: '{other}' is not supported; use otlp or none"
            ))
        }
    }
    let url = match (signal, base) {
        (Some(signal), _) => signal.to_string(),
        (None, Some(base)) => format!("{}/{path}", base.trim_end_matches('/')),
        (None, None) => return Ok(None),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "OTLP endpoint '{url}' must be an http:// or https:// URL"
        ));
    }
    Ok(Some(url))
}

/// The specification's `OTEL_TRACES_SAMPLER` values, with `OTEL_TRACES_SAMPLER_ARG` as the
/// ratio of the `traceidratio` ones (default 1.0).
fn sampler(name: &str, arg: Option<&str>) -> Result<Sampler, String> {
    let ratio = || -> Result<f64, String> {
        match arg {
            None => Ok(1.0),
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!(
                        "--traces-sampler-arg/OTEL_TRACES_SAMPLER_ARG: '{text}' is not a ratio between 0 and 1"
                    )
                }),
        }
    };
    Ok(match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        other => {
            return Err(format!(
                "--traces-sampler/OTEL_TRACES_SAMPLER: '{other}' is not supported; use always_on, \
                 always_off, traceidratio, parentbased_always_on, parentbased_always_off or \
                 parentbased_traceidratio"
            ))
        }
    })
}

/// `key1=value1,key2=value2`, values percent-decoded (the specification's format).
fn parse_resource_attributes(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                format!("--resource-attributes/OTEL_RESOURCE_ATTRIBUTES: '{pair}' is not key=value")
            })?;
            Ok((key.trim().to_string(), percent_decode(value.trim())))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> TelemetryArgs {
        TelemetryArgs {
            otlp_endpoint: None,
            otlp_traces_endpoint: None,
            otlp_metrics_endpoint: None,
            otlp_protocol: HTTP_PROTOBUF.to_string(),
            traces_exporter: "otlp".to_string(),
            metrics_exporter: "otlp".to_string(),
            service_name: "ai-gateway".to_string(),
            resource_attributes: None,
            traces_sampler: "parentbased_always_on".to_string(),
            traces_sampler_arg: None,
            analytics_log: None,
        }
    }

    #[test]
    fn nothing_configured_exports_nothing() {
        let config = resolve(&args()).unwrap();
        assert_eq!(config.traces_endpoint, None);
        assert_eq!(config.metrics_endpoint, None);
        assert_eq!(config.analytics, None);
    }

    #[test]
    fn the_base_endpoint_gets_each_signals_path_and_signal_endpoints_win() {
        let mut a = args();
        a.otlp_endpoint = Some("http://127.0.0.1:4318/".into());
        let config = resolve(&a).unwrap();
        assert_eq!(
            config.traces_endpoint.as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            config.metrics_endpoint.as_deref(),
            Some("http://127.0.0.1:4318/v1/metrics")
        );
        a.otlp_traces_endpoint = Some("https://collector/custom".into());
        a.metrics_exporter = "none".into();
        let config = resolve(&a).unwrap();
        assert_eq!(
            config.traces_endpoint.as_deref(),
            Some("https://collector/custom")
        );
        assert_eq!(config.metrics_endpoint, None);
    }

    #[test]
    fn grpc_and_unknown_values_are_refused_with_the_flag_named() {
        let mut a = args();
        a.otlp_endpoint = Some("http://127.0.0.1:4317".into());
        a.otlp_protocol = "grpc".into();
        let error = resolve(&a).unwrap_err();
        assert!(
            error.starts_with("--otlp-protocol/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported"),
            "{error}"
        );
        let mut a = args();
        a.otlp_endpoint = Some("127.0.0.1:4318".into());
        assert_eq!(
            resolve(&a).unwrap_err(),
            "OTLP endpoint '127.0.0.1:4318/v1/traces' must be an http:// or https:// URL"
        );
        let mut a = args();
        a.traces_sampler = "jaeger_remote".into();
        assert!(resolve(&a)
            .unwrap_err()
            .contains("'jaeger_remote' is not supported"));
        let mut a = args();
        a.traces_sampler = "traceidratio".into();
        a.traces_sampler_arg = Some("1.5".into());
        assert!(resolve(&a).unwrap_err().contains("'1.5' is not a ratio"));
    }

    #[test]
    fn samplers_follow_the_specification() {
        let mut a = args();
        a.traces_sampler = "parentbased_traceidratio".into();
        a.traces_sampler_arg = Some("0.25".into());
        let sampler = resolve(&a).unwrap().sampler;
        assert_eq!(
            format!("{sampler:?}"),
            format!(
                "{:?}",
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25)))
            )
        );
        a.traces_sampler = "always_off".into();
        assert!(matches!(resolve(&a).unwrap().sampler, Sampler::AlwaysOff));
    }

    #[test]
    fn resource_attributes_are_decoded_pairs() {
        let mut a = args();
        a.resource_attributes = Some("deployment.environment=prod, team=ai%20platform".into());
        assert_eq!(
            resolve(&a).unwrap().resource_attributes,
            vec![
                ("deployment.environment".to_string(), "prod".to_string()),
                ("team".to_string(), "ai platform".to_string()),
            ]
        );
        a.resource_attributes = Some("novalue".into());
        assert!(resolve(&a)
            .unwrap_err()
            .contains("'novalue' is not key=value"));
    }

    #[test]
    fn a_dash_sends_analytics_to_stdout() {
        let mut a = args();
        a.analytics_log = Some(PathBuf::from("-"));
        assert_eq!(
            resolve(&a).unwrap().analytics,
            Some(AnalyticsTarget::Stdout)
        );
        a.analytics_log = Some(PathBuf::from("/var/log/ai.jsonl"));
        assert_eq!(
            resolve(&a).unwrap().analytics,
            Some(AnalyticsTarget::File(PathBuf::from("/var/log/ai.jsonl")))
        );
    }
}
