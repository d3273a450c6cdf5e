//! Credentials never leak: a run that authenticates upstream with a header, a query parameter, a
//! body parameter, AWS SigV4 (with a session token) and a GCP service account's Bearer token,
//! with traces and metrics exported to a collector, analytics and payloads logged and debug logs
//! on, and the secrets are in none of the spans, metrics, logs, analytics lines or status pages;
//! the upstreams did receive them, so they were in play.

use ai_gateway_tests::{
    collector::Collector,
    config::{deck, merged},
    gateway::Serve,
    http,
    mock::{MockUpstream, Reply},
    paths::{repo_root, Module},
    tempdir::TempDir,
};
use serde_json::{json, Value};

use super::{exporting_to, openai_stream, prometheus, wait_for_analytics, wait_for_spans};
use crate::{chat_request, chat_response};

const HEADER_SECRET: &str = "sk-SECRET-header-2f9c";
const QUERY_SECRET: &str = "SECRET-query-77ab";
const BODY_SECRET: &str = "SECRET-body-0c1d";
const AWS_SECRET_KEY: &str = "aws-SECRET-access-key-9e8d";
const AWS_SESSION_TOKEN: &str = "aws-SECRET-session-token-5a4b";
const GCP_TOKEN: &str = "ya29.SECRET-gcp-token-3c2d";
const CLIENT_SECRET: &str = "sk-SECRET-client-6b5a";

/// The path the signing module sends to, as a Bedrock module would.
const BEDROCK_PATH: &str = "/model/us.amazon.nova-micro-v1%3A0/converse";

fn logged(config: Value) -> Value {
    merged(
        config,
        json!({ "logging": { "log_statistics": true, "log_payloads": true } }),
    )
}

fn openai_route(name: &str, upstream: &MockUpstream, auth: Value) -> Value {
    json!({
        "name": name,
        "paths": [format!("/{name}")],
        "plugins": [{ "name": "ai-proxy", "config": logged(json!({
            "route_type": "llm/v1/chat",
            "auth": auth,
            "model": {
                "provider": "openai",
                "name": "gpt-4o",
                "options": { "upstream_url": upstream.url("/v1/chat/completions") },
            },
        })) }],
    })
}

#[test]
fn no_credential_appears_in_spans_metrics_logs_or_analytics() {
    let collector = Collector::start();
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let tokens = MockUpstream::start();
    tokens.always(Reply::json(
        200,
        json!({ "access_token": GCP_TOKEN, "expires_in": 3599, "token_type": "Bearer" })
            .to_string(),
    ));
    let private_key =
        std::fs::read_to_string(repo_root().join("gateway/testdata/gcp-test-key.pem"))
            .expect("the test key in gateway/testdata");
    let service_account = json!({
        "type": "service_account",
        "project_id": "e2e-project",
        "private_key_id": "e2e-key-id",
        "private_key": private_key,
        "client_email": "gateway@e2e-project.iam.gserviceaccount.com",
        "token_uri": tokens.url("/token"),
    })
    .to_string();
    let dir = TempDir::new("secrets");
    let log = dir.path().join("analytics.jsonl");
    let config = deck(vec![json!({
        "name": "svc",
        "url": "http://localhost:32000",
        "routes": [
            openai_route("header", &upstream, json!({
                "header_name": "Authorization", "header_value": format!("Bearer {HEADER_SECRET}"),
            })),
            openai_route("query", &upstream, json!({
                "param_name": "key", "param_value": QUERY_SECRET, "param_location": "query",
            })),
            openai_route("body", &upstream, json!({
                "param_name": "api_key", "param_value": BODY_SECRET, "param_location": "body",
            })),
            openai_route("gcp", &upstream, json!({
                "gcp_use_service_account": true, "gcp_service_account_json": service_account,
            })),
            {
                "name": "sigv4",
                "paths": ["/sigv4"],
                "plugins": [{ "name": "ai-proxy", "config": logged(json!({
                    "route_type": "llm/v1/chat",
                    "model": {
                        "provider": "signing-test",
                        "name": "nova",
                        "options": { "upstream_url": upstream.url(BEDROCK_PATH) },
                    },
                })) }],
            },
        ],
    })]);
    let mut serve = Serve::new(config)
        .modules(&[Module::OpenAi, Module::Signing])
        .env("AI_GATEWAY_ANALYTICS_LOG", log.to_str().unwrap())
        .env("AI_GATEWAY_LOG", "debug")
        .env("AWS_ACCESS_KEY_ID", "AKIDE2ETELEMETRY")
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY)
        .env("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN);
    for name in [
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "GCP_SERVICE_ACCOUNT",
    ] {
        serve = serve.env_remove(name);
    }
    let gateway = exporting_to(serve, Some(&collector.endpoint())).start();

    let routes = ["header", "query", "body", "gcp", "sigv4"];
    for route in routes {
        // The client's own key in the body parameter the route authenticates with: the
        // configured one replaces it upstream, and the logs redact both.
        let body = if route == "body" {
            merged(chat_request(), json!({ "api_key": CLIENT_SECRET }))
        } else {
            chat_request()
        };
        let response = http::post(&gateway.url(&format!("/{route}")))
            .header("Authorization", &format!("Bearer {CLIENT_SECRET}"))
            .json(&body)
            .send();
        assert_eq!(response.status, 200, "{route}: {}", response.text());
    }
    upstream.reply(Reply::sse(openai_stream(true)));
    let streamed = http::post(&gateway.url("/header"))
        .header("Authorization", &format!("Bearer {CLIENT_SECRET}"))
        .json(&merged(chat_request(), json!({ "stream": true })))
        .send();
    assert_eq!(streamed.status, 200);

    // The credentials were used: each upstream got its own.
    let sent = upstream.requests();
    assert_eq!(sent.len(), 6);
    let by_path = |path: &str| sent.iter().filter(|r| r.path() == path).collect::<Vec<_>>();
    let openai_requests = by_path("/v1/chat/completions");
    assert!(openai_requests
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {HEADER_SECRET}"))));
    assert!(openai_requests
        .iter()
        .any(|r| r.query_values("key") == vec![QUERY_SECRET]));
    assert!(openai_requests
        .iter()
        .any(|r| r.json()["api_key"] == BODY_SECRET));
    assert!(openai_requests
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {GCP_TOKEN}"))));
    let signed = &by_path(BEDROCK_PATH)[0];
    assert_eq!(
        signed.header("x-amz-security-token"),
        Some(AWS_SESSION_TOKEN)
    );
    assert!(signed
        .header("authorization")
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential=AKIDE2ETELEMETRY/")));

    // Everything the run produced is in: a span per request, a record per request, metrics.
    let spans = wait_for_spans(&collector, 6, |s| s.kind == "SPAN_KIND_SERVER");
    for route in routes {
        assert!(
            spans
                .iter()
                .any(|s| s.attr("ai_gateway.route") == Some(route)),
            "no span for route {route}"
        );
    }
    let records = wait_for_analytics(&log, 6);
    let body_record = records
        .iter()
        .find(|r| {
            r["ai"]["proxy"]["payload"]["upstream_request"]
                .as_str()
                .is_some_and(|b| b.contains("\"api_key\":\"[REDACTED]\""))
        })
        .unwrap_or_else(|| panic!("the body route's upstream body, redacted: {records:#?}"));
    assert!(body_record["ai"]["proxy"]["payload"]["request"]
        .as_str()
        .unwrap()
        .contains("[REDACTED]"));
    super::wait_for_point(&collector, "ai_gateway.requests", |p| {
        p.attr("ai_gateway.route") == Some("sigv4")
    });

    let key_line = private_key
        .lines()
        .find(|l| l.len() > 40 && !l.starts_with("-----"))
        .expect("a line of the private key");
    let produced = [
        ("the collector's spans and metrics", collector.text()),
        ("the gateway's stderr", gateway.stderr()),
        ("the analytics log", std::fs::read_to_string(&log).unwrap()),
        ("/metrics", prometheus(&gateway)),
        (
            "/status/routes",
            http::get(&gateway.admin_url("/status/routes"))
                .send()
                .text(),
        ),
    ];
    for (what, text) in &produced {
        assert!(!text.is_empty(), "{what} is empty");
        for secret in [
            HEADER_SECRET,
            QUERY_SECRET,
            BODY_SECRET,
            AWS_SECRET_KEY,
            AWS_SESSION_TOKEN,
            GCP_TOKEN,
            CLIENT_SECRET,
            key_line,
        ] {
            assert!(
                !text.contains(secret),
                "{what} contains the secret {secret}"
            );
        }
    }
}
