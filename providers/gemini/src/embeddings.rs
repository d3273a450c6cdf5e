//! Embeddings (`llm/v1/embeddings`).
//!
//! | OpenAI | Gemini API | Vertex AI |
//! |---|---|---|
//! | one input | `:embedContent` `{model, content: {parts: [{text}]}}` | `:predict` `{instances: [{content}]}` |
//! | several inputs | `:batchEmbedContents` `{requests: [{model, content}…]}` | the same, one instance each |
//! | `dimensions` | `outputDimensionality` (each request) | `parameters.outputDimensionality` |
//! | answer | `embedding.values` / `embeddings[].values` | `predictions[].embeddings.values` |
//! | usage | `usageMetadata.promptTokenCount` where Google reports it | the sum of `predictions[].embeddings.statistics.token_count` |
//!
//! Vectors are answered as JSON numbers whatever `encoding_format` the client asked for: the
//! response side cannot see the client's request, and OpenAI's SDKs read numbers either way (they
//! ask for base64 by default and decode only strings). `user` and other fields are refused.

use provider_sdk::abi::{ModuleError, RequestPlan, TranslatedResponse, Usage};
use provider_sdk::openai::{
    reject_other_fields, unsupported, EmbeddingList, EmbeddingsRequest, EncodingFormat,
};
use serde::{Deserialize, Serialize};

use crate::endpoint::{Api, Method};
use crate::usage::UsageMetadata;
use crate::PROVIDER;

/// The method to call and the body to send for an embeddings request.
pub fn request(api: &Api<'_>, model: &str, body: &[u8]) -> Result<(Method, Vec<u8>), ModuleError> {
    let request = EmbeddingsRequest::parse(body)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    reject_other_fields(&request.other, &[], PROVIDER)?;
    let texts = request.texts(PROVIDER)?;
    if texts.is_empty() {
        return Err(ModuleError::invalid_request("'input' must not be empty"));
    }
    let dimensions = request
        .dimensions
        .map(|d| {
            i32::try_from(d).map_err(|_| {
                ModuleError::invalid_request("`dimensions` is too large for provider gemini")
            })
        })
        .transpose()?;
    let method = api.embeddings_method(texts.len());
    let model_name = format!("models/{model}");
    let content = |text| EmbedContent {
        parts: [TextPart { text }],
    };
    let json = match method {
        Method::Predict => serde_json::to_vec(&PredictRequest {
            instances: texts
                .iter()
                .map(|text| Instance { content: text })
                .collect(),
            parameters: dimensions.map(|output_dimensionality| PredictParameters {
                output_dimensionality,
            }),
        }),
        Method::EmbedContent => serde_json::to_vec(&EmbedContentRequest {
            model: &model_name,
            content: content(texts.first().copied().unwrap_or_default()),
            output_dimensionality: dimensions,
        }),
        _ => serde_json::to_vec(&BatchEmbedContentsRequest {
            requests: texts
                .iter()
                .map(|text| EmbedContentRequest {
                    model: &model_name,
                    content: content(text),
                    output_dimensionality: dimensions,
                })
                .collect(),
        }),
    }
    .map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the Gemini request: {e}"))
    })?;
    Ok((method, json))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedContentRequest<'a> {
    model: &'a str,
    content: EmbedContent<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<i32>,
}

#[derive(Serialize)]
struct EmbedContent<'a> {
    parts: [TextPart<'a>; 1],
}

#[derive(Serialize)]
struct TextPart<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct BatchEmbedContentsRequest<'a> {
    requests: Vec<EmbedContentRequest<'a>>,
}

#[derive(Serialize)]
struct PredictRequest<'a> {
    instances: Vec<Instance<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<PredictParameters>,
}

#[derive(Serialize)]
struct Instance<'a> {
    content: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PredictParameters {
    output_dimensionality: i32,
}

/// Any of the three answers; which one came is told by its fields.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddingsResponse {
    #[serde(default)]
    embedding: Option<Values>,
    #[serde(default)]
    embeddings: Option<Vec<Values>>,
    #[serde(default)]
    predictions: Option<Vec<Prediction>>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Default, Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<f32>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: PredictionEmbedding,
}

#[derive(Deserialize)]
struct PredictionEmbedding {
    #[serde(default)]
    values: Vec<f32>,
    #[serde(default)]
    statistics: Option<Statistics>,
}

#[derive(Deserialize)]
struct Statistics {
    /// A count, which Vertex writes as a JSON number that may have a fraction part (`7.0`).
    #[serde(default)]
    token_count: Option<f64>,
}

/// The client's answer to a `200` from an embeddings method.
pub fn translate(plan: &RequestPlan<'_>, body: &[u8]) -> Result<TranslatedResponse, ModuleError> {
    let failed = |reason: &str| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {PROVIDER}://{}: {reason}",
            plan.route_type.as_str()
        ))
    };
    let response: EmbeddingsResponse = provider_sdk::json_bytes::from_bytes(body)
        .map_err(|e| failed(&format!("response is not an embeddings response: {e}")))?;
    let mut prompt_tokens = response
        .usage_metadata
        .and_then(|usage| usage.prompt_token_count);
    let embeddings: Vec<Vec<f32>> = match (
        response.embedding,
        response.embeddings,
        response.predictions,
    ) {
        (Some(single), None, None) => vec![single.values],
        (None, Some(batch), None) => batch.into_iter().map(|e| e.values).collect(),
        (None, None, Some(predictions)) => {
            let counts: Option<Vec<f64>> = predictions
                .iter()
                .map(|p| p.embeddings.statistics.as_ref().and_then(|s| s.token_count))
                .collect();
            if let Some(counts) = counts {
                prompt_tokens = Some(token_total(&counts).map_err(|e| failed(&e))?);
            }
            predictions
                .into_iter()
                .map(|p| p.embeddings.values)
                .collect()
        }
        _ => {
            return Err(failed(
                "expected one of `embedding`, `embeddings` or `predictions`",
            ))
        }
    };
    let usage = Usage {
        prompt_tokens: prompt_tokens.into(),
        total_tokens: prompt_tokens.into(),
        ..Usage::default()
    };
    Ok(EmbeddingList {
        model: plan.model.as_str(),
        embeddings,
        encoding_format: EncodingFormat::Float,
        usage,
    }
    .build()?
    .into_translated())
}

/// The sum of Vertex's per-input token counts, which must be whole and not negative.
fn token_total(counts: &[f64]) -> Result<u64, String> {
    counts.iter().try_fold(0u64, |sum, count| {
        let whole = count.fract() == 0.0 && *count >= 0.0 && *count <= u32::MAX as f64;
        if !whole {
            return Err(format!("token_count {count} is not a count"));
        }
        // Checked just above: a whole number within u32.
        Ok(sum.saturating_add(*count as u64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::options::{ModelOptions, Templates};
    use serde_json::json;

    fn body_json(body: &[u8]) -> serde_json::Value {
        serde_json::from_slice(body).unwrap()
    }

    fn vertex_options() -> ModelOptions<'static> {
        ModelOptions::parse(
            r#"{"gemini":{"api_endpoint":"e","project_id":"p","location_id":"l"}}"#,
            Templates::Resolved,
        )
        .unwrap()
    }

    #[test]
    fn one_input_is_embed_content_and_several_are_a_batch() {
        let (method, body) = request(
            &Api::Gemini,
            "gemini-embedding-001",
            br#"{"input":"hello","dimensions":8}"#,
        )
        .unwrap();
        assert_eq!(method, Method::EmbedContent);
        assert_eq!(
            body_json(&body),
            json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 8})
        );
        let (method, body) = request(
            &Api::Gemini,
            "text-embedding-004",
            br#"{"input":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(method, Method::BatchEmbedContents);
        assert_eq!(
            body_json(&body),
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}},
            ]})
        );
    }

    #[test]
    fn vertex_predicts() {
        let options = vertex_options();
        let api = Api::from_options(&options, Templates::Resolved).unwrap();
        let (method, body) = request(
            &api,
            "text-embedding-005",
            br#"{"input":["a"],"dimensions":256}"#,
        )
        .unwrap();
        assert_eq!(method, Method::Predict);
        assert_eq!(
            body_json(&body),
            json!({"instances": [{"content": "a"}], "parameters": {"outputDimensionality": 256}})
        );
    }

    #[test]
    fn inputs_gemini_cannot_embed_are_400s() {
        for (body, message) in [
            (&br#"{"input":[]}"#[..], "'input' must not be empty"),
            (
                br#"{"input":[1,2]}"#,
                "inputs given as token ids are not supported by provider gemini",
            ),
            (
                br#"{"input":"a","user":"u"}"#,
                "`user` is not supported by provider gemini",
            ),
            (
                br#"{"input":"a","task":"x"}"#,
                "`task` is not supported by provider gemini",
            ),
        ] {
            let error = request(&Api::Gemini, "m", body).unwrap_err();
            assert_eq!(error.message.as_str(), message);
        }
    }

    #[test]
    fn token_counts_must_be_whole() {
        assert_eq!(token_total(&[7.0, 3.0]), Ok(10));
        assert!(token_total(&[1.5]).is_err());
        assert!(token_total(&[-1.0]).is_err());
        assert!(token_total(&[f64::NAN]).is_err());
    }
}
