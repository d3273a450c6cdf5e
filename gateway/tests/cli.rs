//! The command line as a user meets it. Being an integration test of this package, it also makes
//! `cargo test --workspace` build the `ai-gateway` binary that the end-to-end tests in `tests/`
//! start.

// Helpers here run only inside tests, where a failed expect is a failed test.
#![allow(clippy::expect_used)]

use std::process::Command;

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ai-gateway"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = gateway().args(args).output().expect("run ai-gateway");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_help_documents_every_flag_and_its_environment_variable() {
    let (code, out, _) = run(&["serve", "--help"]);
    assert_eq!(code, 0);
    for (flag, env) in [
        ("--config", "AI_GATEWAY_CONFIG"),
        ("--providers", "AI_GATEWAY_PROVIDERS"),
        ("--listen", "AI_GATEWAY_LISTEN"),
        ("--admin-listen", "AI_GATEWAY_ADMIN_LISTEN"),
        ("--workers", "AI_GATEWAY_WORKERS"),
        ("--log-level", "AI_GATEWAY_LOG"),
        ("--otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        (
            "--otlp-traces-endpoint",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ),
        (
            "--otlp-metrics-endpoint",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        ),
        ("--otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ("--traces-exporter", "OTEL_TRACES_EXPORTER"),
        ("--metrics-exporter", "OTEL_METRICS_EXPORTER"),
        ("--service-name", "OTEL_SERVICE_NAME"),
        ("--resource-attributes", "OTEL_RESOURCE_ATTRIBUTES"),
        ("--traces-sampler", "OTEL_TRACES_SAMPLER"),
        ("--traces-sampler-arg", "OTEL_TRACES_SAMPLER_ARG"),
        ("--analytics-log", "AI_GATEWAY_ANALYTICS_LOG"),
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
        assert!(out.contains(env), "{env} missing from:\n{out}");
    }
}

#[test]
fn serve_refuses_an_otlp_protocol_it_does_not_speak() {
    let (code, out, err) = run(&[
        "serve",
        "--config",
        "/nonexistent/kong.yaml",
        "--otlp-endpoint",
        "http://127.0.0.1:4317",
        "--otlp-protocol",
        "grpc",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err.trim_end(),
        "error: --otlp-protocol/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported by this \
         build; use http/protobuf and the collector's OTLP/HTTP port (usually 4318)"
    );
}

#[test]
fn top_level_help_lists_the_subcommands() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in ["serve", "check", "providers"] {
        assert!(out.contains(sub), "{sub} missing from:\n{out}");
    }
}

#[test]
fn providers_in_an_empty_directory_lists_nothing() {
    let dir = std::env::temp_dir().join(format!("ai-gateway-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, out, err) = run(&["providers", "--providers", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn providers_in_a_missing_directory_fails_naming_it() {
    let (code, _, err) = run(&["providers", "--providers", "/nonexistent/providers"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error: ") && err.contains("/nonexistent/providers"),
        "{err}"
    );
}

#[test]
fn check_of_a_missing_config_file_fails_with_the_path() {
    let dir = std::env::temp_dir().join(format!("ai-gateway-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, _, err) = run(&[
        "check",
        "--config",
        "/nonexistent/gateway.yaml",
        "--providers",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/gateway.yaml"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
