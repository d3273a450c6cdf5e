use abi_stable::std_types::RStr;
use provider_sdk::abi::{Framing, RouteType};
use serde_json::{json, Value};

use crate::common::{build, fixture, json, plan, refused, sent, streamed, V1};

/// Options of Kong's unit test for cohere chat (`unit/expected-requests/cohere/llm-v1-chat.json`).
const KONG_CHAT_OPTIONS: &str = r#"{"max_tokens":512,"temperature":0.5,"top_p":1.0}"#;

/// Options of Kong's unit test for cohere completions.
const KONG_COMPLETIONS_OPTIONS: &str =
    r#"{"max_tokens":512,"temperature":0.5,"top_p":0.75,"top_k":5}"#;

fn chat(messages: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "messages": messages })).unwrap()
}

fn with(mut body: Value, patch: Value) -> Vec<u8> {
    for (key, value) in patch.as_object().unwrap() {
        body[key] = value.clone();
    }
    serde_json::to_vec(&body).unwrap()
}

const WEATHER_TOOL: &str = r#"{"type":"function","function":{"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city"}},"required":["city"]}}}"#;

fn weather_tool() -> Value {
    serde_json::from_str(WEATHER_TOOL).unwrap()
}

#[test]
fn urls_headers_and_framing_per_route_and_api_version() {
    let cases = [
        (
            RouteType::CHAT,
            "{}",
            "https://api.cohere.com/v2/chat",
            Framing::SSE,
        ),
        (
            RouteType::CHAT,
            V1,
            "https://api.cohere.com/v1/chat",
            Framing::NDJSON,
        ),
        (
            RouteType::COMPLETIONS,
            "{}",
            "https://api.cohere.com/v1/generate",
            Framing::NDJSON,
        ),
        (
            RouteType::COMPLETIONS,
            V1,
            "https://api.cohere.com/v1/generate",
            Framing::NDJSON,
        ),
        (
            RouteType::EMBEDDINGS,
            "{}",
            "https://api.cohere.com/v2/embed",
            Framing::JSON,
        ),
        (
            RouteType::EMBEDDINGS,
            V1,
            "https://api.cohere.com/v1/embed",
            Framing::JSON,
        ),
    ];
    for (route_type, options, url, stream_framing) in cases {
        let body: &[u8] = match route_type {
            RouteType::COMPLETIONS => br#"{"prompt":"x"}"#,
            RouteType::EMBEDDINGS => br#"{"input":"x"}"#,
            _ => br#"{"messages":[{"role":"user","content":"x"}]}"#,
        };
        let plain = plan(route_type, "command-a-03-2025", options);
        let request = build(&plain, body);
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.as_str(), url);
        assert_eq!(request.response_framing, Framing::JSON);
        assert_eq!(request.headers[0].name.as_str(), "content-type");
        assert_eq!(request.headers[0].value.as_str(), "application/json");
        assert!(
            request
                .headers
                .iter()
                .all(|h| h.name.as_str() != "authorization"),
            "the gateway applies the credential"
        );
        if route_type != RouteType::EMBEDDINGS {
            let request = build(&streamed(plain, false), body);
            assert_eq!(request.response_framing, stream_framing, "{url}");
        }
    }
}

#[test]
fn upstream_url_and_upstream_path_follow_kong_s_rules() {
    let bare = r#"{"upstream_url":"http://cohere.internal:8080"}"#;
    assert_eq!(
        build(
            &plan(RouteType::CHAT, "m", bare),
            &chat(json!([{"role":"user","content":"x"}]))
        )
        .url
        .as_str(),
        "http://cohere.internal:8080/v2/chat"
    );
    let with_path = r#"{"upstream_url":"http://proxy/cohere/v2/chat?ignored=1"}"#;
    let mut traced = plan(RouteType::CHAT, "m", with_path);
    traced.client_query = RStr::from_str("trace=1");
    assert_eq!(
        build(&traced, &chat(json!([{"role":"user","content":"x"}])))
            .url
            .as_str(),
        "http://proxy/cohere/v2/chat?trace=1"
    );
    let path = r#"{"upstream_path":"/compatibility/v2/chat","cohere":{"api_version":"v2"}}"#;
    assert_eq!(
        build(
            &plan(RouteType::CHAT, "m", path),
            &chat(json!([{"role":"user","content":"x"}]))
        )
        .url
        .as_str(),
        "https://api.cohere.com/compatibility/v2/chat"
    );
}

#[test]
fn kong_s_unit_chat_request_in_v2_keeps_the_system_prompt() {
    let body = fixture("unit/requests/llm-v1-chat.json");
    let sent = sent(&plan(RouteType::CHAT, "command", KONG_CHAT_OPTIONS), &body);
    let client = json(&body);
    let mut messages = client["messages"].as_array().unwrap().clone();
    for message in &mut messages {
        message
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "role" || k == "content");
    }
    assert_eq!(
        sent,
        json!({
            "model": "command",
            "messages": messages,
            "max_tokens": 512,
            "temperature": 0.5,
            "p": 1.0,
            "stream": false,
        })
    );
    assert_eq!(sent["messages"][0]["role"], "system");
}

#[test]
fn kong_s_unit_chat_request_in_v1() {
    let body = fixture("unit/requests/llm-v1-chat.json");
    let ours = sent(
        &plan(RouteType::CHAT, "command", &with_kong_options_v1()),
        &body,
    );
    let kong = json(&fixture("unit/expected-requests/cohere/llm-v1-chat.json"));
    // Kong's bug: the system prompt becomes the first USER turn of chat_history. It is the
    // preamble; every other field is Kong's.
    let mut expected = kong.clone();
    let history = expected["chat_history"].as_array_mut().unwrap();
    let system = history.remove(0);
    assert_eq!(system["role"], "USER");
    expected["preamble"] = system["message"].clone();
    assert_eq!(ours, expected);
}

fn with_kong_options_v1() -> String {
    r#"{"max_tokens":512,"temperature":0.5,"top_p":1.0,"cohere":{"api_version":"v1"}}"#.to_owned()
}

#[test]
fn kong_s_unit_completions_request() {
    let body = fixture("unit/requests/llm-v1-completions.json");
    let ours = sent(
        &plan(RouteType::COMPLETIONS, "command", KONG_COMPLETIONS_OPTIONS),
        &body,
    );
    assert_eq!(
        ours,
        json(&fixture(
            "unit/expected-requests/cohere/llm-v1-completions.json"
        ))
    );
}

#[test]
fn kong_s_integration_requests() {
    for (path, options) in [
        ("cohere/llm-v1-chat/requests/good.json", "{}"),
        ("cohere/llm-v1-chat/requests/good-stream.json", "{}"),
        ("cohere/llm-v1-chat/requests/good.json", V1),
    ] {
        let body = fixture(path);
        let sent = sent(&plan(RouteType::CHAT, "command", options), &body);
        assert_eq!(sent["model"], "command", "{path}");
        assert_eq!(sent["stream"], false, "the plan decides: {path}");
    }
    let sent = sent(
        &plan(RouteType::COMPLETIONS, "command", "{}"),
        &fixture("cohere/llm-v1-completions/requests/good.json"),
    );
    assert_eq!(
        sent,
        json!({"model": "command", "prompt": "What are you?", "stream": false})
    );
    let v1 = sent_v1_good();
    assert_eq!(v1["preamble"], "You are a helpful assistant.");
    assert_eq!(v1["message"], "What is 1 + 1?");
    assert!(v1.get("chat_history").is_none());
}

fn sent_v1_good() -> Value {
    sent(
        &plan(RouteType::CHAT, "command", V1),
        &fixture("cohere/llm-v1-chat/requests/good.json"),
    )
}

#[test]
fn sampling_fields_are_mapped() {
    let body = with(
        json!({"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}),
        json!({"max_completion_tokens": 100, "temperature": 0.2, "top_p": 0.9, "top_k": 40,
               "seed": 7, "stop": "END", "frequency_penalty": 0.5, "presence_penalty": 0.25,
               "n": 1, "stream_options": {"include_usage": true}, "parallel_tool_calls": true}),
    );
    let expected_sampling = json!({"max_tokens": 100, "temperature": 0.2, "p": 0.9, "k": 40,
        "seed": 7, "stop_sequences": ["END"], "frequency_penalty": 0.5, "presence_penalty": 0.25});
    for options in ["{}", V1] {
        let sent = sent(&streamed(plan(RouteType::CHAT, "m", options), true), &body);
        for (key, value) in expected_sampling.as_object().unwrap() {
            assert_eq!(&sent[key], value, "{key} ({options})");
        }
        assert_eq!(sent["stream"], true);
    }
    let v2 = sent(&plan(RouteType::CHAT, "m", "{}"), &body);
    assert_eq!(
        v2["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
}

#[test]
fn v2_tools_tool_calls_and_results() {
    let body = with(
        json!({"messages": [
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "Weather in Paris and Oslo?"},
            {"role": "assistant", "content": "I will look both up.", "tool_calls": [
                {"id": "get_weather_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "get_weather_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": "get_weather_1", "content": "{\"temperature\": 21}"},
            {"role": "tool", "tool_call_id": "get_weather_2", "content": [{"type": "text", "text": "cold"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Paris is warm."}]},
            {"role": "user", "content": [{"type": "text", "text": "Thanks"}, {"type": "text", "text": "!"}]},
        ]}),
        json!({"tools": [weather_tool(), {"type": "function", "function": {"name": "now"}}], "tool_choice": "auto"}),
    );
    let sent = sent(&plan(RouteType::CHAT, "command-a", "{}"), &body);
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "Weather in Paris and Oslo?"},
            {"role": "assistant", "tool_plan": "I will look both up.", "tool_calls": [
                {"id": "get_weather_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "get_weather_2", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "get_weather_1", "content": "{\"temperature\": 21}"},
            {"role": "tool", "tool_call_id": "get_weather_2", "content": "cold"},
            {"role": "assistant", "content": "Paris is warm."},
            {"role": "user", "content": "Thanks\n!"},
        ])
    );
    assert_eq!(
        sent["tools"],
        json!([
            weather_tool(),
            {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}},
        ])
    );
    assert!(
        sent.get("tool_choice").is_none(),
        "auto is Cohere's default"
    );
    assert!(sent.get("strict_tools").is_none());
}

#[test]
fn v2_tool_choice() {
    let messages = json!([{"role": "user", "content": "Weather?"}]);
    let tools = json!([weather_tool(), {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}]);
    let choice = |tool_choice: Value| {
        sent(
            &plan(RouteType::CHAT, "m", "{}"),
            &with(
                json!({"messages": messages}),
                json!({"tools": tools, "tool_choice": tool_choice}),
            ),
        )
    };
    let required = choice(json!("required"));
    assert_eq!(required["tool_choice"], "REQUIRED");
    assert_eq!(required["tools"].as_array().unwrap().len(), 2);
    let none = choice(json!("none"));
    assert_eq!(none["tool_choice"], "NONE");
    // Cohere cannot be told which tool to call: it is made to call one, and offered only this.
    let named = choice(json!({"type": "function", "function": {"name": "now"}}));
    assert_eq!(named["tool_choice"], "REQUIRED");
    assert_eq!(
        named["tools"],
        json!([{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}])
    );
    assert_eq!(
        refused(
            &plan(RouteType::CHAT, "m", "{}"),
            r#"{"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"add"}},"tools":[]}"#
        ),
        "tool_choice asks for a tool call, but the request has no tools"
    );
}

#[test]
fn v2_strict_tools_and_response_format() {
    let strict = json!({"type": "function", "function": {"name": "now", "strict": true, "parameters": {"type": "object"}}});
    let sent_strict = sent(
        &plan(RouteType::CHAT, "m", "{}"),
        &with(
            json!({"messages": [{"role": "user", "content": "x"}]}),
            json!({"tools": [strict]}),
        ),
    );
    assert_eq!(sent_strict["strict_tools"], true);
    let mixed = with(
        json!({"messages": [{"role": "user", "content": "x"}]}),
        json!({"tools": [strict, weather_tool()]}),
    );
    assert!(refused(
        &plan(RouteType::CHAT, "m", "{}"),
        std::str::from_utf8(&mixed).unwrap()
    )
    .starts_with("`strict` on some tools but not all is not supported by provider cohere"));

    let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]});
    let cases = [
        (
            json!({"type": "json_object"}),
            json!({"type": "json_object"}),
            json!({"type": "json_object"}),
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": true}}),
            json!({"type": "json_object", "json_schema": schema}),
            json!({"type": "json_object", "schema": schema}),
        ),
    ];
    for (format, v2, v1) in cases {
        let body = with(
            json!({"messages": [{"role": "user", "content": "1+1 as JSON"}]}),
            json!({"response_format": format}),
        );
        assert_eq!(
            sent(&plan(RouteType::CHAT, "m", "{}"), &body)["response_format"],
            v2
        );
        assert_eq!(
            sent(&plan(RouteType::CHAT, "m", V1), &body)["response_format"],
            v1
        );
    }
    let text = with(
        json!({"messages": [{"role": "user", "content": "x"}]}),
        json!({"response_format": {"type": "text"}}),
    );
    assert!(sent(&plan(RouteType::CHAT, "m", "{}"), &text)
        .get("response_format")
        .is_none());
}

#[test]
fn v1_tool_history_and_results() {
    let body = with(
        json!({"messages": [
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"temperature\": 21}"},
            {"role": "assistant", "content": "21 degrees."},
            {"role": "system", "content": "Answer in French from now on."},
            {"role": "user", "content": "And Oslo?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "c2", "content": "cold"},
        ]}),
        json!({"tools": [weather_tool()]}),
    );
    let sent = sent(&plan(RouteType::CHAT, "command-r", V1), &body);
    let paris = json!({"name": "get_weather", "parameters": {"city": "Paris"}});
    let oslo = json!({"name": "get_weather", "parameters": {"city": "Oslo"}});
    assert_eq!(
        sent,
        json!({
            "model": "command-r",
            "message": "",
            "preamble": "Use tools.",
            "chat_history": [
                {"role": "USER", "message": "Weather in Paris?"},
                {"role": "CHATBOT", "message": "", "tool_calls": [paris]},
                {"role": "TOOL", "tool_results": [{"call": paris, "outputs": [{"temperature": 21}]}]},
                {"role": "CHATBOT", "message": "21 degrees."},
                {"role": "SYSTEM", "message": "Answer in French from now on."},
                {"role": "USER", "message": "And Oslo?"},
                {"role": "CHATBOT", "message": "", "tool_calls": [oslo]},
            ],
            "tools": [{"name": "get_weather", "description": "The weather in a city", "parameter_definitions": {
                "city": {"description": "The city", "type": "str", "required": true},
            }}],
            "tool_results": [{"call": oslo, "outputs": [{"output": "cold"}]}],
            "stream": false,
        })
    );
}

#[test]
fn v1_refuses_what_it_cannot_express() {
    let v1 = plan(RouteType::CHAT, "m", V1);
    let required = format!(
        r#"{{"messages":[{{"role":"user","content":"x"}}],"tools":[{WEATHER_TOOL}],"tool_choice":"required"}}"#
    );
    let cases = [
        (
            r#"{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}"#,
            "provider cohere with api_version v1 needs the last message to be from the user or tool results",
        ),
        (
            r#"{"messages":[{"role":"system","content":"x"}]}"#,
            "provider cohere with api_version v1 needs the last message to be from the user or tool results",
        ),
        (
            r#"{"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"nope","content":"1"}]}"#,
            "messages[1].tool_call_id `nope` answers no tool call of an earlier assistant message",
        ),
        (
            required.as_str(),
            "`tool_choice` other than `auto` is not supported by provider cohere with api_version v1",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(refused(&v1, body), message, "{body}");
    }
}

#[test]
fn what_cohere_cannot_take_is_a_400_naming_it() {
    let v2 = plan(RouteType::CHAT, "m", "{}");
    let image = r#"{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#;
    assert_eq!(
        refused(&v2, image),
        "content parts of type `image_url` are not supported by provider cohere"
    );
    let multimodal = fixture("openai/llm-v1-chat/requests/good_multi_modal.json");
    assert_eq!(
        refused(&v2, std::str::from_utf8(&multimodal).unwrap()),
        "content parts of type `image_url` are not supported by provider cohere"
    );
    assert_eq!(
        refused(
            &v2,
            r#"{"messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2}}"#
        ),
        "`logit_bias` is not supported by provider cohere"
    );
    assert_eq!(
        refused(
            &v2,
            r#"{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}"#
        ),
        "tool call `c`: function.arguments must be a JSON object"
    );
    assert_eq!(
        refused(&v2, r#"{"messages":[{"role":"tool","content":"1"}]}"#),
        "a `tool` message needs `tool_call_id`"
    );
    let completions = plan(RouteType::COMPLETIONS, "command", "{}");
    assert_eq!(
        refused(&completions, r#"{"prompt":["a","b"]}"#),
        "several prompts in one request are not supported by provider cohere"
    );
    assert_eq!(
        refused(&streamed(completions, false), r#"{"prompt":"a","n":2}"#),
        "`n` above 1 with `stream` is not supported by provider cohere"
    );
    let options = refused(
        &plan(RouteType::CHAT, "m", r#"{"cohere":{"api_version":"v9"}}"#),
        r#"{"messages":[]}"#,
    );
    assert_eq!(options, "cohere.api_version: must be one of v1, v2");
}

#[test]
fn completions_with_several_generations() {
    let sent = sent(
        &plan(RouteType::COMPLETIONS, "command", "{}"),
        br#"{"prompt":"Name a colour","n":3,"stop":["\n"],"seed":1}"#,
    );
    assert_eq!(
        sent,
        json!({"model": "command", "prompt": "Name a colour", "num_generations": 3,
               "stop_sequences": ["\n"], "seed": 1, "stream": false})
    );
}

#[test]
fn embeddings_v2_and_v1() {
    let body =
        br#"{"model":"embed-v4.0","input":["The food was delicious","Hi"],"dimensions":256}"#;
    assert_eq!(
        sent(&plan(RouteType::EMBEDDINGS, "embed-v4.0", "{}"), body),
        json!({"model": "embed-v4.0", "texts": ["The food was delicious", "Hi"],
               "input_type": "search_document", "embedding_types": ["float"], "output_dimension": 256})
    );
    let query = r#"{"cohere":{"input_type":"search_query","api_version":"v1"}}"#;
    assert_eq!(
        sent(
            &plan(RouteType::EMBEDDINGS, "embed-english-v3.0", query),
            br#"{"input":"Where is the food?","encoding_format":"base64"}"#
        ),
        json!({"model": "embed-english-v3.0", "texts": ["Where is the food?"],
               "input_type": "search_query", "embedding_types": ["float", "base64"]})
    );
    let v1 = plan(RouteType::EMBEDDINGS, "m", V1);
    assert_eq!(
        refused(&v1, r#"{"input":"x","dimensions":256}"#),
        "`dimensions` is not supported by provider cohere with api_version v1"
    );
    assert_eq!(
        refused(&v1, r#"{"input":[[1,2]]}"#),
        "inputs given as token ids are not supported by provider cohere"
    );
    assert_eq!(
        refused(&v1, r#"{"input":"x","user":"u"}"#),
        "`user` is not supported by provider cohere"
    );
}
