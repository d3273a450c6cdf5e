//! Corrupted client bodies, options, upstream bodies and streams: every entry point answers with
//! an error of the right status, none panics.

use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::RouteType;
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, kong_chunks, plan, CLAUDE, OPTIONS};

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

#[test]
fn damaged_requests_and_options_are_400s() {
    let bodies = [
        fixture("native/target/target-openai-complete.json"),
        fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json"),
    ];
    for body in &bodies {
        for variant in damaged(body) {
            for route_type in [
                RouteType::CHAT,
                RouteType::COMPLETIONS,
                RouteType::EMBEDDINGS,
            ] {
                if let Err(error) = Bedrock::build_request(
                    &plan(route_type, CLAUDE, OPTIONS),
                    &ClientBody::new(&variant),
                ) {
                    assert_eq!(error.status, 400);
                }
            }
        }
    }
    for variant in damaged(OPTIONS.as_bytes()) {
        let Ok(options) = std::str::from_utf8(&variant) else {
            continue;
        };
        if let Err(error) = Bedrock::build_request(
            &plan(RouteType::CHAT, CLAUDE, options),
            &ClientBody::new(br#"{"messages":[{"role":"user","content":"hi"}]}"#),
        ) {
            assert_eq!(error.status, 400, "{options}");
        }
    }
}

#[test]
fn damaged_responses_and_streams_are_502s() {
    let converse = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Hi"},{"toolUse":{"toolUseId":"t","name":"f","input":{"a":1}}}]}},"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3},"metrics":{"latencyMs":1}}"#;
    for variant in damaged(converse) {
        for route_type in [
            RouteType::CHAT,
            RouteType::COMPLETIONS,
            RouteType::EMBEDDINGS,
        ] {
            for status in [200, 400, 500] {
                match Bedrock::parse_response(
                    &plan(route_type, CLAUDE, OPTIONS),
                    status,
                    &[],
                    &variant,
                ) {
                    Ok(response) => assert_eq!(response.status, status),
                    Err(error) => assert_eq!(error.status, 502),
                }
            }
        }
    }
    let stream = kong_chunks().concat();
    for variant in damaged(&stream) {
        let mut streamed = plan(RouteType::CHAT, CLAUDE, OPTIONS);
        streamed.stream = true;
        let mut translator = Bedrock::new_stream_translator(&streamed, 200, &[]).unwrap();
        for result in [translator.push(&variant), translator.finish()] {
            if let Err(error) = result {
                assert_eq!(error.status, 502);
            }
        }
        let _ = translator.meta();
    }
}
