//! Corrupted client bodies, options, upstream bodies and streams: every entry point answers with
//! an error of the right status, none panics.

use ai_provider_anthropic::Anthropic;
use provider_sdk::abi::RouteType;
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, plan, streamed, transcript, OPTIONS};

/// Every way of cutting `original` short, and of replacing one byte with a JSON-significant one.
fn damaged(original: &[u8]) -> Vec<Vec<u8>> {
    let mut variants: Vec<Vec<u8>> = (0..original.len())
        .map(|end| original[..end].to_vec())
        .collect();
    for at in (0..original.len()).step_by(7) {
        for byte in *b"{}[]\",:\\\xff" {
            let mut variant = original.to_vec();
            variant[at] = byte;
            variants.push(variant);
        }
    }
    variants
}

const CONVERSATION: &str = r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Add"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},{"role":"assistant","content":"Sure.","tool_calls":[{"id":"t1","type":"function","function":{"name":"add","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"t1","content":"2"}],"tools":[{"type":"function","function":{"name":"add","parameters":{"type":"object"}}}],"tool_choice":"auto","parallel_tool_calls":false,"stop":["x"],"user":"u"}"#;

#[test]
fn damaged_requests_and_options_are_400s() {
    for body in [
        CONVERSATION.as_bytes().to_vec(),
        fixture("unit/requests/llm-v1-chat.json"),
    ] {
        for variant in damaged(&body) {
            for stream in [false, true] {
                let mut chat = plan(RouteType::CHAT, "claude-x", OPTIONS);
                chat.stream = stream;
                if let Err(error) = Anthropic::build_request(&chat, &ClientBody::new(&variant)) {
                    assert_eq!(error.status, 400, "{}", String::from_utf8_lossy(&variant));
                }
            }
        }
    }
    for variant in damaged(br#"{"prompt":["Say hi"],"stop":"\n","max_tokens":5}"#) {
        if let Err(error) = Anthropic::build_request(
            &plan(RouteType::COMPLETIONS, "claude-2.1", OPTIONS),
            &ClientBody::new(&variant),
        ) {
            assert_eq!(error.status, 400);
        }
    }
    for variant in damaged(OPTIONS.as_bytes()) {
        let Ok(options) = std::str::from_utf8(&variant) else {
            continue;
        };
        if let Err(error) = Anthropic::build_request(
            &plan(RouteType::CHAT, "m", options),
            &ClientBody::new(br#"{"messages":[{"role":"user","content":"x"}]}"#),
        ) {
            assert_eq!(error.status, 400, "{options}");
        }
    }
}

#[test]
fn damaged_responses_are_502s_and_damaged_error_bodies_keep_their_status() {
    let bodies = [
        fixture("anthropic/request-transformer/response-in-json.json"),
        fixture("anthropic/llm-v1-completions/responses/good.json"),
        fixture("anthropic/llm-v1-chat/responses/unauthorized.json"),
    ];
    for body in bodies {
        for variant in damaged(&body) {
            for route_type in [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE] {
                for status in [200, 401, 529] {
                    let route = plan(route_type, "m", OPTIONS);
                    match Anthropic::parse_response(&route, status, &[], &variant) {
                        Ok(response) => assert_eq!(response.status, status),
                        Err(error) => {
                            assert_eq!(error.status, 502);
                            assert_eq!(status, 200, "only a success can fail to translate");
                        }
                    }
                    let _ = Anthropic::native_metadata(&route, status, &variant);
                }
            }
        }
    }
}

#[test]
fn damaged_streams_are_502s_or_error_events() {
    let stream = transcript("tool_use_response.txt");
    for variant in damaged(&stream) {
        for route_type in [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE] {
            let route = streamed(plan(route_type, "m", OPTIONS), true);
            let mut translator = Anthropic::new_stream_translator(&route, 200, &[]).unwrap();
            for result in [translator.push(&variant), translator.finish()] {
                if let Err(error) = result {
                    assert_eq!(error.status, 502);
                }
            }
            let _ = translator.meta();
        }
    }
}
