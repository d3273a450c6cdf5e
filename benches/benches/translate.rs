//! Per-request and per-chunk cost of the OpenAI translator, called in-process through the same
//! entry points the gateway calls across the module boundary.
//!
//! Run with `cargo bench -p ai-gateway-benches`.

use std::hint::black_box;
use std::time::Duration;

use abi_stable::std_types::{RSlice, RStr};
use ai_gateway_benches::time_per_call;
use ai_provider_openai::OpenAi;
use provider_sdk::abi::{RequestPlan, RouteType};

const CHAT_REQUEST: &[u8] = br#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain the arithmetic in a few sentences."}],"temperature":0.2}"#;

const CHUNK: &[u8] = b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" two\"},\"finish_reason\":null}]}\n\n";

fn plan(stream: bool) -> RequestPlan<'static> {
    RequestPlan {
        route_type: RouteType::CHAT,
        model: RStr::from_str("gpt-4o-mini"),
        options: RStr::from_str(r#"{"max_tokens":512}"#),
        stream,
        client_wants_usage: false,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str("/v1/chat/completions"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

fn main() {
    let module = provider_sdk::provider_module::<OpenAi>();
    let budget = Duration::from_secs(1);

    let request_plan = plan(false);
    let per_request = time_per_call(budget, || {
        let out = (module.build_request())(&request_plan, RSlice::from_slice(CHAT_REQUEST));
        black_box(out);
    });
    println!(
        "openai build_request (chat, {} B): {per_request:?}",
        CHAT_REQUEST.len()
    );

    let stream_plan = plan(true);
    let per_chunk =
        match (module.new_stream_translator())(&stream_plan, 200, RSlice::from_slice(&[])) {
            abi_stable::std_types::RResult::ROk(mut translator) => time_per_call(budget, || {
                black_box(translator.push(RSlice::from_slice(CHUNK)));
            }),
            abi_stable::std_types::RResult::RErr(e) => {
                eprintln!("cannot start a stream translator: {e}");
                return;
            }
        };
    println!(
        "openai stream push ({} B chunk): {per_chunk:?}",
        CHUNK.len()
    );
}
