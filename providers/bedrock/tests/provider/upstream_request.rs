//! What goes upstream: the URL, headers and signing, and the Converse body for every OpenAI
//! field, each body checked against botocore's model of Bedrock Runtime.

use abi_stable::std_types::ROption;
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::{Framing, RequestSigning, RouteType};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{
    converse_body, fixture, json, plan, refused, streamed, CLAUDE, NOVA, OPTIONS, SERVICE_MODEL,
};

/// Kong's unit-test tuning: the config's values win over the client's.
const KONG_UNIT_OPTIONS: &str =
    r#"{"bedrock":{"aws_region":"us-west-2"},"max_tokens":8192,"temperature":0.8,"top_p":0.6}"#;

fn user(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

#[test]
fn chat_goes_to_converse_signed_for_the_region() {
    let request = Bedrock::build_request(
        &plan(RouteType::CHAT, NOVA, OPTIONS),
        &ClientBody::new(user("what is pi?").to_string().as_bytes()),
    )
    .unwrap();
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.as_str(),
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
    );
    assert_eq!(request.response_framing, Framing::JSON);
    assert_eq!(
        request.signing,
        ROption::RSome(RequestSigning {
            scheme: "aws-sigv4".into(),
            service: "bedrock".into(),
            region: "us-west-2".into(),
        })
    );
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        headers,
        [
            ("content-type", "application/json"),
            ("accept", "application/json")
        ]
    );
}

#[test]
fn a_streamed_chat_goes_to_converse_stream() {
    let request = Bedrock::build_request(
        &streamed(RouteType::CHAT, NOVA, true),
        &ClientBody::new(
            with(
                user("hi"),
                json!({"stream": true, "stream_options": {"include_usage": true}}),
            )
            .to_string()
            .as_bytes(),
        ),
    )
    .unwrap();
    assert!(request
        .url
        .as_str()
        .ends_with("/model/us.amazon.nova-micro-v1%3A0/converse-stream"));
    assert_eq!(request.response_framing, Framing::AWS_EVENT_STREAM);
    assert!(request
        .headers
        .iter()
        .any(|h| h.name.as_str() == "accept"
            && h.value.as_str() == "application/vnd.amazon.eventstream"));
    let body = converse_body(&streamed(RouteType::CHAT, NOVA, true), &user("hi"));
    assert_eq!(
        body,
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
}

#[test]
fn upstream_url_replaces_the_origin_only() {
    let options =
        r#"{"bedrock":{"aws_region":"us-west-2"},"upstream_url":"http://127.0.0.1:9000"}"#;
    let request = Bedrock::build_request(
        &plan(RouteType::CHAT, NOVA, options),
        &ClientBody::new(user("hi").to_string().as_bytes()),
    )
    .unwrap();
    assert_eq!(
        request.url.as_str(),
        "http://127.0.0.1:9000/model/us.amazon.nova-micro-v1%3A0/converse"
    );
}

/// Kong's canonical six-message chat: the expected body is Kong's, without `anthropic_version`,
/// which Kong adds to every Bedrock request and botocore's model of Converse does not define.
#[test]
fn kong_unit_chat_fixture() {
    let client = json(&fixture("unit/requests/llm-v1-chat.json"));
    let body = converse_body(&plan(RouteType::CHAT, NOVA, KONG_UNIT_OPTIONS), &client);
    let mut kong = json(&fixture("unit/expected-requests/bedrock/llm-v1-chat.json"));
    assert!(!spec_check::botocore_violations(SERVICE_MODEL, "ConverseRequest", &kong).is_empty());
    kong.as_object_mut().unwrap().remove("anthropic_version");
    assert_eq!(body, kong);
}

/// Kong's native Bedrock conversation, in the OpenAI form Kong's adapter reads it into, comes back
/// as that Bedrock request, with what Converse requires and Kong's native fixture leaves out: the
/// tool result and the user's next words in one user turn (roles must alternate), `input: {}` for
/// a call without arguments, and an empty object schema for tools without parameters.
#[test]
fn kong_native_conversation_round_trips() {
    let openai = json(&fixture("native/target/target-openai-complete.json"));
    let body = converse_body(&plan(RouteType::CHAT, NOVA, OPTIONS), &openai);

    let native = json(&fixture(
        "native/bedrock/request/with-functions-and-chatter.json",
    ));
    assert!(!spec_check::botocore_violations(SERVICE_MODEL, "ConverseRequest", &native).is_empty());
    let mut expected = native.clone();
    let mut merged: Vec<Value> = Vec::new();
    for mut message in native["messages"].as_array().unwrap().clone() {
        for block in message["content"].as_array_mut().unwrap() {
            if let Some(tool_use) = block.get_mut("toolUse") {
                tool_use
                    .as_object_mut()
                    .unwrap()
                    .entry("input")
                    .or_insert(json!({}));
            }
        }
        match merged.last_mut() {
            Some(last) if last["role"] == message["role"] => {
                let more = message["content"].as_array().unwrap().clone();
                last["content"].as_array_mut().unwrap().extend(more);
            }
            _ => merged.push(message),
        }
    }
    expected["messages"] = json!(merged);
    for tool in expected["toolConfig"]["tools"].as_array_mut().unwrap() {
        tool["toolSpec"]
            .as_object_mut()
            .unwrap()
            .entry("inputSchema")
            .or_insert(json!({"json": {"type": "object", "properties": {}}}));
    }
    assert_eq!(body, expected);
    assert_eq!(body["messages"].as_array().unwrap().len(), 5);
}

#[test]
fn every_tool_call_of_an_assistant_turn_is_kept_with_its_text() {
    let client = json!({
        "messages": [
            {"role": "user", "content": "What is 2 + 12, and 3 * 4?"},
            {"role": "assistant", "content": "Let me compute both.", "tool_calls": [
                {"id": "tooluse_add", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
                {"id": "tooluse_mul", "type": "function", "function": {"name": "multiply", "arguments": "{\"a\":3,\"b\":4}"}},
            ]},
            {"role": "tool", "tool_call_id": "tooluse_add", "content": "{\"result\": 14}"},
            {"role": "tool", "tool_call_id": "tooluse_mul", "content": "12"},
        ],
        "tools": json(&fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json"))["tools"],
    });
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"text": "What is 2 + 12, and 3 * 4?"}]},
            {"role": "assistant", "content": [
                {"text": "Let me compute both."},
                {"toolUse": {"toolUseId": "tooluse_add", "name": "add", "input": {"a": 2, "b": 12}}},
                {"toolUse": {"toolUseId": "tooluse_mul", "name": "multiply", "input": {"a": 3, "b": 4}}},
            ]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "tooluse_add", "content": [{"json": {"result": 14}}]}},
                {"toolResult": {"toolUseId": "tooluse_mul", "content": [{"text": "12"}]}},
            ]},
        ])
    );
    assert_eq!(
        body["toolConfig"]["tools"][0],
        json!({"toolSpec": {"name": "add", "description": "Adds a and b.", "inputSchema": {"json": {
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"], "type": "object",
        }}}})
    );
    assert!(
        body.get("anthropic_version").is_none(),
        "Converse has no anthropic_version"
    );
}

#[test]
fn kong_tool_choice_fixtures() {
    let cases = [
        ("tool_choice_auto.json", Some(json!({"auto": {}}))),
        ("tool_choice_required.json", Some(json!({"any": {}}))),
        (
            "tool_choice_object_function.json",
            Some(json!({"tool": {"name": "my_function"}})),
        ),
    ];
    for (file, expected) in cases {
        let client = json(&fixture(&format!("openai/llm-v1-chat/requests/{file}")));
        let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
        assert_eq!(
            body["toolConfig"].get("toolChoice"),
            expected.as_ref(),
            "{file}"
        );
        assert!(
            !body["toolConfig"]["tools"].as_array().unwrap().is_empty(),
            "{file}"
        );
    }
    // `none`: the model sees no tools, since Converse cannot forbid calling the ones it sees.
    let client = json(&fixture(
        "openai/llm-v1-chat/requests/tool_choice_none.json",
    ));
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
    assert!(body.get("toolConfig").is_none(), "{body}");
    // Without tool_choice, Bedrock's default (auto) applies.
    let mut client = json(&fixture(
        "openai/llm-v1-chat/requests/tool_choice_auto.json",
    ));
    client.as_object_mut().unwrap().remove("tool_choice");
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
    assert!(body["toolConfig"].get("toolChoice").is_none());
}

#[test]
fn tool_choice_none_with_tool_calls_in_the_conversation_is_refused() {
    let client = json!({
        "messages": [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "4"},
        ],
        "tools": [{"type": "function", "function": {"name": "add"}}],
        "tool_choice": "none",
    });
    assert!(refused(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client)
        .starts_with("tool_choice `none` cannot be honoured by provider bedrock"));
}

#[test]
fn system_and_developer_messages_all_go_to_system() {
    let client = json!({"messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "text", "text": ""}, {"type": "text", "text": "bye"}]},
    ]});
    let body = converse_body(&plan(RouteType::CHAT, NOVA, OPTIONS), &client);
    assert_eq!(
        body["system"],
        json!([{"text": "You are terse."}, {"text": "Answer in French."}])
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "Hi"}, {"text": "and"}, {"text": "bye"}]}])
    );
}

#[test]
fn data_url_images_become_image_blocks() {
    let client = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/4AAQ", "detail": "low"}},
    ]}]});
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"text": "What is in this image?"},
            {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}},
        ])
    );
}

#[test]
fn images_bedrock_cannot_take_are_400s() {
    let image = |url: &str| json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]});
    let chat = plan(RouteType::CHAT, CLAUDE, OPTIONS);
    assert!(refused(&chat, &image("https://upload.wikimedia.org/x.jpg"))
        .starts_with("image_url: provider bedrock takes images as bytes, not URLs"));
    assert_eq!(
        refused(&chat, &image("data:image/tiff;base64,AAAA")),
        "image_url: provider bedrock takes png, jpeg, gif and webp images, not image/tiff"
    );
    let multimodal = json(&fixture(
        "openai/llm-v1-chat/requests/good_multi_modal.json",
    ));
    assert!(refused(&chat, &multimodal)
        .starts_with("image_url: provider bedrock takes images as bytes"));
    let audio = json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}]}]});
    assert_eq!(
        refused(&chat, &audio),
        "content parts of type `input_audio` are not supported by provider bedrock"
    );
}

#[test]
fn tuning_goes_to_inference_config_and_the_config_wins() {
    let client = with(
        user("hi"),
        json!({"max_completion_tokens": 100, "max_tokens": 50, "temperature": 0.2, "top_p": 0.3, "stop": ["END", "\n\n"]}),
    );
    let body = converse_body(&plan(RouteType::CHAT, NOVA, OPTIONS), &client);
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 100, "temperature": 0.2, "topP": 0.3, "stopSequences": ["END", "\n\n"]})
    );
    let body = converse_body(&plan(RouteType::CHAT, NOVA, KONG_UNIT_OPTIONS), &client);
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 8192, "temperature": 0.8, "topP": 0.6, "stopSequences": ["END", "\n\n"]})
    );
    let body = converse_body(
        &plan(RouteType::CHAT, NOVA, OPTIONS),
        &with(user("hi"), json!({"stop": "###"})),
    );
    assert_eq!(body["inferenceConfig"], json!({"stopSequences": ["###"]}));
}

#[test]
fn top_k_goes_where_the_model_family_takes_it() {
    let client = with(user("hi"), json!({"top_k": 40}));
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
    assert_eq!(body["additionalModelRequestFields"], json!({"top_k": 40}));
    let body = converse_body(&plan(RouteType::CHAT, NOVA, OPTIONS), &client);
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"inferenceConfig": {"topK": 40}})
    );
    let options = r#"{"bedrock":{"aws_region":"us-west-2"},"top_k":5}"#;
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, options), &client);
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"top_k": 5}),
        "the config wins"
    );
    assert_eq!(
        refused(
            &plan(RouteType::CHAT, "meta.llama3-1-8b-instruct-v1:0", OPTIONS),
            &client
        ),
        "`top_k` is not supported by provider bedrock for model meta.llama3-1-8b-instruct-v1:0: \
         Converse takes it only for Anthropic Claude and Amazon Nova models"
    );
}

/// Kong's unit spec passes `guardrailConfig` through; the openai SDK's `extra_body` puts it at the
/// top level of the body.
#[test]
fn guardrail_config_is_passed_through() {
    let guardrail =
        json!({"guardrailIdentifier": "gr-1234abcd", "guardrailVersion": "1", "trace": "enabled"});
    let client = with(user("hi"), json!({"guardrailConfig": guardrail}));
    let body = converse_body(&plan(RouteType::CHAT, NOVA, OPTIONS), &client);
    assert_eq!(body["guardrailConfig"], guardrail);
    let streamed_guardrail = with(guardrail.clone(), json!({"streamProcessingMode": "async"}));
    let client = with(user("hi"), json!({"guardrailConfig": streamed_guardrail}));
    let body = converse_body(&streamed(RouteType::CHAT, NOVA, false), &client);
    assert_eq!(body["guardrailConfig"], streamed_guardrail);
    assert!(refused(
        &plan(RouteType::CHAT, NOVA, OPTIONS),
        &with(user("hi"), json!({"guardrailConfig": "gr-1"}))
    )
    .starts_with("guardrailConfig: must be an object"));
}

#[test]
fn json_schema_response_format_becomes_output_config() {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "number"}}, "required": ["answer"]});
    let client = with(
        user("pi?"),
        json!({"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "description": "A number", "schema": schema, "strict": true}}}),
    );
    let body = converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &client);
    let format = &body["outputConfig"]["textFormat"];
    assert_eq!(format["type"], "json_schema");
    let definition = &format["structure"]["jsonSchema"];
    assert_eq!(definition["name"], "answer");
    assert_eq!(definition["description"], "A number");
    let sent: Value = serde_json::from_str(definition["schema"].as_str().unwrap()).unwrap();
    assert_eq!(sent, schema);
    let text = with(user("pi?"), json!({"response_format": {"type": "text"}}));
    assert!(
        converse_body(&plan(RouteType::CHAT, CLAUDE, OPTIONS), &text)
            .get("outputConfig")
            .is_none()
    );
}

#[test]
fn user_labels_the_invocation_logs() {
    let body = converse_body(
        &plan(RouteType::CHAT, NOVA, OPTIONS),
        &with(user("hi"), json!({"user": "user-1234@example.com"})),
    );
    assert_eq!(
        body["requestMetadata"],
        json!({"user": "user-1234@example.com"})
    );
}

#[test]
fn parameters_bedrock_cannot_honour_are_400s() {
    let chat = plan(RouteType::CHAT, NOVA, OPTIONS);
    let cases = [
        (json!({"seed": 7}), "`seed` is not supported by provider bedrock"),
        (json!({"n": 2}), "`n` must be 1 with provider bedrock, which returns one choice"),
        (json!({"logprobs": true, "frequency_penalty": 0.5}), "`frequency_penalty`, `logprobs` are not supported by provider bedrock"),
        (json!({"anthropic_version": "bedrock-2023-05-31"}), "`anthropic_version` is not supported by provider bedrock"),
        (
            json!({"response_format": {"type": "json_object"}}),
            "response_format `json_object` is not supported by provider bedrock: Converse needs a schema; use `json_schema`",
        ),
    ];
    for (extra, message) in cases {
        assert_eq!(
            refused(&chat, &with(user("hi"), extra.clone())),
            message,
            "{extra}"
        );
    }
    let named = json!({"messages": [{"role": "user", "name": "alice", "content": "hi"}]});
    assert_eq!(
        refused(&chat, &named),
        "`messages[0].name` is not supported by provider bedrock"
    );
    let orphan = json!({"messages": [{"role": "tool", "content": "4"}]});
    assert_eq!(
        refused(&chat, &orphan),
        "messages[0]: a tool message needs `tool_call_id`"
    );
    let bad_arguments = json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]});
    assert_eq!(
        refused(&chat, &bad_arguments),
        "tool call `c1`: function.arguments must be a JSON object"
    );
    assert_eq!(
        refused(&plan(RouteType::CHAT, "", OPTIONS), &user("hi"))
            .split(':')
            .next(),
        Some("model")
    );
}

#[test]
fn a_completion_is_one_user_turn() {
    let client = json(&fixture("unit/requests/llm-v1-completions.json"));
    let completions = plan(RouteType::COMPLETIONS, NOVA, OPTIONS);
    let request = Bedrock::build_request(
        &completions,
        &ClientBody::new(client.to_string().as_bytes()),
    )
    .unwrap();
    assert!(request.url.as_str().ends_with("/converse"));
    let body = converse_body(&completions, &client);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": client["prompt"]}]}])
    );
    let tuned = json!({"prompt": ["Say hi"], "max_tokens": 5, "stop": "\n", "temperature": 0});
    let body = converse_body(&completions, &tuned);
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 5, "temperature": 0.0, "stopSequences": ["\n"]})
    );
    assert_eq!(
        refused(&completions, &json!({"prompt": ["a", "b"]})),
        "several prompts in one request are not supported by provider bedrock"
    );
    assert_eq!(
        refused(&completions, &json!({"prompt": "a", "echo": true})),
        "`echo` is not supported by provider bedrock"
    );
}

#[test]
fn preserve_sends_the_clients_path_to_the_endpoint() {
    let mut preserve = plan(RouteType::PRESERVE, "", OPTIONS);
    preserve.client_path =
        abi_stable::std_types::RStr::from_str("/model/amazon.nova-lite-v1%3A0/converse");
    preserve.client_query = abi_stable::std_types::RStr::from_str("trace=1");
    let request =
        Bedrock::build_request(&preserve, &ClientBody::new(b"{\"messages\":[]}")).unwrap();
    assert_eq!(
        request.url.as_str(),
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse?trace=1"
    );
    assert!(request.body.is_none(), "the client's body goes as sent");
    assert_eq!(
        request.signing.as_ref().map(|s| s.region.as_str()),
        ROption::RSome("us-west-2")
    );
}

#[test]
fn empty_turns_are_left_out_and_their_neighbours_merged() {
    let client = json!({"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "Anyone there?"}]},
        {"role": "assistant", "content": null},
    ]});
    let body = converse_body(&plan(RouteType::CHAT, NOVA, OPTIONS), &client);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "Hi"}, {"text": "Anyone there?"}]}])
    );
}
