//! Amazon Bedrock through the gateway: a mock Bedrock Runtime that answers Converse JSON and
//! ConverseStream event-stream frames, every request's SigV4 signature recomputed here with the
//! known test secret, and the seed config answering its `what is pi?` request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_gateway_tests::{
    aws_eventstream::{base64_decode, event, exception},
    config::single_route,
    gateway::Serve,
    http,
    mock::{MockUpstream, Recorded, Reply, Step},
    paths::{fixture, fixture_json, repo_root, Module},
    tempdir::TempDir,
};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use serde_json::{json, Value};

use crate::{assert_error, wait_for_stats, wait_for_tokens};

/// AWS's documentation example keys: the mock knows the secret, as Bedrock would.
const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

const NOVA: &str = "us.amazon.nova-micro-v1:0";
const NOVA_PATH: &str = "/model/us.amazon.nova-micro-v1%3A0/converse";
const CLAUDE: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
const CLAUDE_STREAM_PATH: &str =
    "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream";
const TITAN: &str = "amazon.titan-embed-text-v2:0";

/// Every variable through which the test runner's own AWS setup could reach the gateway.
const AWS_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// botocore's model of Bedrock Runtime, relative to `shared/specs`.
const SERVICE_MODEL: &str = "bedrock-runtime/service-2.json";

/// The body Bedrock received, checked to be a valid `shape` (`ConverseRequest` or
/// `ConverseStreamRequest`) by botocore's model.
fn converse_body(sent: &Recorded, shape: &str) -> Value {
    let body = sent.json();
    spec_check::assert_botocore(SERVICE_MODEL, shape, &body);
    body
}

/// A gateway with only the Bedrock module, whose AWS environment is exactly `env`. The shared
/// files point nowhere, so that nothing from the machine's `~/.aws` leaks in.
fn start(config: Value, env: &[(&str, &str)], missing_files: &TempDir) -> Serve {
    let nowhere = missing_files.path().join("none");
    let mut serve = Serve::new(config).modules(&[Module::Bedrock]);
    for name in AWS_VARIABLES {
        serve = serve.env_remove(name);
    }
    serve = serve
        .env("AWS_CONFIG_FILE", nowhere.to_str().unwrap())
        .env("AWS_SHARED_CREDENTIALS_FILE", nowhere.to_str().unwrap());
    for (name, value) in env {
        serve = serve.env(name, value);
    }
    serve
}

/// An `ai-proxy` config for Bedrock with the test keys, sending to `upstream`.
fn bedrock(route_type: &str, model: &str, upstream: &MockUpstream) -> Value {
    json!({
        "route_type": route_type,
        "auth": { "aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET_ACCESS_KEY },
        "model": {
            "provider": "bedrock",
            "name": model,
            "options": { "upstream_url": upstream.url(""), "bedrock": { "aws_region": "us-west-2" } },
        },
    })
}

/// Recomputes `request`'s SigV4 signature over what the mock received (method, path, the headers
/// it says it signed, body) with the test secret, as Bedrock checks it, and asserts that it is
/// the one sent.
fn assert_signature(request: &Recorded, upstream: &MockUpstream, region: &str) {
    let authorization = request
        .header("authorization")
        .expect("an Authorization header");
    let date = request.header("x-amz-date").expect("an x-amz-date header");
    let signed_headers = authorization
        .split(", ")
        .find_map(|part| part.strip_prefix("SignedHeaders="))
        .unwrap_or_else(|| panic!("no SignedHeaders in {authorization}"));
    let headers: Vec<(&str, &str)> = signed_headers
        .split(';')
        // aws-sigv4 adds the date itself, from the signing time.
        .filter(|name| *name != "x-amz-date")
        .map(|name| {
            let value = request
                .header(name)
                .unwrap_or_else(|| panic!("signed header {name} was not received"));
            (name, value)
        })
        .collect();
    let identity = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(amz_date(date))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = upstream.url(&request.target);
    let signable = SignableRequest::new(
        &request.method,
        &url,
        headers.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (expected, _) = instructions.into_parts();
    let expected = expected
        .iter()
        .find(|h| h.name() == "authorization")
        .map(|h| h.value().to_string())
        .unwrap();
    assert_eq!(
        authorization, expected,
        "the signature Bedrock would compute"
    );
    assert!(
        authorization.contains(&format!("/{region}/bedrock/aws4_request")),
        "{authorization}"
    );
}

/// `20240115T120000Z` as a time.
fn amz_date(date: &str) -> SystemTime {
    let number = |range: std::ops::Range<usize>| date[range].parse::<i64>().unwrap();
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    let (hour, minute, second) = (number(9..11), number(11..13), number(13..15));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap())
}

fn converse_answer(text: &str) -> String {
    json!({
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 5, "outputTokens": 18, "totalTokens": 23},
        "metrics": {"latencyMs": 321},
    })
    .to_string()
}

/// The seed's config, unchanged but for `upstream_url` pointed at the mock.
fn seed_config(upstream: &MockUpstream) -> Value {
    let path = repo_root().join("config/examples/ai-proxy-bedrock.yaml");
    let mut config: Value =
        serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let options =
        &mut config["services"][0]["routes"][0]["plugins"][0]["config"]["model"]["options"];
    assert_eq!(options["bedrock"]["aws_region"], "us-west-2");
    options["upstream_url"] = json!(upstream.url(""));
    config
}

#[test]
fn the_seed_config_answers_what_is_pi() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, converse_answer("Pi is about 3.14159.")));
    let files = TempDir::new("aws");
    let gateway = start(
        seed_config(&upstream),
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ],
        &files,
    )
    .start();

    let response = http::post(&gateway.url("/bedrock-route"))
        .header("Authorization", "Bearer sk-client")
        .json(&json!({"messages": [{"role": "user", "content": "what is pi?"}]}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], NOVA);
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Pi is about 3.14159."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 18, "total_tokens": 23})
    );
    assert_eq!(
        response.header("x-kong-llm-model"),
        Some("bedrock/us.amazon.nova-micro-v1:0")
    );
    let sent = upstream.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.target, NOVA_PATH);
    assert_signature(&sent, &upstream, "us-west-2");
    let mut tampered = sent.clone();
    tampered.body = br#"{"messages":[]}"#.to_vec();
    let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_signature(&tampered, &upstream, "us-west-2")
    }));
    assert!(
        check.is_err(),
        "the check refuses a body that was not signed"
    );
    // The seed's `allow_override` body parameter does not reach Bedrock, which would refuse it.
    assert_eq!(
        converse_body(&sent, "ConverseRequest"),
        json!({"messages": [{"role": "user", "content": [{"text": "what is pi?"}]}]})
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    wait_for_tokens(&gateway, "route1", 5, 18, 23);
}

#[test]
fn the_region_comes_from_the_environment_when_the_config_leaves_it_empty() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, converse_answer("Hallo.")));
    let mut config = bedrock("llm/v1/chat", NOVA, &upstream);
    config["model"]["options"]["bedrock"] = json!({});
    let files = TempDir::new("aws");
    let gateway = start(
        single_route("/chat", config),
        &[("AWS_REGION", "eu-central-1")],
        &files,
    )
    .start();

    let response = http::post(&gateway.url("/chat"))
        .json(&json!({"messages": [{"role": "user", "content": "Hallo?"}]}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_signature(&upstream.only_request(), &upstream, "eu-central-1");
}

#[test]
fn a_bedrock_route_without_a_region_does_not_start() {
    let upstream = MockUpstream::start();
    let mut config = bedrock("llm/v1/chat", NOVA, &upstream);
    config["model"]["options"]["bedrock"] = json!({"aws_region": ""});
    let files = TempDir::new("aws");
    let (outcome, _) = start(
        json!({"_format_version": "3.0", "services": [{"name": "svc", "url": "http://localhost:32000",
               "routes": [{"name": "nova-chat", "paths": ["/chat"],
                           "plugins": [{"name": "ai-proxy", "config": config}]}]}]}),
        &[],
        &files,
    )
    .expect_exit();
    assert!(!outcome.status.success());
    assert!(
        outcome.stderr.contains(
            "services[0].routes[0].plugins[0].config.model.options.bedrock.aws_region: route \
             nova-chat has no AWS region"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn tool_calls_go_to_converse_and_come_back_as_openais() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        200,
        json!({
            "output": {"message": {"role": "assistant", "content": [
                {"text": "Multiplying."},
                {"toolUse": {"toolUseId": "tooluse_mul", "name": "multiply", "input": {"a": 14, "b": 10}}},
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 120, "outputTokens": 30, "totalTokens": 150},
            "metrics": {"latencyMs": 500},
        })
        .to_string(),
    ));
    let files = TempDir::new("aws");
    let gateway = start(
        single_route("/chat", bedrock("llm/v1/chat", CLAUDE, &upstream)),
        &[],
        &files,
    )
    .start();
    let mut request = fixture_json("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    request["stream"] = json!(false);
    request["messages"] = json!([
        {"role": "user", "content": "What is 2 + 12? Then, multiply that result by 10?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "tooluse_add", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":12}"}},
        ]},
        {"role": "tool", "tool_call_id": "tooluse_add", "content": "{\"result\": 14}"},
    ]);

    let response = http::post(&gateway.url("/chat")).json(&request).send();

    assert_eq!(response.status, 200, "{}", response.text());
    let choice = &response.json()["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "Multiplying.");
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{"id": "tooluse_mul", "type": "function",
                "function": {"name": "multiply", "arguments": "{\"a\":14,\"b\":10}"}}])
    );
    let sent = upstream.only_request();
    assert_eq!(
        sent.target,
        "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    );
    assert_signature(&sent, &upstream, "us-west-2");
    let body = converse_body(&sent, "ConverseRequest");
    assert_eq!(
        body["messages"][1]["content"][0],
        json!({"toolUse": {"toolUseId": "tooluse_add", "name": "add", "input": {"a": 2, "b": 12}}})
    );
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"toolResult": {"toolUseId": "tooluse_add", "content": [{"json": {"result": 14}}]}})
    );
    assert_eq!(body["toolConfig"]["tools"].as_array().unwrap().len(), 2);
    assert_eq!(body["inferenceConfig"], json!({"temperature": 0.7}));
}

/// A text answer in event-stream frames, cut into writes that split frames mid-header and
/// mid-payload.
fn text_stream_steps() -> Vec<Step> {
    let stream = [
        event("messageStart", &json!({"role": "assistant", "p": "abcdefgh"})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": "The answer"}, "p": "ab"})),
        event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": " is 2."}})),
        event("contentBlockStop", &json!({"contentBlockIndex": 0})),
        event("messageStop", &json!({"stopReason": "end_turn"})),
        event("metadata", &json!({"usage": {"inputTokens": 25, "outputTokens": 12, "totalTokens": 37}, "metrics": {"latencyMs": 400}})),
    ]
    .concat();
    let cuts = [0, 7, 90, 200, 201, stream.len() - 5, stream.len()];
    cuts.windows(2)
        .map(|w| Step::Chunk(stream[w[0]..w[1]].to_vec()))
        .collect()
}

fn streamed(upstream: &MockUpstream, steps: Vec<Step>) {
    upstream.always(Reply::Streamed {
        content_type: EVENT_STREAM.to_string(),
        steps,
    });
}

#[test]
fn a_streamed_chat_with_include_usage() {
    let upstream = MockUpstream::start();
    streamed(&upstream, text_stream_steps());
    let files = TempDir::new("aws");
    let gateway = start(
        single_route("/chat", bedrock("llm/v1/chat", CLAUDE, &upstream)),
        &[],
        &files,
    )
    .start();

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&json!({
            "messages": [{"role": "user", "content": "What is 1 + 1?"}],
            "stream": true,
            "stream_options": {"include_usage": true},
        }))
        .open();

    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let events: Vec<String> = stream.events().into_iter().map(|e| e.data).collect();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"
        && c["id"] == chunks[0]["id"]
        && c["model"] == CLAUDE));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "The answer is 2.");
    let finishes: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("stop")]);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37})
    );
    let sent = upstream.only_request();
    assert_eq!(sent.target, CLAUDE_STREAM_PATH);
    assert_eq!(sent.header("accept"), Some(EVENT_STREAM));
    assert_signature(&sent, &upstream, "us-west-2");
    assert_eq!(
        converse_body(&sent, "ConverseStreamRequest"),
        json!({"messages": [{"role": "user", "content": [{"text": "What is 1 + 1?"}]}]})
    );
    wait_for_tokens(&gateway, "route", 25, 12, 37);
}

/// Kong's captured ConverseStream tool call, in its three writes.
#[test]
fn a_streamed_tool_call_from_kongs_chunks() {
    let upstream = MockUpstream::start();
    let steps = (1..=3)
        .map(|i| {
            let text =
                String::from_utf8(fixture(&format!("bedrock/chunks/chunk-{i}.txt"))).unwrap();
            Step::Chunk(base64_decode(&text))
        })
        .collect();
    streamed(&upstream, steps);
    let files = TempDir::new("aws");
    let gateway = start(
        single_route("/chat", bedrock("llm/v1/chat", CLAUDE, &upstream)),
        &[],
        &files,
    )
    .start();

    let request = fixture_json("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let mut stream = http::post(&gateway.url("/chat")).json(&request).open();

    assert_eq!(stream.status, 200);
    let events: Vec<String> = stream.events().into_iter().map(|e| e.data).collect();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let deltas: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls").cloned())
        .collect();
    assert_eq!(
        deltas[0],
        json!([{"index": 0, "id": "tooluse_UxbKWVKgTqe8cKjPPzopiQ", "type": "function",
                "function": {"name": "add", "arguments": ""}}])
    );
    assert!(deltas.iter().all(|d| d[0]["index"] == 0));
    let arguments: String = deltas
        .iter()
        .filter_map(|d| d[0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"a": 2, "b": 12}"#);
    assert!(events
        .iter()
        .any(|e| e.contains(r#""finish_reason":"tool_calls""#)));
    assert!(
        !events.iter().any(|e| e.contains("\"usage\"")),
        "no usage chunk unless asked"
    );
    let sent = upstream.only_request();
    assert_eq!(sent.target, CLAUDE_STREAM_PATH);
    assert_signature(&sent, &upstream, "us-west-2");
    let body = converse_body(&sent, "ConverseStreamRequest");
    assert_eq!(
        body["toolConfig"]["tools"][1]["toolSpec"]["name"],
        "multiply"
    );
    assert_eq!(body["inferenceConfig"], json!({"temperature": 0.7}));
    wait_for_tokens(&gateway, "route", 478, 44, 522);
}

#[test]
fn an_exception_in_the_stream_ends_it_with_an_error_event() {
    let upstream = MockUpstream::start();
    let steps = vec![
        Step::Chunk(event("messageStart", &json!({"role": "assistant"}))),
        Step::Chunk(event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "Par"}}),
        )),
        Step::Chunk(exception(
            "throttlingException",
            "Too many tokens, please wait before trying again.",
        )),
    ];
    streamed(&upstream, steps);
    let files = TempDir::new("aws");
    let gateway = start(
        single_route("/chat", bedrock("llm/v1/chat", NOVA, &upstream)),
        &[],
        &files,
    )
    .start();

    let mut stream = http::post(&gateway.url("/chat"))
        .json(&json!({"messages": [{"role": "user", "content": "hi"}], "stream": true}))
        .open();

    let events: Vec<String> = stream.events().into_iter().map(|e| e.data).collect();
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(
        last,
        json!({"error": {"message": "Too many tokens, please wait before trying again.",
                         "type": "rate_limit_error", "param": null, "code": "ThrottlingException"}})
    );
    assert!(!events.iter().any(|e| e == "[DONE]"));
    assert!(events.iter().any(|e| e.contains(r#""content":"Par""#)));
}

#[test]
fn bedrock_errors_keep_their_status_in_openais_envelope() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        400,
        r#"{"message":"The provided model identifier is invalid."}"#,
    ));
    let files = TempDir::new("aws");
    let gateway = start(
        single_route("/chat", bedrock("llm/v1/chat", NOVA, &upstream)),
        &[],
        &files,
    )
    .start();

    let response = http::post(&gateway.url("/chat"))
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send();

    let error = assert_error(&response, 400);
    assert_eq!(
        error["message"],
        "The provided model identifier is invalid."
    );
    assert_eq!(error["type"], "invalid_request_error");
}

#[test]
fn titan_embeddings_go_to_invoke_model() {
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(
        200,
        json!({"embedding": [0.125, -0.5, 0.25], "inputTextTokenCount": 5}).to_string(),
    ));
    let files = TempDir::new("aws");
    let gateway = start(
        single_route(
            "/embeddings",
            bedrock("llm/v1/embeddings", TITAN, &upstream),
        ),
        &[],
        &files,
    )
    .start();

    let response = http::post(&gateway.url("/embeddings"))
        .json(&json!({"input": "The food was delicious", "dimensions": 256, "encoding_format": "float"}))
        .send();

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"object": "list", "model": TITAN,
               "data": [{"object": "embedding", "index": 0, "embedding": [0.125, -0.5, 0.25]}],
               "usage": {"prompt_tokens": 5, "total_tokens": 5}})
    );
    let sent = upstream.only_request();
    assert_eq!(sent.target, "/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert_signature(&sent, &upstream, "us-west-2");
    // InvokeModel's body is the model's own; botocore's model has no shape for it.
    assert_eq!(
        sent.json(),
        json!({"inputText": "The food was delicious", "dimensions": 256})
    );
    wait_for_stats(&gateway, "route", &[("/tokens/prompt", json!(5))]);
}
