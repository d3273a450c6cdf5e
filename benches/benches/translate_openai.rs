//! Criterion micro-benchmarks of the OpenAI (pass-through) translator, called in-process through the same entry
//! points (`build_request`, `parse_response`, the stream translator's `push`) the gateway calls
//! across the module boundary.
//!
//! `cargo bench -p ai-gateway-benches --bench translate_openai`

// A benchmark that cannot set itself up has nothing to measure: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

const OPENAI_RESPONSE: &[u8] = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Two. One plus one makes two, the first even number."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":12,"total_tokens":36}}"#;
const OPENAI_CHUNK: &[u8] = b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" two\"},\"finish_reason\":null}]}\n\n";

fn benches(c: &mut Criterion) {
    common::translators(
        c,
        common::Case {
            name: "openai",
            model: "gpt-4o-mini",
            module: provider_sdk::provider_module::<ai_provider_openai::OpenAi>(),
            options: r#"{"max_tokens":512}"#,
            response: OPENAI_RESPONSE,
            stream_start: Vec::new(),
            chunk: OPENAI_CHUNK.to_vec(),
            stream_headers: &[("content-type", "text/event-stream")],
        },
    );
}

criterion_group!(group, benches);
criterion_main!(group);
