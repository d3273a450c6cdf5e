//! The Ollama translation end to end through [`Ollama`]: request bodies checked against Ollama's
//! OpenAPI document, replies and streams against what OpenAI's clients expect. The Kong fixtures
//! for the providers that use it are exercised in their own crates.

use abi_stable::std_types::{RSlice, RStr};
use serde_json::{json, Value};
use spec_check::assert_openapi;

use super::*;
use crate::export::StreamTranslate;
use crate::options::Templates;

const SPEC: &str = "ollama/openapi.yaml";

const OPTIONS: &str = r#"{"upstream_url":"http://ollama:11434/api/chat"}"#;

fn plan(route_type: RouteType, stream: bool, include_usage: bool) -> RequestPlan<'static> {
    RequestPlan {
        route_type,
        model: RStr::from_str("llama3.2"),
        options: RStr::from_str(OPTIONS),
        stream,
        client_wants_usage: stream && include_usage,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str("/ollama"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

fn build_with(plan: &RequestPlan<'_>, options: &str, body: &Value) -> Result<Value, ModuleError> {
    let options = ModelOptions::parse(options, Templates::Resolved)?;
    let body = serde_json::to_vec(body).unwrap();
    let request = Ollama::new("llama2").build_request(plan, &options, &body)?;
    Ok(serde_json::from_slice(request.body.as_ref().unwrap().as_slice()).unwrap())
}

/// The upstream body for `body`, checked against Ollama's schema for its endpoint.
fn sent(plan: &RequestPlan<'_>, body: Value) -> Value {
    let sent = build_with(plan, OPTIONS, &body).unwrap();
    let schema = match plan.route_type {
        RouteType::CHAT => "ChatRequest",
        RouteType::COMPLETIONS => "GenerateRequest",
        _ => "EmbedRequest",
    };
    assert_openapi(SPEC, schema, &sent);
    sent
}

fn refused(plan: &RequestPlan<'_>, body: Value) -> String {
    let error = build_with(plan, OPTIONS, &body).unwrap_err();
    assert_eq!(error.status, 400, "{error}");
    error.message.into_string()
}

fn chat(messages: Value) -> Value {
    json!({ "messages": messages })
}

fn parsed(plan: &RequestPlan<'_>, status: u16, body: &str) -> (u16, Value, ResponseMeta) {
    let response = Ollama::new("llama2")
        .parse_response(plan, status, body.as_bytes())
        .unwrap();
    let body = serde_json::from_slice(response.body.as_ref().unwrap().as_slice()).unwrap();
    (response.status, body, response.meta)
}

mod requests {
    use super::*;

    #[test]
    fn a_chat_goes_to_api_chat_with_stream_always_written() {
        for stream in [false, true] {
            let plan = plan(RouteType::CHAT, stream, false);
            let options = ModelOptions::parse(OPTIONS, Templates::Resolved).unwrap();
            let body = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
            let request = Ollama::new("llama2")
                .build_request(&plan, &options, body)
                .unwrap();
            assert_eq!(request.method.as_str(), "POST");
            assert_eq!(request.url.as_str(), "http://ollama:11434/api/chat");
            assert_eq!(request.headers[0].value.as_str(), "application/json");
            let expected_framing = if stream {
                Framing::NDJSON
            } else {
                Framing::JSON
            };
            assert_eq!(request.response_framing, expected_framing);
            let sent: Value =
                serde_json::from_slice(request.body.as_ref().unwrap().as_slice()).unwrap();
            assert_openapi(SPEC, "ChatRequest", &sent);
            assert_eq!(
                sent,
                json!({"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": stream})
            );
        }
    }

    #[test]
    fn sampling_goes_into_options_and_the_configured_cap_wins() {
        let body = json!({
            "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "max_completion_tokens": 900, "temperature": 0.2, "top_p": 0.9, "top_k": 20,
            "seed": 7, "stop": ["\n\n", "END"], "stream_options": {"include_usage": true},
            "n": 1,
        });
        let configured = r#"{"upstream_url":"http://ollama:11434","max_tokens":256,"temperature":1.0,"top_k":40}"#;
        let sent = build_with(&plan(RouteType::CHAT, true, true), configured, &body).unwrap();
        assert_openapi(SPEC, "ChatRequest", &sent);
        assert_eq!(
            sent["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(
            sent["options"],
            json!({"num_predict": 256, "temperature": 0.2, "top_p": 0.9, "top_k": 20, "seed": 7, "stop": ["\n\n", "END"]})
        );
        let defaults = build_with(
            &plan(RouteType::CHAT, false, false),
            configured,
            &chat(json!([{"role": "user", "content": "hi"}])),
        )
        .unwrap();
        assert_openapi(SPEC, "ChatRequest", &defaults);
        assert_eq!(
            defaults["options"],
            json!({"num_predict": 256, "temperature": 1.0, "top_k": 40})
        );
    }

    #[test]
    fn tools_calls_and_results_take_ollamas_shapes() {
        let body = json!({
            "messages": [
                {"role": "user", "content": "What is 2 + 12, and the weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_0", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": ""}},
                ]},
                {"role": "tool", "tool_call_id": "call_0", "content": "14"},
                {"role": "tool", "tool_call_id": "call_1", "name": "weather", "content": "sunny"},
                {"role": "tool", "tool_call_id": "unknown", "content": "?"},
            ],
            "tools": [
                {"type": "function", "function": {"name": "add", "description": "Adds", "strict": true,
                  "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}},
                {"type": "function", "function": {"name": "weather"}},
            ],
            "tool_choice": "auto",
        });
        let sent = sent(&plan(RouteType::CHAT, false, false), body);
        assert_eq!(
            sent["messages"][1],
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "add", "arguments": {"a": 2, "b": 12}}},
                {"function": {"name": "weather", "arguments": {}}},
            ]})
        );
        assert_eq!(
            sent["messages"][2],
            json!({"role": "tool", "content": "14", "tool_name": "add"})
        );
        assert_eq!(sent["messages"][3]["tool_name"], "weather");
        assert!(sent["messages"][4].get("tool_name").is_none());
        assert_eq!(
            sent["tools"],
            json!([
                {"type": "function", "function": {"name": "add", "description": "Adds",
                  "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}},
                {"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}}},
            ])
        );
    }

    #[test]
    fn tool_choice_none_leaves_the_tools_out_and_forcing_a_call_is_refused() {
        let tools = json!([{"type": "function", "function": {"name": "add"}}]);
        let messages = json!([{"role": "user", "content": "hi"}]);
        let none = sent(
            &plan(RouteType::CHAT, false, false),
            json!({"messages": messages, "tools": tools, "tool_choice": "none"}),
        );
        assert!(none.get("tools").is_none());
        for choice in [
            json!("required"),
            json!({"type": "function", "function": {"name": "add"}}),
        ] {
            let message = refused(
                &plan(RouteType::CHAT, false, false),
                json!({"messages": messages, "tools": tools, "tool_choice": choice}),
            );
            assert!(
                message.starts_with(
                    "tool_choice that forces a tool call is not supported by provider llama2"
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn images_go_inline_and_urls_are_refused() {
        let sent = sent(
            &plan(RouteType::CHAT, false, false),
            chat(json!([{"role": "user", "content": [
                {"type": "text", "text": "What is in"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "this picture?"},
            ]}])),
        );
        assert_eq!(
            sent["messages"][0],
            json!({"role": "user", "content": "What is in\nthis picture?", "images": ["iVBORw0KGgo="]})
        );
        let message = refused(
            &plan(RouteType::CHAT, false, false),
            chat(json!([{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ]}])),
        );
        assert_eq!(
            message,
            "messages[0]: image URLs are not supported by provider llama2: Ollama takes images inline, so send the image as a base64 data URL"
        );
    }

    #[test]
    fn response_formats_become_format() {
        let messages = json!([{"role": "user", "content": "hi"}]);
        let json_mode = sent(
            &plan(RouteType::CHAT, false, false),
            json!({"messages": messages, "response_format": {"type": "json_object"}}),
        );
        assert_eq!(json_mode["format"], "json");
        let schema = json!({"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]});
        let structured = sent(
            &plan(RouteType::CHAT, false, false),
            json!({"messages": messages, "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": true}}}),
        );
        assert_eq!(structured["format"], schema);
        let text = sent(
            &plan(RouteType::CHAT, false, false),
            json!({"messages": messages, "response_format": {"type": "text"}}),
        );
        assert!(text.get("format").is_none());
    }

    #[test]
    fn what_ollama_cannot_honour_is_a_400_naming_it() {
        let messages = json!([{"role": "user", "content": "hi"}]);
        let cases = [
            (
                json!({"messages": messages, "logprobs": true}),
                "`logprobs` is not supported by provider llama2",
            ),
            (
                json!({"messages": messages, "n": 2}),
                "`n` other than 1 is not supported by provider llama2",
            ),
            (
                json!({"messages": messages, "user": "u-1"}),
                "`user` is not supported by provider llama2",
            ),
            (
                json!({"messages": [{"role": "user", "name": "ann", "content": "hi"}]}),
                "messages[0].name is not supported by provider llama2",
            ),
            (
                json!({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}),
                "content parts of type `image_url` are not supported by provider llama2",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}),
                "content parts of type `input_audio` are not supported by provider llama2",
            ),
            (
                json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
                "tool call `c`: function.arguments must be a JSON object",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                refused(&plan(RouteType::CHAT, false, false), body.clone()),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn completions_go_to_api_generate() {
        let plan = plan(RouteType::COMPLETIONS, true, false);
        let options = ModelOptions::parse(OPTIONS, Templates::Resolved).unwrap();
        let request = Ollama::new("llama2")
            .build_request(
                &plan,
                &options,
                br#"{"prompt":["Once upon"],"max_tokens":5,"stop":"."}"#,
            )
            .unwrap();
        assert_eq!(request.url.as_str(), "http://ollama:11434/api/generate");
        assert_eq!(request.response_framing, Framing::NDJSON);
        let sent: Value =
            serde_json::from_slice(request.body.as_ref().unwrap().as_slice()).unwrap();
        assert_openapi(SPEC, "GenerateRequest", &sent);
        assert_eq!(
            sent,
            json!({"model": "llama3.2", "prompt": "Once upon", "options": {"num_predict": 5, "stop": ["."]}, "stream": true})
        );
        assert_eq!(
            refused(&plan, json!({"prompt": ["a", "b"]})),
            "several prompts in one request are not supported by provider llama2"
        );
        assert_eq!(
            refused(&plan, json!({"prompt": "a", "echo": true})),
            "`echo` is not supported by provider llama2"
        );
    }

    #[test]
    fn embeddings_go_to_api_embed_without_streaming() {
        let plan = plan(RouteType::EMBEDDINGS, false, false);
        let one = sent(
            &plan,
            json!({"input": "hello", "dimensions": 256, "encoding_format": "base64"}),
        );
        assert_eq!(
            one,
            json!({"model": "llama3.2", "input": "hello", "dimensions": 256})
        );
        let many = sent(&plan, json!({"input": ["a", "b"]}));
        assert_eq!(many["input"], json!(["a", "b"]));
        let options = ModelOptions::parse(OPTIONS, Templates::Resolved).unwrap();
        let request = Ollama::new("llama2")
            .build_request(&plan, &options, br#"{"input":"x"}"#)
            .unwrap();
        assert_eq!(request.url.as_str(), "http://ollama:11434/api/embed");
        let body: Value =
            serde_json::from_slice(request.body.as_ref().unwrap().as_slice()).unwrap();
        assert_openapi(SPEC, "EmbedRequest", &body);
        assert_eq!(request.response_framing, Framing::JSON);
        assert_eq!(
            refused(&plan, json!({"input": [[1, 2]]})),
            "inputs given as token ids are not supported by provider llama2"
        );
        assert_eq!(
            refused(&plan, json!({"input": "x", "user": "u"})),
            "`user` is not supported by provider llama2"
        );
    }

    #[test]
    fn preserve_sends_the_clients_body_to_the_clients_path() {
        let mut preserve = plan(RouteType::PRESERVE, false, false);
        preserve.client_method = RStr::from_str("GET");
        preserve.client_path = RStr::from_str("/api/tags");
        let options = ModelOptions::parse(OPTIONS, Templates::Resolved).unwrap();
        let request = Ollama::new("llama2")
            .build_request(&preserve, &options, b"")
            .unwrap();
        assert_eq!(request.method.as_str(), "GET");
        assert_eq!(request.url.as_str(), "http://ollama:11434/api/tags");
        assert!(request.body.is_none());
    }

    #[test]
    fn upstream_url_is_required() {
        let options = ModelOptions::default();
        for route_type in [RouteType::CHAT, RouteType::PRESERVE] {
            assert_eq!(
                Ollama::new("mistral")
                    .check_config(route_type, &options)
                    .unwrap_err()
                    .message
                    .as_str(),
                "upstream_url: must be set for the mistral provider"
            );
            let error = Ollama::new("mistral")
                .build_request(&plan(route_type, false, false), &options, b"{}")
                .unwrap_err();
            assert_eq!(
                error.message.as_str(),
                "upstream_url: must be set for the mistral provider"
            );
        }
        let configured = ModelOptions::parse(OPTIONS, Templates::Resolved).unwrap();
        assert_eq!(
            Ollama::new("mistral")
                .check_config(RouteType(9), &configured)
                .unwrap_err()
                .status,
            400
        );
    }
}

mod responses {
    use super::*;

    #[test]
    fn a_chat_reply_becomes_a_chat_completion() {
        let reply = r#"{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"Hello! How are you today?"},"done_reason":"stop","done":true,"total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":298,"eval_duration":4799921000}"#;
        let (status, body, meta) = parsed(&plan(RouteType::CHAT, false, false), 200, reply);
        assert_eq!(status, 200);
        let id = body["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("chatcmpl-"));
        assert_eq!(
            body,
            json!({
                "id": id, "object": "chat.completion", "created": 1702390423u64, "model": "llama3.2",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How are you today?", "refusal": null},
                             "logprobs": null, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 26, "completion_tokens": 298, "total_tokens": 324},
            })
        );
        assert_eq!(meta.usage.prompt_tokens, ROption::RSome(26));
        assert_eq!(meta.usage.completion_tokens, ROption::RSome(298));
        assert_eq!(
            meta.usage.total_tokens,
            ROption::RNone,
            "Ollama reports no total"
        );
        assert_eq!(meta.response_model.as_str(), "llama3.2");
    }

    #[test]
    fn tool_calls_get_ids_string_arguments_and_their_finish_reason() {
        let reply = r#"{"model":"llama3.2","created_at":"2025-07-07T20:32:53.844124Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Tokyo"}}},{"id":"call_x","function":{"index":1,"name":"now"}}]},"done_reason":"stop","done":true,"prompt_eval_count":169,"eval_count":18}"#;
        let (_, body, meta) = parsed(&plan(RouteType::CHAT, false, false), 200, reply);
        let choice = &body["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert!(choice["message"]["content"].is_null());
        assert_eq!(
            choice["message"]["tool_calls"],
            json!([
                {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"}},
                {"id": "call_x", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            ])
        );
        assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");
    }

    #[test]
    fn done_reasons_map_to_openais() {
        for (done_reason, expected) in [
            (Some("length"), "length"),
            (Some("stop"), "stop"),
            (Some("unload"), "stop"),
            (None, "stop"),
        ] {
            let mut reply = json!({"model": "m", "message": {"role": "assistant", "content": "x"}, "done": true});
            if let Some(reason) = done_reason {
                reply["done_reason"] = json!(reason);
            }
            let (_, body, _) = parsed(
                &plan(RouteType::CHAT, false, false),
                200,
                &reply.to_string(),
            );
            assert_eq!(body["choices"][0]["finish_reason"], expected, "{reply}");
            assert_eq!(
                body["usage"],
                json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
            );
        }
    }

    #[test]
    fn a_generate_reply_becomes_a_text_completion() {
        let reply = r#"{"model":"llama2","created_at":"2024-01-15T08:14:21.967358Z","response":"Because I said so.","done":true,"done_reason":"length","context":[1,2],"prompt_eval_count":13,"eval_count":12}"#;
        let (_, body, _) = parsed(&plan(RouteType::COMPLETIONS, false, false), 200, reply);
        let id = body["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("cmpl-"));
        assert_eq!(
            body,
            json!({
                "id": id, "object": "text_completion", "created": 1705306461u64, "model": "llama2",
                "choices": [{"text": "Because I said so.", "index": 0, "logprobs": null, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 13, "completion_tokens": 12, "total_tokens": 25},
            })
        );
    }

    #[test]
    fn an_embed_reply_becomes_an_embeddings_list() {
        let reply = r#"{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862],[0.5,1]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#;
        let (_, body, meta) = parsed(&plan(RouteType::EMBEDDINGS, false, false), 200, reply);
        assert_eq!(
            body,
            json!({
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 0, "embedding": [0.010071029, -0.0017594862]},
                    {"object": "embedding", "index": 1, "embedding": [0.5, 1.0]},
                ],
                "model": "all-minilm",
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            })
        );
        assert_eq!(meta.usage.prompt_tokens, ROption::RSome(8));
    }

    #[test]
    fn error_statuses_keep_their_status_in_openais_envelope() {
        let (status, body, meta) = parsed(
            &plan(RouteType::CHAT, false, false),
            404,
            r#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
        );
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"error": {"message": "model \"llama9\" not found, try pulling it first",
                             "type": "invalid_request_error", "param": null, "code": null}})
        );
        assert_eq!(meta, ResponseMeta::default());
    }

    #[test]
    fn replies_that_cannot_be_translated_are_502s() {
        let cases = [
            (RouteType::CHAT, r#"{"error":"unexpected EOF"}"#, "upstream llama2: unexpected EOF"),
            (RouteType::CHAT, r#"{"model":"m","done":true}"#, "transformation failed from type llama2://llm/v1/chat: 'message' not in response"),
            (RouteType::COMPLETIONS, r#"{"model":"m","done":true}"#, "transformation failed from type llama2://llm/v1/completions: 'response' not in response"),
            (RouteType::EMBEDDINGS, r#"{"model":"m"}"#, "transformation failed from type llama2://llm/v1/embeddings: 'embeddings' not in response"),
            (RouteType::EMBEDDINGS, r#"{"error":"input too long"}"#, "upstream llama2: input too long"),
        ];
        for (route_type, reply, expected) in cases {
            let error = Ollama::new("llama2")
                .parse_response(&plan(route_type, false, false), 200, reply.as_bytes())
                .unwrap_err();
            assert_eq!(error.status, 502);
            assert_eq!(error.message.as_str(), expected);
        }
        for broken in ["", "[]", "<html>", r#"{"message":{"content":5}}"#] {
            let error = Ollama::new("llama2")
                .parse_response(&plan(RouteType::CHAT, false, false), 200, broken.as_bytes())
                .unwrap_err();
            assert_eq!(error.status, 502, "{broken}");
        }
    }

    #[test]
    fn native_metadata_reads_a_reply_or_the_last_stream_line() {
        let whole = r#"{"model":"llama3.2","message":{"content":"x"},"done":true,"prompt_eval_count":3,"eval_count":4}"#;
        let streamed = "{\"model\":\"llama3.2\",\"message\":{\"content\":\"x\"},\"done\":false}\n{\"model\":\"llama3.2\",\"done\":true,\"prompt_eval_count\":3,\"eval_count\":4}\n\n";
        for body in [whole, streamed] {
            let meta = native_metadata(body.as_bytes());
            assert_eq!(meta.usage.prompt_tokens, ROption::RSome(3));
            assert_eq!(meta.usage.completion_tokens, ROption::RSome(4));
            assert_eq!(meta.response_model.as_str(), "llama3.2");
        }
        assert_eq!(native_metadata(b"<html>"), ResponseMeta::default());
    }
}

mod streams {
    use super::*;

    /// The SSE payloads a translator writes for `stream` fed in `chunks`.
    fn translate(plan: &RequestPlan<'_>, chunks: &[&[u8]]) -> (Vec<u8>, ResponseMeta) {
        let mut translator = Ollama::new("llama2").stream_translator(plan);
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(translator.push(chunk).unwrap());
        }
        out.extend(translator.finish().unwrap());
        (out, translator.meta())
    }

    /// Translates `stream` whole, then split at every byte offset, and checks that each split gives
    /// the same bytes (ids aside, which differ per stream) and meta.
    fn same_at_every_split(plan: &RequestPlan<'_>, stream: &[u8]) -> (Vec<Value>, ResponseMeta) {
        let (whole, meta) = translate(plan, &[stream]);
        let normalized =
            |bytes: &[u8], id: &str| String::from_utf8(bytes.to_vec()).unwrap().replace(id, "ID");
        let expected = normalized(&whole, meta.response_id.as_str());
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            let (out, split_meta) = translate(plan, &[a, b]);
            assert_eq!(
                normalized(&out, split_meta.response_id.as_str()),
                expected,
                "split at {at}"
            );
            assert_eq!(
                ResponseMeta {
                    response_id: "".into(),
                    ..split_meta
                },
                ResponseMeta {
                    response_id: "".into(),
                    ..meta.clone()
                },
                "split at {at}"
            );
        }
        (events(&whole), meta)
    }

    fn events(out: &[u8]) -> Vec<Value> {
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.ends_with("\n\n"), "{text}");
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|event| {
                let data = event
                    .strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("{event}"));
                serde_json::from_str(data).unwrap_or_else(|_| json!(data))
            })
            .collect()
    }

    const CHAT_STREAM: &str = concat!(
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":{\"role\":\"assistant\",\"content\":\"The\",\"images\":null},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.5Z\",\"message\":{\"role\":\"assistant\",\"content\":\" sky \\\"is\\\" blue\"},\"done\":false}\r\n",
        "\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"total_duration\":4883583458,\"load_duration\":1334875,\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,\"eval_count\":282,\"eval_duration\":4535599000}\n",
    );

    #[test]
    fn chat_text_streams_as_chunks_with_the_usage_chunk_when_asked() {
        let (events, meta) =
            same_at_every_split(&plan(RouteType::CHAT, true, true), CHAT_STREAM.as_bytes());
        let id = meta.response_id.as_str();
        assert!(id.starts_with("chatcmpl-"));
        let chunk = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": 1691164339u64, "model": "llama3.2", "choices": choices});
        let delta = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
        let mut usage = chunk(json!([]));
        usage["usage"] =
            json!({"prompt_tokens": 26, "completion_tokens": 282, "total_tokens": 308});
        assert_eq!(
            events,
            vec![
                chunk(delta(
                    json!({"role": "assistant", "content": ""}),
                    Value::Null
                )),
                chunk(delta(json!({"content": "The"}), Value::Null)),
                chunk(delta(json!({"content": " sky \"is\" blue"}), Value::Null)),
                chunk(delta(json!({}), json!("length"))),
                usage,
                json!("[DONE]"),
            ]
        );
        assert_eq!(meta.usage.prompt_tokens, ROption::RSome(26));
        assert_eq!(meta.usage.completion_tokens, ROption::RSome(282));
        assert_eq!(meta.finish_reasons[0].as_str(), "length");
    }

    #[test]
    fn without_include_usage_there_is_no_usage_chunk_but_the_meta_has_it() {
        let (events, meta) =
            same_at_every_split(&plan(RouteType::CHAT, true, false), CHAT_STREAM.as_bytes());
        assert_eq!(events.len(), 5);
        assert!(events.iter().all(|e| e.get("usage").is_none()));
        assert_eq!(events.last(), Some(&json!("[DONE]")));
        assert_eq!(meta.usage.completion_tokens, ROption::RSome(282));
    }

    #[test]
    fn a_tool_call_line_becomes_indexed_tool_call_deltas() {
        let stream = concat!(
            "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-07T20:22:19.184789Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Tokyo\"}}},{\"function\":{\"name\":\"add\",\"arguments\":{\"a\":2,\"b\":12}}}]},\"done\":false}\n",
            "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-07T20:22:19.19314Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"prompt_eval_count\":169,\"eval_count\":15}\n",
        );
        let (events, meta) =
            same_at_every_split(&plan(RouteType::CHAT, true, false), stream.as_bytes());
        let deltas: Vec<&Value> = events
            .iter()
            .filter_map(|e| e["choices"][0].get("delta"))
            .collect();
        assert_eq!(
            deltas,
            vec![
                &json!({"role": "assistant", "content": ""}),
                &json!({"tool_calls": [{"index": 0, "id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                &json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Tokyo\"}"}}]}),
                &json!({"tool_calls": [{"index": 1, "id": "call_1", "type": "function", "function": {"name": "add", "arguments": ""}}]}),
                &json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"a\":2,\"b\":12}"}}]}),
                &json!({}),
            ]
        );
        assert_eq!(events[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(meta.finish_reasons[0].as_str(), "tool_calls");
    }

    #[test]
    fn generate_streams_as_text_completion_chunks() {
        let stream = concat!(
            "{\"model\":\"llama2\",\"created_at\":\"2024-01-15T08:14:21.967358Z\",\"response\":\"Because\",\"done\":false}\n",
            "{\"model\":\"llama2\",\"created_at\":\"2024-01-15T08:14:21.967358Z\",\"response\":\" I said so.\",\"done\":false}\n",
            "{\"model\":\"llama2\",\"created_at\":\"2024-01-15T08:14:21.967358Z\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\",\"context\":[1,2,3],\"prompt_eval_count\":13,\"eval_count\":12}",
        );
        let (events, meta) =
            same_at_every_split(&plan(RouteType::COMPLETIONS, true, true), stream.as_bytes());
        let texts: Vec<&Value> = events
            .iter()
            .filter_map(|e| e["choices"].get(0))
            .map(|c| &c["text"])
            .collect();
        assert_eq!(
            texts,
            vec![&json!("Because"), &json!(" I said so."), &json!("")]
        );
        assert!(events
            .iter()
            .take(3)
            .all(|e| e["object"] == "text_completion"));
        assert_eq!(events[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            events[3]["usage"],
            json!({"prompt_tokens": 13, "completion_tokens": 12, "total_tokens": 25})
        );
        assert!(meta.response_id.as_str().starts_with("cmpl-"));
    }

    #[test]
    fn an_error_line_ends_the_stream_with_an_error_event() {
        let stream = "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-15T08:13:38Z\",\"message\":{\"content\":\"Hel\"},\"done\":false}\n{\"error\":\"an error was encountered while running the model: CUDA error\"}\n{\"model\":\"llama3.2\",\"message\":{\"content\":\"lo\"},\"done\":false}\n";
        let (events, _) =
            same_at_every_split(&plan(RouteType::CHAT, true, true), stream.as_bytes());
        assert_eq!(events.len(), 3, "{events:#?}");
        assert_eq!(events[1]["choices"][0]["delta"]["content"], "Hel");
        assert_eq!(
            events[2],
            json!({"error": {"message": "upstream llama2: an error was encountered while running the model: CUDA error",
                             "type": "server_error", "param": null, "code": null}})
        );
    }

    #[test]
    fn a_stream_cut_before_done_or_a_bad_line_ends_with_an_error_event() {
        for (stream, message) in [
            ("{\"model\":\"m\",\"created_at\":\"2024-01-15T08:13:38Z\",\"message\":{\"content\":\"Hel\"},\"done\":false}\n", "upstream llama2 ended the stream before its final (done) line"),
            ("{\"model\":\"m\",\"created_at\":\"2024-01-15T08:13:38Z\",\"message\":{\"content\":\"Hel\"},\"done\":false}\n<html>\n", "upstream llama2 sent a stream line that is not an Ollama reply: expected value at line 1 column 1"),
        ] {
            let (events, _) = same_at_every_split(&plan(RouteType::CHAT, true, false), stream.as_bytes());
            let last = events.last().unwrap();
            assert_eq!(last["error"]["message"], message);
            assert!(events.iter().all(|e| e != &json!("[DONE]")));
        }
    }

    #[test]
    fn an_oversized_line_is_an_error_event_not_a_buffer() {
        let mut translator =
            Ollama::new("llama2").stream_translator(&plan(RouteType::CHAT, true, false));
        let huge = vec![b'x'; crate::openai::MAX_EVENT_BYTES + 1];
        let out = translator.push(&huge).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("exceeds"));
        assert!(translator.push(b"{}\n").unwrap().is_empty());
        assert!(translator.finish().unwrap().is_empty());
    }
}
