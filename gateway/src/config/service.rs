//! A service record: the upstream address, timeouts and retries, given field by field or as a
//! `url` shorthand.

use std::time::Duration;

use super::entities::{Protocol, Service};
use super::names::check_name;
use super::record::{Fields, Record, REQUIRED_FIELD};
use super::url::{is_valid_host, parse_http_url};

pub(crate) const SERVICE_FIELDS: Fields = Fields {
    known: &[
        "name",
        "id",
        "url",
        "protocol",
        "host",
        "port",
        "path",
        "retries",
        "connect_timeout",
        "write_timeout",
        "read_timeout",
        "enabled",
        "tags",
        "tls_verify",
        "routes",
        "plugins",
    ],
    unsupported: &[
        "client_certificate",
        "ca_certificates",
        "tls_verify_depth",
        "tls_sans",
    ],
};

const DEFAULT_RETRIES: u32 = 5;
const DEFAULT_TIMEOUT_MS: i64 = 60_000;
const MAX_TIMEOUT_MS: i64 = 2_147_483_646;
const MAX_RETRIES: i64 = 32_767;

/// Reads an opened service record. Its `routes` and `plugins` are left to the caller. `None`
/// when something was wrong; it is reported.
pub(crate) fn parse_service(record: &mut Record) -> Option<Service> {
    let errors_before = record.errors().0.len();
    record.strings("tags");
    let id = record.string("id");
    let name = match (record.string("name"), id) {
        (Some(name), _) => {
            if let Err(message) = check_name(name) {
                record.report("name", message);
            }
            Some(name)
        }
        (None, Some(id)) => Some(id),
        (None, None) => {
            record.report("name", REQUIRED_FIELD);
            None
        }
    };
    let address = parse_address(record);
    let retries = record
        .integer_between("retries", 0, MAX_RETRIES)
        .and_then(|retries| u32::try_from(retries).ok())
        .unwrap_or(DEFAULT_RETRIES);
    let connect_timeout = timeout(record, "connect_timeout");
    let read_timeout = timeout(record, "read_timeout");
    let write_timeout = timeout(record, "write_timeout");
    let tls_verify = record.bool("tls_verify");
    let enabled = record.bool_or("enabled", true);

    let (Some(name), Some(address)) = (name, address) else {
        return None;
    };
    if record.errors().0.len() != errors_before {
        return None;
    }
    Some(Service {
        name: name.to_owned(),
        protocol: address.protocol,
        host: address.host,
        port: address.port,
        path: address.path,
        connect_timeout,
        read_timeout,
        write_timeout,
        retries,
        tls_verify,
        enabled,
    })
}

struct Address {
    protocol: Protocol,
    host: String,
    port: u16,
    path: Option<String>,
}

fn parse_address(record: &mut Record) -> Option<Address> {
    if let Some(url) = record.string("url") {
        if ["protocol", "host", "port", "path"]
            .iter()
            .any(|key| record.has(key))
        {
            record.report(
                "url",
                "url is a shorthand for protocol, host, port and path: give either url or those fields",
            );
            return None;
        }
        return match parse_http_url(url) {
            Ok(parsed) if parsed.query.is_some() => {
                record.report("url", "a query string is not allowed in a service url");
                None
            }
            Ok(parsed) => Some(Address {
                protocol: parsed.protocol,
                host: parsed.host.to_owned(),
                port: parsed.port.unwrap_or(parsed.protocol.default_port()),
                path: parsed.path.map(str::to_owned),
            }),
            Err(message) => {
                record.report("url", message);
                None
            }
        };
    }
    let protocol = match record.one_of("protocol", &["http", "https"]) {
        Some("https") => Protocol::Https,
        _ => Protocol::Http,
    };
    let host = record.required_string("host");
    if let Some(host) = host.filter(|host| !is_valid_host(host)) {
        record.report("host", format!("invalid hostname: {host}"));
    }
    let port = record
        .integer_between("port", 0, i64::from(u16::MAX))
        .and_then(|port| u16::try_from(port).ok())
        .unwrap_or(protocol.default_port());
    let path = record.string("path");
    if let Some(path) = path.filter(|path| !path.starts_with('/')) {
        record.report("path", format!("should start with: / (got '{path}')"));
    }
    Some(Address {
        protocol,
        host: host?.to_owned(),
        port,
        path: path.map(str::to_owned),
    })
}

fn timeout(record: &mut Record, key: &str) -> Duration {
    let millis = record
        .integer_between(key, 1, MAX_TIMEOUT_MS)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    Duration::from_millis(millis.unsigned_abs())
}
