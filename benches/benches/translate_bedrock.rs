//! Criterion micro-benchmarks of the Bedrock translator, called in-process through the same entry
//! points (`build_request`, `parse_response`, the stream translator's `push`) the gateway calls
//! across the module boundary.
//!
//! `cargo bench -p ai-gateway-benches --bench translate_bedrock`

// A benchmark that cannot set itself up has nothing to measure: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use provider_sdk::framing::aws_eventstream::encode_event;

const BEDROCK_RESPONSE: &[u8] = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Two. One plus one makes two, the first even number."}]}},"stopReason":"end_turn","usage":{"inputTokens":24,"outputTokens":12,"totalTokens":36},"metrics":{"latencyMs":120}}"#;

fn benches(c: &mut Criterion) {
    common::translators(
        c,
        common::Case {
            name: "bedrock",
            model: "anthropic.claude-3-haiku-20240307-v1:0",
            module: provider_sdk::provider_module::<ai_provider_bedrock::Bedrock>(),
            options: r#"{"max_tokens":512,"bedrock":{"aws_region":"us-east-1"}}"#,
            response: BEDROCK_RESPONSE,
            stream_start: encode_event("messageStart", br#"{"p":"abcd","role":"assistant"}"#)
                .unwrap(),
            chunk: encode_event(
                "contentBlockDelta",
                br#"{"contentBlockIndex":0,"delta":{"text":" two"},"p":"abcdefgh"}"#,
            )
            .unwrap(),
            stream_headers: &[("content-type", "application/vnd.amazon.eventstream")],
        },
    );
}

criterion_group!(group, benches);
criterion_main!(group);
