//! What the translator benchmarks share: the client's request, and one benchmark group per
//! provider. Each provider is its own bench target, since every provider crate exports the same
//! root-module symbol and only one can be linked into a binary.

use std::hint::black_box;

use abi_stable::std_types::{RResult, RSlice, RStr};
use criterion::{Criterion, Throughput};
use provider_sdk::abi::{HeaderRef, ProviderModuleRef, RequestPlan, RouteType};

const CHAT_REQUEST: &[u8] = br#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain the arithmetic in a few sentences."}],"temperature":0.2}"#;

/// One provider's samples.
pub struct Case {
    pub name: &'static str,
    pub model: &'static str,
    pub module: ProviderModuleRef,
    pub options: &'static str,
    pub response: &'static [u8],
    /// What the upstream sends before the first content chunk.
    pub stream_start: Vec<u8>,
    pub chunk: Vec<u8>,
    pub stream_headers: &'static [(&'static str, &'static str)],
}

fn plan(case: &Case, stream: bool) -> RequestPlan<'static> {
    RequestPlan {
        route_type: RouteType::CHAT,
        model: RStr::from_str(case.model),
        options: RStr::from_str(case.options),
        stream,
        client_wants_usage: false,
        client_method: RStr::from_str("POST"),
        client_path: RStr::from_str("/v1/chat/completions"),
        client_query: RStr::from_str(""),
        client_headers: RSlice::from_slice(&[]),
    }
}

/// Benchmarks one provider's request, response and per-chunk translation.
pub fn translators(c: &mut Criterion, case: Case) {
    let mut group = c.benchmark_group(case.name);
    let request_plan = plan(&case, false);
    let built = (case.module.build_request())(&request_plan, RSlice::from_slice(CHAT_REQUEST));
    assert!(
        matches!(built, RResult::ROk(_)),
        "{}: build_request failed",
        case.name
    );
    group.throughput(Throughput::Bytes(CHAT_REQUEST.len() as u64));
    group.bench_function("build_request", |b| {
        b.iter(|| {
            black_box((case.module.build_request())(
                &request_plan,
                RSlice::from_slice(black_box(CHAT_REQUEST)),
            ))
        })
    });

    let json_headers = [HeaderRef {
        name: RStr::from_str("content-type"),
        value: RStr::from_str("application/json"),
    }];
    let parsed = (case.module.parse_response())(
        &request_plan,
        200,
        RSlice::from_slice(&json_headers),
        RSlice::from_slice(case.response),
    );
    assert!(
        matches!(parsed, RResult::ROk(_)),
        "{}: parse_response failed",
        case.name
    );
    group.throughput(Throughput::Bytes(case.response.len() as u64));
    group.bench_function("parse_response", |b| {
        b.iter(|| {
            black_box((case.module.parse_response())(
                &request_plan,
                200,
                RSlice::from_slice(&json_headers),
                RSlice::from_slice(black_box(case.response)),
            ))
        })
    });

    let stream_plan = plan(&case, true);
    let headers: Vec<HeaderRef<'_>> = case
        .stream_headers
        .iter()
        .map(|(n, v)| HeaderRef {
            name: RStr::from_str(n),
            value: RStr::from_str(v),
        })
        .collect();
    let RResult::ROk(mut translator) =
        (case.module.new_stream_translator())(&stream_plan, 200, RSlice::from_slice(&headers))
    else {
        panic!("{}: cannot start a stream translator", case.name);
    };
    if !case.stream_start.is_empty() {
        let started = translator.push(RSlice::from_slice(&case.stream_start));
        assert!(
            matches!(started, RResult::ROk(_)),
            "{}: stream start failed",
            case.name
        );
    }
    let first = translator.push(RSlice::from_slice(&case.chunk));
    assert!(
        matches!(&first, RResult::ROk(out) if !out.is_empty()),
        "{}: a content chunk translated to nothing",
        case.name
    );
    group.throughput(Throughput::Bytes(case.chunk.len() as u64));
    group.bench_function("stream_chunk", |b| {
        b.iter(|| black_box(translator.push(RSlice::from_slice(black_box(&case.chunk)))))
    });
    group.finish();
}
