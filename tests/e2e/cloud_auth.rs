//! Cloud authentication done by the gateway: AWS SigV4 when a module asks for a signature (the
//! `signing-test` module asks for `aws-sigv4`, service `bedrock`, region `us-west-2`), with keys
//! from the route or from the gateway's environment; and a GCP service account's OAuth token,
//! exchanged at a local token endpoint and sent as a Bearer token.

use ai_gateway_tests::{
    config::single_route,
    gateway::{Gateway, Serve},
    http,
    mock::{MockUpstream, Recorded, Reply},
    paths::{repo_root, Module},
    tempdir::TempDir,
};
use serde_json::{json, Value};

use crate::{assert_error, chat_request, chat_response};

/// The path a Bedrock module sends for model `us.amazon.nova-micro-v1:0`, encoded as boto3 does.
const BEDROCK_PATH: &str = "/model/us.amazon.nova-micro-v1%3A0/converse";

/// Every variable through which the test runner's own AWS setup could reach the gateway.
const AWS_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
];

/// A gateway whose one route at `/chat` uses the signing module with `auth` and `options`, its
/// AWS environment replaced by `env`.
fn signing_gateway(auth: Value, options: Value, env: &[(&str, &str)]) -> Gateway {
    let mut serve = Serve::new(single_route(
        "/chat",
        json!({
            "route_type": "llm/v1/chat",
            "auth": auth,
            "model": { "provider": "signing-test", "name": "nova", "options": options },
        }),
    ))
    .modules(&[Module::Signing]);
    for name in AWS_VARIABLES {
        serve = serve.env_remove(name);
    }
    for (name, value) in env {
        serve = serve.env(name, value);
    }
    serve.start()
}

/// Sends a chat request with the client's own credential, expecting the upstream's answer.
fn chat(gateway: &Gateway) {
    let response = http::post(&gateway.url("/chat"))
        .header("Authorization", "Bearer sk-client")
        .header("User-Agent", "OpenAI/Python 1.0")
        .json(&chat_request())
        .send();
    assert_eq!(response.status, 200, "{}", response.text());
}

/// The parts of a SigV4 `Authorization` header.
struct Signature {
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_signature(request: &Recorded) -> Signature {
    let values = request.header_values("authorization");
    assert_eq!(values.len(), 1, "one Authorization header: {values:?}");
    let rest = values[0]
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_else(|| panic!("not a SigV4 Authorization: {}", values[0]));
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {rest}"))
            .to_string()
    };
    Signature {
        credential: field("Credential"),
        signed_headers: field("SignedHeaders")
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: field("Signature"),
    }
}

/// Checks the SigV4 headers `request` arrived with, signed with `access_key_id`, and returns the
/// names of the signed headers.
fn assert_signed(request: &Recorded, upstream: &MockUpstream, access_key_id: &str) -> Vec<String> {
    let date = request.header("x-amz-date").expect("x-amz-date was sent");
    assert!(
        date.len() == 16
            && date.as_bytes()[8] == b'T'
            && date.ends_with('Z')
            && date[..8].bytes().all(|b| b.is_ascii_digit()),
        "x-amz-date {date}"
    );
    let signature = parse_signature(request);
    assert_eq!(
        signature.credential,
        format!(
            "{access_key_id}/{}/us-west-2/bedrock/aws4_request",
            &date[..8]
        )
    );
    assert!(
        signature.signature.len() == 64
            && signature
                .signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "Signature={}",
        signature.signature
    );
    let mut sorted = signature.signed_headers.clone();
    sorted.sort();
    assert_eq!(signature.signed_headers, sorted, "SignedHeaders are sorted");
    for name in ["content-type", "host", "x-amz-date"] {
        assert!(
            signature.signed_headers.iter().any(|h| h == name),
            "{name} is signed: {:?}",
            signature.signed_headers
        );
    }
    assert!(
        !signature.signed_headers.iter().any(|h| h == "user-agent"),
        "user-agent is not signed, as botocore does: {:?}",
        signature.signed_headers
    );
    // The Host that was signed is the one sent: the mock's address, port included.
    let host = upstream.url("");
    assert_eq!(request.header("host"), host.strip_prefix("http://"));
    assert_eq!(
        request.target, BEDROCK_PATH,
        "the path goes out as the module built it"
    );
    assert_eq!(request.header("x-amz-content-sha256"), None);
    signature.signed_headers
}

#[test]
fn requests_are_signed_with_the_routes_keys() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = signing_gateway(
        json!({ "aws_access_key_id": "AKIDROUTE", "aws_secret_access_key": "route-secret" }),
        json!({ "upstream_url": upstream.url(BEDROCK_PATH) }),
        // The route's keys win over the environment's.
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
    );
    chat(&gateway);

    let request = upstream.only_request();
    let signed = assert_signed(&request, &upstream, "AKIDROUTE");
    assert!(!signed.iter().any(|h| h == "x-amz-security-token"));
    assert_eq!(request.header("x-amz-security-token"), None);
    assert!(!gateway.stderr().contains("route-secret"));
}

#[test]
fn requests_are_signed_with_the_environments_keys_and_session_token() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = signing_gateway(
        json!({}),
        json!({ "upstream_url": upstream.url(BEDROCK_PATH) }),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-session-token"),
        ],
    );
    chat(&gateway);
    chat(&gateway);

    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let signed = assert_signed(request, &upstream, "AKIDENV");
        assert!(signed.iter().any(|h| h == "x-amz-security-token"));
        assert_eq!(
            request.header_values("x-amz-security-token"),
            vec!["env-session-token"]
        );
    }
}

#[test]
fn requests_are_signed_with_the_shared_credentials_files_profile() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let dir = TempDir::new("aws");
    let credentials = dir.write(
        "credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n\
         [gateway]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n",
    );
    let gateway = signing_gateway(
        json!({}),
        json!({ "upstream_url": upstream.url(BEDROCK_PATH) }),
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
            ("AWS_PROFILE", "gateway"),
        ],
    );
    chat(&gateway);
    assert_signed(&upstream.only_request(), &upstream, "AKIDFILE");
}

#[test]
fn a_signed_request_without_credentials_is_a_500_that_says_why() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let dir = TempDir::new("aws");
    let missing = dir.path().join("no-such-credentials");
    let gateway = signing_gateway(
        json!({}),
        json!({ "upstream_url": upstream.url(BEDROCK_PATH) }),
        &[("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap())],
    );
    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    let error = assert_error(&response, 500);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("no AWS credentials for route route: ")
            && message.contains("no-such-credentials cannot be read"),
        "{message}"
    );
    assert!(upstream.requests().is_empty());
}

#[test]
fn an_unknown_signing_scheme_is_a_502() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = signing_gateway(
        json!({ "aws_access_key_id": "AKIDROUTE", "aws_secret_access_key": "route-secret" }),
        json!({ "upstream_url": upstream.url(BEDROCK_PATH), "signing_scheme": "magic-v9" }),
        &[],
    );
    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    let error = assert_error(&response, 502);
    assert!(
        error["message"].as_str().unwrap().contains("magic-v9"),
        "{error}"
    );
    assert!(upstream.requests().is_empty());
}

/// A service account key file's JSON, holding the repository's test-only RSA key, whose token
/// endpoint is `token_uri`.
fn service_account(token_uri: &str) -> String {
    let key = std::fs::read_to_string(repo_root().join("gateway/testdata/gcp-test-key.pem"))
        .expect("the test key in gateway/testdata");
    json!({
        "type": "service_account",
        "project_id": "e2e-project",
        "private_key_id": "e2e-key-id",
        "private_key": key,
        "client_email": "gateway@e2e-project.iam.gserviceaccount.com",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A gateway with an OpenAI route at `/chat` to `upstream` that authenticates with a service
/// account: in the route's config, or when `account_json` is `None`, from `GCP_SERVICE_ACCOUNT`.
fn gcp_gateway(
    upstream: &MockUpstream,
    config_json: Option<&str>,
    env_json: Option<&str>,
) -> Serve {
    let mut auth = json!({ "gcp_use_service_account": true });
    if let Some(account) = config_json {
        auth["gcp_service_account_json"] = json!(account);
    }
    let serve = Serve::new(single_route(
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
    match env_json {
        Some(account) => serve.env("GCP_SERVICE_ACCOUNT", account),
        None => serve.env_remove("GCP_SERVICE_ACCOUNT"),
    }
}

fn token_endpoint() -> MockUpstream {
    let tokens = MockUpstream::start();
    tokens.always(Reply::json(
        200,
        json!({ "access_token": "ya29.e2e-token", "expires_in": 3599, "token_type": "Bearer" })
            .to_string(),
    ));
    tokens
}

/// The two requests went upstream with the token, and the token was fetched once.
fn assert_bearer_token_used(upstream: &MockUpstream, tokens: &MockUpstream) {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.header_values("authorization"),
            vec!["Bearer ya29.e2e-token"]
        );
    }
    let exchange = tokens.only_request();
    assert_eq!(exchange.method, "POST");
    assert_eq!(exchange.target, "/token");
    assert_eq!(
        exchange.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = String::from_utf8(exchange.body.clone()).unwrap();
    let (grant, assertion) = form.split_once('&').unwrap();
    assert_eq!(
        grant,
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    );
    let jwt = assertion.strip_prefix("assertion=").unwrap();
    assert_eq!(jwt.split('.').count(), 3, "a signed JWT: {jwt}");
}

#[test]
fn a_service_account_in_the_config_gets_a_cached_bearer_token() {
    let tokens = token_endpoint();
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = gcp_gateway(
        &upstream,
        Some(&service_account(&tokens.url("/token"))),
        None,
    )
    .start();
    chat(&gateway);
    chat(&gateway);
    assert_bearer_token_used(&upstream, &tokens);
}

#[test]
fn a_service_account_in_the_environment_gets_a_bearer_token() {
    let tokens = token_endpoint();
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = gcp_gateway(
        &upstream,
        None,
        Some(&service_account(&tokens.url("/token"))),
    )
    .start();
    chat(&gateway);
    chat(&gateway);
    assert_bearer_token_used(&upstream, &tokens);
}

#[test]
fn a_refused_token_exchange_is_a_502_and_nothing_goes_upstream() {
    let tokens = MockUpstream::start();
    tokens.always(Reply::json(
        400,
        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
    ));
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let gateway = gcp_gateway(
        &upstream,
        Some(&service_account(&tokens.url("/token"))),
        None,
    )
    .start();
    let response = http::post(&gateway.url("/chat"))
        .json(&chat_request())
        .send();
    let error = assert_error(&response, 502);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.ends_with("HTTP 400: invalid_grant: Invalid JWT Signature."),
        "{message}"
    );
    assert!(!message.contains("PRIVATE KEY"), "{message}");
    assert!(upstream.requests().is_empty());
    assert!(!gateway.stderr().contains("PRIVATE KEY"));
}

#[test]
fn a_service_account_route_without_a_key_does_not_start() {
    let upstream = MockUpstream::start();
    let (outcome, _) = gcp_gateway(&upstream, None, None).expect_exit();
    assert!(!outcome.status.success());
    assert!(
        outcome.stderr.contains(
            "services[0].routes[0].plugins[0].config.auth.gcp_use_service_account: true, but neither"
        ),
        "{}",
        outcome.stderr
    );
}
