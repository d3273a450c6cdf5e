//! Corrupted client bodies, upstream bodies and streams in both formats: every entry point
//! answers with an error of the right status, none panics.

use ai_provider_mistral::Mistral;
use provider_sdk::abi::RouteType;
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, plan, streamed, MANAGED, OLLAMA};

/// Every way of cutting `original` short, and of replacing one byte with a JSON-significant one.
fn damaged(original: &[u8]) -> Vec<Vec<u8>> {
    let mut variants: Vec<Vec<u8>> = (0..original.len())
        .map(|end| original[..end].to_vec())
        .collect();
    for at in (0..original.len()).step_by(5) {
        for byte in *b"{}[]\",:\\\n\xff" {
            let mut variant = original.to_vec();
            variant[at] = byte;
            variants.push(variant);
        }
    }
    variants
}

#[test]
fn damaged_requests_are_400s() {
    let tools = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let images = br#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"seed":3}"#;
    for options in [MANAGED, OLLAMA] {
        for original in [&tools[..], images] {
            for variant in damaged(original) {
                if let Err(error) = Mistral::build_request(
                    &streamed(RouteType::CHAT, "m", options, false),
                    &ClientBody::new(&variant),
                ) {
                    assert_eq!(error.status, 400, "{options}: {error}");
                }
            }
        }
    }
}

#[test]
fn damaged_replies_and_streams_are_502s_or_error_events() {
    let mistral_stream = b"data: {\"id\":\"a\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"x\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"},\"index\":0}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\ndata: [DONE]\n\n".to_vec();
    let replies = [
        (
            MANAGED,
            fixture("unit/real-responses/mistral/openai/llm-v1-chat.json"),
        ),
        (MANAGED, mistral_stream),
        (
            OLLAMA,
            fixture("unit/real-responses/mistral/ollama/llm-v1-chat.json"),
        ),
    ];
    for (options, reply) in replies {
        for variant in damaged(&reply) {
            for status in [200, 422, 500] {
                match Mistral::parse_response(
                    &plan(RouteType::CHAT, "m", options),
                    status,
                    &[],
                    &variant,
                ) {
                    Ok(response) => assert_eq!(response.status, status),
                    Err(error) => assert_eq!(error.status, 502, "{options}: {error}"),
                }
            }
            let mut translator = Mistral::new_stream_translator(
                &streamed(RouteType::CHAT, "m", options, true),
                200,
                &[],
            )
            .unwrap();
            for result in [translator.push(&variant), translator.finish()] {
                if let Err(error) = result {
                    assert_eq!(error.status, 502);
                }
            }
            let _ = translator.meta();
        }
    }
}
