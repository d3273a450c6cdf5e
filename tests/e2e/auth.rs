//! The configured credential goes upstream in a header, the query or the body; the client's own
//! credential replaces it only when the route allows override.

use ai_gateway_tests::{
    config::single_route,
    gateway::Gateway,
    http,
    mock::{MockUpstream, Recorded, Reply},
};
use serde_json::{json, Value};

use crate::{chat_request, chat_response};

/// Starts a chat route with `auth`, sends one request carrying the client's credential (through
/// `with_client_credential`) and one without, and returns what the upstream received for each.
fn exchange(
    auth: Value,
    path_with_credential: &str,
    with_client_credential: impl FnOnce(http::Request) -> http::Request,
    body_with_credential: Value,
) -> (Recorded, Recorded) {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = Gateway::start(single_route(
        "/chat",
        json!({
            "route_type": "llm/v1/chat",
            "auth": auth,
            "model": {
                "provider": "openai",
                "name": "gpt-4o",
                "options": { "upstream_url": upstream.url("/v1/chat/completions") },
            },
        }),
    ));

    let with = with_client_credential(http::post(&gateway.url(path_with_credential)))
        .json(&body_with_credential)
        .send();
    let without = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();

    assert_eq!(with.status, 200, "{}", with.text());
    assert_eq!(without.status, 200, "{}", without.text());
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    (requests[0].clone(), requests[1].clone())
}

fn header_auth(allow_override: bool) -> (Recorded, Recorded) {
    exchange(
        json!({
            "header_name": "Authorization",
            "header_value": "Bearer sk-configured",
            "allow_override": allow_override,
        }),
        "/chat",
        |request| request.header("Authorization", "Bearer sk-client"),
        chat_request(),
    )
}

#[test]
fn header_auth_without_override_always_sends_the_configured_key() {
    let (with, without) = header_auth(false);
    assert_eq!(
        with.header_values("authorization"),
        vec!["Bearer sk-configured"]
    );
    assert_eq!(
        without.header_values("authorization"),
        vec!["Bearer sk-configured"]
    );
}

#[test]
fn header_auth_with_override_sends_the_client_key_when_there_is_one() {
    let (with, without) = header_auth(true);
    assert_eq!(
        with.header_values("authorization"),
        vec!["Bearer sk-client"]
    );
    assert_eq!(
        without.header_values("authorization"),
        vec!["Bearer sk-configured"]
    );
}

fn query_auth(allow_override: bool) -> (Recorded, Recorded) {
    exchange(
        json!({
            "param_name": "api_key",
            "param_value": "configured-key",
            "param_location": "query",
            "allow_override": allow_override,
        }),
        "/chat?api_key=client-key",
        |request| request,
        chat_request(),
    )
}

#[test]
fn query_auth_without_override_always_sends_the_configured_key() {
    let (with, without) = query_auth(false);
    assert_eq!(with.query_values("api_key"), vec!["configured-key"]);
    assert_eq!(without.query_values("api_key"), vec!["configured-key"]);
}

#[test]
fn query_auth_with_override_sends_the_client_key_when_there_is_one() {
    let (with, without) = query_auth(true);
    assert_eq!(with.query_values("api_key"), vec!["client-key"]);
    assert_eq!(without.query_values("api_key"), vec!["configured-key"]);
}

fn body_auth(allow_override: bool) -> (Recorded, Recorded) {
    let mut body = chat_request();
    body["api_key"] = json!("client-key");
    exchange(
        json!({
            "param_name": "api_key",
            "param_value": "configured-key",
            "param_location": "body",
            "allow_override": allow_override,
        }),
        "/chat",
        |request| request,
        body,
    )
}

#[test]
fn body_auth_without_override_always_sends_the_configured_key() {
    let (with, without) = body_auth(false);
    assert_eq!(with.json()["api_key"], "configured-key");
    assert_eq!(without.json()["api_key"], "configured-key");
    assert_eq!(with.json()["messages"], chat_request()["messages"]);
}

#[test]
fn body_auth_with_override_sends_the_client_key_when_there_is_one() {
    let (with, without) = body_auth(true);
    assert_eq!(with.json()["api_key"], "client-key");
    assert_eq!(without.json()["api_key"], "configured-key");
}
