//! Corrupted client bodies, options, upstream bodies and streams: every entry point answers with
//! an error of the right status, none panics.

use ai_provider_cohere::Cohere;
use provider_sdk::abi::{RequestPlan, RouteType};
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{check_documented, fixture, plan, streamed, V1};

/// Every way of cutting `original` short, and of replacing one byte with a JSON-significant one.
fn damaged(original: &[u8]) -> Vec<Vec<u8>> {
    let mut variants: Vec<Vec<u8>> = (0..original.len())
        .map(|end| original[..end].to_vec())
        .collect();
    for at in (0..original.len()).step_by(5) {
        for byte in *b"{}[]\",:\\\xff0" {
            let mut variant = original.to_vec();
            variant[at] = byte;
            variants.push(variant);
        }
    }
    variants
}

const TOOL_REQUEST: &str = r#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":"Weather?"},{"role":"assistant","content":"x","tool_calls":[{"id":"c","type":"function","function":{"name":"w","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c","content":"{\"t\":1}"}],"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object","properties":{"a":{"type":"integer"}}}}}],"stop":["x"],"temperature":0.5}"#;

/// A damaged request either sends a body of Cohere's documented shape or is refused with a 400.
fn sends_a_documented_body_or_is_a_400(plan: &RequestPlan<'_>, body: &[u8]) {
    match Cohere::build_request(plan, &ClientBody::new(body)) {
        Ok(request) => check_documented(&request),
        Err(error) => assert_eq!(error.status, 400, "{}", String::from_utf8_lossy(body)),
    }
}

#[test]
fn damaged_requests_and_options_are_400s() {
    for options in ["{}", V1] {
        for variant in damaged(TOOL_REQUEST.as_bytes()) {
            sends_a_documented_body_or_is_a_400(&plan(RouteType::CHAT, "m", options), &variant);
        }
    }
    for variant in damaged(br#"{"prompt":"x","n":2,"max_tokens":4}"#) {
        sends_a_documented_body_or_is_a_400(&plan(RouteType::COMPLETIONS, "m", "{}"), &variant);
    }
    for variant in damaged(br#"{"input":["a","b"],"dimensions":3}"#) {
        sends_a_documented_body_or_is_a_400(&plan(RouteType::EMBEDDINGS, "m", "{}"), &variant);
    }
    let options = r#"{"max_tokens":5,"cohere":{"api_version":"v1","input_type":"search_query"}}"#;
    for variant in damaged(options.as_bytes()) {
        let Ok(options) = std::str::from_utf8(&variant) else {
            continue;
        };
        sends_a_documented_body_or_is_a_400(
            &plan(RouteType::EMBEDDINGS, "m", options),
            b"{\"input\":\"x\"}",
        );
    }
}

#[test]
fn damaged_responses_and_streams_are_502s() {
    let responses = [
        (RouteType::CHAT, "{}", br#"{"id":"i","finish_reason":"TOOL_CALL","message":{"role":"assistant","tool_plan":"p","content":[{"type":"text","text":"t"}],"tool_calls":[{"id":"c","type":"function","function":{"name":"n","arguments":"{}"}}]},"usage":{"tokens":{"input_tokens":1,"output_tokens":2},"cached_tokens":0}}"#.to_vec()),
        (RouteType::CHAT, V1, fixture("cohere/llm-v1-chat/responses/good.json")),
        (RouteType::COMPLETIONS, "{}", fixture("unit/real-responses/cohere/llm-v1-completions.json")),
        (RouteType::EMBEDDINGS, "{}", br#"{"id":"e","embeddings":{"float":[[0.5,1]]},"meta":{"billed_units":{"input_tokens":2}}}"#.to_vec()),
    ];
    for (route_type, options, original) in responses {
        for variant in damaged(&original) {
            for status in [200, 400, 500] {
                match Cohere::parse_response(&plan(route_type, "m", options), status, &[], &variant)
                {
                    Ok(response) => assert_eq!(response.status, status),
                    Err(error) => assert_eq!(error.status, 502),
                }
            }
        }
    }
    let streams = [
        (RouteType::CHAT, "{}", b"event: message-start\ndata: {\"id\":\"i\",\"type\":\"message-start\",\"delta\":{\"message\":{\"content\":[]}}}\n\ndata: {\"type\":\"tool-call-start\",\"index\":1,\"delta\":{\"message\":{\"tool_calls\":{\"id\":\"c\",\"function\":{\"name\":\"n\",\"arguments\":\"\"}}}}}\n\ndata: {\"type\":\"tool-call-delta\",\"index\":1,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{}\"}}}}}\n\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"TOOL_CALL\",\"usage\":{\"tokens\":{\"input_tokens\":1}}}}\n\n".to_vec()),
        (RouteType::CHAT, V1, b"{\"event_type\":\"stream-start\",\"generation_id\":\"g\"}\n{\"event_type\":\"tool-calls-generation\",\"tool_calls\":[{\"name\":\"n\",\"parameters\":{\"a\":1}}]}\n{\"event_type\":\"stream-end\",\"finish_reason\":\"COMPLETE\",\"response\":{\"meta\":{\"tokens\":{\"input_tokens\":1}}}}\n".to_vec()),
        (RouteType::COMPLETIONS, "{}", b"{\"event_type\":\"text-generation\",\"text\":\"a\"}\n{\"event_type\":\"stream-end\",\"finish_reason\":\"COMPLETE\",\"response\":{\"meta\":{\"billed_units\":{\"input_tokens\":1}}}}\n".to_vec()),
        (RouteType::PRESERVE, "{}", b"data: {\"type\":\"message-end\",\"delta\":{\"usage\":{\"tokens\":{\"input_tokens\":1}}}}\n\n".to_vec()),
    ];
    for (route_type, options, original) in streams {
        for variant in damaged(&original) {
            let plan = streamed(plan(route_type, "m", options), true);
            let mut translator = Cohere::new_stream_translator(&plan, 200, &[]).unwrap();
            let (a, b) = variant.split_at(variant.len() / 2);
            for result in [
                translator.push(a),
                translator.push(b),
                translator.finish(),
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
