//! An embeddings `list`, with vectors as JSON numbers or as base64, as OpenAI writes them.

use abi_stable::std_types::RVec;
use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::usage::EmbeddingUsageWire;
use super::{to_json, BuiltResponse};
use crate::abi::{ModuleError, ResponseMeta, Usage};
use crate::openai::EncodingFormat;

/// An embeddings response to write for the client: one vector per input, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingList<'a> {
    pub model: &'a str,
    pub embeddings: Vec<Vec<f32>>,
    /// What the client asked for in `encoding_format`.
    pub encoding_format: EncodingFormat,
    /// Embeddings have only prompt tokens.
    pub usage: Usage,
}

impl EmbeddingList<'_> {
    pub fn build(&self) -> Result<BuiltResponse, ModuleError> {
        let wire = ListWire {
            object: "list",
            data: EmbeddingsWire {
                embeddings: &self.embeddings,
                format: self.encoding_format,
            },
            model: self.model,
            usage: EmbeddingUsageWire::of(&self.usage),
        };
        Ok(BuiltResponse {
            body: to_json(&wire)?,
            meta: ResponseMeta {
                usage: self.usage,
                response_model: self.model.into(),
                response_id: "".into(),
                finish_reasons: RVec::new(),
            },
        })
    }
}

#[derive(serde::Serialize)]
struct ListWire<'a> {
    object: &'static str,
    data: EmbeddingsWire<'a>,
    model: &'a str,
    usage: EmbeddingUsageWire,
}

struct EmbeddingsWire<'a> {
    embeddings: &'a [Vec<f32>],
    format: EncodingFormat,
}

impl Serialize for EmbeddingsWire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.embeddings.len()))?;
        for (index, vector) in self.embeddings.iter().enumerate() {
            match self.format {
                EncodingFormat::Float => seq.serialize_element(&EmbeddingWire {
                    object: "embedding",
                    index,
                    embedding: vector,
                })?,
                EncodingFormat::Base64 => seq.serialize_element(&EmbeddingWire {
                    object: "embedding",
                    index,
                    embedding: base64_of_f32_le(vector),
                })?,
            }
        }
        seq.end()
    }
}

#[derive(serde::Serialize)]
struct EmbeddingWire<T> {
    object: &'static str,
    index: usize,
    embedding: T,
}

/// The vector's little-endian `f32` bytes in standard base64 with padding, as OpenAI encodes
/// `encoding_format: base64`.
fn base64_of_f32_le(vector: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group.first().copied().unwrap_or(0),
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 0x3f) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if group.len() > 1 { sextet(6) } else { '=' });
        out.push(if group.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::RSome;
    use serde_json::json;

    fn list(format: EncodingFormat) -> EmbeddingList<'static> {
        EmbeddingList {
            model: "embed-english-v3.0",
            embeddings: vec![vec![0.5, -1.25], vec![0.0023064255]],
            encoding_format: format,
            usage: Usage {
                prompt_tokens: RSome(8),
                ..Usage::default()
            },
        }
    }

    #[test]
    fn float_vectors_are_json_numbers() {
        let built = list(EncodingFormat::Float).build().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&built.body).unwrap();
        assert_eq!(
            body,
            json!({
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 0, "embedding": [0.5, -1.25]},
                    {"object": "embedding", "index": 1, "embedding": [0.0023064255]},
                ],
                "model": "embed-english-v3.0",
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            })
        );
        assert!(
            String::from_utf8(built.body)
                .unwrap()
                .contains("[0.0023064255]"),
            "an f32 is written with its shortest digits"
        );
        assert_eq!(built.meta.usage.prompt_tokens, RSome(8));
        assert_eq!(built.meta.response_model.as_str(), "embed-english-v3.0");
    }

    #[test]
    fn base64_vectors_are_little_endian_f32() {
        let body: serde_json::Value =
            serde_json::from_slice(&list(EncodingFormat::Base64).build().unwrap().body).unwrap();
        // 0.5 = 00 00 00 3F, -1.25 = 00 00 A0 BF.
        assert_eq!(body["data"][0]["embedding"], "AAAAPwAAoL8=");
        assert_eq!(body["data"][1]["index"], 1);
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64_of_f32_le(&[]), "");
        assert_eq!(base64_of_f32_le(&[1.0]), "AACAPw==");
        assert_eq!(base64_of_f32_le(&[1.0, 2.0, 3.0]), "AACAPwAAAEAAAEBA");
    }
}
