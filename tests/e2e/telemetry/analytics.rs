//! The Kong-compatible analytics record written by `--analytics-log`: one JSON line per request
//! on routes with `log_statistics` or `log_payloads`, with Kong's faults fixed (payloads without
//! statistics, the client's body beside the upstream's, streamed usage from the provider and
//! never counted twice, estimates marked).

use ai_gateway_tests::{
    config::{deck, merged},
    gateway::Serve,
    http,
    mock::{chunk, MockUpstream, Reply},
    paths::Module,
    tempdir::TempDir,
};
use serde_json::{json, Value};

use super::{exporting_to, logged_chat, openai_stream, wait_for_analytics};
use crate::{chat_request, chat_response, openai, wait_for_tokens};

const PLUGIN_ID: &str = "6e7c40f6-ce96-48e4-a366-d109c169e444";

/// A route at `path` whose one plugin is `ai-proxy` with `config`, and `extra` plugin fields.
fn route(name: &str, path: &str, config: Value, extra: Value) -> Value {
    json!({
        "name": name,
        "paths": [path],
        "plugins": [merged(json!({ "name": "ai-proxy", "config": config }), extra)],
    })
}

/// An Azure chat route on instance `001-kong-t` to `upstream` that logs statistics, with
/// `options` added to its `model.options`.
fn logged_azure(upstream: &MockUpstream, options: Value) -> Value {
    json!({
        "route_type": "llm/v1/chat",
        "auth": { "header_name": "api-key", "header_value": "azure-key" },
        "logging": { "log_statistics": true },
        "model": {
            "provider": "azure",
            "name": "gpt-4o",
            "options": merged(
                json!({ "azure_instance": "001-kong-t", "upstream_url": upstream.url("") }),
                options,
            ),
        },
    })
}

fn azure_stream() -> Vec<ai_gateway_tests::mock::Step> {
    let chunk_of = |choices: Value| {
        json!({
            "choices": choices, "created": 1731000000, "id": "chatcmpl-AzUre",
            "model": "gpt-4o-2024-08-06", "object": "chat.completion.chunk",
        })
    };
    let mut usage = chunk_of(json!([]));
    usage["usage"] = json!({"completion_tokens": 7, "prompt_tokens": 25, "total_tokens": 32});
    [
        chunk_of(json!([{"delta": {"content": "", "role": "assistant"}, "finish_reason": null, "index": 0}])).to_string(),
        chunk_of(json!([{"delta": {"content": "1 + 1 = 2."}, "finish_reason": null, "index": 0}])).to_string(),
        chunk_of(json!([{"delta": {}, "finish_reason": "stop", "index": 0}])).to_string(),
        usage.to_string(),
        "[DONE]".to_string(),
    ]
    .iter()
    .map(|e| chunk(&format!("data: {e}\n\n")))
    .collect()
}

#[test]
fn every_logged_request_writes_one_record_with_kongs_shape_and_exact_figures() {
    let openai_upstream = MockUpstream::start();
    let azure_upstream = MockUpstream::start();
    let dir = TempDir::new("analytics");
    let log = dir.path().join("analytics.jsonl");
    let chat_url = openai_upstream.url("/v1/chat/completions");
    let config = deck(vec![json!({
        "name": "svc",
        "url": "http://localhost:32000",
        "routes": [
            route("stats", "/stats", logged_chat(&openai_upstream, "gpt-3.5-turbo"), json!({ "id": PLUGIN_ID })),
            route(
                "payloads-only",
                "/payloads",
                merged(
                    openai("llm/v1/chat", "gpt-3.5-turbo", &chat_url),
                    json!({ "logging": { "log_payloads": true } }),
                ),
                json!({ "instance_name": "payloads-only-proxy" }),
            ),
            route("quiet", "/quiet", openai("llm/v1/chat", "gpt-3.5-turbo", &chat_url), json!({})),
            route(
                "azure",
                "/azure",
                logged_azure(&azure_upstream, json!({ "azure_deployment_id": "gpt-4o-prod" })),
                json!({}),
            ),
        ],
    })]);
    let gateway = exporting_to(
        Serve::new(config)
            .modules(&[Module::OpenAi, Module::Azure])
            .env("AI_GATEWAY_ANALYTICS_LOG", log.to_str().unwrap()),
        None,
    )
    .start();

    // 1: a whole response on the statistics route.
    openai_upstream.reply(Reply::json(200, chat_response()));
    let whole = http::post(&gateway.url("/stats"))
        .json(&chat_request())
        .send();
    assert_eq!(whole.status, 200);
    // 2: a stream with the provider's usage event.
    openai_upstream.reply(Reply::sse(openai_stream(true)));
    let streamed = merged(chat_request(), json!({ "stream": true }));
    let stream = http::post(&gateway.url("/stats")).json(&streamed).send();
    assert_eq!(stream.status, 200);
    // 3: a stream whose provider reports no usage: estimated.
    openai_upstream.reply(Reply::sse(openai_stream(false)));
    let estimated = http::post(&gateway.url("/stats")).json(&streamed).send();
    assert_eq!(estimated.status, 200);
    // 4: payloads without statistics.
    openai_upstream.reply(Reply::json(200, chat_response()));
    let payloads = http::post(&gateway.url("/payloads"))
        .json(&chat_request())
        .send();
    assert_eq!(payloads.status, 200);
    // Not logged.
    openai_upstream.reply(Reply::json(200, chat_response()));
    assert_eq!(
        http::post(&gateway.url("/quiet"))
            .json(&chat_request())
            .send()
            .status,
        200
    );
    // 5: Azure's stream, with its deployment in the record.
    azure_upstream.reply(Reply::sse(azure_stream()));
    assert_eq!(
        http::post(&gateway.url("/azure"))
            .json(&streamed)
            .send()
            .status,
        200
    );

    // The quiet route was served before the Azure request: once the Azure record is there, it
    // would have been too.
    wait_for_tokens(&gateway, "azure", 25, 7, 32);
    let lines = wait_for_analytics(&log, 5);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let proxy = |i: usize| lines[i]["ai"]["proxy"].clone();

    // 1: Kong's fields and values.
    let first = proxy(0);
    let latency = first["meta"]["llm_latency"].as_u64().unwrap();
    assert_eq!(
        first["meta"],
        json!({
            "plugin_id": PLUGIN_ID,
            "provider_name": "openai",
            "request_model": "gpt-3.5-turbo",
            "response_model": "gpt-3.5-turbo-0613",
            "llm_latency": latency,
        })
    );
    assert_eq!(first["usage"]["prompt_tokens"], 25);
    assert_eq!(first["usage"]["completion_tokens"], 12);
    assert_eq!(first["usage"]["total_tokens"], 37);
    assert_eq!(first["usage"]["estimated"], false);
    let cost = first["usage"]["cost"].as_f64().unwrap();
    assert!((cost - 0.00049).abs() < 1e-12, "{cost}");
    let per_token = first["usage"]["time_per_token"].as_f64().unwrap();
    assert!((per_token - latency as f64 / 12.0).abs() < 1e-9, "{first}");
    // The client's body as it sent it, and the upstream's beside it.
    let payload = &first["payload"];
    assert_eq!(
        payload["request"].as_str().unwrap(),
        serde_json::to_string(&chat_request()).unwrap()
    );
    let upstream_body: Value =
        serde_json::from_str(payload["upstream_request"].as_str().unwrap()).unwrap();
    assert_eq!(upstream_body["model"], "gpt-3.5-turbo");
    assert_eq!(upstream_body["messages"], chat_request()["messages"]);
    assert_eq!(
        payload["response"].as_str().unwrap().as_bytes(),
        chat_response().as_slice()
    );

    // 2: streamed usage is the provider's, counted once; the payload is the composite.
    let second = proxy(1);
    assert_eq!(second["meta"]["response_model"], "gpt-4o-2024-08-06");
    assert_eq!(
        (
            &second["usage"]["prompt_tokens"],
            &second["usage"]["completion_tokens"],
            &second["usage"]["total_tokens"],
            &second["usage"]["cached_tokens"],
            &second["usage"]["estimated"],
        ),
        (&json!(25), &json!(12), &json!(37), &json!(5), &json!(false))
    );
    let composite: Value =
        serde_json::from_str(second["payload"]["response"].as_str().unwrap()).unwrap();
    assert_eq!(
        composite["choices"][0]["message"]["content"],
        "The answer is 2."
    );
    assert_eq!(composite["choices"][0]["finish_reason"], "stop");
    assert_eq!(composite["usage"]["completion_tokens"], 12);

    // 3: no usage from the provider: ceil(chars / 4) of the prompt's 42 characters and of the
    // 16 characters generated, marked as estimated.
    let third = proxy(2);
    assert_eq!(third["usage"]["prompt_tokens"], 11);
    assert_eq!(third["usage"]["completion_tokens"], 4);
    assert_eq!(third["usage"]["total_tokens"], 15);
    assert_eq!(third["usage"]["estimated"], true);

    // 4: payloads logged without statistics, under the plugin's instance name.
    let fourth = proxy(3);
    assert_eq!(fourth["meta"]["plugin_id"], "payloads-only-proxy");
    assert!(fourth["payload"]["request"].is_string());
    assert_eq!(fourth["usage"]["cost"], 0.0);

    // 5: Azure: its deployment, and its streamed usage.
    let fifth = proxy(4);
    assert_eq!(fifth["meta"]["provider_name"], "azure");
    assert_eq!(fifth["meta"]["azure_instance_id"], "001-kong-t");
    assert_eq!(fifth["meta"]["azure_deployment_id"], "gpt-4o-prod");
    assert_eq!(fifth["meta"]["azure_api_version"], "2023-05-15");
    assert_eq!(
        fifth["meta"]["plugin_id"],
        "services[0].routes[3].plugins[0]"
    );
    assert_eq!(fifth["usage"]["prompt_tokens"], 25);
    assert_eq!(fifth["usage"]["completion_tokens"], 7);
    assert!(fifth.get("payload").is_none());

    // The route statistics count the stream's 12 tokens once, and the estimate.
    wait_for_tokens(&gateway, "stats", 25 + 25 + 11, 12 + 12 + 4, 37 + 37 + 15);
}

#[test]
fn a_templated_azure_deployment_is_logged_as_each_request_resolved_it() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let dir = TempDir::new("analytics");
    let log = dir.path().join("analytics.jsonl");
    let config = deck(vec![json!({
        "name": "svc",
        "url": "http://localhost:32000",
        "routes": [route(
            "azure",
            "~/azure/(?<deployment>[a-z0-9-]+)/chat$",
            logged_azure(
                &upstream,
                json!({
                    "azure_deployment_id": "$(uri_captures.deployment)",
                    "azure_api_version": "2024-10-21",
                }),
            ),
            json!({}),
        )],
    })]);
    let gateway = exporting_to(
        Serve::new(config)
            .modules(&[Module::Azure])
            .env("AI_GATEWAY_ANALYTICS_LOG", log.to_str().unwrap()),
        None,
    )
    .start();

    for deployment in ["gpt-4o-east", "gpt-4o-west"] {
        let response = http::post(&gateway.url(&format!("/azure/{deployment}/chat")))
            .json(&chat_request())
            .send();
        assert_eq!(response.status, 200, "{}", response.text());
    }

    let sent: Vec<String> = upstream.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        sent,
        [
            "/openai/deployments/gpt-4o-east/chat/completions?api-version=2024-10-21",
            "/openai/deployments/gpt-4o-west/chat/completions?api-version=2024-10-21",
        ]
    );
    let lines = wait_for_analytics(&log, 2);
    let deployments: Vec<(&Value, &Value, &Value)> = lines
        .iter()
        .map(|line| {
            let meta = &line["ai"]["proxy"]["meta"];
            (
                &meta["azure_instance_id"],
                &meta["azure_deployment_id"],
                &meta["azure_api_version"],
            )
        })
        .collect();
    assert_eq!(
        deployments,
        [
            (
                &json!("001-kong-t"),
                &json!("gpt-4o-east"),
                &json!("2024-10-21")
            ),
            (
                &json!("001-kong-t"),
                &json!("gpt-4o-west"),
                &json!("2024-10-21")
            ),
        ]
    );
}
