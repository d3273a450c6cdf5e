//! Corrupted client bodies, options, upstream bodies and streams: every entry point answers with
//! an error of the right status, none panics.

use abi_stable::std_types::RStr;
use ai_provider_gemini::Gemini;
use provider_sdk::abi::{HeaderRef, RouteType};
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{assert_vertex, fixture, plan, sent, streamed, VERTEX};

/// Every way of cutting `original` short, and of replacing one byte with a JSON-significant one.
fn damaged(original: &[u8]) -> Vec<Vec<u8>> {
    let mut variants: Vec<Vec<u8>> = (0..original.len())
        .map(|end| original[..end].to_vec())
        .collect();
    for at in (0..original.len()).step_by(5) {
        for byte in *b"{}[]\",:\\\xff" {
            let mut variant = original.to_vec();
            variant[at] = byte;
            variants.push(variant);
        }
    }
    variants
}

/// The discovery schema of the body sent to `url`.
fn sent_schema(url: &str) -> &'static str {
    let method = url
        .split('?')
        .next()
        .and_then(|path| path.rsplit(':').next());
    match method {
        Some("embedContent") => "EmbedContentRequest",
        Some("batchEmbedContents") => "BatchEmbedContentsRequest",
        _ => "GenerateContentRequest",
    }
}

/// Whatever a damaged body still translates to is a body Gemini accepts.
#[test]
fn damaged_requests_and_options_are_400s() {
    let bodies = [
        fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json"),
        fixture("native/target/target-openai-complete.json"),
        br##"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"$defs":{"P":{"type":"object"}},"properties":{"p":{"$ref":"#/$defs/P"}}}}}}"##.to_vec(),
    ];
    for body in &bodies {
        for variant in damaged(body) {
            for route_type in [
                RouteType::CHAT,
                RouteType::COMPLETIONS,
                RouteType::EMBEDDINGS,
            ] {
                let plan = streamed(route_type, "gemini-2.0-flash", "{}");
                match Gemini::build_request(&plan, &ClientBody::new(&variant)) {
                    Ok(request) => assert_vertex(sent_schema(&request.url), &sent(&request)),
                    Err(error) => assert_eq!(error.status, 400, "{error}"),
                }
            }
        }
    }
    for variant in damaged(VERTEX.as_bytes()) {
        let Ok(options) = std::str::from_utf8(&variant) else {
            continue;
        };
        let plan = plan(RouteType::CHAT, "gemini-2.0-flash", options);
        if let Err(error) = Gemini::build_request(
            &plan,
            &ClientBody::new(br#"{"messages":[{"role":"user","content":"x"}]}"#),
        ) {
            assert_eq!(error.status, 400, "{options}");
        }
    }
}

#[test]
fn damaged_responses_and_streams_are_502s() {
    let responses = [
        fixture("gemini/llm-v1-chat/responses/good.json"),
        fixture("gemini/llm-v1-chat/responses/fails_safety.json"),
        br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":[1,{"b":null}]}}}]},"finishReason":"STOP"}]}"#.to_vec(),
        br#"{"predictions":[{"embeddings":{"values":[0.5],"statistics":{"token_count":2}}}]}"#.to_vec(),
    ];
    let sse = [HeaderRef {
        name: RStr::from_str("content-type"),
        value: RStr::from_str("text/event-stream"),
    }];
    for response in &responses {
        for variant in damaged(response) {
            for route_type in [
                RouteType::CHAT,
                RouteType::COMPLETIONS,
                RouteType::EMBEDDINGS,
                RouteType::PRESERVE,
            ] {
                for status in [200, 400, 500] {
                    let plan = plan(route_type, "m", "{}");
                    match Gemini::parse_response(&plan, status, &[], &variant) {
                        Ok(response) => assert_eq!(response.status, status),
                        Err(error) => assert_eq!(error.status, 502),
                    }
                }
                let plan = streamed(route_type, "m", "{}");
                for headers in [&sse[..], &[]] {
                    let mut translator =
                        Gemini::new_stream_translator(&plan, 200, headers).unwrap();
                    let framed = [b"data: ".as_slice(), &variant, b"\n\n"].concat();
                    let array = [b"[".as_slice(), &variant, b"]"].concat();
                    let stream = if headers.is_empty() { array } else { framed };
                    for result in [translator.push(&stream), translator.finish()] {
                        if let Err(error) = result {
                            assert_eq!(error.status, 502);
                        }
                    }
                    let _ = translator.meta();
                }
            }
        }
    }
}
