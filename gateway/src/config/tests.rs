//! Loading whole files: the shipped examples, and one test per validation rule.

use std::path::PathBuf;
use std::time::Duration;

use provider_sdk::abi::RouteType;
use serde_json::json;

use super::*;

fn example(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../config")
        .join(relative)
}

fn deck_env(name: &str) -> Option<String> {
    (name == "DECK_OPENAI_API_KEY").then(|| "sk-test".to_owned())
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> GatewayConfig {
    load_str(text, "test.yaml", &no_env).unwrap_or_else(|errors| panic!("{errors}"))
}

fn errors_of(text: &str) -> Vec<String> {
    match load_str(text, "test.yaml", &no_env) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// A file with one service, one route `r` and one `ai-proxy` plugin whose `config` is
/// `config_yaml`.
fn with_plugin_config(config_yaml: &str) -> String {
    let mut text = String::from(
        "_format_version: \"3.0\"\nservices:\n- name: svc\n  host: localhost\n  routes:\n  \
         - name: r\n    paths: [/r]\n    plugins:\n    - name: ai-proxy\n      config:\n",
    );
    for line in config_yaml.lines() {
        text.push_str("        ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

const CONFIG_PATH: &str = "services[0].routes[0].plugins[0].config";

fn config_errors(config_yaml: &str) -> Vec<String> {
    errors_of(&with_plugin_config(config_yaml))
}

fn config_error(field: &str, message: &str) -> String {
    if field.is_empty() {
        format!("{CONFIG_PATH}: {message}")
    } else {
        format!("{CONFIG_PATH}.{field}: {message}")
    }
}

fn ai_proxy_of(config_yaml: &str) -> AiProxyConfig {
    let config = load(&with_plugin_config(config_yaml));
    config.routes[0].ai_proxy.clone().unwrap()
}

#[test]
fn the_seed_example_loads_unchanged() {
    let config = load_file(&example("examples/ai-proxy.yaml"), &deck_env).unwrap();

    assert_eq!(
        config.services,
        [Service {
            name: "service1".to_owned(),
            protocol: Protocol::Http,
            host: "localhost".to_owned(),
            port: 32000,
            path: None,
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            retries: 5,
            tls_verify: None,
            enabled: true,
        }]
    );
    let [ollama, openai] = &config.routes[..] else {
        panic!("expected two routes, got {:?}", config.routes);
    };

    assert_eq!(ollama.name, "ollama-route");
    assert_eq!(ollama.config_path, "services[0].routes[0]");
    assert!(matches!(&ollama.paths[..], [RoutePath::Prefix(p)] if p == "/ollama-route"));
    assert!(ollama.strip_path);
    let ollama_proxy = ollama.ai_proxy.as_ref().unwrap();
    assert_eq!(
        ollama_proxy.instance_name.as_deref(),
        Some("ai-proxy-ollama")
    );
    assert_eq!(ollama_proxy.route_type, RouteType::CHAT);
    assert_eq!(ollama_proxy.model.provider, "llama2");
    assert_eq!(ollama_proxy.model.name.as_deref(), Some("llama3.2:1b"));
    assert_eq!(
        ollama_proxy.model.options,
        json!({"llama2_format": "ollama", "upstream_url": "http://ollama.ollama:11434/api/chat"})
    );
    assert_eq!(ollama_proxy.auth, AuthConfig::default());

    let openai_proxy = openai.ai_proxy.as_ref().unwrap();
    assert_eq!(
        openai_proxy.auth.header_name.as_deref(),
        Some("Authorization")
    );
    assert_eq!(
        openai_proxy.auth.header_value.as_deref(),
        Some("Bearer sk-test")
    );
    assert_eq!(openai_proxy.model.name.as_deref(), Some("gpt-5"));
    assert_eq!(openai_proxy.model.options, json!({"temperature": 1.0}));
    assert_eq!(
        openai_proxy.config_path,
        "services[0].routes[1].plugins[0].config"
    );
    assert_eq!(openai_proxy.max_request_body_size, 8 * 1024 * 1024);
    assert!(openai_proxy.model_name_header);
    assert_eq!(openai_proxy.response_streaming, StreamingPolicy::Allow);
    assert_eq!(openai_proxy.llm_format, LlmFormat::OpenAi);
    assert_eq!(openai_proxy.logging, LoggingConfig::default());
    assert!(!openai_proxy.model.has_templates());
}

#[test]
fn the_seed_example_names_its_missing_variable_and_line() {
    let errors = load_file(&example("examples/ai-proxy.yaml"), &no_env).unwrap_err();
    let path = example("examples/ai-proxy.yaml").display().to_string();
    assert_eq!(
        errors.to_string(),
        format!("{path}:36: environment variable 'DECK_OPENAI_API_KEY' is not set")
    );
}

#[test]
fn the_bedrock_seed_example_loads_unchanged() {
    let config = load_file(&example("examples/ai-proxy-bedrock.yaml"), &no_env).unwrap();
    let proxy = config.routes[0].ai_proxy.as_ref().unwrap();
    assert_eq!(config.routes[0].name, "route1");
    assert_eq!(proxy.model.provider, "bedrock");
    assert_eq!(
        proxy.model.name.as_deref(),
        Some("us.amazon.nova-micro-v1:0")
    );
    assert_eq!(
        proxy.model.options,
        json!({"bedrock": {"aws_region": "us-west-2"}})
    );
    assert_eq!(proxy.auth.param_name.as_deref(), Some("allow_override"));
    assert_eq!(proxy.auth.param_value.as_deref(), Some("false"));
    assert_eq!(proxy.auth.param_location, Some(ParamLocation::Body));
    assert!(!proxy.auth.allow_override);
}

#[test]
fn the_quickstart_loads_without_any_environment() {
    let config = load_file(&example("quickstart.yaml"), &no_env).unwrap();
    let summary: Vec<(&str, RouteType, bool)> = config
        .routes
        .iter()
        .map(|route| {
            let proxy = route.ai_proxy.as_ref().unwrap();
            assert_eq!(proxy.auth, AuthConfig::default(), "{}", route.name);
            assert_eq!(proxy.model.name, None, "{}", route.name);
            (
                route.name.as_str(),
                proxy.route_type,
                proxy.model.has_templates(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("openai-chat", RouteType::CHAT, false),
            ("openai-completions", RouteType::COMPLETIONS, false),
            ("openai-embeddings", RouteType::EMBEDDINGS, false),
            ("openai-passthrough", RouteType::PRESERVE, true),
        ]
    );
    assert_eq!(config.services[0].protocol, Protocol::Https);
    assert_eq!(config.services[0].port, 443);
    assert_eq!(config.services[0].read_timeout, Duration::from_secs(120));
}

#[test]
fn the_quickstart_routes_and_resolves_its_passthrough_path() {
    let config = load_file(&example("quickstart.yaml"), &no_env).unwrap();
    let router = crate::router::Router::new(&config);
    let name_for = |method: &str, path: &str| {
        router
            .find(method, Some("localhost:8000"), path)
            .map(|found| config.routes[found.route].name.clone())
    };
    assert_eq!(
        name_for("POST", "/openai/v1/chat/completions").as_deref(),
        Some("openai-chat")
    );
    assert_eq!(
        name_for("POST", "/openai/v1/embeddings").as_deref(),
        Some("openai-embeddings")
    );
    assert_eq!(name_for("GET", "/openai/v1/chat/completions"), None);
    assert_eq!(name_for("GET", "/elsewhere"), None);

    let found = router
        .find("GET", None, "/openai/v1/models/gpt-4o")
        .unwrap();
    let proxy = config.routes[found.route].ai_proxy.as_ref().unwrap();
    let headers: &[(&str, &str)] = &[];
    let context = crate::template::TemplateContext {
        headers,
        uri_captures: &found.captures,
        query: "",
    };
    let model = crate::template::resolve_model(&proxy.model, &context).unwrap();
    assert_eq!(model.options, json!({"upstream_path": "/v1/models/gpt-4o"}));
}

#[test]
fn the_openai_example_loads() {
    let config = load_file(&example("examples/openai.yaml"), &deck_env).unwrap();
    let chat = config.routes[0].ai_proxy.as_ref().unwrap();
    assert_eq!(chat.model.name.as_deref(), Some("gpt-4o-mini"));
    assert!(chat.logging.log_statistics);
    assert_eq!(chat.auth.header_value.as_deref(), Some("Bearer sk-test"));
    assert_eq!(config.routes[0].methods, ["POST"]);
    let any_model = config.routes[1].ai_proxy.as_ref().unwrap();
    assert!(any_model.model.has_templates());
}

#[test]
fn the_brief_example_paths_are_reported() {
    let text = r#"
_format_version: "3.0"
services:
- name: s
  host: h
  routes:
  - name: a
    paths: [/a]
  - name: b
    paths: [/b]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth:
          header_name: Authorization
        model: {}
"#;
    assert_eq!(
        errors_of(text),
        [
            "services[0].routes[1].plugins[0].config.auth: all or none of these fields must be set: 'auth.header_name', 'auth.header_value'",
            "services[0].routes[1].plugins[0].config.model.provider: required field missing",
        ]
    );
}

#[test]
fn every_error_is_collected() {
    let text = r#"
_format_version: "3.0"
foo: 1
services:
- name: s
  port: 99999
  routes:
  - paths: [relative]
    plugins:
    - name: key-auth
  - name: matches-nothing
"#;
    assert_eq!(
        errors_of(text),
        [
            "foo: unknown field",
            "services[0].host: required field missing",
            "services[0].port: value should be between 0 and 65535",
            "services[0].routes[0].paths[0]: should start with: / (fixed path) or ~/ (regex path)",
            "services[0].routes[0].plugins[0].name: unknown plugin 'key-auth'",
            "services[0].routes[1]: must set one of 'methods', 'hosts', 'headers', 'paths'",
        ]
    );
}

#[test]
fn format_version_is_required_and_checked() {
    let minimal = "services: []\n";
    assert_eq!(
        errors_of(minimal),
        ["_format_version: required field missing"]
    );
    assert_eq!(
        errors_of("_format_version: \"2.0\"\n"),
        ["_format_version: expected one of: 1.1, 2.1, 3.0"]
    );
    assert_eq!(
        errors_of("_format_version: 3.0\n"),
        ["_format_version: expected a string: quote the version, as in _format_version: \"3.0\""]
    );
    let empty = load("_format_version: \"3.0\"\n_transform: true\n");
    assert!(empty.services.is_empty() && empty.routes.is_empty());
}

#[test]
fn konnect_metadata_is_ignored_but_info_defaults_are_refused() {
    load(
        "_format_version: \"3.0\"\n_konnect: {control_plane_name: x}\n_info: {select_tags: [a]}\n",
    );
    assert_eq!(
        errors_of("_format_version: \"3.0\"\n_info:\n  defaults: {route: {strip_path: false}}\n"),
        ["_info.defaults: field is not supported by this gateway"]
    );
}

#[test]
fn unsupported_top_level_entities_and_global_plugins_are_errors() {
    assert_eq!(
        errors_of("_format_version: \"3.0\"\nconsumers: []\nplugins:\n- name: ai-proxy\n"),
        [
            "consumers: field is not supported by this gateway",
            "plugins[0]: global plugins are not supported yet: put the plugin under a service or a route",
        ]
    );
    load("_format_version: \"3.0\"\nplugins: []\n");
}

#[test]
fn empty_and_malformed_files_are_reported() {
    assert_eq!(
        errors_of(""),
        ["test.yaml: the file holds no configuration"]
    );
    let errors = errors_of("_format_version: \"3.0\"\nservices: [\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("test.yaml: invalid YAML: "),
        "{errors:?}"
    );
    let unreadable = load_file(&example("does-not-exist.yaml"), &no_env).unwrap_err();
    assert!(
        unreadable.to_string().contains("cannot read the file"),
        "{unreadable}"
    );
}

#[test]
fn service_fields_are_validated() {
    let text = "_format_version: \"3.0\"\nservices:\n\
                - name: bad name\n  host: 'a b'\n  protocol: grpc\n  path: v1\n  retries: -1\n  \
                read_timeout: 0\n  client_certificate: x\n  colour: red\n\
                - host: h\n\
                - name: u\n  url: http://h:1/p\n  port: 80\n\
                - name: q\n  url: ftp://h\n";
    assert_eq!(
        errors_of(text),
        [
            "services[0].client_certificate: field is not supported by this gateway",
            "services[0].colour: unknown field",
            "services[0].name: invalid value 'bad name': it must only contain alphanumeric and '., -, _, ~' characters",
            "services[0].protocol: expected one of: http, https",
            "services[0].host: invalid hostname: a b",
            "services[0].path: should start with: / (got 'v1')",
            "services[0].retries: value should be between 0 and 32767",
            "services[0].read_timeout: value should be between 1 and 2147483646",
            "services[1].name: required field missing",
            "services[2].url: url is a shorthand for protocol, host, port and path: give either url or those fields",
            "services[3].url: invalid URL 'ftp://h': the scheme must be http or https",
        ]
    );
}

#[test]
fn service_url_shorthand_and_defaults() {
    let config = load(
        "_format_version: \"3.0\"\nservices:\n\
         - name: a\n  url: https://api.example.com/base\n\
         - name: b\n  url: http://10.0.0.1:8080\n  retries: 0\n  connect_timeout: 1500\n  tls_verify: true\n\
         - id: 6f1a\n  host: h\n  protocol: https\n",
    );
    let [a, b, c] = &config.services[..] else {
        panic!("expected three services");
    };
    assert_eq!(
        (a.protocol, a.host.as_str(), a.port),
        (Protocol::Https, "api.example.com", 443)
    );
    assert_eq!(a.path.as_deref(), Some("/base"));
    assert_eq!((b.port, b.retries, b.tls_verify), (8080, 0, Some(true)));
    assert_eq!(b.connect_timeout, Duration::from_millis(1500));
    assert_eq!((c.name.as_str(), c.port), ("6f1a", 443));
}

#[test]
fn duplicate_names_are_errors() {
    let text = "_format_version: \"3.0\"\nservices:\n\
                - name: s\n  host: h\n  routes:\n  - name: r\n    paths: [/a]\n  - name: r\n    paths: [/b]\n\
                - name: s\n  host: h\n";
    assert_eq!(
        errors_of(text),
        [
            "services[0].routes[1].name: route name 'r' is already used by services[0].routes[0]",
            "services[1].name: service name 's' is already used by services[0]",
        ]
    );
}

#[test]
fn route_fields_are_validated() {
    let text = r#"
_format_version: "3.0"
services:
- name: s
  host: h
  routes:
  - paths: ['~/(?<m[^/]+)']
    methods: [get]
    hosts: ['a.*.com']
    protocols: [grpc]
    https_redirect_status_code: 200
    path_handling: v2
    snis: [x]
  - paths: [/h]
    headers: {x-team: [a]}
"#;
    assert_eq!(
        errors_of(text),
        [
            "services[0].routes[0].snis: field is not supported by this gateway",
            "services[0].routes[0].path_handling: expected one of: v0, v1",
            "services[0].routes[0].paths[0]: invalid regex: '/(?<m[^/]+)' (invalid capture group character)",
            "services[0].routes[0].methods[0]: invalid value: 'get': a method must be upper-case letters",
            "services[0].routes[0].hosts[0]: invalid wildcard: must be placed at leftmost or rightmost label",
            "services[0].routes[0].protocols[0]: expected one of: http, https",
            "services[0].routes[0].https_redirect_status_code: expected one of: 426, 301, 302, 307, 308",
            "services[0].routes[1].headers: matching on headers is not supported yet",
        ]
    );
}

#[test]
fn route_defaults_and_names() {
    let config = load(
        r#"
_format_version: "3.0"
services:
- name: s
  host: h
  routes:
  - paths: [/a]
- name: t
  host: h
  routes:
  - paths: [/b]
    strip_path: false
    regex_priority: 3
    protocols: [https]
    methods: [POST, GET]
    hosts: ['*.example.com']
"#,
    );
    let [first, second] = &config.routes[..] else {
        panic!("expected two routes");
    };
    assert_eq!(first.name, "s.0");
    assert_eq!(first.protocols, [Protocol::Http, Protocol::Https]);
    assert_eq!(first.https_redirect_status_code, 426);
    assert!(first.ai_proxy.is_none());
    assert_eq!(second.name, "t.0");
    assert_eq!(second.service, 1);
    assert!(!second.strip_path);
    assert_eq!(second.regex_priority, 3);
    assert_eq!(second.protocols, [Protocol::Https]);
    assert_eq!(second.methods, ["POST", "GET"]);
    assert_eq!(second.hosts[0].as_str(), "*.example.com");
}

#[test]
fn top_level_routes_name_their_service() {
    let text = "_format_version: \"3.0\"\nservices:\n\
                - name: s\n  host: h\n  routes:\n  - paths: [/nested]\n  plugins:\n  - name: ai-proxy\n    \
                config: {route_type: llm/v1/chat, model: {provider: openai}}\n\
                routes:\n- paths: [/by-name]\n  service: s\n\
                - name: by-record\n  paths: [/by-record]\n  service: {name: s}\n";
    let config = load(text);
    let names: Vec<&str> = config
        .routes
        .iter()
        .map(|route| route.name.as_str())
        .collect();
    assert_eq!(names, ["s.0", "s.1", "by-record"]);
    assert_eq!(config.routes[1].config_path, "routes[0]");
    assert!(config.routes.iter().all(|route| route.ai_proxy.is_some()));

    let missing =
        "_format_version: \"3.0\"\nroutes:\n- paths: [/a]\n- paths: [/b]\n  service: nope\n\
                   - paths: [/c]\n  service: {}\n";
    assert_eq!(
        errors_of(missing),
        [
            "routes[0].service: required field missing",
            "routes[1].service: service 'nope' is not defined in this file",
            "routes[2].service: at least one of these fields must be non-empty: 'name', 'id'",
        ]
    );
}

#[test]
fn a_route_plugin_overrides_its_service_plugin() {
    let text = r#"
_format_version: "3.0"
services:
- name: s
  host: h
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: openai, name: from-service}}
  routes:
  - name: inherits
    paths: [/a]
  - name: overrides
    paths: [/b]
    plugins:
    - name: ai-proxy
      config: {route_type: llm/v1/chat, model: {provider: openai, name: from-route}}
  - name: disabled-own
    paths: [/c]
    plugins:
    - name: ai-proxy
      enabled: false
      config: {route_type: llm/v1/chat, model: {provider: openai, name: off}}
"#;
    let config = load(text);
    let model_of = |index: usize| {
        config.routes[index]
            .ai_proxy
            .as_ref()
            .and_then(|proxy| proxy.model.name.clone())
    };
    assert_eq!(model_of(0).as_deref(), Some("from-service"));
    assert_eq!(model_of(1).as_deref(), Some("from-route"));
    assert_eq!(model_of(2).as_deref(), Some("from-service"));
    assert_eq!(
        config.routes[0]
            .ai_proxy
            .as_ref()
            .map(|proxy| proxy.config_path.as_str()),
        Some("services[0].plugins[0].config")
    );
}

#[test]
fn routes_of_a_disabled_service_are_left_out() {
    let config = load(
        "_format_version: \"3.0\"\nservices:\n- name: off\n  host: h\n  enabled: false\n  routes:\n  \
         - paths: [/off]\n- name: on\n  host: h\n  routes:\n  - paths: [/on]\n",
    );
    assert_eq!(config.services.len(), 2);
    assert!(!config.services[0].enabled);
    assert_eq!(config.routes.len(), 1);
    assert_eq!(config.routes[0].service, 1);
}

#[test]
fn legacy_format_versions_read_regex_looking_paths_as_regexes() {
    let config = load(
        "_format_version: \"1.1\"\nservices:\n- name: s\n  host: h\n  routes:\n  \
         - paths: ['/models/(?<model>[^/]+)', /plain-path]\n",
    );
    assert!(matches!(config.routes[0].paths[0], RoutePath::Regex { .. }));
    assert!(matches!(config.routes[0].paths[1], RoutePath::Prefix(_)));
}

#[test]
fn ai_proxy_defaults() {
    let proxy = ai_proxy_of("route_type: preserve\nmodel:\n  provider: my-provider\n");
    assert_eq!(proxy.route_type, RouteType::PRESERVE);
    assert_eq!(proxy.model.provider, "my-provider");
    assert_eq!(proxy.model.name, None);
    assert_eq!(proxy.model.options, json!({}));
    assert_eq!(proxy.max_request_body_size, DEFAULT_MAX_REQUEST_BODY_SIZE);
    assert!(proxy.model_name_header);
    assert_eq!(proxy.response_streaming, StreamingPolicy::Allow);
    assert_eq!(proxy.llm_format, LlmFormat::OpenAi);
    assert_eq!(proxy.logging, LoggingConfig::default());
    assert!(!proxy.auth.allow_override && !proxy.auth.gcp_use_service_account);
}

#[test]
fn ai_proxy_fields_are_read() {
    let proxy = ai_proxy_of(
        "route_type: llm/v1/embeddings\nresponse_streaming: always\nmax_request_body_size: 1024\n\
         model_name_header: false\nlogging: {log_statistics: true, log_payloads: true}\n\
         auth: {param_name: key, param_value: v, param_location: query, allow_override: true}\n\
         model: {provider: gemini-compatible, name: m, options: {custom_option: [1, 2]}}\n",
    );
    assert_eq!(proxy.route_type, RouteType::EMBEDDINGS);
    assert_eq!(proxy.response_streaming, StreamingPolicy::Always);
    assert_eq!(proxy.max_request_body_size, 1024);
    assert!(!proxy.model_name_header);
    assert_eq!(
        proxy.logging,
        LoggingConfig {
            log_statistics: true,
            log_payloads: true
        }
    );
    assert_eq!(proxy.auth.param_location, Some(ParamLocation::Query));
    assert!(proxy.auth.allow_override);
    assert_eq!(proxy.model.options, json!({"custom_option": [1, 2]}));
}

#[test]
fn required_config_fields() {
    assert_eq!(
        config_errors("{}"),
        [
            config_error("route_type", "required field missing"),
            config_error("model", "required field missing"),
        ]
    );
    assert_eq!(
        config_errors("route_type: llm/v1/images\nmodel: {provider: openai}\nextra: 1\n"),
        [
            config_error("extra", "unknown field"),
            config_error(
                "route_type",
                "expected one of: llm/v1/chat, llm/v1/completions, llm/v1/embeddings, preserve"
            ),
        ]
    );
    assert_eq!(
        config_errors("route_type: llm/v1/chat\nmodel: {provider: openai, options: [1]}\n"),
        [config_error("model.options", "expected a record")]
    );
}

#[test]
fn a_plugin_without_config_names_the_required_fields() {
    let text = "_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  routes:\n  - paths: [/a]\n    \
                plugins:\n    - name: ai-proxy\n";
    assert_eq!(
        errors_of(text),
        [
            format!("{CONFIG_PATH}.route_type: required field missing"),
            format!("{CONFIG_PATH}.model: required field missing"),
        ]
    );
}

#[test]
fn auth_groups_are_all_or_none() {
    assert_eq!(
        config_errors(
            "route_type: llm/v1/chat\nmodel: {provider: openai}\n\
             auth: {header_value: x, param_name: k, param_location: cookie}\n"
        ),
        [
            config_error("auth.param_location", "expected one of: query, body"),
            config_error(
                "auth",
                "all or none of these fields must be set: 'auth.header_name', 'auth.header_value'"
            ),
            config_error(
                "auth",
                "all or none of these fields must be set: 'auth.param_name', 'auth.param_value', 'auth.param_location'"
            ),
        ]
    );
}

#[test]
fn auth_rejects_vault_references_and_unsupported_identity_fields() {
    assert_eq!(
        config_errors(
            "route_type: llm/v1/chat\nmodel: {provider: openai}\n\
             auth: {header_name: a, header_value: '{vault://env/key}', azure_use_managed_identity: true}\n"
        ),
        [
            config_error("auth.azure_use_managed_identity", "field is not supported by this gateway"),
            config_error(
                "auth.header_value",
                "vault references are not supported; use ${{ env \"NAME\" }} instead"
            ),
        ]
    );
}

#[test]
fn auth_debug_output_hides_secrets() {
    let proxy = ai_proxy_of(
        "route_type: llm/v1/chat\nmodel: {provider: bedrock}\n\
         auth: {header_name: Authorization, header_value: Bearer sk-secret-1, param_name: k, \
         param_value: secret-2, param_location: body, aws_access_key_id: AKIA1, \
         aws_secret_access_key: secret-3, gcp_service_account_json: secret-4}\n",
    );
    let debug = format!("{:?}", proxy);
    for secret in ["sk-secret-1", "secret-2", "secret-3", "secret-4"] {
        assert!(!debug.contains(secret), "{secret} leaked in {debug}");
    }
    assert!(
        debug.contains("Authorization") && debug.contains("AKIA1"),
        "{debug}"
    );
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn provider_specific_options_are_required() {
    let cases = [
        (
            "anthropic",
            vec!["must set 'model.options.anthropic_version' for anthropic provider"],
        ),
        (
            "azure",
            vec![
                "must set 'model.options.azure_instance' for azure provider",
                "must set 'model.options.azure_deployment_id' for azure provider",
            ],
        ),
        (
            "llama2",
            vec![
                "must set 'model.options.llama2_format' for llama2 provider",
                "must set 'model.options.upstream_url' for self-hosted providers/models",
            ],
        ),
        (
            "mistral",
            vec!["must set 'model.options.mistral_format' for mistral provider"],
        ),
    ];
    for (provider, messages) in cases {
        let expected: Vec<String> = messages
            .into_iter()
            .map(|message| config_error("model.options", message))
            .collect();
        assert_eq!(
            config_errors(&format!(
                "route_type: llm/v1/chat\nmodel: {{provider: {provider}}}\n"
            )),
            expected,
            "{provider}"
        );
    }
    ai_proxy_of(
        "route_type: llm/v1/chat\nmodel:\n  provider: azure\n  options: {azure_instance: i, azure_deployment_id: d}\n",
    );
}

#[test]
fn bedrock_and_gemini_refuse_allow_override() {
    for provider in ["bedrock", "gemini"] {
        assert_eq!(
            config_errors(&format!(
                "route_type: llm/v1/chat\nmodel: {{provider: {provider}}}\nauth: {{allow_override: true}}\n"
            )),
            [config_error(
                "auth.allow_override",
                "bedrock and gemini only support auth.allow_override = false"
            )]
        );
    }
}

#[test]
fn anthropic_completions_cannot_log_statistics() {
    assert_eq!(
        config_errors(
            "route_type: llm/v1/completions\nlogging: {log_statistics: true}\n\
             model: {provider: anthropic, options: {anthropic_version: '2023-06-01'}}\n"
        ),
        [config_error(
            "logging.log_statistics",
            "anthropic does not support statistics when route_type is llm/v1/completions"
        )]
    );
}

#[test]
fn native_llm_formats_need_chat_and_their_own_provider() {
    assert_eq!(
        config_errors("route_type: llm/v1/completions\nllm_format: gemini\nmodel: {provider: openai}\n"),
        [
            config_error(
                "llm_format",
                "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type"
            ),
            config_error(
                "llm_format",
                "native llm_format 'gemini' can only be used with the 'gemini' model.provider"
            ),
        ]
    );
    assert_eq!(
        config_errors("route_type: llm/v1/chat\nllm_format: cohere\nmodel: {provider: cohere}\n"),
        [config_error(
            "llm_format",
            "expected one of: openai, bedrock, gemini"
        )]
    );
    let native =
        ai_proxy_of("route_type: llm/v1/chat\nllm_format: bedrock\nmodel: {provider: bedrock}\n");
    assert_eq!(native.llm_format, LlmFormat::Bedrock);
}

#[test]
fn plugin_level_values_are_range_checked() {
    assert_eq!(
        config_errors(
            "route_type: llm/v1/chat\nmodel: {provider: openai}\nmax_request_body_size: 0\n\
             response_streaming: sometimes\nmodel_name_header: 'yes'\n"
        ),
        [
            config_error("response_streaming", "expected one of: allow, deny, always"),
            config_error("max_request_body_size", "value must be greater than 0"),
            config_error("model_name_header", "expected a boolean"),
        ]
    );
}

#[test]
fn kong_model_options_are_type_and_range_checked() {
    let errors = config_errors(
        "route_type: llm/v1/chat\nmodel:\n  provider: openai\n  options:\n    \
         temperature: 5.5\n    top_p: -0.1\n    top_k: 501\n    input_cost: 0\n    output_cost: -1\n    \
         max_tokens: 1.5\n    llama2_format: gguf\n    mistral_format: raw\n    upstream_url: not-a-url\n    \
         anthropic_version: 2023\n    gemini: {api_endpoint: e}\n    bedrock: {aws_region: 1}\n    \
         huggingface: {use_cache: 'no'}\n    my_option: anything\n",
    );
    let options =
        |field: &str, message: &str| config_error(&format!("model.options.{field}"), message);
    assert_eq!(
        errors,
        [
            options("max_tokens", "expected an integer"),
            options("input_cost", "value must be greater than 0"),
            options("output_cost", "value must be greater than 0"),
            options("temperature", "value should be between 0 and 5"),
            options("top_p", "value should be between 0 and 1"),
            options("top_k", "value should be between 0 and 500"),
            options("anthropic_version", "expected a string"),
            options("llama2_format", "expected one of: raw, openai, ollama"),
            options("mistral_format", "expected one of: openai, ollama"),
            options(
                "upstream_url",
                "invalid URL 'not-a-url': expected http://host or https://host"
            ),
            options(
                "gemini",
                "all or none of these fields must be set: 'api_endpoint', 'project_id', 'location_id'"
            ),
            options("bedrock.aws_region", "expected a string"),
            options("huggingface.use_cache", "expected a boolean"),
        ]
    );
}

#[test]
fn templates_are_allowed_where_kong_allows_them() {
    let proxy = ai_proxy_of(
        "route_type: llm/v1/chat\nmodel:\n  provider: azure\n  name: $(headers.x-model)\n  options:\n    \
         azure_instance: $(uri_captures.instance)\n    azure_deployment_id: d\n    \
         upstream_url: https://$(uri_captures.instance).example.com\n",
    );
    assert!(proxy.model.has_templates());
    assert_eq!(
        config_errors("route_type: llm/v1/chat\nmodel: {provider: $(headers.provider)}\n"),
        [config_error(
            "model.provider",
            "templates are not supported in model.provider: the provider module is chosen when the configuration loads"
        )]
    );
}

#[test]
fn plugins_on_services_and_routes_are_checked() {
    let text = "_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  plugins:\n  - name: ai-proxy-advanced\n  \
                routes:\n  - paths: [/a]\n    plugins:\n    - name: rate-limiting\n";
    assert_eq!(
        errors_of(text),
        [
            "services[0].plugins[0].name: plugin 'ai-proxy-advanced' is not supported yet",
            "services[0].routes[0].plugins[0].name: unknown plugin 'rate-limiting'",
        ]
    );
}
