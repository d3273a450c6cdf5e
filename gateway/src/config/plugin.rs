//! The `plugins` of a service or a route.
//!
//! An unknown plugin is an error, never skipped: a skipped authentication plugin would leave an
//! open proxy that spends someone's API key.

use std::collections::HashMap;

use serde_json::Value;

use super::ai_proxy::{parse_ai_proxy_config, AiProxyConfig};
use super::error::{index_path, ConfigErrors};
use super::record::{Fields, Record};

const PLUGIN_FIELDS: Fields = Fields {
    known: &[
        "name",
        "instance_name",
        "config",
        "enabled",
        "protocols",
        "tags",
        "id",
        "ordering",
    ],
    unsupported: &["consumer", "consumer_group", "route", "service"],
};

const ORDERING_FIELDS: Fields = Fields {
    known: &["before", "after"],
    unsupported: &[],
};

const ORDERING_PHASE_FIELDS: Fields = Fields {
    known: &["access"],
    unsupported: &[],
};

/// Where each plugin `instance_name` was first used; Kong requires them to be unique.
#[derive(Default)]
pub(crate) struct InstanceNames(HashMap<String, String>);

/// Validates the plugins at `path` (e.g. `services[0].plugins`) and returns the enabled
/// `ai-proxy` configuration among them.
pub(crate) fn parse_plugins(
    plugins: &[Value],
    path: &str,
    instance_names: &mut InstanceNames,
    errors: &mut ConfigErrors,
) -> Option<AiProxyConfig> {
    let mut ai_proxy = None;
    let mut first_ai_proxy_path: Option<String> = None;
    for (index, plugin) in plugins.iter().enumerate() {
        let plugin_path = index_path(path, index);
        let Some(mut record) = Record::open(plugin, plugin_path.clone(), &PLUGIN_FIELDS, errors)
        else {
            continue;
        };
        let enabled = record.bool_or("enabled", true);
        record.strings("tags");
        let id = record.string("id").map(str::to_owned);
        for (protocol_index, protocol) in record.strings("protocols") {
            if !matches!(protocol, "http" | "https") {
                let protocol_path = index_path(&record.path_of("protocols"), protocol_index);
                record
                    .errors()
                    .push(protocol_path, "expected one of: http, https");
            }
        }
        check_ordering(&mut record);
        let instance_name = record.string("instance_name");
        if let Some(name) = instance_name {
            if let Some(first) = instance_names.0.get(name) {
                let message = format!("instance_name '{name}' is already used by {first}");
                record.report("instance_name", message);
            } else {
                instance_names
                    .0
                    .insert(name.to_owned(), plugin_path.clone());
            }
        }
        match record.required_string("name") {
            Some("ai-proxy") => {
                if let Some(first) = &first_ai_proxy_path {
                    let message = format!("plugin 'ai-proxy' is already configured at {first}");
                    record.report("name", message);
                    continue;
                }
                first_ai_proxy_path = Some(plugin_path.clone());
                let config_path = record.path_of("config");
                let config = record.value("config");
                let parsed =
                    parse_ai_proxy_config(config, config_path, instance_name, record.errors()).map(
                        |config| AiProxyConfig {
                            plugin_id: id,
                            ..config
                        },
                    );
                if enabled {
                    ai_proxy = parsed;
                }
            }
            Some(name @ "ai-proxy-advanced") => {
                record.report("name", format!("plugin '{name}' is not supported yet"));
            }
            Some(name) => record.report("name", format!("unknown plugin '{name}'")),
            None => {}
        }
    }
    ai_proxy
}

/// Kong Enterprise's dynamic plugin ordering. With `ai-proxy` the only plugin there is nothing to
/// order, but the field is checked so that a typo does not pass unseen.
fn check_ordering(plugin: &mut Record) {
    let Some(mut ordering) = plugin.record("ordering", &ORDERING_FIELDS) else {
        return;
    };
    for relation in ["before", "after"] {
        if let Some(mut phases) = ordering.record(relation, &ORDERING_PHASE_FIELDS) {
            phases.strings("access");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(plugins: Value) -> (Option<AiProxyConfig>, Vec<String>) {
        let mut errors = ConfigErrors::default();
        let mut names = InstanceNames::default();
        let items = plugins.as_array().cloned().unwrap_or_default();
        let config = parse_plugins(&items, "services[0].plugins", &mut names, &mut errors);
        (config, errors.0.iter().map(ToString::to_string).collect())
    }

    fn ai_proxy(extra: Value) -> Value {
        let mut plugin = json!({
            "name": "ai-proxy",
            "config": {"route_type": "llm/v1/chat", "model": {"provider": "openai"}}
        });
        if let (Some(plugin), Some(extra)) = (plugin.as_object_mut(), extra.as_object()) {
            plugin.extend(extra.clone());
        }
        plugin
    }

    #[test]
    fn an_enabled_ai_proxy_is_returned() {
        let (config, errors) = parse(json!([ai_proxy(json!({"instance_name": "a"}))]));
        assert!(errors.is_empty(), "{errors:?}");
        let config = config.unwrap();
        assert_eq!(config.instance_name.as_deref(), Some("a"));
        assert_eq!(config.config_path, "services[0].plugins[0].config");
    }

    #[test]
    fn a_disabled_ai_proxy_is_validated_but_ignored() {
        let (config, errors) = parse(json!([ai_proxy(json!({"enabled": false}))]));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(config.is_none());

        let (_, errors) = parse(json!([{"name": "ai-proxy", "enabled": false, "config": {}}]));
        assert_eq!(
            errors,
            [
                "services[0].plugins[0].config.route_type: required field missing",
                "services[0].plugins[0].config.model: required field missing"
            ]
        );
    }

    #[test]
    fn unknown_and_unsupported_plugins_are_errors() {
        let (_, errors) = parse(json!([
            {"name": "key-auth"},
            {"name": "ai-proxy-advanced", "config": {}},
            {"config": {}}
        ]));
        assert_eq!(
            errors,
            [
                "services[0].plugins[0].name: unknown plugin 'key-auth'",
                "services[0].plugins[1].name: plugin 'ai-proxy-advanced' is not supported yet",
                "services[0].plugins[2].name: required field missing"
            ]
        );
    }

    #[test]
    fn two_ai_proxy_plugins_at_one_level_are_an_error() {
        let (_, errors) = parse(json!([ai_proxy(json!({})), ai_proxy(json!({}))]));
        assert_eq!(
            errors,
            ["services[0].plugins[1].name: plugin 'ai-proxy' is already configured at services[0].plugins[0]"]
        );
    }

    #[test]
    fn instance_names_must_be_unique() {
        let mut errors = ConfigErrors::default();
        let mut names = InstanceNames::default();
        let plugins = [ai_proxy(json!({"instance_name": "same"}))];
        parse_plugins(&plugins, "services[0].plugins", &mut names, &mut errors);
        parse_plugins(&plugins, "services[1].plugins", &mut names, &mut errors);
        assert_eq!(
            errors.to_string(),
            "services[1].plugins[0].instance_name: instance_name 'same' is already used by services[0].plugins[0]"
        );
    }

    #[test]
    fn plugin_fields_are_checked() {
        let (_, errors) = parse(json!([ai_proxy(json!({
            "protocols": ["grpc"],
            "ordering": {"before": {"acess": ["x"]}},
            "route": "r",
            "colour": 1
        }))]));
        assert_eq!(
            errors,
            [
                "services[0].plugins[0].colour: unknown field",
                "services[0].plugins[0].route: field is not supported by this gateway",
                "services[0].plugins[0].protocols[0]: expected one of: http, https",
                "services[0].plugins[0].ordering.before.acess: unknown field"
            ]
        );
    }
}
