//! Embeddings through InvokeModel (`POST /model/{modelId}/invoke`), whose body is the model's own:
//!
//! | model | request | response |
//! |---|---|---|
//! | `amazon.titan-embed-text-v2*` | `{inputText, dimensions?}` | `{embedding, inputTextTokenCount}` |
//! | `amazon.titan-embed-*` (v1) | `{inputText}`; `dimensions` is a 400 | the same |
//! | `cohere.embed-v4*` | `{texts, input_type, output_dimension?}` | `{embeddings: {float: […]}}` or `{embeddings: […]}` |
//! | `cohere.embed-*` (v3) | `{texts, input_type}`; `dimensions` is a 400 | `{embeddings: […]}` |
//!
//! Titan embeds one text per call, so an `input` of several texts is a 400 (one request per text,
//! or a Cohere model, embeds several). Cohere needs `input_type`: the client may send it beside
//! OpenAI's fields (the openai SDK's `extra_body`), and it defaults to `search_document`, the kind
//! OpenAI's embeddings are mostly made for (texts to index). Cohere's token count comes in the
//! `X-Amzn-Bedrock-Input-Token-Count` response header, which Bedrock sets for every InvokeModel
//! call; Titan's body has its own.
//!
//! Vectors are answered as JSON numbers whatever `encoding_format` the client sent: the response
//! side cannot see the request, and the openai SDKs (which ask for base64 by default) read numbers
//! either way.

use std::borrow::Cow;

use abi_stable::std_types::ROption;
use provider_sdk::abi::{HeaderRef, ModuleError, RequestPlan, TranslatedResponse, Usage};
use provider_sdk::openai::{reject_other_fields, EmbeddingList, EmbeddingsRequest, EncodingFormat};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::model_family::{ModelFamily, Vendor};
use crate::PROVIDER;

const INPUT_TOKEN_COUNT_HEADER: &str = "x-amzn-bedrock-input-token-count";

/// The embedding models Bedrock serves through InvokeModel, by request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmbeddingModel {
    Titan { takes_dimensions: bool },
    Cohere { takes_dimensions: bool },
}

impl EmbeddingModel {
    fn of(model: &str) -> Result<EmbeddingModel, ModuleError> {
        let family = ModelFamily::of(model);
        match family.vendor {
            Vendor::Amazon if family.name.starts_with("titan-embed") => Ok(EmbeddingModel::Titan {
                takes_dimensions: family.name.starts_with("titan-embed-text-v2"),
            }),
            Vendor::Cohere if family.name.starts_with("embed") => Ok(EmbeddingModel::Cohere {
                takes_dimensions: family.name.starts_with("embed-v4"),
            }),
            _ => Err(ModuleError::invalid_request(format!(
                "model {model}: provider {PROVIDER} embeds with Amazon Titan (amazon.titan-embed-*) \
                 and Cohere (cohere.embed-*) models"
            ))),
        }
    }

    fn takes_dimensions(self) -> bool {
        match self {
            EmbeddingModel::Titan { takes_dimensions }
            | EmbeddingModel::Cohere { takes_dimensions } => takes_dimensions,
        }
    }
}

/// The InvokeModel body for an embeddings request.
pub fn request_body(body: &[u8], model: &str) -> Result<Vec<u8>, ModuleError> {
    let request = EmbeddingsRequest::parse(body)?;
    let embedding_model = EmbeddingModel::of(model)?;
    let passed_through: &[&str] = match embedding_model {
        EmbeddingModel::Cohere { .. } => &["input_type"],
        EmbeddingModel::Titan { .. } => &[],
    };
    reject_other_fields(&request.other, passed_through, PROVIDER)?;
    if request.user.is_some() {
        return Err(ModuleError::invalid_request(format!(
            "`user` is not supported by provider {PROVIDER} for embeddings"
        )));
    }
    if request.dimensions.is_some() && !embedding_model.takes_dimensions() {
        return Err(ModuleError::invalid_request(format!(
            "`dimensions` is not supported by provider {PROVIDER} for model {model}"
        )));
    }
    let texts = request.texts(PROVIDER)?;
    let json = match embedding_model {
        EmbeddingModel::Titan { .. } => {
            let [input_text] = texts.as_slice() else {
                return Err(ModuleError::invalid_request(format!(
                    "model {model} embeds one text per request, and `input` holds {}: send one \
                     request per text",
                    texts.len()
                )));
            };
            serde_json::to_vec(&TitanRequest {
                input_text,
                dimensions: request.dimensions,
            })
        }
        EmbeddingModel::Cohere { .. } => {
            let input_type = if request.other.iter().any(|f| f == "input_type") {
                CohereFields::parse(body)?.input_type
            } else {
                None
            };
            serde_json::to_vec(&CohereRequest {
                texts: &texts,
                input_type: input_type.unwrap_or(Cow::Borrowed("search_document")),
                output_dimension: request.dimensions,
            })
        }
    };
    json.map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the InvokeModel request: {e}"))
    })
}

/// The client's embeddings response.
pub fn response(
    plan: &RequestPlan<'_>,
    headers: &[HeaderRef<'_>],
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let model = plan.model.as_str();
    let failed = |reason: String| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {PROVIDER}://llm/v1/embeddings: {reason}"
        ))
    };
    let header_count = headers
        .iter()
        .find(|h| {
            h.name
                .as_str()
                .eq_ignore_ascii_case(INPUT_TOKEN_COUNT_HEADER)
        })
        .and_then(|h| h.value.as_str().trim().parse::<u64>().ok());
    let embedding_model = EmbeddingModel::of(model).map_err(|e| failed(e.message.into_string()))?;
    let (embeddings, prompt_tokens) = match embedding_model {
        EmbeddingModel::Titan { .. } => {
            let titan: TitanResponse =
                provider_sdk::json_bytes::from_bytes(body).map_err(|e| failed(e.to_string()))?;
            (
                vec![titan.embedding],
                titan.input_text_token_count.or(header_count),
            )
        }
        EmbeddingModel::Cohere { .. } => {
            let cohere: CohereResponse =
                provider_sdk::json_bytes::from_bytes(body).map_err(|e| failed(e.to_string()))?;
            (cohere.embeddings.0, header_count)
        }
    };
    let list = EmbeddingList {
        model,
        embeddings,
        encoding_format: EncodingFormat::Float,
        usage: Usage {
            prompt_tokens: ROption::from(prompt_tokens),
            total_tokens: ROption::from(prompt_tokens),
            ..Usage::default()
        },
    };
    Ok(list.build()?.into_translated())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TitanRequest<'a> {
    input_text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u64>,
}

#[derive(Serialize)]
struct CohereRequest<'a> {
    texts: &'a [&'a str],
    input_type: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimension: Option<u64>,
}

/// Cohere's own field, read from the client's body beside OpenAI's.
#[derive(Deserialize)]
struct CohereFields<'a> {
    #[serde(borrow, default)]
    input_type: Option<Cow<'a, str>>,
}

impl<'a> CohereFields<'a> {
    fn parse(body: &'a [u8]) -> Result<CohereFields<'a>, ModuleError> {
        provider_sdk::json_bytes::from_bytes(body)
            .map_err(|e| ModuleError::invalid_request(format!("input_type: {e}")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanResponse {
    embedding: Vec<f32>,
    #[serde(default)]
    input_text_token_count: Option<u64>,
}

#[derive(Deserialize)]
struct CohereResponse {
    embeddings: CohereEmbeddings,
}

/// `embeddings`: the vectors, or (embed v4, and v3 asked for `embedding_types`) an object holding
/// them by type, of which the `float` ones are read.
struct CohereEmbeddings(Vec<Vec<f32>>);

impl<'de> Deserialize<'de> for CohereEmbeddings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CohereEmbeddingsVisitor)
    }
}

struct CohereEmbeddingsVisitor;

impl<'de> Visitor<'de> for CohereEmbeddingsVisitor {
    type Value = CohereEmbeddings;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of vectors, or an object with a `float` list of vectors")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut vectors = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(vector) = seq.next_element()? {
            vectors.push(vector);
        }
        Ok(CohereEmbeddings(vectors))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut vectors = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "float" {
                vectors = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        vectors
            .map(CohereEmbeddings)
            .ok_or_else(|| serde::de::Error::missing_field("float"))
    }
}
