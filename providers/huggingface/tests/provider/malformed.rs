//! Corrupted client bodies, upstream bodies and streams: every entry point answers a 400 or a 502
//! (or a stream error event), none panics.

use ai_provider_huggingface::HuggingFace;
use provider_sdk::abi::RouteType;
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{fixture, plan, streamed, MODEL};

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

const TOOL_HISTORY: &[u8] = br#"{"messages":[{"role":"user","content":"2+12?"},{"role":"assistant","content":"","tool_calls":[{"id":"0","type":"function","function":{"name":"add","arguments":"{}"}}]},{"role":"tool","content":"14"}],"stop":"x","max_completion_tokens":5}"#;

const CHAT_STREAM: &[u8] = b"data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n\
data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"eos_token\"}],\"usage\":null}\n\n\
data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n\
data:{\"error\":\"boom\",\"error_type\":\"generation\"}\n\ndata:[DONE]\n\n";

const GENERATION_STREAM: &[u8] = b"data:{\"index\":1,\"token\":{\"id\":1,\"text\":\" a\",\"logprob\":-1.0,\"special\":false},\"generated_text\":null,\"details\":null}\n\n\
data:{\"index\":2,\"token\":{\"id\":2,\"text\":\"</s>\",\"logprob\":-1.0,\"special\":true},\"generated_text\":\" a\",\"details\":{\"finish_reason\":\"length\",\"generated_tokens\":2,\"seed\":null,\"input_length\":3}}\n\n";

#[test]
fn corrupted_inputs_never_panic() {
    let requests = [
        (RouteType::CHAT, fixture("huggingface/llm-v1-chat/requests/good.json")),
        (
            RouteType::CHAT,
            fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json"),
        ),
        (RouteType::CHAT, TOOL_HISTORY.to_vec()),
        (
            RouteType::COMPLETIONS,
            br#"{"prompt":"x","max_tokens":5,"temperature":0.5,"top_p":0.5,"top_k":3,"stop":["a"],"seed":1,"parameters":{"repetition_penalty":1.1},"frequency_penalty":0.1}"#.to_vec(),
        ),
        (
            RouteType::EMBEDDINGS,
            br#"{"model":"m","input":["a","b"],"encoding_format":"base64"}"#.to_vec(),
        ),
    ];
    let responses = [
        fixture("huggingface/llm-v1-chat/responses/good.json"),
        fixture("huggingface/llm-v1-chat/responses/bad_response_model_load.json"),
        fixture("huggingface/llm-v1-completions/responses/good.json"),
        br#"[{"generated_text":"x","details":{"finish_reason":"length","generated_tokens":2,"prefill":[{"id":1,"text":"a","logprob":null}]}}]"#.to_vec(),
        b"[[0.1,0.2],[0.3,0.4]]".to_vec(),
        br#"{"error":["a","b"],"error_type":"validation","estimated_time":3.5}"#.to_vec(),
    ];
    let options = r#"{"max_tokens":64,"temperature":0.5,"top_p":0.5,"top_k":5}"#;
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);

    for _ in 0..300 {
        for (route_type, body) in &requests {
            let body = corrupt(body, &mut noise);
            let mut request = plan(*route_type, MODEL, options);
            request.stream = noise.coin() && *route_type != RouteType::EMBEDDINGS;
            if let Err(error) = HuggingFace::build_request(&request, &ClientBody::new(&body)) {
                assert_eq!(error.status, 400, "{error}");
            }
        }
        for body in &responses {
            let body = corrupt(body, &mut noise);
            for status in [200, 401, 503] {
                for route_type in [
                    RouteType::CHAT,
                    RouteType::COMPLETIONS,
                    RouteType::EMBEDDINGS,
                    RouteType::PRESERVE,
                ] {
                    let plan = plan(route_type, MODEL, "{}");
                    match HuggingFace::parse_response(&plan, status, &[], &body) {
                        Ok(response) => {
                            if let Some(out) = response.body.into_option() {
                                assert!(
                                    serde_json::from_slice::<serde_json::Value>(&out).is_ok(),
                                    "{route_type:?} {status}: {:?} -> {:?}",
                                    String::from_utf8_lossy(&body),
                                    String::from_utf8_lossy(&out)
                                );
                            }
                        }
                        Err(error) => assert_eq!(error.status, 502, "{error}"),
                    }
                }
            }
        }
        for (route_type, stream) in [
            (RouteType::CHAT, CHAT_STREAM),
            (RouteType::COMPLETIONS, GENERATION_STREAM),
        ] {
            let corrupted = corrupt(stream, &mut noise);
            let (a, b) = corrupted.split_at(noise.below(corrupted.len() + 1));
            let plan = streamed(plan(route_type, MODEL, "{}"), noise.coin());
            let mut translator = HuggingFace::new_stream_translator(&plan, 200, &[]).unwrap();
            for result in [translator.push(a), translator.push(b), translator.finish()] {
                if let Err(error) = result {
                    assert_eq!(error.status, 502);
                }
            }
            let _ = translator.meta();
        }
    }
}
