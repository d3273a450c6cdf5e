use abi_stable::std_types::RStr;
use ai_provider_anthropic::DEFAULT_MAX_TOKENS;
use provider_sdk::abi::{Framing, RouteType, UpstreamRequest};
use serde_json::{json, Value};

use crate::common::{
    assert_messages_schema, build, fixture, json, messages_body, plan, refused, streamed, OPTIONS,
};

const MODEL: &str = "claude-sonnet-4-5";

fn headers(request: &UpstreamRequest) -> Vec<(&str, &str)> {
    request
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect()
}

/// The Messages body for a chat request `body` on a plain chat route.
fn chat(body: Value) -> Value {
    messages_body(
        &plan(RouteType::CHAT, MODEL, OPTIONS),
        body.to_string().as_bytes(),
    )
}

fn chat_refused(body: Value) -> String {
    refused(&plan(RouteType::CHAT, MODEL, OPTIONS), &body.to_string())
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[test]
fn each_route_type_reaches_its_endpoint_with_the_version_header() {
    let chat_body = fixture("anthropic/llm-v1-chat/requests/good.json");
    let request = build(&plan(RouteType::CHAT, MODEL, OPTIONS), &chat_body);
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.as_str(),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(
        headers(&request),
        [
            ("anthropic-version", "2023-06-01"),
            ("content-type", "application/json")
        ]
    );
    assert_eq!(request.response_framing, Framing::JSON);
    assert!(request.signing.is_none());

    let streamed_request = build(
        &streamed(plan(RouteType::CHAT, MODEL, OPTIONS), false),
        &chat_body,
    );
    assert_eq!(streamed_request.response_framing, Framing::SSE);

    let completions = build(
        &plan(RouteType::COMPLETIONS, "claude-2.1", OPTIONS),
        &fixture("anthropic/llm-v1-completions/requests/good.json"),
    );
    assert_eq!(
        completions.url.as_str(),
        "https://api.anthropic.com/v1/complete"
    );
    assert_eq!(completions.method.as_str(), "POST");
}

#[test]
fn preserve_sends_the_clients_request_to_its_path_with_the_version_header() {
    let mut preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    preserve.client_method = RStr::from_str("GET");
    preserve.client_path = RStr::from_str("/v1/models");
    preserve.client_query = RStr::from_str("limit=5");
    let request = build(&preserve, b"");
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(
        request.url.as_str(),
        "https://api.anthropic.com/v1/models?limit=5"
    );
    assert!(request.body.is_none(), "the client's bytes go upstream");
    assert_eq!(headers(&request), [("anthropic-version", "2023-06-01")]);
}

#[test]
fn upstream_url_and_upstream_path_follow_kongs_rules() {
    let body = fixture("anthropic/llm-v1-chat/requests/good.json");
    let url = |options: &str| {
        build(&plan(RouteType::CHAT, MODEL, options), &body)
            .url
            .into_string()
    };
    assert_eq!(
        url(r#"{"anthropic_version":"2023-06-01","upstream_url":"http://127.0.0.1:9000"}"#),
        "http://127.0.0.1:9000/v1/messages"
    );
    assert_eq!(
        url(
            r#"{"anthropic_version":"2023-06-01","upstream_url":"https://proxy.internal/claude/messages?x=1"}"#
        ),
        "https://proxy.internal/claude/messages"
    );
    assert_eq!(
        url(r#"{"anthropic_version":"2023-06-01","upstream_path":"/v1/messages/batches"}"#),
        "https://api.anthropic.com/v1/messages/batches"
    );
}

/// Kong's unit test sends the canonical six-message chat with these tuning options.
const KONG_UNIT_OPTIONS: &str =
    r#"{"anthropic_version":"2023-06-01","max_tokens":512,"temperature":0.5,"top_p":1,"top_k":40}"#;

#[test]
fn kong_unit_chat_request_keeps_top_p_and_top_k() {
    let client = fixture("unit/requests/llm-v1-chat.json");
    let sent = messages_body(
        &plan(RouteType::CHAT, "claude-2.1", KONG_UNIT_OPTIONS),
        &client,
    );
    let mut expected = json(&fixture(
        "unit/expected-requests/anthropic/llm-v1-chat.json",
    ));
    // Kong drops top_p and top_k; Anthropic takes both.
    expected["top_p"] = json!(1.0);
    expected["top_k"] = json!(40);
    assert_eq!(sent, expected);
}

#[test]
fn kong_unit_completions_request_uses_the_turn_format() {
    let client = fixture("unit/requests/llm-v1-completions.json");
    let request = build(
        &plan(RouteType::COMPLETIONS, "claude-2.1", KONG_UNIT_OPTIONS),
        &client,
    );
    let sent = json(request.body.as_ref().into_option().unwrap());
    let mut expected = json(&fixture(
        "unit/expected-requests/anthropic/llm-v1-completions.json",
    ));
    // Kong's prompt lacks the leading "\n\n" that /v1/complete requires of every prompt, and
    // Kong drops top_p and top_k.
    assert_eq!(
        expected["prompt"],
        "Human: Explain why you can't divide by zero?\n\nAssistant:"
    );
    expected["prompt"] = json!("\n\nHuman: Explain why you can't divide by zero?\n\nAssistant:");
    expected["top_p"] = json!(1.0);
    expected["top_k"] = json!(40);
    assert_eq!(sent, expected);
}

#[test]
fn kong_integration_requests() {
    let good = fixture("anthropic/llm-v1-chat/requests/good.json");
    let sent = messages_body(&plan(RouteType::CHAT, "claude-2.1", OPTIONS), &good);
    assert_eq!(
        sent,
        json!({
            "model": "claude-2.1",
            "messages": [{"role": "user", "content": "What is 1 + 1?"}],
            "system": "You are a helpful assistant.",
            "max_tokens": 4096,
            "stream": false,
        })
    );

    let stream = fixture("anthropic/llm-v1-chat/requests/good-stream.json");
    let sent = messages_body(
        &streamed(plan(RouteType::CHAT, "claude-2.1", OPTIONS), true),
        &stream,
    );
    assert_eq!(sent["stream"], true);
    assert!(sent.get("stream_options").is_none());

    let own_model = fixture("anthropic/llm-v1-chat/requests/good_own_model.json");
    let sent = messages_body(&plan(RouteType::CHAT, "claude-2.1", OPTIONS), &own_model);
    assert_eq!(sent["model"], "claude-2.1", "the gateway's resolved model");

    let completions = build(
        &plan(RouteType::COMPLETIONS, "claude-2.1", OPTIONS),
        &fixture("anthropic/llm-v1-completions/requests/good.json"),
    );
    assert_eq!(
        json(completions.body.as_ref().into_option().unwrap()),
        json!({
            "model": "claude-2.1",
            "prompt": "\n\nHuman: What are you?\n\nAssistant:",
            "max_tokens_to_sample": 4096,
            "stream": false,
        })
    );
}

#[test]
fn kong_tool_choice_fixtures() {
    let cases = [
        ("tool_choice_auto.json", Some(json!({"type": "auto"}))),
        // No tools: nothing to choose from, and Anthropic refuses a tool_choice alone.
        ("tool_choice_none.json", None),
        ("tool_choice_required.json", Some(json!({"type": "any"}))),
        (
            "tool_choice_object_function.json",
            Some(json!({"type": "tool", "name": "my_function"})),
        ),
    ];
    for (file, expected) in cases {
        let body = fixture(&format!("openai/llm-v1-chat/requests/{file}"));
        let sent = messages_body(&plan(RouteType::CHAT, MODEL, OPTIONS), &body);
        assert_eq!(sent.get("tool_choice").cloned(), expected, "{file}");
    }
    let body = fixture("openai/llm-v1-chat/requests/tool_choice_auto.json");
    let sent = messages_body(&plan(RouteType::CHAT, MODEL, OPTIONS), &body);
    let client = json(&body);
    let function = &client["tools"][0]["function"];
    assert_eq!(
        sent["tools"],
        json!([{
            "name": "get_current_weather",
            "description": function["description"],
            "input_schema": function["parameters"],
        }])
    );
}

#[test]
fn kong_streamed_tools_fixture() {
    let body = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let sent = messages_body(
        &streamed(plan(RouteType::CHAT, MODEL, OPTIONS), true),
        &body,
    );
    let names: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["add", "multiply"]);
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));
}

#[test]
fn every_system_and_developer_message_is_kept_in_order() {
    let sent = chat(json!({"messages": [
        {"role": "system", "content": "You are terse."},
        user("Hi"),
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}, {"type": "text", "text": "No emoji."}]},
        {"role": "assistant", "content": "Salut"},
        user("Again"),
    ]}));
    assert_eq!(
        sent["system"],
        json!([
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Answer in French."},
            {"type": "text", "text": "No emoji."},
        ])
    );
    assert_eq!(
        sent["messages"],
        json!([user("Hi"), {"role": "assistant", "content": "Salut"}, user("Again")])
    );
}

#[test]
fn assistant_text_and_every_tool_call_are_kept_and_tool_results_are_one_user_turn() {
    let sent = chat(json!({
        "messages": [
            user("What is 2 + 12, and 3 * 4?"),
            {"role": "assistant", "content": "I'll compute both.", "tool_calls": [
                {"id": "toolu_01", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
                {"id": "toolu_02", "type": "function", "function": {"name": "multiply", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_01", "content": "14"},
            {"role": "tool", "tool_call_id": "toolu_02", "content": [{"type": "text", "text": "12"}]},
            user("Thanks. Now add them."),
        ],
        "tools": [
            {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}},
            {"type": "function", "function": {"name": "multiply", "description": "Multiplies", "strict": true}},
        ],
    }));
    assert_eq!(
        sent["messages"],
        json!([
            user("What is 2 + 12, and 3 * 4?"),
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll compute both."},
                {"type": "tool_use", "id": "toolu_01", "name": "add", "input": {"a": 2, "b": 12}},
                {"type": "tool_use", "id": "toolu_02", "name": "multiply", "input": {}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "14"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": [{"type": "text", "text": "12"}]},
                {"type": "text", "text": "Thanks. Now add them."},
            ]},
        ])
    );
    assert_eq!(
        sent["tools"][1],
        json!({
            "name": "multiply", "description": "Multiplies",
            "input_schema": {"type": "object", "properties": {}}, "strict": true,
        }),
        "a function without parameters takes an empty object"
    );
}

#[test]
fn a_tool_call_only_assistant_message_has_no_empty_text() {
    for content in [Value::Null, json!(""), json!([])] {
        let sent = chat(json!({"messages": [
            user("Time?"),
            {"role": "assistant", "content": content, "tool_calls": [
                {"id": "toolu_9", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_9", "content": "12:00"},
        ]}));
        assert_eq!(
            sent["messages"][1]["content"],
            json!([{"type": "tool_use", "id": "toolu_9", "name": "now", "input": {}}]),
            "{content}"
        );
    }
}

#[test]
fn consecutive_messages_of_one_role_are_merged() {
    let sent = chat(json!({"messages": [
        user("First."),
        user("Second."),
        {"role": "assistant", "content": "A"},
        {"role": "assistant", "content": "B"},
    ]}));
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
        ])
    );
}

#[test]
fn images_are_inline_base64_or_fetched_by_url() {
    let sent = chat(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": "data:image/PNG;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/cat.jpg", "detail": "auto"}},
    ]}]}));
    assert_eq!(
        sent["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Compare these."},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/cat.jpg"}},
        ])
    );
    let kong = fixture("openai/llm-v1-chat/requests/good_multi_modal.json");
    let sent = messages_body(&plan(RouteType::CHAT, MODEL, OPTIONS), &kong);
    let blocks = sent["messages"][0]["content"].as_array().unwrap();
    assert!(blocks.iter().any(|b| b["source"]["type"] == "url"));
}

#[test]
fn images_anthropic_cannot_take_are_400s() {
    let image = |url: &str, detail: Value| {
        json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url, "detail": detail}},
        ]}]})
    };
    assert_eq!(
        chat_refused(image("data:image/bmp;base64,Qk0=", Value::Null)),
        "messages[0]: image type `image/bmp` is not supported by provider anthropic; use \
         image/jpeg, image/png, image/gif, image/webp"
    );
    assert_eq!(
        chat_refused(image("https://h/x.png", json!("high"))),
        "messages[0]: image_url.detail `high` is not supported by provider anthropic; leave it \
         out or use `auto`"
    );
    assert_eq!(
        chat_refused(image("ftp://h/x.png", Value::Null)),
        "image_url: must be an http or https URL or a base64 data URL"
    );
    assert_eq!(
        chat_refused(json!({"messages": [
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://h/x.png"}}]},
            user("Hi"),
        ]})),
        "messages[0]: content parts of type `image_url` are not supported by provider anthropic; \
         a system prompt takes only text"
    );
}

#[test]
fn tool_choice_and_parallel_tool_calls() {
    let tools = json!([{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]);
    let with = |extra: Value| {
        let mut body = json!({"messages": [user("2+2?")], "tools": tools});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        chat(body)["tool_choice"].clone()
    };
    assert_eq!(with(json!({})), json!({"type": "auto"}));
    assert_eq!(
        with(json!({"tool_choice": "none"})),
        json!({"type": "none"})
    );
    assert_eq!(
        with(json!({"parallel_tool_calls": false})),
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        with(json!({"tool_choice": "required", "parallel_tool_calls": false})),
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        with(
            json!({"tool_choice": {"type": "function", "function": {"name": "add"}}, "parallel_tool_calls": true})
        ),
        json!({"type": "tool", "name": "add"})
    );
    assert_eq!(
        chat_refused(
            json!({"messages": [user("x")], "tools": tools, "tool_choice": {"type": "function", "function": {"name": "sub"}}})
        ),
        "tool_choice names function `sub`, which is not in tools"
    );
}

#[test]
fn max_tokens_is_always_sent() {
    let max = |extra: Value, options: &str| {
        let mut body = json!({"messages": [user("x")]});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        messages_body(
            &plan(RouteType::CHAT, MODEL, options),
            body.to_string().as_bytes(),
        )["max_tokens"]
            .clone()
    };
    assert_eq!(DEFAULT_MAX_TOKENS, 4096, "the README documents this value");
    assert_eq!(max(json!({}), OPTIONS), DEFAULT_MAX_TOKENS);
    assert_eq!(max(json!({"max_tokens": 100}), OPTIONS), 100);
    assert_eq!(
        max(
            json!({"max_tokens": 100, "max_completion_tokens": 200}),
            OPTIONS
        ),
        200
    );
    assert_eq!(
        max(
            json!({"max_completion_tokens": 200}),
            r#"{"anthropic_version":"2023-06-01","max_tokens":50}"#
        ),
        50,
        "the route's cap wins"
    );
}

#[test]
fn sampling_stop_and_user_are_passed_on() {
    let sent = chat(json!({
        "messages": [user("x")], "temperature": 0.2, "top_p": 0.9, "top_k": 5,
        "stop": "END", "user": "user-42", "n": 1, "response_format": {"type": "text"},
        "logprobs": false, "presence_penalty": 0, "frequency_penalty": 0.0,
        "stream_options": {"include_usage": true},
    }));
    assert_eq!(
        sent,
        json!({
            "model": MODEL, "messages": [user("x")], "max_tokens": 4096,
            "temperature": 0.2, "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"],
            "stream": false, "metadata": {"user_id": "user-42"},
        })
    );
    let options = r#"{"anthropic_version":"2023-06-01","temperature":1,"top_p":0.5}"#;
    let sent = messages_body(
        &plan(RouteType::CHAT, MODEL, options),
        json!({"messages": [user("x")], "temperature": 0.2, "stop": ["a", "b"]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        (
            &sent["temperature"],
            &sent["top_p"],
            &sent["stop_sequences"]
        ),
        (&json!(1.0), &json!(0.5), &json!(["a", "b"])),
        "the route's values win"
    );
}

#[test]
fn parameters_anthropic_cannot_honour_are_named() {
    let cases = [
        (
            json!({"seed": 7}),
            "`seed` is not supported by provider anthropic",
        ),
        (
            json!({"n": 2}),
            "`n` is not supported by provider anthropic",
        ),
        (
            json!({"response_format": {"type": "json_object"}}),
            "`response_format` is not supported by provider anthropic; the Messages API has no `response_format` parameter",
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}}),
            "`response_format` is not supported by provider anthropic; the Messages API has no `response_format` parameter",
        ),
        (
            json!({"logprobs": true, "top_logprobs": 2}),
            "`logprobs`, `top_logprobs` are not supported by provider anthropic",
        ),
        (
            json!({"presence_penalty": 0.5}),
            "`presence_penalty` is not supported by provider anthropic",
        ),
        (
            json!({"seed": 1, "frequency_penalty": 1, "logit_bias": {"50256": -100}}),
            "`seed`, `frequency_penalty`, `logit_bias` are not supported by provider anthropic",
        ),
        (
            json!({"parallel_tool_calls": "no"}),
            "parallel_tool_calls: must be a boolean",
        ),
    ];
    for (extra, message) in cases {
        let mut body = json!({"messages": [user("x")]});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        assert_eq!(chat_refused(body), message);
    }
}

#[test]
fn messages_anthropic_cannot_take_are_named() {
    assert_eq!(
        chat_refused(json!({"messages": [{"role": "user", "name": "alice", "content": "x"}]})),
        "messages[0].name: participant names are not supported by provider anthropic"
    );
    assert_eq!(
        chat_refused(
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]})
        ),
        "content parts of type `input_audio` are not supported by provider anthropic"
    );
    assert_eq!(
        chat_refused(json!({"messages": [user("x"), {"role": "tool", "content": "1"}]})),
        "messages[1].tool_call_id: required in a tool message"
    );
    assert!(chat_refused(json!({"messages": [
        user("x"),
        {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]},
    ]}))
    .starts_with("tool call `t1`: function.arguments is not valid JSON"));
}

#[test]
fn completions_map_stop_user_and_refuse_the_rest() {
    let completions = plan(RouteType::COMPLETIONS, "claude-2.1", OPTIONS);
    let request = build(
        &completions,
        br#"{"prompt":["Say hi"],"max_tokens":20,"stop":["\n\nHuman:"],"user":"u1","temperature":0,"n":1}"#,
    );
    assert_eq!(
        json(request.body.as_ref().into_option().unwrap()),
        json!({
            "model": "claude-2.1", "prompt": "\n\nHuman: Say hi\n\nAssistant:",
            "max_tokens_to_sample": 20, "temperature": 0.0, "stop_sequences": ["\n\nHuman:"],
            "stream": false, "metadata": {"user_id": "u1"},
        })
    );
    assert_eq!(
        refused(&completions, r#"{"prompt":"x","seed":1,"n":3}"#),
        "`seed`, `n` are not supported by provider anthropic"
    );
    assert_eq!(
        refused(&completions, r#"{"prompt":"x","echo":true,"suffix":"y"}"#),
        "`echo`, `suffix` are not supported by provider anthropic"
    );
    assert_eq!(
        refused(&completions, r#"{"prompt":["a","b"]}"#),
        "several prompts in one request are not supported by provider anthropic"
    );
}

#[test]
fn every_body_built_conforms_to_anthropics_schema() {
    let files = [
        "anthropic/llm-v1-chat/requests/good.json",
        "anthropic/llm-v1-chat/requests/good-stream.json",
        "openai/llm-v1-chat/requests/good.json",
        "openai/llm-v1-chat/requests/good_multi_modal.json",
        "openai/llm-v1-chat/requests/good-stream-with-functions.json",
        "unit/requests/llm-v1-chat.json",
    ];
    for file in files {
        for stream in [false, true] {
            let mut chat_plan = plan(RouteType::CHAT, MODEL, KONG_UNIT_OPTIONS);
            chat_plan.stream = stream;
            let sent = messages_body(&chat_plan, &fixture(file));
            assert_eq!(sent["stream"], stream, "{file}");
            assert_messages_schema(&sent);
        }
    }
}
