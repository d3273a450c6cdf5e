//! An OpenAI embeddings request as the body of Cohere's `POST /v2/embed` (or `/v1/embed`).
//!
//! | OpenAI | embed |
//! |---|---|
//! | `input` (texts) | `texts` |
//! | — | `input_type`: `model.options.cohere.input_type`, default `search_document` |
//! | `encoding_format` `float` / `base64` | `embedding_types` `["float"]` / `["float", "base64"]` |
//! | `dimensions` | `output_dimension` (v2 only) |
//! | `user`, anything else | 400 |
//!
//! The response is always read from the float vectors, whose format Cohere documents exactly, and
//! base64 is encoded from them as OpenAI does. Asking Cohere for its base64 vectors too is how the
//! response says which format the client wanted: nothing else of the request comes back.

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::openai::{reject_other_fields, unsupported, EmbeddingsRequest, EncodingFormat};
use serde::Serialize;

use crate::settings::{ApiVersion, Settings};
use crate::PROVIDER;

/// Builds the embed body for `body`, a client's embeddings request.
pub fn translate_request(
    plan: &RequestPlan<'_>,
    settings: &Settings<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ModuleError> {
    let request = EmbeddingsRequest::parse(body)?;
    reject_other_fields(&request.other, &[], PROVIDER)?;
    if request.user.is_some() {
        return Err(unsupported(&["user"], PROVIDER));
    }
    if request.dimensions.is_some() && settings.api_version == ApiVersion::V1 {
        return Err(ModuleError::invalid_request(format!(
            "`dimensions` is not supported by provider {PROVIDER} with api_version v1"
        )));
    }
    let embed = EmbedBody {
        model: plan.model.as_str(),
        texts: request.texts(PROVIDER)?,
        input_type: &settings.input_type,
        embedding_types: match request.encoding_format {
            EncodingFormat::Float => &["float"],
            EncodingFormat::Base64 => &["float", "base64"],
        },
        output_dimension: request.dimensions,
    };
    serde_json::to_vec(&embed).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the {PROVIDER} request: {e}"))
    })
}

#[derive(Serialize)]
struct EmbedBody<'a> {
    model: &'a str,
    texts: Vec<&'a str>,
    input_type: &'a str,
    embedding_types: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimension: Option<u64>,
}
