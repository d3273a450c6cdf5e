//! A route record: its match criteria (`paths`, `methods`, `hosts`) and its plugins.

use regex::RegexBuilder;
use serde_json::Value;

use super::ai_proxy::AiProxyConfig;
use super::entities::{Protocol, Route, RoutePath};
use super::error::index_path;
use super::host::HostPattern;
use super::names::check_name;
use super::plugin::{parse_plugins, InstanceNames};
use super::record::{Fields, Record};

/// The route fields, plus `extra`.
macro_rules! route_fields {
    ($($extra:literal),*) => {
        Fields {
            known: &[
                "name",
                "id",
                "paths",
                "methods",
                "hosts",
                "strip_path",
                "preserve_host",
                "protocols",
                "regex_priority",
                "tags",
                "path_handling",
                "https_redirect_status_code",
                "request_buffering",
                "response_buffering",
                "headers",
                "plugins",
                $($extra),*
            ],
            unsupported: &["snis", "sources", "destinations", "expression", "priority"],
        }
    };
}

/// A route nested under its service.
pub(crate) const NESTED_ROUTE_FIELDS: Fields = route_fields!();

/// A route in the top-level `routes` list, which names its service.
pub(crate) const TOP_LEVEL_ROUTE_FIELDS: Fields = route_fields!("service");

const REDIRECT_STATUS_CODES: &[i64] = &[426, 301, 302, 307, 308];
const DEFAULT_REDIRECT_STATUS_CODE: u16 = 426;

/// What a route needs to know about the service it belongs to.
pub(crate) struct ServiceContext<'a> {
    pub index: usize,
    pub ai_proxy: Option<&'a AiProxyConfig>,
}

/// How the file's `_format_version` tells regex paths from prefix paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathSyntax {
    /// 3.0: a regex path starts with `~`.
    Tilde,
    /// 1.1 and 2.1: a path with a character outside `[A-Za-z0-9._~/%-]` is a regex too, as Kong
    /// reads such files.
    Legacy,
}

/// Reads an opened route record. `default_name` is used when the route has no `name`.
pub(crate) fn parse_route(
    record: &mut Record,
    service: &ServiceContext,
    default_name: String,
    syntax: PathSyntax,
    instance_names: &mut InstanceNames,
) -> Option<Route> {
    let errors_before = record.errors().0.len();
    record.string("id");
    record.strings("tags");
    record.bool("preserve_host");
    record.bool("request_buffering");
    record.bool("response_buffering");
    record.one_of("path_handling", &["v0", "v1"]);

    let name = match record.string("name") {
        Some(name) => {
            if let Err(message) = check_name(name) {
                record.report("name", message);
            }
            name.to_owned()
        }
        None => default_name,
    };
    let paths = parse_paths(record, syntax);
    let methods = parse_methods(record);
    let hosts = parse_hosts(record);
    let protocols = parse_protocols(record);
    let strip_path = record.bool_or("strip_path", true);
    let regex_priority = record.integer("regex_priority").unwrap_or(0);
    let https_redirect_status_code = parse_redirect_status_code(record);
    let has_headers = check_headers(record);
    let sets_criteria = ["methods", "hosts", "paths"].iter().any(|key| {
        record
            .value(key)
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty())
    });
    if !sets_criteria && !has_headers {
        let path = record.path().to_owned();
        record.errors().push(
            path,
            "must set one of 'methods', 'hosts', 'headers', 'paths'",
        );
    }

    let plugins = record.array("plugins");
    let plugins_path = record.path_of("plugins");
    let route_ai_proxy = parse_plugins(plugins, &plugins_path, instance_names, record.errors());
    let ai_proxy = route_ai_proxy.or_else(|| service.ai_proxy.cloned());

    if record.errors().0.len() != errors_before {
        return None;
    }
    Some(Route {
        name,
        service: service.index,
        paths,
        methods,
        hosts,
        strip_path,
        regex_priority,
        protocols,
        https_redirect_status_code,
        ai_proxy,
        config_path: record.path().to_owned(),
    })
}

fn parse_paths(record: &mut Record, syntax: PathSyntax) -> Vec<RoutePath> {
    let mut paths = Vec::new();
    for (index, text) in record.strings("paths") {
        match parse_path(text, syntax) {
            Ok(path) => paths.push(path),
            Err(message) => {
                let path = index_path(&record.path_of("paths"), index);
                record.errors().push(path, message);
            }
        }
    }
    paths
}

/// Reads one `paths` entry.
pub(crate) fn parse_path(text: &str, syntax: PathSyntax) -> Result<RoutePath, String> {
    let pattern = match text.strip_prefix('~') {
        Some(pattern) => pattern,
        None if syntax == PathSyntax::Legacy && is_legacy_regex(text) => text,
        None if text.starts_with('/') => return Ok(RoutePath::Prefix(text.to_owned())),
        None => return Err("should start with: / (fixed path) or ~/ (regex path)".to_owned()),
    };
    if !pattern.starts_with('/') {
        return Err("should start with: / (fixed path) or ~/ (regex path)".to_owned());
    }
    // Kong anchors regex paths at the start of the request path. The group keeps a top-level
    // `a|b` anchored as a whole.
    let regex = RegexBuilder::new(&format!("^(?:{pattern})"))
        .build()
        .map_err(|error| format!("invalid regex: '{pattern}' ({})", regex_reason(&error)))?;
    Ok(RoutePath::Regex {
        source: text.to_owned(),
        regex,
    })
}

/// Kong 3 reads a 1.1 or 2.1 file's path as a regex when it holds a character outside this set.
fn is_legacy_regex(path: &str) -> bool {
    !path
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"._~/%-".contains(&byte))
}

/// The regex crate explains a syntax error over several lines, with a drawing; keep the reason.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .find_map(|line| line.strip_prefix("error: "))
        .map_or_else(|| text.replace('\n', " "), str::to_owned)
}

fn parse_methods(record: &mut Record) -> Vec<String> {
    let mut methods = Vec::new();
    for (index, method) in record.strings("methods") {
        if !method.is_empty() && method.bytes().all(|byte| byte.is_ascii_uppercase()) {
            methods.push(method.to_owned());
        } else {
            let path = index_path(&record.path_of("methods"), index);
            record.errors().push(
                path,
                format!("invalid value: '{method}': a method must be upper-case letters"),
            );
        }
    }
    methods
}

fn parse_hosts(record: &mut Record) -> Vec<HostPattern> {
    let mut hosts = Vec::new();
    for (index, host) in record.strings("hosts") {
        match HostPattern::parse(host) {
            Ok(pattern) => hosts.push(pattern),
            Err(message) => {
                let path = index_path(&record.path_of("hosts"), index);
                record.errors().push(path, message);
            }
        }
    }
    hosts
}

fn parse_protocols(record: &mut Record) -> Vec<Protocol> {
    if !record.has("protocols") {
        return vec![Protocol::Http, Protocol::Https];
    }
    let mut protocols = Vec::new();
    let entries = record.strings("protocols");
    if entries.is_empty() && record.value("protocols").is_some_and(Value::is_array) {
        record.report("protocols", "length must be at least 1");
    }
    for (index, protocol) in entries {
        match protocol {
            "http" => protocols.push(Protocol::Http),
            "https" => protocols.push(Protocol::Https),
            _ => {
                let path = index_path(&record.path_of("protocols"), index);
                record.errors().push(path, "expected one of: http, https");
            }
        }
    }
    protocols
}

fn parse_redirect_status_code(record: &mut Record) -> u16 {
    let Some(code) = record.integer("https_redirect_status_code") else {
        return DEFAULT_REDIRECT_STATUS_CODE;
    };
    match u16::try_from(code) {
        Ok(code) if REDIRECT_STATUS_CODES.contains(&i64::from(code)) => code,
        _ => {
            record.report(
                "https_redirect_status_code",
                "expected one of: 426, 301, 302, 307, 308",
            );
            DEFAULT_REDIRECT_STATUS_CODE
        }
    }
}

/// Header matching is not implemented. Ignoring `headers` would send the route requests that it
/// was meant to refuse, so a non-empty one is an error. Returns whether the route has headers.
fn check_headers(record: &mut Record) -> bool {
    let Some(headers) = record.value("headers") else {
        return false;
    };
    match headers.as_object() {
        Some(headers) if headers.is_empty() => false,
        Some(_) => {
            record.report("headers", "matching on headers is not supported yet");
            true
        }
        None => {
            record.report("headers", "expected a map");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_tilde_regex_paths() {
        assert!(matches!(
            parse_path("/openai-route", PathSyntax::Tilde).unwrap(),
            RoutePath::Prefix(prefix) if prefix == "/openai-route"
        ));
        let RoutePath::Regex { source, regex } =
            parse_path("~/models/(?<model>[^/]+)/chat$", PathSyntax::Tilde).unwrap()
        else {
            panic!("expected a regex path");
        };
        assert_eq!(source, "~/models/(?<model>[^/]+)/chat$");
        let captures = regex.captures("/models/gpt-4o/chat").unwrap();
        assert_eq!(&captures["model"], "gpt-4o");
        assert!(!regex.is_match("/x/models/gpt-4o/chat"));
    }

    #[test]
    fn a_top_level_alternation_stays_anchored() {
        let RoutePath::Regex { regex, .. } = parse_path("~/a|/b", PathSyntax::Tilde).unwrap()
        else {
            panic!("expected a regex path");
        };
        assert!(regex.is_match("/b/x"));
        assert!(!regex.is_match("/x/b"));
    }

    #[test]
    fn legacy_files_read_regex_characters_as_a_regex() {
        assert!(matches!(
            parse_path("/v1/(?<op>.*)", PathSyntax::Legacy).unwrap(),
            RoutePath::Regex { .. }
        ));
        assert!(matches!(
            parse_path("/v1/chat-x_y.z~%20", PathSyntax::Legacy).unwrap(),
            RoutePath::Prefix(_)
        ));
        assert!(matches!(
            parse_path("/v1/(?<op>.*)", PathSyntax::Tilde).unwrap(),
            RoutePath::Prefix(_)
        ));
    }

    #[test]
    fn bad_paths_are_rejected() {
        assert_eq!(
            parse_path("openai", PathSyntax::Tilde).unwrap_err(),
            "should start with: / (fixed path) or ~/ (regex path)"
        );
        assert_eq!(
            parse_path("~models", PathSyntax::Tilde).unwrap_err(),
            "should start with: / (fixed path) or ~/ (regex path)"
        );
        assert_eq!(
            parse_path("~/(?<model[^/]+)", PathSyntax::Tilde).unwrap_err(),
            "invalid regex: '/(?<model[^/]+)' (invalid capture group character)"
        );
    }
}
