//! Per-request and per-event cost of the Bedrock translator, called in-process through the same
//! entry points the gateway calls across the module boundary.
//!
//! Run with `cargo bench -p ai-provider-bedrock`.

use std::hint::black_box;
use std::time::Duration;

use abi_stable::std_types::{RResult, RSlice, RStr};
use ai_gateway_benches::time_per_call;
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::{RequestPlan, RouteType};

const CHAT_REQUEST: &[u8] = br#"{"model":"us.amazon.nova-micro-v1:0","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain the arithmetic in a few sentences."}],"temperature":0.2,"tools":[{"type":"function","function":{"name":"add","description":"Adds a and b.","parameters":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}}}]}"#;

const CONVERSE_RESPONSE: &[u8] = br#"{"output":{"message":{"role":"assistant","content":[{"text":"1 + 1 is 2: adding one unit to another gives two units."}]}},"stopReason":"end_turn","usage":{"inputTokens":31,"outputTokens":17,"totalTokens":48},"metrics":{"latencyMs":412}}"#;

fn plan(stream: bool) -> RequestPlan<'static> {
    RequestPlan {
        route_type: RouteType::CHAT,
        model: RStr::from_str("us.amazon.nova-micro-v1:0"),
        options: RStr::from_str(r#"{"bedrock":{"aws_region":"us-west-2"},"max_tokens":512}"#),
        stream,
        client_wants_usage: false,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str("/v1/chat/completions"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

/// One `contentBlockDelta` frame as Bedrock sends it, CRC-32s included.
fn text_delta_frame() -> Vec<u8> {
    let payload = br#"{"contentBlockIndex":0,"delta":{"text":" two"},"p":"abcdefghijkl"}"#;
    let mut headers = Vec::new();
    for (name, value) in [
        (":event-type", "contentBlockDelta"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ] {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7);
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let mut frame = Vec::new();
    frame.extend_from_slice(&((16 + headers.len() + payload.len()) as u32).to_be_bytes());
    frame.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32(&frame).to_be_bytes());
    frame.extend_from_slice(&headers);
    frame.extend_from_slice(payload);
    frame.extend_from_slice(&crc32(&frame).to_be_bytes());
    frame
}

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

fn main() {
    let module = provider_sdk::provider_module::<Bedrock>();
    let budget = Duration::from_secs(1);

    let request_plan = plan(false);
    let per_request = time_per_call(budget, || {
        black_box((module.build_request())(
            &request_plan,
            RSlice::from_slice(CHAT_REQUEST),
        ));
    });
    println!(
        "bedrock build_request (chat with a tool, {} B): {per_request:?}",
        CHAT_REQUEST.len()
    );

    let per_response = time_per_call(budget, || {
        black_box((module.parse_response())(
            &request_plan,
            200,
            RSlice::from_slice(&[]),
            RSlice::from_slice(CONVERSE_RESPONSE),
        ));
    });
    println!(
        "bedrock parse_response (Converse, {} B): {per_response:?}",
        CONVERSE_RESPONSE.len()
    );

    let stream_plan = plan(true);
    let frame = text_delta_frame();
    let per_event =
        match (module.new_stream_translator())(&stream_plan, 200, RSlice::from_slice(&[])) {
            RResult::ROk(mut translator) => time_per_call(budget, || {
                black_box(translator.push(RSlice::from_slice(&frame)));
            }),
            RResult::RErr(e) => {
                eprintln!("cannot start a stream translator: {e}");
                return;
            }
        };
    println!(
        "bedrock stream push (one {} B contentBlockDelta frame): {per_event:?}",
        frame.len()
    );
}
