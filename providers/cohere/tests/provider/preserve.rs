//! `preserve` routes: Cohere's own API, forwarded untouched and metered.

use ai_provider_cohere::Cohere;
use provider_sdk::abi::{RouteType, Usage};
use provider_sdk::ClientBody;
use provider_sdk::Provider;

use crate::common::{plan, streamed, translate_stream};

#[test]
fn the_client_s_request_goes_to_its_own_path() {
    let mut preserve = plan(RouteType::PRESERVE, "", "{}");
    preserve.client_method = "POST".into();
    let request =
        Cohere::build_request(&preserve, &ClientBody::new(b"{\"anything\":true}")).unwrap();
    assert_eq!(request.url.as_str(), "https://api.cohere.com/v2/chat");
    assert!(request.body.is_none(), "the client's body goes as it is");
    let rerank = plan(
        RouteType::PRESERVE,
        "",
        r#"{"upstream_url":"http://cohere.local"}"#,
    );
    let mut rerank = rerank;
    rerank.client_path = "/v2/rerank".into();
    assert_eq!(
        Cohere::build_request(&rerank, &ClientBody::new(b"{}"))
            .unwrap()
            .url
            .as_str(),
        "http://cohere.local/v2/rerank"
    );
}

#[test]
fn json_answers_are_metered_and_forwarded() {
    let preserve = plan(RouteType::PRESERVE, "", "{}");
    let v2 = br#"{"id":"v2-id","finish_reason":"MAX_TOKENS","message":{"role":"assistant","content":[]},"usage":{"tokens":{"input_tokens":10,"output_tokens":3}}}"#;
    let response = Cohere::parse_response(&preserve, 200, &[], v2).unwrap();
    assert!(response.body.is_none());
    assert_eq!(response.meta.response_id.as_str(), "v2-id");
    assert_eq!(response.meta.usage.prompt_tokens, Some(10).into());
    assert_eq!(response.meta.finish_reasons[0].as_str(), "length");

    let embed =
        br#"{"id":"e","embeddings":{"float":[[1]]},"meta":{"billed_units":{"input_tokens":6}}}"#;
    let meta = Cohere::native_metadata(&preserve, 200, embed).unwrap();
    assert_eq!(meta.usage.prompt_tokens, Some(6).into());

    for (status, body) in [(200, &b"<html>"[..]), (401, br#"{"message":"no"}"#)] {
        assert_eq!(
            Cohere::native_metadata(&preserve, status, body)
                .unwrap()
                .usage,
            Usage::default()
        );
    }
}

#[test]
fn sse_streams_are_forwarded_byte_for_byte_and_metered() {
    let stream = concat!(
        "event: message-start\ndata: {\"id\":\"s-1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[]}}}\n\n",
        "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"hi\"}}}}\n\n",
        "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"tokens\":{\"input_tokens\":5,\"output_tokens\":1}}}}\n\n",
    )
    .as_bytes();
    let preserve = streamed(plan(RouteType::PRESERVE, "", "{}"), false);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        let (out, meta) = translate_stream(&preserve, &[a, b]);
        assert_eq!(out, stream, "split at {at}");
        assert_eq!(meta.response_id.as_str(), "s-1");
        assert_eq!(meta.usage.completion_tokens, Some(1).into());
        assert_eq!(meta.finish_reasons[0].as_str(), "stop");
    }
    let (out, meta) = translate_stream(&preserve, &[b"not sse at all \xff\n\n"]);
    assert_eq!(out, b"not sse at all \xff\n\n");
    assert_eq!(meta.usage, Usage::default());
}
