//! Criterion micro-benchmarks of the Bedrock translator, called in-process through the same entry
//! points (`build_request`, `parse_response`, the stream translator's `push`) the gateway calls
//! across the module boundary.
//!
//! `cargo bench -p ai-gateway-benches --bench translate_bedrock`

// A benchmark that cannot set itself up has nothing to measure: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

const BEDROCK_RESPONSE: &[u8] = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Two. One plus one makes two, the first even number."}]}},"stopReason":"end_turn","usage":{"inputTokens":24,"outputTokens":12,"totalTokens":36},"metrics":{"latencyMs":120}}"#;

/// CRC-32 (IEEE), which both checksums of an event-stream message use.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        (0..8).fold(crc ^ u32::from(byte), |crc, _| {
            if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            }
        })
    })
}

/// One ConverseStream event in Bedrock's `application/vnd.amazon.eventstream` framing.
fn bedrock_event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut headers = Vec::new();
    for (name, value) in [
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ] {
        headers.push(u8::try_from(name.len()).unwrap());
        headers.extend_from_slice(name.as_bytes());
        headers.push(7);
        headers.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(16 + headers.len() + payload.len()).unwrap();
    let mut message = Vec::new();
    message.extend_from_slice(&total.to_be_bytes());
    message.extend_from_slice(&u32::try_from(headers.len()).unwrap().to_be_bytes());
    message.extend_from_slice(&crc32(&message).to_be_bytes());
    message.extend_from_slice(&headers);
    message.extend_from_slice(payload);
    message.extend_from_slice(&crc32(&message).to_be_bytes());
    message
}

fn benches(c: &mut Criterion) {
    common::translators(
        c,
        common::Case {
            name: "bedrock",
            model: "anthropic.claude-3-haiku-20240307-v1:0",
            module: provider_sdk::provider_module::<ai_provider_bedrock::Bedrock>(),
            options: r#"{"max_tokens":512,"bedrock":{"aws_region":"us-east-1"}}"#,
            response: BEDROCK_RESPONSE,
            stream_start: bedrock_event("messageStart", br#"{"p":"abcd","role":"assistant"}"#),
            chunk: bedrock_event(
                "contentBlockDelta",
                br#"{"contentBlockIndex":0,"delta":{"text":" two"},"p":"abcdefgh"}"#,
            ),
            stream_headers: &[("content-type", "application/vnd.amazon.eventstream")],
        },
    );
}

criterion_group!(group, benches);
criterion_main!(group);
