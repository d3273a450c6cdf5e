//! Corrupted client bodies, options, upstream bodies and streams: every entry point answers with
//! an error of the right status, none panics.

use ai_provider_azure::Azure;
use provider_sdk::abi::RouteType;
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, plan, OPTIONS};
use crate::responses::AZURE_CHAT;

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
    let body = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    for variant in damaged(&body) {
        let mut streamed = plan(RouteType::CHAT, "gpt-4o", OPTIONS);
        streamed.stream = true;
        if let Err(error) = Azure::build_request(&streamed, &ClientBody::new(&variant)) {
            assert_eq!(error.status, 400);
        }
    }
    for variant in damaged(OPTIONS.as_bytes()) {
        let Ok(options) = std::str::from_utf8(&variant) else {
            continue;
        };
        if let Err(error) = Azure::build_request(
            &plan(RouteType::CHAT, "m", options),
            &ClientBody::new(b"{}"),
        ) {
            assert_eq!(error.status, 400, "{options}");
        }
    }
}

#[test]
fn damaged_responses_and_streams_are_502s() {
    for variant in damaged(AZURE_CHAT.as_bytes()) {
        for status in [200, 400, 500] {
            let chat = plan(RouteType::CHAT, "m", OPTIONS);
            match Azure::parse_response(&chat, status, &[], &variant) {
                Ok(response) => assert_eq!(response.status, status),
                Err(error) => assert_eq!(error.status, 502),
            }
        }
        let mut streamed = plan(RouteType::CHAT, "m", OPTIONS);
        streamed.stream = true;
        let mut translator = Azure::new_stream_translator(&streamed, 200, &[]).unwrap();
        let stream = [b"data: ".as_slice(), &variant, b"\n\n"].concat();
        for result in [translator.push(&stream), translator.finish()] {
            if let Err(error) = result {
                assert_eq!(error.status, 502);
            }
        }
        let _ = translator.meta();
    }
}
