//! Routes with no ai-proxy plugin are proxied to their service as Kong proxies them: the service's
//! path, then the request path with the matched prefix stripped when the route says so; method,
//! query and body untouched.

use ai_gateway_tests::{
    config::deck,
    gateway::Gateway,
    http,
    mock::{MockUpstream, Reply},
};
use serde_json::json;

fn plain_routes(upstream: &MockUpstream) -> serde_json::Value {
    deck(vec![json!({
        "name": "backend",
        "url": upstream.url("/base"),
        "routes": [
            { "name": "stripped", "paths": ["/plain"], "strip_path": true },
            { "name": "kept", "paths": ["/kept"], "strip_path": false },
        ],
    })])
}

#[test]
fn a_stripped_route_sends_the_rest_of_the_path_under_the_service_path() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::body(201, "text/plain", "made"));
    let gateway = Gateway::start(plain_routes(&upstream));

    let response = http::post(&gateway.url("/plain/items?x=1&y=2"))
        .header("content-type", "text/plain")
        .body("hello, not json")
        .send();

    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.text(), "made");
    let sent = upstream.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.target, "/base/items?x=1&y=2");
    assert_eq!(sent.body, b"hello, not json");
}

#[test]
fn a_route_that_keeps_its_path_sends_the_whole_path() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::body(200, "text/plain", "kept"));
    let gateway = Gateway::start(plain_routes(&upstream));

    let response = http::get(&gateway.url("/kept/a/b")).send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(upstream.only_request().target, "/base/kept/a/b");
}
