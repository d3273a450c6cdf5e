//! Corrupted client bodies, upstream bodies and streams: every entry point answers, none panics.

use ai_provider_openai::OpenAi;
use provider_sdk::abi::RouteType;
use provider_sdk::openai::{normalize_error_body, peek_request};
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, plan};

/// A deterministic xorshift sequence, so that a failure reproduces.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `original` with a few bytes overwritten by JSON-significant or random bytes, then possibly cut.
fn corrupt(original: &[u8], noise: &mut Noise) -> Vec<u8> {
    const SIGNIFICANT: &[u8] = b"{}[]\",:\\ \r\n0-.eE\xc3\xff";
    let mut bytes = original.to_vec();
    for _ in 0..=noise.below(4) {
        let at = noise.below(bytes.len());
        let replacement = if noise.coin() {
            SIGNIFICANT[noise.below(SIGNIFICANT.len())]
        } else {
            noise.next() as u8
        };
        if let Some(byte) = bytes.get_mut(at) {
            *byte = replacement;
        }
    }
    if noise.below(4) == 0 {
        bytes.truncate(noise.below(bytes.len() + 1));
    }
    bytes
}

#[test]
fn corrupted_inputs_never_panic() {
    let requests = [
        (
            RouteType::CHAT,
            fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json"),
        ),
        (
            RouteType::CHAT,
            fixture("openai/llm-v1-chat/requests/good_multi_modal.json"),
        ),
        (
            RouteType::COMPLETIONS,
            fixture("openai/llm-v1-completions/requests/good.json"),
        ),
        (
            RouteType::EMBEDDINGS,
            br#"{"model":"m","input":[[1,2],[3]]}"#.to_vec(),
        ),
    ];
    let responses = [
        fixture("openai/llm-v1-chat/responses/good.json"),
        fixture("openai/llm-v1-chat/responses/unauthorized.json"),
        fixture("openai/llm-v1-embeddings/responses/good.json"),
    ];
    let stream = fixture("unit/streaming-chunk-formats/text-event-stream/input.bin");
    let options = r#"{"max_tokens":64,"temperature":0.5,"top_p":0.5}"#;
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);

    for _ in 0..400 {
        for (route_type, body) in &requests {
            let body = corrupt(body, &mut noise);
            if let Err(error) = peek_request(*route_type, &body) {
                assert_eq!(error.status, 400);
            }
            let mut streamed = plan(*route_type, "gpt-4o", options);
            streamed.stream = noise.coin();
            if let Err(error) = OpenAi::build_request(&streamed, &ClientBody::new(&body)) {
                assert_eq!(error.status, 400);
            }
        }
        for body in &responses {
            let body = corrupt(body, &mut noise);
            for status in [200, 401, 500] {
                for route_type in [RouteType::CHAT, RouteType::EMBEDDINGS, RouteType::PRESERVE] {
                    let plan = plan(route_type, "m", "{}");
                    if let Err(error) = OpenAi::parse_response(&plan, status, &[], &body) {
                        assert_eq!(error.status, 502);
                    }
                    let _ = OpenAi::native_metadata(&plan, status, &body);
                }
                let envelope: serde_json::Value =
                    serde_json::from_slice(&normalize_error_body(status, &body, "openai")).unwrap();
                assert!(envelope["error"]["message"].is_string());
            }
        }
        let corrupted = corrupt(&stream, &mut noise);
        let (a, b) = corrupted.split_at(noise.below(corrupted.len() + 1));
        let mut streamed = plan(RouteType::CHAT, "m", "{}");
        streamed.client_wants_usage = noise.coin();
        let mut translator = OpenAi::new_stream_translator(&streamed, 200, &[]).unwrap();
        for result in [translator.push(a), translator.push(b), translator.finish()] {
            if let Err(error) = result {
                assert_eq!(error.status, 502);
            }
        }
        let _ = translator.meta();
    }
}
