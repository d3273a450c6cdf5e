//! Embeddings through the Inference API's feature extraction task:
//! `POST /pipeline/feature-extraction/{model}` with `{"inputs": [texts], "options": {…}}`.
//!
//! The answer is one vector per input (`[[f32]]`; a flat `[f32]` is the one vector of a single
//! input). A model that is not a sentence-embedding model answers one vector per *token*
//! (`[[[f32]]]`); that is a 502 naming the problem rather than a pooled vector, since mean, CLS or
//! max pooling each give a different embedding and the model's own choice is not in the answer.
//!
//! | OpenAI | feature extraction |
//! |---|---|
//! | `input` (a text or a list of texts) | `inputs`, always a list |
//! | `encoding_format` | vectors are always JSON numbers: the response side cannot see the client's request; OpenAI's SDKs decode numbers whatever they asked for |
//! | `dimensions`, `user`, token-id inputs | 400 |
//! | `usage` | not reported by Hugging Face: the gateway meters none, and the body carries zeros because OpenAI's SDKs require the two counts |

use abi_stable::std_types::ROption;
use provider_sdk::abi::{
    Framing, ModuleError, RequestPlan, RouteType, TranslatedResponse, UpstreamRequest, Usage,
};
use provider_sdk::openai::{unsupported, EmbeddingList, EmbeddingsRequest, EncodingFormat};
use provider_sdk::options::ModelOptions;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Serialize;

use crate::endpoint::{self, json_headers, InferenceOptions};
use crate::error::untranslatable;
use crate::PROVIDER;

#[derive(Serialize)]
struct FeatureExtractionRequest<'a> {
    inputs: &'a [&'a str],
    options: InferenceOptions,
}

/// The upstream request for an embeddings `body`.
pub fn build_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    body: &[u8],
) -> Result<UpstreamRequest, ModuleError> {
    let request = EmbeddingsRequest::parse(body)?;
    let inputs = request.texts(PROVIDER)?;
    let refused: Vec<&str> = [
        request.dimensions.map(|_| "dimensions"),
        request.user.as_ref().map(|_| "user"),
    ]
    .into_iter()
    .flatten()
    .chain(request.other.iter().map(|name| name.as_ref()))
    .collect();
    if !refused.is_empty() {
        return Err(unsupported(&refused, PROVIDER));
    }
    let inference_options = InferenceOptions::of(options);
    let upstream_body = serde_json::to_vec(&FeatureExtractionRequest {
        inputs: &inputs,
        options: inference_options,
    })
    .map_err(|e| ModuleError::invalid_request(format!("request body: {e}")))?;
    let url = endpoint::upstream(RouteType::EMBEDDINGS, plan.model.as_str(), options)?
        .url(plan, options)?;
    Ok(UpstreamRequest {
        method: "POST".into(),
        url: url.into(),
        headers: json_headers(inference_options),
        body: ROption::RSome(upstream_body.into()),
        response_framing: Framing::JSON,
        signing: ROption::RNone,
    })
}

/// A feature extraction answer as an embeddings list.
pub fn parse_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let failed = |reason: &str| untranslatable(RouteType::EMBEDDINGS, body, reason);
    let embeddings = match serde_json::from_slice::<FeatureExtraction>(body) {
        Ok(FeatureExtraction::Vectors(vectors)) => vectors,
        Ok(FeatureExtraction::TokenVectors) => {
            return Err(ModuleError::bad_upstream(format!(
                "{PROVIDER} model {} returns one vector per token, not one per input: use a \
                 sentence-embedding model (e.g. sentence-transformers/…)",
                plan.model
            )))
        }
        Ok(FeatureExtraction::Mixed) => return Err(failed("vectors of mixed depth")),
        Err(_) => return Err(failed("response is not a list of vectors")),
    };
    EmbeddingList {
        model: plan.model.as_str(),
        embeddings,
        encoding_format: EncodingFormat::Float,
        usage: Usage::default(),
    }
    .build()
    .map(|built| built.into_translated())
}

/// What a feature extraction answer holds.
enum FeatureExtraction {
    /// One vector per input.
    Vectors(Vec<Vec<f32>>),
    /// One vector per token of each input.
    TokenVectors,
    /// Numbers beside lists: not an answer of any model.
    Mixed,
}

impl<'de> Deserialize<'de> for FeatureExtraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(FeatureExtractionVisitor)
    }
}

struct FeatureExtractionVisitor;

impl<'de> Visitor<'de> for FeatureExtractionVisitor {
    type Value = FeatureExtraction;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of vectors")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut vectors = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        let mut flat = Vec::new();
        let mut token_level = false;
        while let Some(element) = seq.next_element::<Element>()? {
            match element {
                Element::Number(value) => flat.push(value),
                Element::Vector(vector) => vectors.push(vector),
                Element::Nested => token_level = true,
            }
        }
        let kinds = [!flat.is_empty(), !vectors.is_empty(), token_level];
        Ok(match kinds {
            [true, false, false] => FeatureExtraction::Vectors(vec![flat]),
            [false, _, false] => FeatureExtraction::Vectors(vectors),
            [false, false, true] => FeatureExtraction::TokenVectors,
            _ => FeatureExtraction::Mixed,
        })
    }
}

/// One element of the outer list.
enum Element {
    Number(f32),
    Vector(Vec<f32>),
    /// A list holding lists.
    Nested,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number or a vector")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // Models compute in f32 or less; the JSON holds f32 values written in decimal.
        Ok(Element::Number(v as f32))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Element::Number(v as f32))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Element::Number(v as f32))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut vector = Vec::new();
        while let Some(value) = seq.next_element::<Component>()? {
            match value {
                Component::Number(value) => vector.push(value),
                Component::List => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Element::Nested);
                }
            }
        }
        Ok(Element::Vector(vector))
    }
}

/// One component of a vector, or the list that makes it a token-level answer.
enum Component {
    Number(f32),
    List,
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ComponentVisitor)
    }
}

struct ComponentVisitor;

impl<'de> Visitor<'de> for ComponentVisitor {
    type Value = Component;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Component::Number(v as f32))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Component::Number(v as f32))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Component::Number(v as f32))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Component::List)
    }
}
