//! What goes upstream: URLs, headers and bodies, each body checked against the Vertex AI
//! discovery document (the Gemini API takes the same shapes).

use abi_stable::std_types::RStr;
use provider_sdk::abi::{Framing, RouteType};
use serde_json::{json, Value};

use crate::common::{assert_vertex, build, fixture, json, plan, refused, sent, streamed, VERTEX};

const GEMINI_API: &str = "https://generativelanguage.googleapis.com/v1beta/models";

/// Kong's unit test options for Gemini.
const KONG_UNIT_OPTIONS: &str = r#"{"max_tokens":8192,"temperature":0.8,"top_k":1,"top_p":0.6}"#;

/// The body sent for `body`, checked against the schema of `GenerateContentRequest`.
fn generate_body(options: &str, body: &[u8]) -> Value {
    let request = build(&plan(RouteType::CHAT, "gemini-2.0-flash", options), body);
    let sent = sent(&request);
    assert_vertex("GenerateContentRequest", &sent);
    sent
}

fn chat(body: Value) -> Value {
    generate_body("{}", body.to_string().as_bytes())
}

#[test]
fn kong_unit_chat_request_gives_kongs_expected_body() {
    let request = build(
        &plan(RouteType::CHAT, "gemini-pro", KONG_UNIT_OPTIONS),
        &fixture("unit/requests/llm-v1-chat.json"),
    );
    let body = sent(&request);
    assert_eq!(
        body,
        json(&fixture("unit/expected-requests/gemini/llm-v1-chat.json"))
    );
    assert_vertex("GenerateContentRequest", &body);
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.as_str(),
        format!("{GEMINI_API}/gemini-pro:generateContent")
    );
    assert_eq!(request.headers.len(), 1);
    assert_eq!(request.headers[0].name.as_str(), "content-type");
    assert_eq!(request.headers[0].value.as_str(), "application/json");
    assert_eq!(request.response_framing, Framing::JSON);
    assert!(request.signing.is_none());
}

#[test]
fn kong_chat_request_keeps_the_system_prompt() {
    let body = generate_body("{}", &fixture("openai/llm-v1-chat/requests/good.json"));
    assert_eq!(
        body,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "What is 1 + 1?"}]}],
            "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
        })
    );
}

#[test]
fn kong_streamed_function_request_declares_the_functions() {
    let request = build(
        &streamed(RouteType::CHAT, "gemini-2.0-flash", "{}"),
        &fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json"),
    );
    assert_eq!(
        request.url.as_str(),
        format!("{GEMINI_API}/gemini-2.0-flash:streamGenerateContent?alt=sse")
    );
    assert_eq!(request.response_framing, Framing::SSE);
    let body = sent(&request);
    assert_vertex("GenerateContentRequest", &body);
    let integer_pair = json!({
        "type": "OBJECT",
        "properties": {"a": {"type": "INTEGER"}, "b": {"type": "INTEGER"}},
        "required": ["a", "b"],
    });
    assert_eq!(
        body,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "What is 2 + 12? Then, multiply that result by 10?"}]}],
            "tools": [{"functionDeclarations": [
                {"name": "add", "description": "Adds a and b.", "parameters": integer_pair},
                {"name": "multiply", "description": "Multiplies a and b.", "parameters": integer_pair},
            ]}],
            "generationConfig": {"temperature": 0.7},
        }),
        "n: 1 is Gemini's default and is not sent"
    );
}

#[test]
fn kong_multimodal_request_sends_the_image_url_as_file_data() {
    let body = generate_body(
        "{}",
        &fixture("openai/llm-v1-chat/requests/good_multi_modal.json"),
    );
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [
            {"text": "What's in this image?"},
            {"fileData": {
                "mimeType": "image/jpeg",
                "fileUri": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg",
            }},
        ]}])
    );
}

#[test]
fn kong_tool_choice_requests_become_function_calling_modes() {
    // Kong does not map `tool_choice` for Gemini at all; these are the modes Gemini documents.
    let cases = [
        ("tool_choice_auto.json", json!({"mode": "AUTO"})),
        (
            "tool_choice_object_function.json",
            json!({"mode": "ANY", "allowedFunctionNames": ["my_function"]}),
        ),
    ];
    for (file, expected) in cases {
        let body = chat(json(&fixture(&format!(
            "openai/llm-v1-chat/requests/{file}"
        ))));
        assert_eq!(
            body["toolConfig"],
            json!({ "functionCallingConfig": expected }),
            "{file}"
        );
        assert!(body["tools"][0]["functionDeclarations"][0]["name"].is_string());
    }
    // This fixture's `parameters` is `{"location": "Paris"}`, which is no JSON Schema: Kong sends
    // it on for Gemini to refuse; the client gets the 400 here, naming the keyword.
    let required = fixture("openai/llm-v1-chat/requests/tool_choice_required.json");
    assert_eq!(
        refused(
            &plan(RouteType::CHAT, "gemini-2.0-flash", "{}"),
            std::str::from_utf8(&required).unwrap()
        ),
        "tools[0].function.parameters.location: JSON Schema keyword `location` is not supported by provider gemini"
    );
    let mut required = json(&required);
    required["tools"][0]["function"]["parameters"] =
        json!({"type": "object", "properties": {"location": {"type": "string"}}});
    assert_eq!(
        chat(required)["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    let none = chat(json(&fixture(
        "openai/llm-v1-chat/requests/tool_choice_none.json",
    )));
    assert_eq!(
        none.get("toolConfig"),
        None,
        "`none` without tools: there is nothing to forbid"
    );
    let mut none_with_tools = json(&fixture(
        "openai/llm-v1-chat/requests/tool_choice_auto.json",
    ));
    none_with_tools["tool_choice"] = json!("none");
    assert_eq!(
        chat(none_with_tools)["toolConfig"],
        json!({"functionCallingConfig": {"mode": "NONE"}})
    );
    let body = chat(json(&fixture(
        "openai/llm-v1-chat/requests/tool_choice_object_function.json",
    )));
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{"name": "my_function"}]}]),
        "parameters {{}} take no arguments: Gemini refuses an empty OBJECT"
    );
}

/// Kong's native Gemini fixture and its OpenAI form: the same lighting conversation.
#[test]
fn kong_native_conversation_keeps_every_turn_call_and_result() {
    let mut openai = json(&fixture("native/target/target-openai-complete.json"));
    openai.as_object_mut().unwrap().remove("model");
    let body = chat(openai);
    let native = json(&fixture(
        "native/gemini/request/with-functions-and-chatter.json",
    ));
    let native_turns = native["contents"].as_array().unwrap();
    let call = |turn: usize| native_turns[turn]["parts"][1]["functionCall"].clone();
    let result_name =
        |turn: usize| native_turns[turn]["parts"]["function_response"]["name"].clone();
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": native["system_instruction"]["parts"]["text"]}]})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Turn on the lights please."}]},
            {"role": "model", "parts": [{"text": "Sure! I will turn them on now."}, {"functionCall": call(1)}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": result_name(2), "response": {"success": true}}},
                {"text": "Now set them to orange."},
            ]},
            {"role": "model", "parts": [{"text": "Setting to orange."}, {"functionCall": call(4)}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": result_name(5), "response": {"success": true}}},
            ]},
        ]),
        "Kong sends the calls without arguments and every result as get_product_info"
    );
    let native_declarations = &native["tools"][0]["function_declarations"];
    let declarations = &body["tools"][0]["functionDeclarations"];
    for index in 0..3 {
        assert_eq!(
            declarations[index]["name"],
            native_declarations[index]["name"]
        );
        assert_eq!(
            declarations[index]["description"],
            native_declarations[index]["description"]
        );
    }
    assert_eq!(
        declarations[1]["parameters"],
        json!({"type": "OBJECT", "required": ["rgb_hex"], "properties": {"rgb_hex": {
            "type": "STRING",
            "description": "The light color as a 6-digit hex string, e.g. ff0000 for red.",
        }}})
    );
}

#[test]
fn every_parameter_maps_to_generation_config() {
    let body = chat(json!({
        "messages": [{"role": "user", "content": "Give me JSON"}],
        "max_completion_tokens": 100, "max_tokens": 50, "temperature": 0.3, "top_p": 0.9,
        "top_k": 20, "stop": ["\n\n", "END"], "seed": 42, "n": 2,
        "presence_penalty": 0.5, "frequency_penalty": -0.25,
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": {
            "type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"],
            "additionalProperties": false,
        }}},
    }));
    assert_eq!(
        body["generationConfig"],
        json!({
            "stopSequences": ["\n\n", "END"], "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"answer": {"type": "INTEGER"}}, "required": ["answer"]},
            "candidateCount": 2, "maxOutputTokens": 100, "temperature": 0.3, "topP": 0.9,
            "topK": 20, "seed": 42, "presencePenalty": 0.5, "frequencyPenalty": -0.25,
        })
    );
    let json_mode = chat(json!({
        "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"},
    }));
    assert_eq!(
        json_mode["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    let text = chat(json!({
        "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}, "stop": "END",
    }));
    assert_eq!(text["generationConfig"], json!({"stopSequences": ["END"]}));
}

#[test]
fn route_options_replace_the_clients_values() {
    let body = generate_body(
        KONG_UNIT_OPTIONS,
        br#"{"messages":[{"role":"user","content":"x"}],"max_tokens":5,"temperature":1.5,"top_p":0.1,"top_k":99}"#,
    );
    assert_eq!(
        body["generationConfig"],
        json!({"maxOutputTokens": 8192, "temperature": 0.8, "topP": 0.6, "topK": 1})
    );
}

#[test]
fn completions_are_one_user_turn() {
    let request = build(
        &plan(RouteType::COMPLETIONS, "gemini-2.0-flash", "{}"),
        &fixture("unit/requests/llm-v1-completions.json"),
    );
    assert_eq!(
        request.url.as_str(),
        format!("{GEMINI_API}/gemini-2.0-flash:generateContent")
    );
    let body = sent(&request);
    assert_vertex("GenerateContentRequest", &body);
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "Explain why you can't divide by zero?"}]}]})
    );
    let request = build(
        &streamed(RouteType::COMPLETIONS, "gemini-2.0-flash", "{}"),
        br#"{"prompt":["Say hi"],"max_tokens":7,"stop":"\n","seed":1,"presence_penalty":1}"#,
    );
    assert!(request
        .url
        .as_str()
        .ends_with(":streamGenerateContent?alt=sse"));
    let body = sent(&request);
    assert_vertex("GenerateContentRequest", &body);
    assert_eq!(
        body["generationConfig"],
        json!({"stopSequences": ["\n"], "maxOutputTokens": 7, "seed": 1, "presencePenalty": 1.0})
    );
}

#[test]
fn vertex_routes_go_to_the_projects_model() {
    let request = build(
        &streamed(RouteType::CHAT, "gemini-1.5-pro", VERTEX),
        &fixture("openai/llm-v1-chat/requests/good.json"),
    );
    assert_eq!(
        request.url.as_str(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/kong-project/locations/us-central1/publishers/google/models/gemini-1.5-pro:streamGenerateContent?alt=sse"
    );
    assert_vertex("GenerateContentRequest", &sent(&request));
}

#[test]
fn upstream_url_and_upstream_path_decide_where_requests_go() {
    let body = fixture("openai/llm-v1-chat/requests/good.json");
    let mock = r#"{"upstream_url":"http://127.0.0.1:9000"}"#;
    assert_eq!(
        build(&plan(RouteType::CHAT, "gemini-2.0-flash", mock), &body)
            .url
            .as_str(),
        "http://127.0.0.1:9000/v1beta/models/gemini-2.0-flash:generateContent"
    );
    let exact = r#"{"upstream_url":"https://proxy.internal/gemini/models/pinned:generateContent?dropped=1"}"#;
    assert_eq!(
        build(&streamed(RouteType::CHAT, "m", exact), &body)
            .url
            .as_str(),
        "https://proxy.internal/gemini/models/pinned:streamGenerateContent?alt=sse"
    );
    let path = r#"{"upstream_path":"/v1/models/gemini-pro:generateContent"}"#;
    assert_eq!(
        build(&plan(RouteType::CHAT, "ignored", path), &body)
            .url
            .as_str(),
        "https://generativelanguage.googleapis.com/v1/models/gemini-pro:generateContent"
    );
}

#[test]
fn the_clients_query_is_not_forwarded_but_preserve_sends_it() {
    let body = fixture("openai/llm-v1-chat/requests/good.json");
    let mut chat = plan(RouteType::CHAT, "gemini-2.0-flash", "{}");
    chat.client_query = RStr::from_str("key=client-key&alt=json");
    assert_eq!(
        build(&chat, &body).url.as_str(),
        format!("{GEMINI_API}/gemini-2.0-flash:generateContent")
    );
    let mut preserve = plan(
        RouteType::PRESERVE,
        "",
        r#"{"upstream_url":"http://mock:1"}"#,
    );
    preserve.client_method = RStr::from_str("GET");
    preserve.client_path = RStr::from_str("/v1beta/models/gemini-2.0-flash");
    preserve.client_query = RStr::from_str("pageSize=1");
    let request = build(&preserve, b"");
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(
        request.url.as_str(),
        "http://mock:1/v1beta/models/gemini-2.0-flash?pageSize=1"
    );
    assert!(request.body.is_none(), "the client's body goes as sent");
}

#[test]
fn model_names_that_would_change_the_url_are_refused() {
    let body = r#"{"messages":[{"role":"user","content":"x"}]}"#;
    for model in [
        "../../v1beta/files",
        "gemini:countTokens",
        "models/gemini-pro",
        "gemini?alt=json",
        "gemini#x",
    ] {
        let message = refused(&plan(RouteType::CHAT, model, "{}"), body);
        assert!(
            message.contains("is not a Gemini model name"),
            "{model}: {message}"
        );
    }
    let templated_vertex =
        r#"{"gemini":{"api_endpoint":"evil.com/steal?","project_id":"p","location_id":"l"}}"#;
    assert!(refused(&plan(RouteType::CHAT, "m", templated_vertex), body)
        .starts_with("gemini.api_endpoint: must be a host name"));
}

#[test]
fn parameters_gemini_cannot_honour_are_400s() {
    let chat_plan = plan(RouteType::CHAT, "gemini-2.0-flash", "{}");
    let messages = r#""messages":[{"role":"user","content":"x"}]"#;
    let cases = [
        (format!(r#"{{{messages},"logprobs":true,"top_logprobs":2}}"#), "`logprobs`, `top_logprobs` are not supported by provider gemini"),
        (format!(r#"{{{messages},"logit_bias":{{"1":2}}}}"#), "`logit_bias` is not supported by provider gemini"),
        (format!(r#"{{{messages},"parallel_tool_calls":false}}"#), "`parallel_tool_calls` is not supported by provider gemini"),
        (format!(r#"{{{messages},"user":"u-1"}}"#), "`user` is not supported by provider gemini"),
        (format!(r#"{{{messages},"seed":4294967296}}"#), "`seed` must be a 32-bit integer for provider gemini"),
        (format!(r#"{{{messages},"n":0}}"#), "`n` must be at least 1"),
        (format!(r#"{{{messages},"presence_penalty":"high"}}"#), "presence_penalty, frequency_penalty: invalid type: string \"high\", expected f64"),
        (
            format!(r#"{{{messages},"response_format":{{"type":"json_schema","json_schema":{{"name":"x","schema":{{"type":"object","patternProperties":{{}}}}}}}}}}"#),
            "response_format.json_schema.schema.patternProperties: JSON Schema keyword `patternProperties` is not supported by provider gemini",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(refused(&chat_plan, &body), message, "{body}");
    }
    let mut stream_plan = streamed(RouteType::CHAT, "gemini-2.0-flash", "{}");
    stream_plan.client_wants_usage = true;
    assert_eq!(
        refused(
            &stream_plan,
            &format!(r#"{{{messages},"n":3,"stream":true}}"#)
        ),
        "`n` greater than 1 is not supported with `stream` by provider gemini"
    );
    let completions = plan(RouteType::COMPLETIONS, "gemini-2.0-flash", "{}");
    assert_eq!(
        refused(&completions, r#"{"prompt":"x","echo":true,"suffix":"y"}"#),
        "`echo`, `suffix` are not supported by provider gemini"
    );
    assert_eq!(
        refused(&completions, r#"{"prompt":["a","b"]}"#),
        "several prompts in one request are not supported by provider gemini"
    );
}
