//! Embeddings on the Gemini API (`embedContent`, `batchEmbedContents`) and on Vertex AI
//! (`predict`): the bodies sent, checked against the discovery document, and the lists answered,
//! checked against OpenAI's schema.

use abi_stable::std_types::ROption::{RNone, RSome};
use ai_provider_gemini::Gemini;
use provider_sdk::abi::{RouteType, Usage};
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_openapi;

use crate::common::{assert_vertex, build, json, plan, sent, OPENAI_SPEC, VERTEX};

const GEMINI_API: &str = "https://generativelanguage.googleapis.com/v1beta/models";

fn answer(options: &str, body: Value) -> (Value, Usage) {
    let plan = plan(RouteType::EMBEDDINGS, "text-embedding-004", options);
    let response = Gemini::parse_response(&plan, 200, &[], body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let body = json(&response.body.into_option().unwrap().to_vec());
    assert_openapi(OPENAI_SPEC, "CreateEmbeddingResponse", &body);
    (body, response.meta.usage)
}

#[test]
fn one_input_goes_to_embed_content() {
    let request = build(
        &plan(RouteType::EMBEDDINGS, "text-embedding-004", "{}"),
        br#"{"input":"The food was delicious","model":"text-embedding-004","dimensions":3,"encoding_format":"float"}"#,
    );
    assert_eq!(
        request.url.as_str(),
        format!("{GEMINI_API}/text-embedding-004:embedContent")
    );
    let body = sent(&request);
    assert_vertex("EmbedContentRequest", &body);
    assert_eq!(
        body,
        json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "The food was delicious"}]}, "outputDimensionality": 3})
    );
    let (list, usage) = answer(
        "{}",
        json!({"embedding": {"values": [0.013168523, -0.008711934, 0.5]}}),
    );
    assert_eq!(
        list,
        json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.013168523, -0.008711934, 0.5]}],
            "model": "text-embedding-004",
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        })
    );
    assert_eq!(
        usage,
        Usage::default(),
        "the Gemini API reports no tokens for embeddings"
    );
}

#[test]
fn several_inputs_go_to_batch_embed_contents() {
    let request = build(
        &plan(RouteType::EMBEDDINGS, "text-embedding-004", "{}"),
        br#"{"input":["first","second"],"encoding_format":"base64"}"#,
    );
    assert_eq!(
        request.url.as_str(),
        format!("{GEMINI_API}/text-embedding-004:batchEmbedContents")
    );
    let body = sent(&request);
    assert_vertex("BatchEmbedContentsRequest", &body);
    assert_eq!(body["requests"][1]["content"]["parts"][0]["text"], "second");
    let (list, _) = answer(
        "{}",
        json!({"embeddings": [{"values": [0.25]}, {"values": [-1.5]}], "usageMetadata": {"promptTokenCount": 4}}),
    );
    assert_eq!(
        list["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [-1.5]})
    );
    assert_eq!(
        list["usage"],
        json!({"prompt_tokens": 4, "total_tokens": 4}),
        "vectors are numbers even when base64 was asked: OpenAI's SDKs read both"
    );
}

#[test]
fn vertex_predicts_and_counts_tokens_per_instance() {
    let request = build(
        &plan(RouteType::EMBEDDINGS, "text-embedding-005", VERTEX),
        br#"{"input":["first","second"],"dimensions":2}"#,
    );
    assert_eq!(
        request.url.as_str(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/kong-project/locations/us-central1/publishers/google/models/text-embedding-005:predict"
    );
    let body = sent(&request);
    assert_vertex("PredictRequest", &body);
    assert_eq!(
        body,
        json!({"instances": [{"content": "first"}, {"content": "second"}], "parameters": {"outputDimensionality": 2}})
    );
    let (list, usage) = answer(
        VERTEX,
        json!({
            "predictions": [
                {"embeddings": {"values": [0.1, 0.2], "statistics": {"truncated": false, "token_count": 3}}},
                {"embeddings": {"values": [0.3, 0.4], "statistics": {"truncated": false, "token_count": 4.0}}},
            ],
            "metadata": {"billableCharacterCount": 11},
        }),
    );
    assert_eq!(list["data"][1]["embedding"], json!([0.3, 0.4]));
    assert_eq!(
        list["usage"],
        json!({"prompt_tokens": 7, "total_tokens": 7})
    );
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: RSome(7),
            completion_tokens: RNone,
            total_tokens: RSome(7),
            cached_tokens: RNone,
        }
    );
}

#[test]
fn answers_of_no_known_shape_are_502s() {
    let plan = plan(RouteType::EMBEDDINGS, "m", "{}");
    for body in [
        &b"{}"[..],
        br#"{"embedding":{"values":[1]},"embeddings":[]}"#,
        br#"{"embedding":{"values":["x"]}}"#,
        br#"{"predictions":[{"embeddings":{"values":[1],"statistics":{"token_count":1.5}}}]}"#,
        b"[",
    ] {
        let error = Gemini::parse_response(&plan, 200, &[], body).unwrap_err();
        assert_eq!(error.status, 502, "{}", String::from_utf8_lossy(body));
    }
    let response = Gemini::parse_response(
        &plan,
        404,
        &[],
        br#"{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}"#,
    )
    .unwrap();
    assert_eq!(response.status, 404);
    let envelope = json(&response.body.into_option().unwrap().to_vec());
    assert_eq!(envelope["error"]["code"], "NOT_FOUND");
}
