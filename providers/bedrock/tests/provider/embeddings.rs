//! Embeddings through InvokeModel: Titan's and Cohere's bodies, and their answers as OpenAI's
//! embeddings list.

use abi_stable::std_types::{ROption, RStr};
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::{HeaderRef, RouteType, Usage};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{json, plan, refused, sent_body, OPTIONS};

const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";
const TITAN_V1: &str = "amazon.titan-embed-text-v1";
const COHERE_V3: &str = "cohere.embed-english-v3";
const COHERE_V4: &str = "us.cohere.embed-v4:0";

fn invoke(model: &str, client: &Value) -> (String, Value) {
    let request = Bedrock::build_request(
        &plan(RouteType::EMBEDDINGS, model, OPTIONS),
        &ClientBody::new(client.to_string().as_bytes()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (request.url.to_string(), sent_body(&request))
}

fn translated(model: &str, headers: &[HeaderRef<'_>], body: &Value) -> (Value, Usage) {
    let response = Bedrock::parse_response(
        &plan(RouteType::EMBEDDINGS, model, OPTIONS),
        200,
        headers,
        body.to_string().as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let list = json(response.body.as_ref().map(|b| b.as_slice()).unwrap());
    spec_check::assert_openapi(
        "openai/openapi.prism.json",
        "CreateEmbeddingResponse",
        &list,
    );
    (list, response.meta.usage)
}

#[test]
fn titan_embeds_one_text_per_call() {
    let (url, body) = invoke(
        TITAN_V2,
        &json!({"input": "The food was delicious", "dimensions": 256}),
    );
    assert_eq!(
        url,
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(
        body,
        json!({"inputText": "The food was delicious", "dimensions": 256})
    );
    let (_, body) = invoke(
        TITAN_V1,
        &json!({"input": ["one text"], "encoding_format": "float"}),
    );
    assert_eq!(body, json!({"inputText": "one text"}));

    let embeddings = plan(RouteType::EMBEDDINGS, TITAN_V2, OPTIONS);
    assert_eq!(
        refused(&embeddings, &json!({"input": ["a", "b"]})),
        "model amazon.titan-embed-text-v2:0 embeds one text per request, and `input` holds 2: send one request per text"
    );
    assert_eq!(
        refused(
            &plan(RouteType::EMBEDDINGS, TITAN_V1, OPTIONS),
            &json!({"input": "a", "dimensions": 256})
        ),
        "`dimensions` is not supported by provider bedrock for model amazon.titan-embed-text-v1"
    );
    assert_eq!(
        refused(&embeddings, &json!({"input": [[1, 2]]})),
        "inputs given as token ids are not supported by provider bedrock"
    );
    assert_eq!(
        refused(
            &embeddings,
            &json!({"input": "a", "input_type": "search_query"})
        ),
        "`input_type` is not supported by provider bedrock"
    );
}

#[test]
fn cohere_embeds_several_texts_with_an_input_type() {
    let (url, body) = invoke(COHERE_V3, &json!({"input": ["a", "b"]}));
    assert!(url.ends_with("/model/cohere.embed-english-v3/invoke"));
    assert_eq!(
        body,
        json!({"texts": ["a", "b"], "input_type": "search_document"})
    );
    let (_, body) = invoke(
        COHERE_V3,
        &json!({"input": "q", "input_type": "search_query"}),
    );
    assert_eq!(body, json!({"texts": ["q"], "input_type": "search_query"}));
    let (_, body) = invoke(COHERE_V4, &json!({"input": "q", "dimensions": 512}));
    assert_eq!(
        body,
        json!({"texts": ["q"], "input_type": "search_document", "output_dimension": 512})
    );
    assert_eq!(
        refused(
            &plan(RouteType::EMBEDDINGS, COHERE_V3, OPTIONS),
            &json!({"input": "a", "dimensions": 512})
        ),
        "`dimensions` is not supported by provider bedrock for model cohere.embed-english-v3"
    );
}

#[test]
fn other_models_cannot_embed() {
    assert!(refused(
        &plan(RouteType::EMBEDDINGS, "us.amazon.nova-micro-v1:0", OPTIONS),
        &json!({"input": "a"})
    )
    .starts_with("model us.amazon.nova-micro-v1:0: provider bedrock embeds with Amazon Titan"));
}

#[test]
fn titan_answers_become_an_embeddings_list() {
    let titan = json!({"embedding": [0.125, -0.5, 0.25], "inputTextTokenCount": 5});
    let (list, usage) = translated(TITAN_V2, &[], &titan);
    assert_eq!(
        list,
        json!({"object": "list", "model": TITAN_V2,
               "data": [{"object": "embedding", "index": 0, "embedding": [0.125, -0.5, 0.25]}],
               "usage": {"prompt_tokens": 5, "total_tokens": 5}})
    );
    assert_eq!(usage.prompt_tokens, ROption::RSome(5));
    assert_eq!(usage.completion_tokens, ROption::RNone);
}

#[test]
fn cohere_answers_take_their_usage_from_bedrocks_header() {
    let headers = [HeaderRef {
        name: RStr::from_str("X-Amzn-Bedrock-Input-Token-Count"),
        value: RStr::from_str("7"),
    }];
    let v3 = json!({"id": "e1", "response_type": "embeddings_floats", "texts": ["a", "b"], "embeddings": [[0.5, 1.0], [-1.0, 0.0]]});
    let (list, usage) = translated(COHERE_V3, &headers, &v3);
    assert_eq!(
        list["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [-1.0, 0.0]})
    );
    assert_eq!(
        list["usage"],
        json!({"prompt_tokens": 7, "total_tokens": 7})
    );
    assert_eq!(usage.total_tokens, ROption::RSome(7));
    let v4 = json!({"id": "e2", "response_type": "embeddings_by_type", "embeddings": {"int8": [[1, 2]], "float": [[0.25, 0.75]]}});
    let (list, usage) = translated(COHERE_V4, &[], &v4);
    assert_eq!(list["data"][0]["embedding"], json!([0.25, 0.75]));
    assert_eq!(
        usage.prompt_tokens,
        ROption::RNone,
        "no header: not reported"
    );
}

#[test]
fn unreadable_answers_are_502s() {
    for body in [json!({"embeddings": [[0.5]]}), json!({"embedding": "x"})] {
        let error = Bedrock::parse_response(
            &plan(RouteType::EMBEDDINGS, TITAN_V2, OPTIONS),
            200,
            &[],
            body.to_string().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(error.status, 502, "{body}");
    }
    let error = Bedrock::parse_response(
        &plan(RouteType::EMBEDDINGS, COHERE_V3, OPTIONS),
        200,
        &[],
        br#"{"embeddings":{"int8":[[1]]}}"#,
    )
    .unwrap_err();
    assert_eq!(error.status, 502);
}
