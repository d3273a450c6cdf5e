//! What translators write for clients, checked against OpenAI's published OpenAPI document: whole
//! responses from the builders, and every chunk of a stream from the writer.

use abi_stable::std_types::ROption::{RNone, RSome};
use abi_stable::std_types::{RSlice, RStr};
use provider_sdk::abi::{RequestPlan, RouteType, Usage};
use provider_sdk::finish_reason::FinishReason;
use provider_sdk::openai::{
    AssistantMessage, ChatChoice, ChatCompletion, ChatStreamWriter, EmbeddingList, EncodingFormat,
    OutputToolCall, TextChoice, TextCompletion,
};
use serde_json::Value;
use spec_check::assert_openapi;

const SPEC: &str = "openai/openapi.prism.json";

fn usage() -> Usage {
    Usage {
        prompt_tokens: RSome(2006),
        completion_tokens: RSome(300),
        total_tokens: RNone,
        cached_tokens: RSome(1920),
    }
}

#[test]
fn chat_completions_conform() {
    let text = ChatCompletion {
        id: "msg_01",
        created: 1_731_000_000,
        model: "claude-sonnet-4-5",
        choices: vec![ChatChoice {
            message: AssistantMessage {
                content: Some("Hello".into()),
                ..AssistantMessage::default()
            },
            finish_reason: FinishReason::Length,
        }],
        usage: usage(),
    };
    let tools = ChatCompletion {
        choices: vec![ChatChoice {
            message: AssistantMessage {
                content: None,
                refusal: None,
                tool_calls: vec![OutputToolCall {
                    id: "toolu_1".into(),
                    name: "add".into(),
                    arguments: r#"{"a":2,"b":12}"#.into(),
                }],
            },
            finish_reason: FinishReason::ToolCalls,
        }],
        usage: Usage::default(),
        ..text.clone()
    };
    let refused = ChatCompletion {
        choices: vec![ChatChoice {
            message: AssistantMessage {
                content: None,
                refusal: Some("I can't help with that.".into()),
                tool_calls: Vec::new(),
            },
            finish_reason: FinishReason::ContentFilter,
        }],
        ..text.clone()
    };
    for completion in [text, tools, refused] {
        let built = completion.build().unwrap();
        assert_openapi(
            SPEC,
            "CreateChatCompletionResponse",
            &serde_json::from_slice::<Value>(&built.body).unwrap(),
        );
    }
}

#[test]
fn text_completions_conform() {
    let built = TextCompletion {
        id: "cmpl-1",
        created: 1,
        model: "command",
        choices: vec![TextChoice {
            text: "1 + 1 is 2.".into(),
            finish_reason: FinishReason::Stop,
        }],
        usage: usage(),
    }
    .build()
    .unwrap();
    assert_openapi(
        SPEC,
        "CreateCompletionResponse",
        &serde_json::from_slice::<Value>(&built.body).unwrap(),
    );
}

#[test]
fn embedding_lists_conform_in_both_encodings() {
    for encoding_format in [EncodingFormat::Float, EncodingFormat::Base64] {
        let built = EmbeddingList {
            model: "embed-english-v3.0",
            embeddings: vec![vec![0.25, -0.5], vec![1.0, 2.0]],
            encoding_format,
            usage: usage(),
        }
        .build()
        .unwrap();
        let body: Value = serde_json::from_slice(&built.body).unwrap();
        if encoding_format == EncodingFormat::Float {
            assert_openapi(SPEC, "CreateEmbeddingResponse", &body);
        } else {
            // The document types `embedding` as numbers only; base64 is a string, as OpenAI
            // itself sends it.
            assert!(body["data"][0]["embedding"].is_string());
        }
    }
}

#[test]
fn every_chat_chunk_conforms() {
    let plan = RequestPlan {
        route_type: RouteType::CHAT,
        model: RStr::from_str("claude-sonnet-4-5"),
        options: RStr::from_str("{}"),
        stream: true,
        client_wants_usage: true,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str("/v1/chat/completions"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    };
    let mut writer = ChatStreamWriter::new(&plan);
    let mut out = Vec::new();
    writer.identify("msg_01", "claude-sonnet-4-5-20250929");
    writer.start(&mut out);
    writer.text(&mut out, "Let me add.");
    writer.tool_call_start(&mut out, 1, "toolu_1", "add");
    writer
        .tool_call_arguments(&mut out, 1, r#"{"a": 2, "b": 12}"#)
        .unwrap();
    writer.refusal(&mut out, "no");
    writer.finish(&mut out, FinishReason::ToolCalls);
    writer.record_usage(usage());
    writer.end(&mut out);

    let text = String::from_utf8(out).unwrap();
    let events: Vec<&str> = text
        .split_terminator("\n\n")
        .map(|e| e.strip_prefix("data: ").unwrap())
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    for event in &events[..events.len() - 1] {
        let mut chunk: Value = serde_json::from_str(event).unwrap();
        // The document types `finish_reason` as string or null but leaves null out of its enum,
        // though OpenAI's own streams send null on every chunk but the last: null is checked to
        // be there, then stands in as "stop" for the rest of the check.
        for choice in chunk["choices"].as_array_mut().unwrap() {
            if choice["finish_reason"].is_null() {
                assert!(choice.get("finish_reason").is_some(), "{event}");
                choice["finish_reason"] = Value::from("stop");
            }
        }
        assert_openapi(SPEC, "CreateChatCompletionStreamResponse", &chunk);
    }
}
