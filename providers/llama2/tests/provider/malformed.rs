//! Corrupted client bodies, upstream bodies and streams in every format: every entry point
//! answers with an error of the right status, none panics.

use ai_provider_llama2::Llama2;
use provider_sdk::abi::RouteType;
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, plan, streamed, OLLAMA, OPENAI, RAW};

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
    let body = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let chat = br#"{"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":5}"#;
    for options in [RAW, OLLAMA, OPENAI] {
        for original in [&body[..], chat] {
            for variant in damaged(original) {
                if let Err(error) = Llama2::build_request(
                    &streamed(RouteType::CHAT, "llama3", options, false),
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
    let replies = [
        (
            RAW,
            fixture("unit/real-responses/llama2/raw/llm-v1-chat.json"),
        ),
        (
            OLLAMA,
            fixture("unit/real-responses/llama2/ollama/llm-v1-chat.json"),
        ),
        (OPENAI, fixture("openai/llm-v1-chat/responses/good.json")),
    ];
    for (options, reply) in replies {
        for variant in damaged(&reply) {
            for status in [200, 400, 500] {
                match Llama2::parse_response(
                    &plan(RouteType::CHAT, "m", options),
                    status,
                    &[],
                    &variant,
                ) {
                    Ok(response) => assert_eq!(response.status, status),
                    Err(error) => assert_eq!(error.status, 502, "{options}: {error}"),
                }
            }
            let mut translator = Llama2::new_stream_translator(
                &streamed(RouteType::CHAT, "m", options, true),
                200,
                &[],
            )
            .unwrap();
            let framed = [b"data: ".as_slice(), &variant, b"\n\n"].concat();
            for result in [
                translator.push(&variant),
                translator.push(&framed),
                translator.finish(),
            ] {
                if let Err(error) = result {
                    assert_eq!(error.status, 502);
                }
            }
            let _ = translator.meta();
        }
    }
}
