//! Applies a route's configured credential to the upstream request, with Kong's `allow_override`
//! rule: when it is off the configured credential always wins; when it is on, a credential of the
//! same name that the client sent is kept instead.
//!
//! Unlike Kong, a body parameter reaches every provider's upstream body, since it is applied after
//! translation rather than to the client's body (Kong loses it for non-OpenAI-shaped providers).
//! The exception is a request the gateway signs (AWS SigV4, which Bedrock modules ask for): its
//! credential is the signature, so a body parameter means nothing there, and Bedrock refuses a
//! body with fields its operation does not define. Such a request goes without it, as Kong's
//! Bedrock requests do: the Bedrock seed's `param_name: allow_override` changes nothing.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use provider_sdk::json_edit::ObjectEdit;

use crate::config::{AuthConfig, ParamLocation};
use crate::errors::GatewayError;

/// Headers that carry a credential in the APIs the gateway fronts.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// Whether a client header must not go upstream because the route brings its own credential.
///
/// Kong forwards every client header. We do not when the route configures a credential: the
/// client's key is meant for the gateway (an OpenAI SDK always sends `Authorization`), and sending
/// it on would hand it to the provider and may make the provider reject the configured one. The
/// configured header itself still follows `allow_override`. Routes with no configured credential
/// forward the client's (bring your own key).
pub fn withholds_client_header(auth: &AuthConfig, name: &str) -> bool {
    let configures_credential = auth.header_name.is_some()
        || auth.param_name.is_some()
        || auth.aws_access_key_id.is_some()
        || auth.gcp_use_service_account;
    configures_credential && CREDENTIAL_HEADERS.contains(&name)
}

/// Sets the configured auth header on `upstream` unless the client's own may stand.
pub fn apply_header(
    auth: &AuthConfig,
    client: &HeaderMap,
    upstream: &mut HeaderMap,
) -> Result<(), GatewayError> {
    let (Some(name), Some(value)) = (&auth.header_name, &auth.header_value) else {
        return Ok(());
    };
    let name = HeaderName::try_from(name.as_str())
        .map_err(|_| GatewayError::internal("auth.header_name is not a valid header name"))?;
    if auth.allow_override {
        if let Some(client_value) = client.get(&name) {
            upstream.insert(name, client_value.clone());
            return Ok(());
        }
    }
    let value = HeaderValue::try_from(value.as_str())
        .map_err(|_| GatewayError::internal("auth.header_value is not a valid header value"))?;
    upstream.insert(name, value);
    Ok(())
}

/// Puts the configured query parameter into `url`, replacing any the client sent unless
/// `allow_override` lets the client's stand.
pub fn apply_query(auth: &AuthConfig, url: &mut String) {
    let (Some(name), Some(value), Some(ParamLocation::Query)) =
        (&auth.param_name, &auth.param_value, auth.param_location)
    else {
        return;
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_string(), q.to_string()),
        None => (url.clone(), String::new()),
    };
    let encoded_name = percent_encode(name);
    let client_has_it = query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(encoded_name.as_str()));
    if auth.allow_override && client_has_it {
        return;
    }
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(encoded_name.as_str()))
        .collect();
    let configured = format!("{encoded_name}={}", percent_encode(value));
    pairs.push(&configured);
    *url = format!("{base}?{}", pairs.join("&"));
}

/// Sets the configured body parameter in a JSON object body. A body that is not a JSON object is
/// left alone: there is no field to put the credential in. So is the body of a request that
/// `signed` (the module asked the gateway to sign it): see the module documentation.
pub fn apply_body(auth: &AuthConfig, body: Bytes, signed: bool) -> Bytes {
    let (Some(name), Some(value), Some(ParamLocation::Body)) =
        (&auth.param_name, &auth.param_value, auth.param_location)
    else {
        return body;
    };
    if signed {
        return body;
    }
    let Ok(mut edit) = ObjectEdit::parse(&body) else {
        return body;
    };
    if auth.allow_override && edit.get(name).is_some() {
        return body;
    }
    let Ok(json_value) = serde_json::to_string(value) else {
        return body;
    };
    edit.set(name.clone(), json_value);
    Bytes::from(edit.into_bytes())
}

/// Percent-encodes a query component: everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AuthConfig {
        AuthConfig::default()
    }

    #[test]
    fn configured_header_replaces_the_clients_without_override() {
        let mut a = auth();
        a.header_name = Some("Authorization".into());
        a.header_value = Some("Bearer configured".into());
        let mut client = HeaderMap::new();
        client.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer client"),
        );
        let mut up = client.clone();
        apply_header(&a, &client, &mut up).unwrap();
        assert_eq!(up.get("authorization").unwrap(), "Bearer configured");

        a.allow_override = true;
        let mut up = HeaderMap::new();
        apply_header(&a, &client, &mut up).unwrap();
        assert_eq!(up.get("authorization").unwrap(), "Bearer client");
    }

    #[test]
    fn client_credentials_are_withheld_only_when_the_route_has_its_own() {
        let mut a = auth();
        assert!(!withholds_client_header(&a, "authorization"));
        a.param_name = Some("key".into());
        assert!(withholds_client_header(&a, "authorization"));
        assert!(withholds_client_header(&a, "x-api-key"));
        assert!(!withholds_client_header(&a, "openai-organization"));
    }

    #[test]
    fn query_param_is_replaced_unless_overridable() {
        let mut a = auth();
        a.param_name = Some("api-key".into());
        a.param_value = Some("s3cr&t".into());
        a.param_location = Some(ParamLocation::Query);
        let mut url = "http://h/v1/chat?api-key=client&x=1".to_string();
        apply_query(&a, &mut url);
        assert_eq!(url, "http://h/v1/chat?x=1&api-key=s3cr%26t");

        a.allow_override = true;
        let mut url = "http://h/v1/chat?api-key=client".to_string();
        apply_query(&a, &mut url);
        assert_eq!(url, "http://h/v1/chat?api-key=client");

        let mut url = "http://h/v1/chat".to_string();
        apply_query(&a, &mut url);
        assert_eq!(url, "http://h/v1/chat?api-key=s3cr%26t");
    }

    #[test]
    fn body_param_is_set_in_json_objects_only() {
        let mut a = auth();
        a.param_name = Some("key".into());
        a.param_value = Some("conf".into());
        a.param_location = Some(ParamLocation::Body);
        let out = apply_body(&a, Bytes::from_static(br#"{"key":"client","n":1}"#), false);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["key"], "conf");
        assert_eq!(v["n"], 1);

        a.allow_override = true;
        let out = apply_body(&a, Bytes::from_static(br#"{"key":"client"}"#), false);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["key"], "client");

        let raw = Bytes::from_static(b"not json");
        assert_eq!(apply_body(&a, raw.clone(), false), raw);
    }

    #[test]
    fn signed_requests_get_no_body_param() {
        // The Bedrock seed's setting.
        let mut a = auth();
        a.param_name = Some("allow_override".into());
        a.param_value = Some("false".into());
        a.param_location = Some(ParamLocation::Body);
        let converse =
            Bytes::from_static(br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#);
        assert_eq!(apply_body(&a, converse.clone(), true), converse);
        let unsigned = apply_body(&a, converse, false);
        let v: serde_json::Value = serde_json::from_slice(&unsigned).unwrap();
        assert_eq!(v["allow_override"], "false");
    }
}
