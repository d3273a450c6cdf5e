//! The top level of a decK file: `_format_version`, `services` with their nested routes, and the
//! top-level `routes` that name their service.

use std::collections::HashMap;

use serde_json::Value;

use super::ai_proxy::AiProxyConfig;
use super::entities::{GatewayConfig, Route, Service};
use super::error::{field_path, index_path, ConfigErrors};
use super::plugin::{parse_plugins, InstanceNames};
use super::record::{expected_one_of, Fields, Record, REQUIRED_FIELD};
use super::route::{
    parse_route, PathSyntax, ServiceContext, NESTED_ROUTE_FIELDS, TOP_LEVEL_ROUTE_FIELDS,
};
use super::service::{parse_service, SERVICE_FIELDS};

const DOCUMENT_FIELDS: Fields = Fields {
    known: &[
        "_format_version",
        "_transform",
        "_konnect",
        "_info",
        "services",
        "routes",
        "plugins",
    ],
    unsupported: &[
        "_workspace",
        "consumers",
        "consumer_groups",
        "upstreams",
        "certificates",
        "ca_certificates",
        "snis",
        "vaults",
        "keys",
        "key_sets",
        "filter_chains",
        "partials",
    ],
};

const SERVICE_REFERENCE_FIELDS: Fields = Fields {
    known: &["name", "id"],
    unsupported: &[],
};

const FORMAT_VERSIONS: &[&str] = &["1.1", "2.1", "3.0"];

/// Validates a parsed decK document. Reports every problem it finds.
pub(crate) fn build_config(
    document: &Value,
    source_name: &str,
) -> Result<GatewayConfig, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    if document.is_null() {
        errors.push(
            "",
            format!("{source_name}: the file holds no configuration"),
        );
        return Err(errors);
    }
    let config = Record::open(document, String::new(), &DOCUMENT_FIELDS, &mut errors)
        .map(|mut record| read_document(&mut record));
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(errors),
    }
}

/// A service seen in the file, with what its routes need from it.
struct ServiceSlot {
    service: Option<Service>,
    name: String,
    id: Option<String>,
    ai_proxy: Option<AiProxyConfig>,
    routes_seen: usize,
}

impl ServiceSlot {
    fn enabled(&self) -> bool {
        self.service.as_ref().is_some_and(|service| service.enabled)
    }
}

#[derive(Default)]
struct Builder {
    slots: Vec<ServiceSlot>,
    routes: Vec<Route>,
    route_names: HashMap<String, String>,
    instance_names: InstanceNames,
}

fn read_document(document: &mut Record) -> GatewayConfig {
    let syntax = read_format_version(document);
    document.bool("_transform");
    check_info(document);
    check_global_plugins(document);

    let mut builder = Builder::default();
    let mut service_names: HashMap<String, String> = HashMap::new();
    for (index, value) in document.array("services").iter().enumerate() {
        let path = index_path("services", index);
        let Some(mut record) =
            Record::open(value, path.clone(), &SERVICE_FIELDS, document.errors())
        else {
            continue;
        };
        let service = parse_service(&mut record);
        let id = record.string("id").map(str::to_owned);
        let name = record
            .string("name")
            .map(str::to_owned)
            .or_else(|| id.clone())
            .unwrap_or_else(|| path.clone());
        if let Some(first) = service_names.get(&name) {
            let message = format!("service name '{name}' is already used by {first}");
            record.report("name", message);
        } else {
            service_names.insert(name.clone(), path.clone());
        }
        let plugins_path = record.path_of("plugins");
        let plugins = record.array("plugins");
        let ai_proxy = parse_plugins(
            plugins,
            &plugins_path,
            &mut builder.instance_names,
            record.errors(),
        );
        builder.slots.push(ServiceSlot {
            service,
            name,
            id,
            ai_proxy,
            routes_seen: 0,
        });
        let slot = builder.slots.len() - 1;
        for (route_index, route) in record.array("routes").iter().enumerate() {
            let route_path = index_path(&record.path_of("routes"), route_index);
            if let Some(mut route_record) =
                Record::open(route, route_path, &NESTED_ROUTE_FIELDS, record.errors())
            {
                builder.add_route(&mut route_record, slot, syntax);
            }
        }
    }

    for (index, value) in document.array("routes").iter().enumerate() {
        let path = index_path("routes", index);
        let Some(mut record) =
            Record::open(value, path, &TOP_LEVEL_ROUTE_FIELDS, document.errors())
        else {
            continue;
        };
        if let Some(slot) = builder.find_service(&mut record) {
            builder.add_route(&mut record, slot, syntax);
        }
    }

    GatewayConfig {
        services: builder
            .slots
            .into_iter()
            .filter_map(|slot| slot.service)
            .collect(),
        routes: builder.routes,
    }
}

impl Builder {
    fn add_route(&mut self, record: &mut Record, slot_index: usize, syntax: PathSyntax) {
        let Some(slot) = self.slots.get_mut(slot_index) else {
            return;
        };
        let default_name = format!("{}.{}", slot.name, slot.routes_seen);
        slot.routes_seen += 1;
        let context = ServiceContext {
            index: slot_index,
            ai_proxy: slot.ai_proxy.as_ref(),
        };
        let enabled = slot.enabled();
        let Some(route) = parse_route(
            record,
            &context,
            default_name,
            syntax,
            &mut self.instance_names,
        ) else {
            return;
        };
        if let Some(first) = self.route_names.get(&route.name) {
            let message = format!("route name '{}' is already used by {first}", route.name);
            record.report("name", message);
            return;
        }
        self.route_names
            .insert(route.name.clone(), route.config_path.clone());
        if enabled {
            self.routes.push(route);
        }
    }

    /// The service a top-level route names in its `service` field, by name or id.
    fn find_service(&self, record: &mut Record) -> Option<usize> {
        let reference = match record.value("service") {
            None => {
                record.report("service", REQUIRED_FIELD);
                return None;
            }
            Some(Value::String(reference)) => reference.clone(),
            Some(_) => {
                let mut service = record.record("service", &SERVICE_REFERENCE_FIELDS)?;
                match service.string("name").or_else(|| service.string("id")) {
                    Some(reference) => reference.to_owned(),
                    None => {
                        let path = service.path().to_owned();
                        service.errors().push(
                            path,
                            "at least one of these fields must be non-empty: 'name', 'id'",
                        );
                        return None;
                    }
                }
            }
        };
        let found = self.slots.iter().position(|slot| {
            slot.name == reference || slot.id.as_deref() == Some(reference.as_str())
        });
        if found.is_none() {
            record.report(
                "service",
                format!("service '{reference}' is not defined in this file"),
            );
        }
        found
    }
}

fn read_format_version(document: &mut Record) -> PathSyntax {
    match document.value("_format_version") {
        None => document.report("_format_version", REQUIRED_FIELD),
        Some(Value::String(version)) => match version.as_str() {
            "3.0" => return PathSyntax::Tilde,
            "1.1" | "2.1" => return PathSyntax::Legacy,
            _ => document.report("_format_version", expected_one_of(FORMAT_VERSIONS)),
        },
        Some(Value::Number(_)) => document.report(
            "_format_version",
            "expected a string: quote the version, as in _format_version: \"3.0\"",
        ),
        Some(_) => document.report("_format_version", "expected a string"),
    }
    PathSyntax::Tilde
}

/// `_info` is Konnect and decK metadata and is ignored, except `defaults`, which changes the
/// defaults of every entity and so cannot be ignored.
fn check_info(document: &mut Record) {
    let has_defaults = document
        .value("_info")
        .and_then(|info| info.get("defaults"))
        .is_some_and(|defaults| !defaults.is_null());
    if has_defaults {
        let path = field_path(&document.path_of("_info"), "defaults");
        document
            .errors()
            .push(path, "field is not supported by this gateway");
    }
}

fn check_global_plugins(document: &mut Record) {
    let count = document.array("plugins").len();
    for index in 0..count {
        document.errors().push(
            index_path("plugins", index),
            "global plugins are not supported yet: put the plugin under a service or a route",
        );
    }
}
