//! Criterion micro-benchmarks of the Anthropic translator, called in-process through the same entry
//! points (`build_request`, `parse_response`, the stream translator's `push`) the gateway calls
//! across the module boundary.
//!
//! `cargo bench -p ai-gateway-benches --bench translate_anthropic`

// A benchmark that cannot set itself up has nothing to measure: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

const ANTHROPIC_RESPONSE: &[u8] = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-latest","content":[{"type":"text","text":"Two. One plus one makes two, the first even number."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":12}}"#;
const ANTHROPIC_START: &[u8] = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-latest\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":24,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
const ANTHROPIC_CHUNK: &[u8] = b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" two\"}}\n\n";

fn benches(c: &mut Criterion) {
    common::translators(
        c,
        common::Case {
            name: "anthropic",
            model: "claude-3-5-haiku-latest",
            module: provider_sdk::provider_module::<ai_provider_anthropic::Anthropic>(),
            options: r#"{"max_tokens":512,"anthropic_version":"2023-06-01"}"#,
            response: ANTHROPIC_RESPONSE,
            stream_start: ANTHROPIC_START.to_vec(),
            chunk: ANTHROPIC_CHUNK.to_vec(),
            stream_headers: &[("content-type", "text/event-stream")],
        },
    );
}

criterion_group!(group, benches);
criterion_main!(group);
