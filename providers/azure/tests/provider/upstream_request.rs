use abi_stable::std_types::RStr;
use ai_provider_azure::Azure;
use provider_sdk::abi::{Framing, RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{fixture, json, plan, OPTIONS};

const OPENAI_SPEC: &str = "openai/openapi.prism.json";

const DEPLOYMENT_URL: &str =
    "https://001-kong-t.openai.azure.com/openai/deployments/gpt-3.5-custom";

fn build(plan: &RequestPlan<'_>, body: &[u8]) -> UpstreamRequest {
    Azure::build_request(plan, &ClientBody::new(body)).unwrap()
}

fn url(plan: &RequestPlan<'_>) -> String {
    build(
        plan,
        br#"{"messages":[{"role":"user","content":"x"}],"prompt":"x","input":"x"}"#,
    )
    .url
    .into_string()
}

/// The body that goes upstream: the edited one, or the client's when the module sends it as is.
fn sent_body(request: &UpstreamRequest, client_body: &[u8]) -> Value {
    json(
        &request
            .body
            .as_ref()
            .map(|b| b.to_vec())
            .into_option()
            .unwrap_or_else(|| client_body.to_vec()),
    )
}

#[test]
fn kong_deployment_urls_per_route_type() {
    let cases = [
        (RouteType::CHAT, "/chat/completions"),
        (RouteType::COMPLETIONS, "/completions"),
        (RouteType::EMBEDDINGS, "/embeddings"),
    ];
    for (route_type, path) in cases {
        assert_eq!(
            url(&plan(route_type, "gpt-3.5-turbo", OPTIONS)),
            format!("{DEPLOYMENT_URL}{path}?api-version=2023-05-15")
        );
    }
}

#[test]
fn the_configured_api_version_is_used_unless_the_client_sets_one() {
    let options = r#"{"azure_instance":"001-kong-t","azure_deployment_id":"gpt-3.5-custom","azure_api_version":"2024-10-21"}"#;
    let mut chat = plan(RouteType::CHAT, "m", options);
    assert_eq!(
        url(&chat),
        format!("{DEPLOYMENT_URL}/chat/completions?api-version=2024-10-21")
    );
    chat.client_query = RStr::from_str("api-version=2024-02-01&trace=on");
    assert_eq!(
        url(&chat),
        format!("{DEPLOYMENT_URL}/chat/completions?api-version=2024-02-01&trace=on")
    );
    chat.client_query = RStr::from_str("trace=on");
    assert_eq!(
        url(&chat),
        format!("{DEPLOYMENT_URL}/chat/completions?trace=on&api-version=2024-10-21")
    );
}

#[test]
fn upstream_path_is_appended_after_the_deployment() {
    let options = r#"{"azure_instance":"001-kong-t","azure_deployment_id":"gpt-3.5-custom","upstream_path":"/extensions/chat/completions"}"#;
    assert_eq!(
        url(&plan(RouteType::CHAT, "m", options)),
        format!("{DEPLOYMENT_URL}/extensions/chat/completions?api-version=2023-05-15")
    );
}

#[test]
fn kong_preserve_paths() {
    // Kong's azure spec: the deployment and the operation come from uri captures.
    let options = r#"{"azure_instance":"001-kong-t","azure_deployment_id":"my-gpt-3-5","upstream_path":"/embeddings"}"#;
    let mut preserve = plan(RouteType::PRESERVE, "", options);
    preserve.client_path = RStr::from_str("/azure/my-gpt-3-5/embeddings");
    let request = build(&preserve, br#"{"input":"x"}"#);
    assert_eq!(
        request.url.as_str(),
        "https://001-kong-t.openai.azure.com/openai/deployments/my-gpt-3-5/embeddings?api-version=2023-05-15"
    );
    assert!(request.body.is_none(), "preserve sends the client's bytes");
    assert!(request.headers.is_empty());

    let mut preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    preserve.client_method = RStr::from_str("GET");
    preserve.client_path = RStr::from_str("/openai/deployments/gpt-3.5-custom/extensions/x");
    preserve.client_query = RStr::from_str("api-version=2024-10-21");
    let request = build(&preserve, b"");
    assert_eq!(
        request.url.as_str(),
        format!("{DEPLOYMENT_URL}/extensions/x?api-version=2024-10-21")
    );
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.response_framing, Framing::JSON);
}

#[test]
fn upstream_url_points_the_deployment_elsewhere() {
    let options = r#"{"azure_instance":"i","azure_deployment_id":"d","upstream_url":"http://127.0.0.1:9000"}"#;
    assert_eq!(
        url(&plan(RouteType::EMBEDDINGS, "m", options)),
        "http://127.0.0.1:9000/openai/deployments/d/embeddings?api-version=2023-05-15"
    );
    let options = r#"{"azure_instance":"i","azure_deployment_id":"d","upstream_url":"http://proxy:8080/custom/chat?dropped=1"}"#;
    assert_eq!(
        url(&plan(RouteType::CHAT, "m", options)),
        "http://proxy:8080/custom/chat?api-version=2023-05-15"
    );
}

#[test]
fn templated_values_that_would_change_the_url_are_400s() {
    for options in [
        r#"{"azure_instance":"evil.example#","azure_deployment_id":"d"}"#,
        r#"{"azure_instance":"i","azure_deployment_id":"../../admin"}"#,
        r#"{"azure_instance":"i","azure_deployment_id":"d","azure_api_version":"x&api-key=1"}"#,
    ] {
        let error = Azure::build_request(
            &plan(RouteType::CHAT, "m", options),
            &ClientBody::new(b"{}"),
        )
        .unwrap_err();
        assert_eq!(error.status, 400, "{options}");
    }
    let error = Azure::build_request(&plan(RouteType::CHAT, "m", "{}"), &ClientBody::new(b"{}"))
        .unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "azure_instance: must be set for the azure provider"
    );
}

/// `value` with every number as a float: Kong's fixtures write `top_p` as `1` or `1.0`
/// depending on the file, which is the same value.
fn as_floats(value: Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(items) => Value::Array(items.into_iter().map(as_floats).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, as_floats(v))).collect())
        }
        other => other,
    }
}

#[test]
fn kong_unit_requests_match_the_expected_azure_bodies() {
    let options = r#"{"azure_instance":"001-kong-t","azure_deployment_id":"gpt-3.5-custom","max_tokens":512,"temperature":0.5,"top_p":1,"top_k":40}"#;
    for (route_type, model, file) in [
        (RouteType::CHAT, "gpt-4", "llm-v1-chat.json"),
        (
            RouteType::COMPLETIONS,
            "gpt-3.5-turbo-instruct",
            "llm-v1-completions.json",
        ),
    ] {
        let client = fixture(&format!("unit/requests/{file}"));
        let request = build(&plan(route_type, model, options), &client);
        let mut sent = sent_body(&request, &client);
        let mut expected = json(&fixture(&format!("unit/expected-requests/azure/{file}")));
        // Kong always writes `stream: false`; a body that did not ask for streaming is left
        // without it here.
        assert_eq!(
            expected.as_object_mut().unwrap().remove("stream"),
            Some(Value::Bool(false))
        );
        assert_eq!(sent.as_object_mut().unwrap().remove("stream"), None);
        assert_eq!(as_floats(sent), as_floats(expected), "{file}");
    }
}

#[test]
fn headers_and_framing() {
    let body = fixture("openai/llm-v1-chat/requests/good.json");
    let request = build(&plan(RouteType::CHAT, "gpt-4", OPTIONS), &body);
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.headers.len(), 1);
    assert_eq!(request.headers[0].name.as_str(), "content-type");
    assert_eq!(request.headers[0].value.as_str(), "application/json");
    assert_eq!(request.response_framing, Framing::JSON);
    assert!(request.signing.is_none());

    let mut streamed = plan(RouteType::CHAT, "gpt-4", OPTIONS);
    streamed.stream = true;
    assert_eq!(build(&streamed, &body).response_framing, Framing::SSE);
}

#[test]
fn stream_usage_is_requested_only_from_api_versions_that_accept_it() {
    let client = fixture("openai/llm-v1-chat/requests/good-stream.json");
    let mut old = plan(RouteType::CHAT, "gpt-4", OPTIONS);
    old.stream = true;
    let sent = sent_body(&build(&old, &client), &client);
    assert_eq!(sent["stream"], true);
    assert!(
        sent.get("stream_options").is_none(),
        "2023-05-15 answers 400 to stream_options"
    );

    old.client_query = RStr::from_str("api-version=2024-10-21");
    let sent = sent_body(&build(&old, &client), &client);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));

    let options =
        r#"{"azure_instance":"i","azure_deployment_id":"d","azure_api_version":"2024-10-21"}"#;
    let mut new = plan(RouteType::COMPLETIONS, "m", options);
    new.stream = true;
    let body = br#"{"prompt":"x","stream":true}"#;
    let sent = sent_body(&build(&new, body), body);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));

    let asked = br#"{"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}"#;
    old.client_query = RStr::from_str("");
    assert_eq!(
        sent_body(&build(&old, asked), asked)["stream_options"],
        json!({"include_usage": true})
    );
}

#[test]
fn upstream_bodies_conform_to_the_openai_schema() {
    let options = r#"{"azure_instance":"i","azure_deployment_id":"d","azure_api_version":"2024-10-21","max_tokens":512,"temperature":0.5,"top_p":1,"top_k":40}"#;
    let mut streamed = plan(RouteType::CHAT, "gpt-4o", options);
    streamed.stream = true;
    let cases = [
        (
            plan(RouteType::CHAT, "gpt-4o", options),
            "openai/llm-v1-chat/requests/good.json",
            "CreateChatCompletionRequest",
        ),
        (
            streamed,
            "openai/llm-v1-chat/requests/good-stream-with-functions.json",
            "CreateChatCompletionRequest",
        ),
        (
            plan(RouteType::CHAT, "gpt-4o", options),
            "openai/llm-v1-chat/requests/good_multi_modal.json",
            "CreateChatCompletionRequest",
        ),
        (
            plan(RouteType::COMPLETIONS, "gpt-35-turbo-instruct", options),
            "openai/llm-v1-completions/requests/good.json",
            "CreateCompletionRequest",
        ),
    ];
    for (plan, path, schema) in cases {
        let client = fixture(path);
        let sent = sent_body(&build(&plan, &client), &client);
        assert_openapi(OPENAI_SPEC, schema, &sent);
    }
    let body = br#"{"input":["a","b"],"encoding_format":"float","dimensions":256}"#;
    let request = build(
        &plan(RouteType::EMBEDDINGS, "text-embedding-3-small", options),
        body,
    );
    assert_openapi(
        OPENAI_SPEC,
        "CreateEmbeddingRequest",
        &sent_body(&request, body),
    );
}
