//! Cohere's embed response as an OpenAI embeddings list.
//!
//! | embed | OpenAI |
//! |---|---|
//! | `embeddings.float` (v2, and v1 with `embedding_types`), or `embeddings` as a list (v1) | `data[].embedding`, in input order |
//! | `embeddings.base64` present (asked for only when the client wants base64) | `encoding_format: base64`, encoded from the floats |
//! | `meta.tokens.input_tokens`, else `meta.billed_units.input_tokens` | `usage.prompt_tokens` |
//! | — | `model`: the plan's |

use provider_sdk::abi::{ModuleError, RequestPlan, TranslatedResponse};
use provider_sdk::openai::{EmbeddingList, EncodingFormat};
use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::unreadable;
use crate::usage::CohereUsage;

/// Translates an embed success body.
pub fn translate_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let response: EmbedResponse = provider_sdk::json_bytes::from_bytes(body)
        .map_err(|e| unreadable(plan.route_type, &format!("not an embed response: {e}")))?;
    let embeddings = response.embeddings.ok_or_else(|| {
        unreadable(
            plan.route_type,
            "'embeddings' missing from cohere response body",
        )
    })?;
    let list = EmbeddingList {
        model: plan.model.as_str(),
        embeddings: embeddings.floats,
        encoding_format: if embeddings.with_base64 {
            EncodingFormat::Base64
        } else {
            EncodingFormat::Float
        },
        usage: response.meta.unwrap_or_default().to_embedding_usage(),
    };
    Ok(list.build()?.into_translated())
}

#[derive(serde::Deserialize)]
struct EmbedResponse {
    #[serde(default)]
    embeddings: Option<FloatVectors>,
    #[serde(default)]
    meta: Option<CohereUsage>,
}

/// The float vectors, from either of embed's shapes: `{"float": [[…]], …}` or `[[…]]`.
struct FloatVectors {
    floats: Vec<Vec<f32>>,
    /// Cohere's base64 vectors came too.
    with_base64: bool,
}

impl<'de> serde::Deserialize<'de> for FloatVectors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FloatVectorsVisitor)
    }
}

struct FloatVectorsVisitor;

impl<'de> Visitor<'de> for FloatVectorsVisitor {
    type Value = FloatVectors;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("embeddings by type, or a list of float vectors")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FloatVectors, A::Error> {
        let mut vectors = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(vector) = seq.next_element()? {
            vectors.push(vector);
        }
        Ok(FloatVectors {
            floats: vectors,
            with_base64: false,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FloatVectors, A::Error> {
        let mut floats = None;
        let mut with_base64 = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            with_base64 |= key == "base64";
            if key == "float" {
                floats = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let floats = floats.ok_or_else(|| A::Error::custom("no `float` embeddings"))?;
        Ok(FloatVectors {
            floats,
            with_base64,
        })
    }
}
